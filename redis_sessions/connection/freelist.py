"""The connections of the hot path (``run_raw``), shared by every thread of the process.

Not one connection per thread: under ASGI, Django runs each request's sync code in a
thread of its own (asgiref's ``ThreadSensitiveContext``), so a per-thread connection
would be a TCP connect, a ``HELLO`` and a close for every request. Nor the pool's
``get_connection()``/``release()`` around each call: their bookkeeping (a lock, the
in-use set, metrics, a poll for unread data) costs more than the rest of the call.

A free list takes its connections from the client's bounded pool, once each, and keeps
them: a call pops an idle one and puts it back (``list.pop``/``append`` are atomic, so
the fast path takes no lock). Only when none is idle does it ask the pool for another,
so the connections it holds plus those ``run`` has checked out stay within
``MAX_CONNECTIONS``, and their number is the peak number of concurrent calls, whatever
the threads. When the pool is exhausted, a call waits up to the socket timeout for a
connection to come back, then fails as ``RedisUnavailable`` naming the setting.

A free list belongs to one client in one process: after ``reset()`` (settings changed)
or a fork, the next call makes a new one. ``reset()`` closes the old one (idle
connections are closed at once, busy ones when they come back); a forked child forgets
its parent's lists without touching them (``os.register_at_fork``: their sockets are
the parent's), so the hot path needs no pid check of its own.

``AsyncFreeList`` is the same for ``arun_raw`` and one redis.asyncio client (so one
event loop, whose coroutines never run two list operations at once): a redis.asyncio
pool's checkout (an asyncio lock, metrics, a health poll) and its pipeline object
cost several times the round trip itself.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from typing import Any

import redis
import redis.asyncio as aredis

from redis_sessions.conf import app_settings


class Exhausted(redis.ConnectionError):
    """Every connection the pool may open is busy (nothing was sent)."""


class FreeList:
    __slots__ = ("client", "closed", "idle", "pid")

    def __init__(self, client: redis.Redis) -> None:
        self.client, self.pid = client, os.getpid()
        self.idle: list[Any] = []
        self.closed = False

    def take(self) -> Any:
        """An idle connection (possibly disconnected after an error), or a new one
        (``run_raw`` inlines this and ``give``)."""
        try:
            return self.idle.pop()
        except IndexError:
            return self.more()

    def give(self, conn: Any) -> None:
        self.idle.append(conn)
        if self.closed:  # closed while this one was out
            self.drain()

    def close(self) -> None:
        self.closed = True
        self.drain()

    def drain(self) -> None:
        pool = self.client.connection_pool
        while True:
            try:
                conn = self.idle.pop()
            except IndexError:
                return
            if self.pid == os.getpid():
                conn.disconnect()
                pool.release(conn)

    def more(self) -> Any:
        """A new connection from the pool, or one given back while waiting for it."""
        pool = self.client.connection_pool
        deadline = 0.0
        while True:
            try:
                # Connects (guarded: breaker, short timeouts); a failure is raised as is.
                return pool.get_connection()
            except redis.exceptions.MaxConnectionsError as exc:
                deadline = _wait_or_raise(deadline, exc)
            time.sleep(0.001)
            try:
                return self.idle.pop()
            except IndexError:
                pass


class AsyncFreeList:
    """``FreeList`` for one redis.asyncio client (one event loop)."""

    __slots__ = ("idle", "pool")

    def __init__(self, client: aredis.Redis) -> None:
        # The pool, not the client: the client is this list's key in a weak mapping.
        self.pool = client.connection_pool
        self.idle: list[Any] = []

    async def take(self) -> Any:
        try:
            return self.idle.pop()
        except IndexError:
            pass
        deadline = 0.0
        while True:
            try:
                return await self.pool.get_connection()
            except redis.exceptions.MaxConnectionsError as exc:
                deadline = _wait_or_raise(deadline, exc)
            await asyncio.sleep(0.001)
            try:
                return self.idle.pop()
            except IndexError:
                pass

    def give(self, conn: Any) -> None:
        self.idle.append(conn)


def _wait_or_raise(deadline: float, exc: BaseException) -> float:
    """Wait for a connection up to the socket timeout, then raise ``Exhausted``."""
    now = time.monotonic()
    deadline = deadline or now + (app_settings.SOCKET_TIMEOUT or 0.5)
    if now >= deadline:
        raise Exhausted(
            f"all {app_settings.MAX_CONNECTIONS} connections of this process are in use; "
            "raise REDIS_SESSIONS['MAX_CONNECTIONS'] or lower the concurrency"
        ) from exc
    return deadline


_current: FreeList | None = None
_async: weakref.WeakKeyDictionary[aredis.Redis, AsyncFreeList] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def current(client: redis.Redis) -> FreeList:
    """The free list of ``client`` (``run_raw`` checks ``_current`` inline first: this
    is its slow path)."""
    global _current
    with _lock:
        free = _current
        if free is not None and not free.closed and free.client is client:
            return free
        if free is not None:
            free.close()
        _current = FreeList(client)
        return _current


def for_async(client: aredis.Redis) -> AsyncFreeList:
    """The free list of a redis.asyncio client (one per event loop)."""
    free = _async.get(client)
    if free is None:
        free = _async[client] = AsyncFreeList(client)
    return free


def close() -> None:
    """Close the current free list (``reset()``): its connections go back to the pool."""
    global _current
    with _lock:
        free, _current = _current, None
    if free is not None:
        free.close()


def _after_fork() -> None:
    """In a forked child: forget the parent's free lists (their sockets are the
    parent's; nothing of them is closed here) and its lock (another thread may have
    held it at the fork)."""
    global _current, _async, _lock
    _current, _async, _lock = None, weakref.WeakKeyDictionary(), threading.Lock()


os.register_at_fork(after_in_child=_after_fork)
