"""The circuit breaker's states against a real server that goes away and comes back.

Open: calls fail at once. Half-open (once ``CIRCUIT_BREAKER_SECONDS`` has passed): one
call, the probe, goes through while the others still fail at once. The probe's reply
closes the breaker; its failure opens it for another period, with no new log line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from redis_sessions import connection, embedded
from redis_sessions.connection import guard
from redis_sessions.exceptions import RedisUnavailable

pytestmark = pytest.mark.single_server("starts its own single Redis")

PERIOD = 0.2  # CIRCUIT_BREAKER_SECONDS in these tests
SLACK = 0.15  # a call's own time, and the scheduler of a busy machine


@pytest.fixture
def private_redis(settings: Any) -> Iterator[embedded.EmbeddedRedis]:
    server = embedded.start()
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "URL": server.url,
                               "CIRCUIT_BREAKER_SECONDS": PERIOD}  # fmt: skip
    connection.reset()
    yield server
    connection.reset()
    server.stop()


def ping() -> list[Any]:
    return connection.run(connection.get_redis(), [("PING",)])


def errors(caplog: Any) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "redis_sessions" and r.levelname == "ERROR"]


def test_a_stopped_server_is_probed_once_a_period_and_the_first_reply_closes_the_breaker(
    private_redis: embedded.EmbeddedRedis, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="redis_sessions")
    address = str(private_redis.socket)
    assert ping() == [True]
    private_redis.stop(keep_directory=True)
    with pytest.raises(RedisUnavailable) as first:
        ping()
    assert "circuit breaker" not in str(first.value)  # a real failure: it opens
    opened_until = guard.breaker.open_until[address]
    with pytest.raises(RedisUnavailable, match="circuit breaker is open"):
        ping()  # open: refused without a connect
    assert guard.breaker.open_until[address] == opened_until  # and not re-armed
    time.sleep(PERIOD + 0.02)
    with pytest.raises(RedisUnavailable) as probe:
        ping()  # half-open: this call is the probe, and the server is still down
    assert "circuit breaker" not in str(probe.value)
    assert guard.breaker.open_until[address] > opened_until  # a failed probe re-opens
    with pytest.raises(RedisUnavailable, match="circuit breaker is open"):
        ping()
    assert len(errors(caplog)) == 1  # one line for the outage, not one per probe

    embedded.start(directory=private_redis.directory)  # answers PING when it returns
    back = time.monotonic()
    try:
        while True:
            try:
                assert ping() == [True]
                break
            except RedisUnavailable:
                assert time.monotonic() - back < PERIOD + SLACK, "no recovery after a period"
                time.sleep(0.01)
        recovered = time.monotonic() - back
        assert recovered < PERIOD + SLACK
        assert address not in guard.breaker.open_until  # closed by the probe's reply
        assert any("reachable again" in r.getMessage() for r in caplog.records)
        assert ping() == [True]
    finally:
        os.system(f"redis-cli -s {private_redis.socket} shutdown nosave >/dev/null 2>&1")


def test_while_a_probe_waits_for_a_hung_server_the_other_calls_fail_at_once(
    private_redis: embedded.EmbeddedRedis, settings: Any
) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "SOCKET_TIMEOUT": 0.5}
    assert ping() == [True]
    pid = private_redis.process.pid
    os.kill(pid, signal.SIGSTOP)  # accepts connections, answers nothing
    try:
        with pytest.raises(RedisUnavailable):
            ping()  # waits for its timeout: the breaker opens
        time.sleep(PERIOD + 0.02)
        probe: list[Any] = []
        prober = threading.Thread(target=lambda: probe.append(ping()))
        prober.start()  # the probe: it waits on the stopped server
        deadline = time.monotonic() + 1
        while str(private_redis.socket) not in guard.breaker.probes:
            assert time.monotonic() < deadline, "the probe did not start"
            time.sleep(0.005)
        for _ in range(5):
            started = time.monotonic()
            with pytest.raises(RedisUnavailable, match="another call is probing"):
                ping()
            assert time.monotonic() - started < 0.1
    finally:
        os.kill(pid, signal.SIGCONT)
    prober.join(timeout=2)
    assert probe == [[True]]  # the probe got its reply once the server woke up...
    assert str(private_redis.socket) not in guard.breaker.open_until  # ...and closed it
    assert ping() == [True]


def test_the_async_hot_path_probes_and_closes_the_breaker_too(
    private_redis: embedded.EmbeddedRedis,
) -> None:
    async def get() -> list[Any]:
        return await connection.arun_raw(connection.get_async_redis(), [("GET", "k")])

    async def scenario() -> float:
        assert await get() == [None]
        private_redis.stop(keep_directory=True)
        with pytest.raises(RedisUnavailable):
            await get()
        with pytest.raises(RedisUnavailable, match="circuit breaker is open"):
            await get()
        embedded.start(directory=private_redis.directory)
        back = time.monotonic()
        while True:
            try:
                assert await get() == [None]
                return time.monotonic() - back
            except RedisUnavailable:
                assert time.monotonic() - back < PERIOD + SLACK, "no recovery after a period"
                await asyncio.sleep(0.01)

    try:
        assert asyncio.run(scenario()) < PERIOD + SLACK
        assert str(private_redis.socket) not in guard.breaker.open_until
    finally:
        os.system(f"redis-cli -s {private_redis.socket} shutdown nosave >/dev/null 2>&1")


def test_failures_of_calls_made_before_it_opened_do_not_re_arm_an_open_breaker(
    settings: Any, caplog: Any
) -> None:
    """Requests in flight when a server dies (or Sentinel's "No master found" while it
    promotes a replica) fail one after the other: only the first opens the breaker,
    and the others must not push its probe back, or recovery would lag the server's
    by as long as failures keep coming."""
    import redis as redis_py

    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CIRCUIT_BREAKER_SECONDS": PERIOD}
    address = "127.0.0.1:1"
    guard.breaker.trip(redis_py.ConnectionError("refused"), address)
    opened_until = guard.breaker.open_until[address]
    for _ in range(3):
        time.sleep(0.02)
        guard.breaker.trip(redis_py.TimeoutError("timed out"), address)
    assert guard.breaker.open_until[address] == opened_until
    assert len(errors(caplog)) == 1
    guard.breaker.close()
