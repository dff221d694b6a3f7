"""The hot paths' connections are shared by the threads of a process (and by the
coroutines of an event loop): a thread per request (Django under ASGI) opens no
connection of its own, concurrency is bounded by MAX_CONNECTIONS, and failures,
settings changes, cancellations and forks still get fresh connections."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync

from redis_sessions import connection
from redis_sessions.backends.redis import SessionStore
from redis_sessions.connection import freelist
from redis_sessions.exceptions import RedisUnavailable, UnknownOutcome

pytestmark = pytest.mark.single_server("counts the connections one server receives")


def connections_received() -> int:
    return int(connection.get_redis().info("stats")["total_connections_received"])


def saved_session() -> str:
    store = SessionStore()
    store["a"] = 1
    store.save()
    assert store.session_key is not None
    return store.session_key


def in_threads(n: int, work: Callable[[], Any], *, together: bool = False) -> None:
    """``work`` in ``n`` fresh threads, one after the other or all at once."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(n) if together else None

    def body() -> None:
        try:
            if barrier is not None:
                barrier.wait()
            for _ in range(20 if together else 1):
                work()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=body) for _ in range(n)]
    if together:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for t in threads:
            t.start()
            t.join()
    assert errors == []


def test_a_fresh_thread_per_request_reuses_the_same_connection() -> None:
    key = saved_session()
    before = connections_received()
    in_threads(50, lambda: SessionStore(key).load())
    assert connections_received() - before == 0


def test_concurrent_threads_open_at_most_one_connection_each_and_then_reuse_them() -> None:
    key = saved_session()
    before = connections_received()
    in_threads(8, lambda: SessionStore(key).load(), together=True)
    in_threads(8, lambda: SessionStore(key).load(), together=True)
    assert connections_received() - before <= 8


def test_the_hot_path_and_the_pool_share_max_connections(settings: Any) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "MAX_CONNECTIONS": 2,
                               "SOCKET_TIMEOUT": 0.05}  # fmt: skip
    key = saved_session()
    pool = connection.get_redis().connection_pool
    held = []
    with pytest.raises(redis.exceptions.MaxConnectionsError):
        while True:  # every connection the pool may open (the free list has one)
            held.append(pool.get_connection())
    assert len(held) == 1
    free = freelist._current
    assert free is not None
    held.append(free.take())
    try:
        with pytest.raises(RedisUnavailable, match="MAX_CONNECTIONS"):
            SessionStore(key).load()
    finally:
        free.give(held.pop())
    assert SessionStore(key).load() == {"a": 1}  # one came back: it is used
    pool.release(held.pop())
    assert SessionStore(key).load() == {"a": 1}  # one came back: it is used


def test_a_connection_that_failed_is_reconnected_by_its_next_user() -> None:
    key = saved_session()
    SessionStore(key).load()
    free = freelist._current
    assert free is not None and len(free.idle) == 1
    free.idle[0]._sock.close()  # as if the server had dropped it
    with pytest.raises(RedisUnavailable):
        SessionStore(key).load()
    connection.guard.breaker.close()
    assert SessionStore(key).load() == {"a": 1}
    assert free.idle and free.idle[0]._sock is not None


def test_a_settings_change_closes_the_idle_connections(settings: Any) -> None:
    key = saved_session()
    SessionStore(key).load()
    old = freelist._current
    assert old is not None
    conn = old.idle[0]
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "VIEWED_LIMIT": 3}
    assert old.closed and old.idle == [] and conn._sock is None
    assert SessionStore(key).load() == {"a": 1}
    assert freelist._current is not old


def test_a_forked_child_uses_connections_of_its_own() -> None:
    key = saved_session()
    SessionStore(key).load()
    parent = freelist._current
    assert parent is not None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            ok = SessionStore(key).load() == {"a": 1} and freelist._current is not parent
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert SessionStore(key).load() == {"a": 1}  # the parent's connection is intact
    assert freelist._current is parent


# -- the async hot path: one free list per event loop ----------------------------------
def test_coroutines_of_an_event_loop_share_their_connections() -> None:
    key = saved_session()

    async def scenario() -> int:
        await SessionStore(key).aload()  # this loop's client and its first connection
        before = connections_received()
        for _ in range(30):
            assert await SessionStore(key).aload() == {"a": 1}
        await asyncio.gather(*(SessionStore(key).aload() for _ in range(8)))
        await asyncio.gather(*(SessionStore(key).aload() for _ in range(8)))
        return connections_received() - before

    assert asyncio.run(scenario()) <= 8 - 1


def test_an_idle_async_connection_the_server_closed_is_replaced_before_sending() -> None:
    key = saved_session()

    async def scenario() -> None:
        await SessionStore(key).aload()
        redis_client = connection.get_redis()
        redis_client.client_kill_filter(skipme=True, _type="normal")  # ours too, idle
        await asyncio.sleep(0.05)  # the loop sees the close
        assert await SessionStore(key).aload() == {"a": 1}  # no error: nothing was sent

    asyncio.run(scenario())


def test_a_cancelled_async_round_trip_keeps_its_connection_in_step() -> None:
    key = saved_session()
    other = SessionStore()
    other["b"] = 2
    other.save()

    async def scenario() -> None:
        await SessionStore(key).aload()  # one connection, warm
        before = connections_received()
        task = asyncio.ensure_future(SessionStore(other.session_key).aload())
        await asyncio.sleep(0)  # sent, its replies not read yet
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.05)  # its replies are read in the background
        for _ in range(3):
            assert await SessionStore(key).aload() == {"a": 1}
        assert connections_received() == before  # the connection was kept, in step

    asyncio.run(scenario())


def test_an_async_round_trip_counts_once_and_an_open_breaker_sends_nothing() -> None:
    key = saved_session()

    async def scenario() -> None:
        await SessionStore(key).aload()
        before = connection.round_trips()
        await SessionStore(key).aload()
        assert connection.round_trips() - before == 1
        connection.guard.breaker.trip(OSError("test"), connection.guard._address(
            freelist.for_async(connection.get_async_redis()).idle[0]))  # fmt: skip
        try:
            with pytest.raises(RedisUnavailable) as refused:
                await SessionStore(key).aload()
            assert not isinstance(refused.value, UnknownOutcome)
            assert connection.round_trips() - before == 1
        finally:
            connection.guard.breaker.close()

    asyncio.run(scenario())


def test_async_code_on_short_lived_event_loops_leaves_no_connection_open() -> None:
    """async_to_sync (an async view under WSGI) runs each call on a loop of its own:
    each opens a connection, which goes with its loop."""
    key = saved_session()
    redis_client = connection.get_redis()
    before = int(redis_client.info("clients")["connected_clients"])
    for _ in range(10):
        assert async_to_sync(SessionStore(key).aload)() == {"a": 1}
    gc.collect()
    time.sleep(0.05)  # the server sees the closes
    assert int(redis_client.info("clients")["connected_clients"]) - before <= 2
