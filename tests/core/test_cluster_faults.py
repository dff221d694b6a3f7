"""A cluster node that stops answering: the asyncio cluster client fails fast too.

One primary of the test cluster is paused with SIGSTOP (a real process, not a mock)
for well under the cluster's node timeout, so the cluster never fails it over and the
rest of the run finds it as it was after SIGCONT.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import pytest

from redis_sessions import connection, keys
from redis_sessions.connection import guard
from redis_sessions.exceptions import RedisUnavailable


@pytest.fixture
def cluster(redis_cluster: Any, settings: Any) -> Any:
    if redis_cluster is None:
        pytest.skip("needs --redis-cluster")
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "SOCKET_TIMEOUT": 0.3,
                               "CIRCUIT_BREAKER_SECONDS": 1.0}  # fmt: skip
    return redis_cluster


def process_of(cluster: Any, key: str) -> Any:
    """The ``redis-server`` process of the primary that owns ``key``."""
    node = connection.get_redis().get_node_from_key(key)  # type: ignore[attr-defined]
    return cluster.processes[cluster.ports.index(int(node.port))]


def test_after_a_node_times_out_the_async_cluster_client_fails_fast_until_the_breaker_closes(
    cluster: Any,
) -> None:
    key = keys.session("pausedsession0001")
    process = process_of(cluster, key)

    async def scenario() -> tuple[float, float, str, float, list[Any]]:
        client = connection.get_async_redis()
        await connection.arun(client, [("SET", key, "1")])  # topology known, connection warm
        os.kill(process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(RedisUnavailable):
                await connection.arun(client, [("GET", key)])
            first = time.monotonic() - started
            started = time.monotonic()
            with pytest.raises(RedisUnavailable) as raised:
                await connection.arun(client, [("GET", key)])
            second = time.monotonic() - started
            # After a timeout on a cluster the breaker holds at least four socket
            # timeouts (1.2 s), longer than CIRCUIT_BREAKER_SECONDS (1 s): redis-py's
            # resend of the timed-out command must find it still open.
            held = max(guard.breaker.open_until.values()) - time.monotonic()
        finally:
            os.kill(process.pid, signal.SIGCONT)
        deadline = time.monotonic() + 5  # the hold, then one probe
        while True:
            try:
                return (first, second, str(raised.value), held,
                        await connection.arun(client, [("GET", key)]))  # fmt: skip
            except RedisUnavailable:
                assert time.monotonic() < deadline, "the node did not answer again"
                await asyncio.sleep(0.05)

    first, second, error, held, after = asyncio.run(scenario())
    assert first >= 0.25  # the first call waited for its SOCKET_TIMEOUT
    assert second < 0.1  # the next one failed at once, without a send
    assert "circuit breaker is open" in error
    assert held > 1.0  # more than CIRCUIT_BREAKER_SECONDS
    assert after == [b"1"]  # the node answers again once the breaker lets a probe by


def test_a_later_step_refused_on_a_dead_node_reports_an_unknown_outcome(
    cluster: Any, settings: Any
) -> None:
    """A split's first step ran (the session's data was written on its node); the
    index step is refused by the breaker of the node that holds ``recent:``. That is
    a half-applied write: ``UnknownOutcome``, never the "nothing ran" of a plain
    ``RedisUnavailable``, which a caller could retry."""
    from redis_sessions.backends.redis import SessionStore
    from redis_sessions.exceptions import UnknownOutcome

    def node(key: str) -> str:
        return str(connection.get_redis().get_node_from_key(key).name)  # type: ignore[attr-defined]

    # step 1 (the data, and the old user id from login:) on live nodes; recent:, which
    # step 2 writes, on the node that stops answering: a key prefix of this test's own
    # that puts login: and recent: on different nodes (the fixture's may not)
    base = settings.REDIS_SESSIONS["KEY_PREFIX"]
    for n in range(100):
        settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "KEY_PREFIX": f"{base}-{n}"}
        if node(keys.login()) != node(keys.recent()):
            break
    client: Any = connection.get_redis()  # the settings changed: a client of their own
    recent = keys.recent()
    key = next(k for k in (f"partialstep{n:05d}" for n in range(5000))
               if node(keys.session(k)) == node(keys.login()))  # fmt: skip
    process = process_of(cluster, recent)
    # a logged-in session's first save: the session_save script, run as its split
    save = SessionStore.import_command(key, {"_auth_user_id": "7"}, 60)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        with pytest.raises(RedisUnavailable):
            connection.run(client, [("ZSCORE", recent, key)])  # times out: breaker open
        with pytest.raises(UnknownOutcome):
            connection.run(client, [save])
    finally:
        os.kill(process.pid, signal.SIGCONT)
    assert client.exists(keys.session(key)) == 1  # step 1 ran: the data is there
    client.delete(keys.session(key))  # the fixture cleans its own prefix, not this one
