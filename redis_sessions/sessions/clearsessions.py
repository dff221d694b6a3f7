"""``clear_expired()`` / ``aclear_expired()``: one pass over expired sessions, what
Django's ``clearsessions`` calls through ``SessionStore.clear_expired``.

The expired part of a ``clean_sessions`` pass without its lock, heartbeat or limit:
each step is atomic and re-checks (``eviction``), so it is safe beside the loop.
Batches are sized by time as the cleaner's are (``sizing``).
"""

from __future__ import annotations

import time

from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

from redis_sessions.conf import app_settings
from redis_sessions.connection import arun, get_async_redis, get_redis, run
from redis_sessions.connection.nodes import is_cluster
from redis_sessions.sessions.eviction import (
    EXPIRED,
    evict_command,
    expired_candidates,
    expired_pick_command,
    legacy_cleanup_command,
    notify,
    parse_evicted,
    wants_carts,
)
from redis_sessions.sessions.sizing import BatchSizer, timed, untimed


def _sizer(batch: int | None) -> BatchSizer:
    """Batches sized by time (``CLEAN_BATCH_TIME``), at most ``batch`` sessions
    (``CLEAN_BATCH_SIZE``), as ``clean_sessions`` sizes them."""
    return BatchSizer(batch or app_settings.CLEAN_BATCH_SIZE, app_settings.CLEAN_BATCH_TIME)


def clear_expired(batch: int | None = None) -> int:
    """Remove every trace of sessions whose data Redis expired; returns how many.

    One ``--once`` pass of the expired part of ``clean_sessions`` (without the lock:
    each step is atomic and re-checks, so running beside the loop is safe).
    """
    sizer = _sizer(batch)
    client, total, offset = get_redis(), 0, 0
    clocked = not is_cluster(client)  # a batch's steps on one server: its clock
    run(client, [legacy_cleanup_command()])
    while True:
        due = expired_candidates(run(client, [expired_pick_command(sizer.size, offset)])[0])
        if not due:
            return total
        command = evict_command(EXPIRED, due, wants_carts())
        started = time.perf_counter()
        reply, seconds, _ = untimed(run(client, timed(command, clocked)), clocked)
        evicted = parse_evicted(EXPIRED, due, reply)
        sizer.measured(len(due), time.perf_counter() - started if seconds is None else seconds)
        notify(evicted)
        total += len(evicted.session_keys)
        # Sessions still alive (a longer set_expiry) stay in the range: step over
        # them, so each is checked once a pass and the pass ends.
        offset += evicted.survivors


async def aclear_expired(batch: int | None = None) -> int:
    """``clear_expired`` for redis.asyncio (receivers run synchronously)."""
    sizer = _sizer(batch)
    client, total, offset = get_async_redis(), 0, 0
    clocked = not isinstance(client, AsyncRedisCluster)
    await arun(client, [legacy_cleanup_command()])
    while True:
        reply = (await arun(client, [expired_pick_command(sizer.size, offset)]))[0]
        due = expired_candidates(reply)
        if not due:
            return total
        command = evict_command(EXPIRED, due, wants_carts())
        started = time.perf_counter()
        reply, seconds, _ = untimed(await arun(client, timed(command, clocked)), clocked)
        evicted = parse_evicted(EXPIRED, due, reply)
        sizer.measured(len(due), time.perf_counter() - started if seconds is None else seconds)
        notify(evicted)
        total += len(evicted.session_keys)
        offset += evicted.survivors
