"""The hot paths: ``run_raw`` and ``arun_raw`` (session loads and saves, cart reads and
writes, page-cache hits).

The same one round trip as ``run``/``arun``, with less client work: the packed
commands are written on a free-list connection (``freelist``: shared by the threads
of the process, or by the coroutines of an event loop) and the raw replies read
back, with no pipeline object, no pool checkout and no reply callbacks. Only for
commands whose raw replies are what the caller wants (GET, SET, ZADD, EXISTS,
EVALSHA returning integers or bytes). Error replies are returned in place until
every reply is read, so the connection stays in step, then raised (unless
``raise_errors=False``); NOSCRIPT is handled as in ``run``. On a cluster client the
commands go to ``run``/``arun`` (per-slot routing).

The async twin also skips redis.asyncio's per-command machinery (a task and a timer
for the write, another timer for each reply: several times the cost of the round
trip itself): it writes on the connection's stream and reads with its parser under
one timer for the whole round trip, and does the guard's work itself (the breaker,
the round-trip count, whether a failure may have run).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

import redis
import redis.asyncio as aredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from redis_sessions.connection import freelist
from redis_sessions.connection.commands import _raise_first, _run_cluster, arun, run
from redis_sessions.connection.guard import (
    BreakerOpen,
    _address,
    _note_outcome,
    breaker,
    failed,
    replied,
    unavailable,
)

_pack_command: Callable[..., bytes] | None
try:  # the "hiredis" extra: the same bytes as redis-py's packer, about 4x faster
    import hiredis

    _pack_command = hiredis.pack_command
except ImportError:  # pragma: no cover - the extra is not installed
    _pack_command = None

if sys.version_info >= (3, 11):
    from asyncio import timeout
else:  # pragma: no cover - redis-py depends on async-timeout before 3.11.3
    from async_timeout import timeout

# The round trip's timer (asyncio.timeout, or async-timeout before 3.11: then
# asyncio.TimeoutError is no builtin TimeoutError), and redis-py's own.
_TIMEOUTS: tuple[type[Exception], ...] = (
    TimeoutError,
    asyncio.TimeoutError,
    redis.TimeoutError,
)


def packed(conn: Any, commands: Sequence[Sequence[Any]]) -> list[bytes]:
    """The commands in RESP, as ``conn.pack_commands`` makes them. With hiredis and the
    clients' default encoding, one ``hiredis.pack_command`` per command: redis-py's
    packer around the same hiredis call (its encoder, its chunking of long buffers)
    cost the page-cache hit about 35 us of its ~600 (bench/http_profile.py)."""
    encoder = conn.encoder
    if (
        _pack_command is not None
        and encoder.encoding == "utf-8"
        and encoder.encoding_errors == "strict"
    ):
        try:
            return [b"".join([_pack_command(tuple(command)) for command in commands])]
        except TypeError:
            pass  # an argument redis-py refuses too: its packer says which (DataError)
    return conn.pack_commands(commands)  # type: ignore[no-any-return]


def run_raw(
    client: redis.Redis, commands: Sequence[Sequence[Any]], *, raise_errors: bool = True
) -> list[Any]:
    """``run`` for the hot path, on a connection of the process's free list."""
    if isinstance(client, RedisCluster):
        return _run_cluster(client, commands, raise_errors)
    free = freelist._current
    if free is None or free.closed or free.client is not client:
        free = freelist.current(client)
    idle = free.idle  # free.take() and free.give(), inlined: this is the hot path
    try:
        conn = idle.pop()
    except IndexError:
        try:
            conn = free.more()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise unavailable(exc) from exc  # connecting failed: nothing was sent
    replies: list[Any] = []
    in_step = False
    try:
        if conn._sock is None:
            # connect() as a pool would: a lazy connect on send skips it, and a
            # Sentinel-managed connection asks the sentinels for the master only there.
            conn.connect()
        conn.send_packed_command(packed(conn, commands))
        for _ in commands:
            try:
                replies.append(conn.read_response())
            except redis.ResponseError as exc:
                replies.append(exc)
        in_step = True
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise unavailable(exc, commands) from exc
    finally:
        if not in_step:  # replies may be left unread: the next user reconnects
            conn.disconnect()
        idle.append(conn)
        if free.closed:  # reset() while this one was out
            free.drain()
    for i, reply in enumerate(replies):
        if isinstance(reply, redis.exceptions.NoScriptError):
            replies[i] = run(client, [commands[i]], raise_errors=raise_errors)[0]
    _raise_first(replies, raise_errors)
    return replies


async def arun_raw(
    client: aredis.Redis, commands: Sequence[Sequence[Any]], *, raise_errors: bool = True
) -> list[Any]:
    """``run_raw`` for redis.asyncio, on a connection of the client's free list."""
    if isinstance(client, AsyncRedisCluster):
        return await arun(client, commands, raise_errors=raise_errors)
    free = freelist.for_async(client)
    try:
        conn = await free.take()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise unavailable(exc) from exc  # connecting failed: nothing was sent
    try:
        if breaker.open_until and breaker.check(_address(conn), conn):
            conn._probing = _address(conn)  # this round trip probes a half-open breaker
    except BreakerOpen as exc:  # nothing sent, nothing to record, the connection kept
        free.give(conn)
        raise unavailable(exc) from exc
    replies: list[Any] = []
    trip, state = _RoundTrip(conn, commands), "failed"
    try:
        if not conn.is_connected or conn._reader.at_eof():
            # Failed before, or closed by the server while idle (nothing sent yet:
            # connecting again is not a retry). Guarded: breaker, short timeouts.
            await conn.disconnect(nowait=True)
            try:
                await conn.connect()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise unavailable(exc) from exc
        replies = await trip.run()
        state = "done"
    except asyncio.CancelledError:
        if trip.written:  # a client went away mid-request: keep the connection in step
            state = "finishing"
            _in_background(trip.finish(free))
        raise
    finally:
        if state == "failed":  # replies may be left unread: the next user reconnects
            await conn.disconnect(nowait=True)
        if state != "finishing":
            free.give(conn)
    for i, reply in enumerate(replies):
        if isinstance(reply, redis.exceptions.NoScriptError):
            replies[i] = (await arun(client, [commands[i]], raise_errors=raise_errors))[0]
    _raise_first(replies, raise_errors)
    return replies


class _RoundTrip:
    """One round trip on a connected redis.asyncio connection (the breaker checked)."""

    __slots__ = ("commands", "conn", "replies", "written")

    def __init__(self, conn: Any, commands: Sequence[Sequence[Any]]) -> None:
        self.conn, self.commands = conn, commands
        self.replies: list[Any] = []
        self.written = False

    async def run(self) -> list[Any]:
        """The replies, error replies in place. A failure trips the breaker and is
        raised as ``RedisUnavailable`` or, once the commands may have reached Redis,
        ``UnknownOutcome``."""
        conn, reading = self.conn, False
        breaker.round_trips += 1
        try:
            async with timeout(conn.socket_timeout):
                writer = conn._writer
                writer.writelines(packed(conn, self.commands))
                self.written = True  # in the transport: it goes out, cancelled or not
                await writer.drain()
                reading = True
                await self._read()
            if breaker.open_until:
                replied(conn)  # a reply: the server's breaker closes
            return self.replies
        except (
            TimeoutError, asyncio.TimeoutError, redis.TimeoutError,  # as in _TIMEOUTS
            OSError, EOFError, redis.ConnectionError,
        ) as exc:  # fmt: skip
            where = "reading from" if reading else "writing to"
            failure: Exception = (
                redis.TimeoutError(f"Timeout {where} Redis")
                if isinstance(exc, _TIMEOUTS)
                else redis.ConnectionError(f"Connection to Redis lost: {exc or type(exc).__name__}")
            )
            _note_outcome(failure, handshake=False, reading=reading, sending=not reading)
            failed(self.conn, failure)
            raise unavailable(failure, self.commands) from exc

    async def _read(self) -> None:
        # The parser returns error replies (as exceptions) instead of raising them, and
        # resumes a reply whose read was cancelled.
        parser, replies = self.conn._parser, self.replies
        while len(replies) < len(self.commands):
            replies.append(await parser.read_response())

    async def finish(self, free: freelist.AsyncFreeList) -> None:
        """After a cancellation: read the replies still due, then hand the connection
        back (dropped if they do not come in time)."""
        in_step = False
        try:
            with contextlib.suppress(Exception):  # a failure: the connection is dropped
                async with timeout(self.conn.socket_timeout):
                    await self._read()
                in_step = True
        finally:
            if not in_step:
                await self.conn.disconnect(nowait=True)
            free.give(self.conn)


_background: set[asyncio.Task[None]] = set()


def _in_background(coroutine: Any) -> None:
    task = asyncio.ensure_future(coroutine)
    _background.add(task)  # a strong reference until it is done
    task.add_done_callback(_background.discard)
