"""Sending commands: ``run`` and ``arun`` (one round trip, replies checked),
``InFlight`` (pipelines ahead of their replies). The hot paths are in ``raw``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import redis
import redis.asyncio as aredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from redis_sessions.connection import cluster
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


class InFlight:
    """Command lists sent ahead of their replies on one pooled connection of its own.

    Each ``send`` is ONE round trip (counted as one); the next list may go before the
    previous one's replies are read, so that the caller's work overlaps Redis's
    (``clean_sessions`` can keep two batches in flight). Redis runs the lists in the
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
