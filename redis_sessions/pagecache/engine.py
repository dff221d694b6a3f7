"""The engine shared by the page cache and the fragment cache: one Lua lookup with
the popularity rule and a stampede lock, a wait for another worker's render, and an
atomic store.

An entry is a hash (``fresh`` until-time, ``meta``, ``body``) that lives
``timeout + PAGE_CACHE_GRACE`` seconds. Past ``fresh`` it is stale: the first worker
to look takes the render lock (``SET NX PX``) and renders; the others serve the stale
copy meanwhile. When there is no copy at all, the others poll for at most
``RENDER_WAIT_SECONDS`` and then render themselves, so a crashed renderer delays a
page but never blocks it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from redis_sessions.conf import app_settings
from redis_sessions.connection import arun, get_async_redis, get_redis, run, run_raw
from redis_sessions.connection.outages import Outage
from redis_sessions.connection.scripts import LOCK_RELEASE
from redis_sessions.pagecache.scripts import CACHE_GET, CACHE_STORE

logger = logging.getLogger("redis_sessions")

#: The render lock outlives any sane render; a crashed renderer frees it this late.
RENDER_LOCK_SECONDS = 10.0
#: How long a worker with no copy to serve waits for another worker's render.
RENDER_WAIT_SECONDS = 3.0
POLL_SECONDS = 0.02

HIT, STALE, RENDER, WAIT, COLD, BYPASS = "hit", "stale", "render", "wait", "cold", "bypass"
#: The script found a copy (and counted the view) that was gone when it was read: an
#: invalidation or expiry between the two commands. Render, without the lock.
GONE = "gone"
#: A peek (``lookup(peek=True)``) found no fresh copy; it took no lock.
MISS = "miss"


@dataclass
class Found:
    """What a lookup found: a ``state`` and, for ``hit``/``stale``, the entry."""

    state: str
    meta: bytes | None = None
    body: bytes | None = None
    token: str = ""  # our render-lock token when state is "render"

    @property
    def servable(self) -> bool:
        return self.state in (HIT, STALE)


@dataclass
class Target:
    """One cacheable thing: its entry and lock keys, and how a lookup treats it."""

    entry: str
    lock: str
    viewed: str  # viewed: (the popularity the CACHE_TOP_N rule reads)
    item: str = ""
    ranked: bool = True  # apply the CACHE_TOP_N rule to ``item``
    count_keys: Sequence[str] = ()  # views:{DAY}, visitors:..., seen:... (pages only)
    count_args: Sequence[Any] = ()  # (count, visitor, ttl, limit, session, check cart, window)


def uncounted(target: Target) -> Target:
    """``target`` looked up again in the same request: the view is counted once."""
    if not target.count_args:
        return target
    return replace(target, count_args=[0, *target.count_args[1:]])


def get_command(target: Target, token: str, *, peek: bool = False) -> tuple[Any, ...]:
    top = app_settings.CACHE_TOP_N if (target.ranked and target.item) else 0
    lock_ms = 0 if peek else int(RENDER_LOCK_SECONDS * 1000)
    args = [target.item, top, time.time(), lock_ms, token]
    args += list(target.count_args) or [0, "", 0, 0, "", 0, 0]
    return CACHE_GET.command([target.entry, target.lock, target.viewed, *target.count_keys], args)


def lookup_commands(target: Target, token: str, *, peek: bool = False) -> list[tuple[Any, ...]]:
    """The script, then the copy it judged (one round trip; no MULTI: a copy replaced
    in between is served as the newer copy, one removed in between is ``GONE``)."""
    return [get_command(target, token, peek=peek), ("HMGET", target.entry, "meta", "body")]


def _found(replies: list[Any], token: str) -> Found:
    reply, (meta, body) = replies
    state = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
    if state in (HIT, STALE):
        if meta is None:
            return Found(GONE)
        return Found(state, meta, body if body is not None else b"")
    return Found(state, token=token if state == RENDER else "")


def _send(commands: list[tuple[Any, ...]]) -> list[Any]:
    # run_raw: the hit's one round trip on the lean client (the raw replies are what
    # _found reads).
    return run_raw(get_redis(), commands)


def peek(target: Target, send: Callable[[list[Any]], list[Any]] = _send) -> Found:
    """A lookup that takes no lock and serves nothing stale (``MISS`` instead): for a
    caller that may not be allowed the page (the page cache sends it with the session
    load that tells). One round trip, by ``send``."""
    return _found(send(lookup_commands(target, "", peek=True)), "")


def lookup(target: Target, *, wait: bool = True) -> Found:
    """Look ``target`` up (one round trip); on ``wait``, poll until a copy appears,
    the lock frees up (we take it) or ``RENDER_WAIT_SECONDS`` pass (we render
    without it). Raises ``RedisUnavailable``.
    """
    token = os.urandom(16).hex()  # as uuid4().hex, without building a UUID
    found = _found(_send(lookup_commands(target, token)), token)
    if found.state != WAIT or not wait:
        return found
    deadline = time.monotonic() + RENDER_WAIT_SECONDS
    again = uncounted(target)  # the first lookup counted the view
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        found = _found(run(get_redis(), lookup_commands(again, token)), token)
        if found.state != WAIT:
            return found
    return Found(RENDER)  # no lock: render ourselves rather than wait for ever


async def apeek(target: Target, send: Callable[[list[Any]], Awaitable[list[Any]]]) -> Found:
    """``peek`` for async views: ``send`` is awaited (the session's load rides along)."""
    return _found(await send(lookup_commands(target, "", peek=True)), "")


async def alookup(target: Target, *, wait: bool = True) -> Found:
    """``lookup`` for async views: the asyncio client, ``asyncio.sleep`` between polls
    (no thread)."""
    token = os.urandom(16).hex()
    found = _found(await arun(get_async_redis(), lookup_commands(target, token)), token)
    if found.state != WAIT or not wait:
        return found
    deadline = time.monotonic() + RENDER_WAIT_SECONDS
    again = uncounted(target)
    while time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        found = _found(await arun(get_async_redis(), lookup_commands(again, token)), token)
        if found.state != WAIT:
            return found
    return Found(RENDER)


def store_command(
    target: Target,
    meta: bytes,
    body: bytes,
    timeout: float,
    token: str,
    sets: Sequence[str] = (),
    member: str = "",
    cap: int = 0,
    head: str = "",
) -> tuple[Any, ...]:
    """Store an entry and release our lock; add ``member`` to ``sets``. With ``cap``,
    the first set holds at most that many members whose entry (``head + member``)
    exists: a store that would pass it stores nothing and answers 0."""
    lifetime_ms = int((timeout + app_settings.PAGE_CACHE_GRACE) * 1000)
    return CACHE_STORE.command(
        [target.entry, target.lock, *sets],
        [repr(time.time() + timeout), meta, body, lifetime_ms, token, member, cap, head],
    )


def release_command(target: Target, token: str) -> tuple[Any, ...]:
    return LOCK_RELEASE.command([target.lock], [token])


class OutageLog:
    """A cache's outage, logged once per outage (``connection.outages.Outage``)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.outage = Outage(logger)

    def failed(self, exc: BaseException) -> None:
        self.outage.failed(
            logging.WARNING, "%s: Redis unavailable (key prefix %r), serving uncached: %s",
            self.what, app_settings.KEY_PREFIX, exc,
        )  # fmt: skip

    def ok(self) -> None:
        self.outage.ok()
