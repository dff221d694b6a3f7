"""Redis unreachable: a clear, fast failure; never a hang, a silent logout or lost data."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from redis_sessions import embedded
from redis_sessions.backends.redis import SessionStore
from redis_sessions.exceptions import RedisUnavailable

pytestmark = pytest.mark.single_server("starts its own single Redis")

# Generous bound: the point is "no hang" (redis-py's default would wait 5+ s per
# attempt, with retries), not speed.
FAST = 2.0


@pytest.fixture
def private_redis(settings: Any) -> Iterator[embedded.EmbeddedRedis]:
    server = embedded.start()
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "URL": server.url}
    yield server
    settings.REDIS_SESSIONS = {
        k: v
        for k, v in settings.REDIS_SESSIONS.items()
        if k not in ("URL", "CIRCUIT_BREAKER_SECONDS")
    }
    server.stop()


def signed_in_client() -> Client:
    client = Client(raise_request_exception=False)
    client.get("/write/")
    assert "sessionid" in client.cookies
    return client


def test_stopped_redis_gives_503_keeps_the_cookie_and_recovers(
    private_redis: embedded.EmbeddedRedis, settings: Any
) -> None:
    client = signed_in_client()
    cookie = client.cookies["sessionid"].value
    private_redis.stop(keep_directory=True)
    for path in ("/read/", "/write/"):
        started = time.monotonic()
        response = client.get(path)
        assert time.monotonic() - started < FAST
        assert response.status_code == 503
        assert response["Retry-After"]
        assert "sessionid" not in response.cookies  # never deleted, never replaced
    # The same server comes back (same socket, data lost: a restart without
    # persistence); after the breaker window the next request just works.
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CIRCUIT_BREAKER_SECONDS": 0}
    embedded.start(directory=private_redis.directory)
    try:
        assert client.get("/write/").status_code == 200
        assert client.cookies["sessionid"].value != cookie  # old session was lost with Redis
    finally:
        os.system(f"redis-cli -s {private_redis.socket} shutdown nosave >/dev/null 2>&1")


def test_hung_redis_fails_within_the_timeout_and_recovers(
    private_redis: embedded.EmbeddedRedis, settings: Any
) -> None:
    client = signed_in_client()
    cookie = client.cookies["sessionid"].value
    os.kill(private_redis.process.pid, signal.SIGSTOP)  # accepts, never answers
    try:
        started = time.monotonic()
        response = client.get("/read/")
        assert time.monotonic() - started < FAST
        assert response.status_code == 503
    finally:
        os.kill(private_redis.process.pid, signal.SIGCONT)
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CIRCUIT_BREAKER_SECONDS": 0}
    response = client.get("/read/")
    assert response.status_code == 200 and response.content == b"1"
    assert client.cookies["sessionid"].value == cookie  # still signed in


def test_circuit_breaker_fails_later_calls_at_once(
    private_redis: embedded.EmbeddedRedis, caplog: Any
) -> None:
    store = SessionStore()
    store["card"] = "secret-value"
    store.save()
    private_redis.stop()
    with pytest.raises(RedisUnavailable):
        SessionStore(store.session_key).load()
    started = time.monotonic()
    for _ in range(20):
        with pytest.raises(RedisUnavailable):
            SessionStore(store.session_key).load()
    assert time.monotonic() - started < FAST
    errors = [r for r in caplog.records if r.name == "redis_sessions" and r.levelname == "ERROR"]
    assert len(errors) == 1  # logged once per failure window
    assert "secret-value" not in errors[0].getMessage()
    assert store.session_key not in errors[0].getMessage()


def test_async_load_raises_redis_unavailable(private_redis: embedded.EmbeddedRedis) -> None:
    import asyncio

    store = SessionStore()
    store["a"] = 1
    store.save()
    private_redis.stop()
    with pytest.raises(RedisUnavailable):
        asyncio.run(SessionStore(store.session_key).aload())


def test_calls_the_open_breaker_refuses_do_not_extend_its_window(settings: Any) -> None:
    """A refusal is not a new failure. A Sentinel connection learns its master's
    address only inside its connect, so its outer guard lets the call through and the
    inner one refuses it: were that refusal to trip the breaker again, a master back
    at the same address would never be tried while requests keep coming."""
    import redis as redis_py

    from redis_sessions.connection import guard

    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CIRCUIT_BREAKER_SECONDS": 0.3}
    master = "127.0.0.1:1"
    guard.breaker.trip(redis_py.ConnectionError("refused"), master)
    opened = guard.breaker.open_until[master]
    conn = redis_py.Connection(host="mymaster", port=6379)  # a placeholder, as Sentinel's
    for _ in range(3):
        with pytest.raises(guard.BreakerOpen), guard._watched(conn, handshake=True):
            conn.host, conn.port = "127.0.0.1", 1  # the sentinels named the master
            guard.breaker.check(guard._address(conn))
        conn.host, conn.port = "mymaster", 6379
        time.sleep(0.05)
    assert guard.breaker.open_until[master] == opened  # the window was not re-armed
    time.sleep(0.3)
    guard.breaker.check(master)  # over: the next call tries the master again
