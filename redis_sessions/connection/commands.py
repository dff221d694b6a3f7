"""Sending commands: ``run`` and ``arun`` (one round trip, replies checked),
``run_raw`` (the session hot path), ``InFlight`` (pipelines ahead of their replies)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, cast

import redis
import redis.asyncio as aredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from redis_sessions.connection import clients as _clients
from redis_sessions.connection import cluster, freelist
from redis_sessions.connection.guard import MAY_HAVE_RUN, unavailable
from redis_sessions.connection.integrity import is_out_of_memory
from redis_sessions.connection.scripts import by_sha
from redis_sessions.exceptions import RedisUnavailable


def run(
    client: redis.Redis, commands: Sequence[Sequence[Any]], *, raise_errors: bool = True
) -> list[Any]:
    """Send ``commands`` in ONE round trip (no MULTI) and return their replies.

    A reply that is an error is raised after all replies are read, except NOSCRIPT
    for an EVALSHA: the script is loaded and only that command is sent again (it ran
    nothing the first time, so this cannot apply anything twice). The resent script
    then runs after the commands that followed it in the list: callers whose later
    commands depend on a script's effect load it first (only a restarted or flushed
    server has no scripts; see ``scripts.registered``). With
    ``raise_errors=False`` error replies are returned in their place instead.
    On a cluster client the list goes to ``cluster.run`` (per-slot steps).
    """
    if isinstance(client, RedisCluster):
        return _run_cluster(client, commands, raise_errors)
    try:
        if len(commands) == 1:
            try:
                replies = [client.execute_command(*commands[0])]
            except redis.exceptions.NoScriptError:
                replies = [_reload_and_retry(client, commands[0])]
            except redis.ResponseError as exc:
                replies = [exc]
            _raise_first(replies, raise_errors)
            return replies
        pipe = client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        replies = pipe.execute(raise_on_error=False)
        for i, reply in enumerate(replies):
            if isinstance(reply, redis.exceptions.NoScriptError):
                replies[i] = _reload_and_retry(client, commands[i])
        _raise_first(replies, raise_errors)
        return replies
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise unavailable(exc, commands) from exc


def _run_cluster(client: Any, commands: Sequence[Sequence[Any]], raise_errors: bool) -> list[Any]:
    try:
        replies = cluster.run(client, commands)
    except cluster.FAILURES as exc:
        raise unavailable(exc) from exc
    return _cluster_replies(replies, raise_errors)


def _cluster_replies(replies: list[Any], raise_errors: bool) -> list[Any]:
    """A cluster pipeline returns a node's connection failure (a timeout, a refused
    connect) in place of the replies it lost: raised as ``RedisUnavailable`` (or
    ``UnknownOutcome``) even with ``raise_errors=False``, as on a single server."""
    for reply in replies:
        if isinstance(reply, cluster.FAILURES):
            raise unavailable(reply) from reply
    _raise_first(replies, raise_errors)
    return replies


def _raise_first(replies: list[Any], raise_errors: bool) -> None:
    if raise_errors:
        for reply in replies:
            if isinstance(reply, Exception):
                if is_out_of_memory(reply):
                    # A full Redis refused the write (nothing applied): the same answer
                    # as an unreachable one (503, or the caches' uncached fallback).
                    raise RedisUnavailable(f"Redis refused a write: {reply}") from reply
                raise reply


def run_raw(
    client: redis.Redis, commands: Sequence[Sequence[Any]], *, raise_errors: bool = True
) -> list[Any]:
    """``run`` for the session hot path: the same one round trip, less client overhead.

    Writes the packed commands on a connection of the process's free list (shared by
    all threads; see ``freelist``) and reads the raw replies, with no pipeline object
    and no reply callbacks: only for commands whose raw replies are what the caller
    wants (GET, SET, ZADD, EXISTS, EVALSHA returning integers or bytes). Error replies
    are raised after every reply has been read, so the connection stays in step;
    NOSCRIPT is handled as in ``run``.
    """
    if isinstance(client, RedisCluster):
        return _run_cluster(client, commands, raise_errors)
    free = freelist._current
    if (
        free is None
        or free.client is not client
        or free.generation != _clients._generation
        or free.pid != os.getpid()
    ):
        free = freelist.current(client, _clients._generation)
    try:
        conn = free.take()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise unavailable(exc) from exc  # connecting failed: nothing was sent
    replies: list[Any] = []
    in_step = False
    try:
        if conn._sock is None:
            # connect() as a pool would: a lazy connect on send skips it, and a
            # Sentinel-managed connection asks the sentinels for the master only there.
            conn.connect()
        conn.send_packed_command(conn.pack_commands(commands))
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
        free.give(conn)
    for i, reply in enumerate(replies):
        if isinstance(reply, redis.exceptions.NoScriptError):
            replies[i] = run(client, [commands[i]], raise_errors=raise_errors)[0]
    _raise_first(replies, raise_errors)
    return replies


class InFlight:
    """Command lists sent ahead of their replies on one pooled connection of its own.

    Each ``send`` is ONE round trip (counted as one); the next list may go before the
    previous one's replies are read, so that the caller's work overlaps Redis's
    (``clean_sessions`` keeps two batches in flight). Redis runs the lists in the
    order sent. ``read`` returns the oldest list's raw replies (no callbacks), error
    replies in place, NOSCRIPT included: a later list may depend on an earlier one,
    so only the caller knows what to send again. On a cluster client each list runs
    at ``send`` (``run``'s per-slot steps) and ``read`` hands its replies back: the
    same order, without the overlap.
    Use as a context manager; a list still unread at exit drops the connection.
    """

    def __init__(self, client: redis.Redis) -> None:
        self.client, self.conn = client, cast(Any, None)
        self.pending: list[tuple[Sequence[Sequence[Any]], list[Any] | None]] = []

    def __enter__(self) -> InFlight:
        if not isinstance(self.client, RedisCluster):
            try:
                self.conn = self.client.connection_pool.get_connection()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise unavailable(exc) from exc
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.conn is not None:
            if self.pending:
                self.conn.disconnect()  # replies still on the wire: out of step
            self.client.connection_pool.release(self.conn)
            self.conn = None

    def send(self, commands: Sequence[Sequence[Any]]) -> None:
        if self.conn is None:
            self.pending.append((commands, run(self.client, commands, raise_errors=False)))
            return
        self.pending.append((commands, None))
        try:
            self.conn.send_packed_command(self.conn.pack_commands(commands))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise self._failed(exc) from exc

    def read(self) -> list[Any]:
        commands, replies = self.pending[0]
        if replies is None:
            replies = []
            try:
                for _ in commands:
                    try:
                        replies.append(self.conn.read_response())
                    except redis.ResponseError as exc:
                        replies.append(exc)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise self._failed(exc) from exc
        del self.pending[0]
        return replies

    def _failed(self, exc: BaseException) -> RedisUnavailable:
        if len(self.pending) > 1:
            setattr(exc, MAY_HAVE_RUN, True)  # lists sent before may have run
        attempted = [command for commands, _ in self.pending for command in commands]
        return unavailable(exc, attempted)


async def arun(
    client: aredis.Redis, commands: Sequence[Sequence[Any]], *, raise_errors: bool = True
) -> list[Any]:
    """``run`` for redis.asyncio."""
    if isinstance(client, AsyncRedisCluster):
        try:
            replies = await cluster.arun(client, commands)
        except cluster.FAILURES as exc:
            raise unavailable(exc) from exc
        return _cluster_replies(replies, raise_errors)
    try:
        if len(commands) == 1:
            try:
                replies = [await client.execute_command(*commands[0])]
            except redis.exceptions.NoScriptError:
                replies = [await _areload_and_retry(client, commands[0])]
            except redis.ResponseError as exc:
                replies = [exc]
            _raise_first(replies, raise_errors)
            return replies
        pipe = client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        replies = await pipe.execute(raise_on_error=False)
        for i, reply in enumerate(replies):
            if isinstance(reply, redis.exceptions.NoScriptError):
                replies[i] = await _areload_and_retry(client, commands[i])
        _raise_first(replies, raise_errors)
        return replies
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise unavailable(exc, commands) from exc


def _reload_and_retry(client: redis.Redis, command: Sequence[Any]) -> Any:
    """The script's reply, or its error reply (returned, like a pipeline's)."""
    client.script_load(by_sha(command[1]).source)
    try:
        return client.execute_command(*command)
    except redis.ResponseError as exc:
        return exc


async def _areload_and_retry(client: aredis.Redis, command: Sequence[Any]) -> Any:
    await client.script_load(by_sha(command[1]).source)
    try:
        return await client.execute_command(*command)
    except redis.ResponseError as exc:
        return exc
