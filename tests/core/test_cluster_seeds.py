"""Redis Cluster seed nodes (``NODES``): a process that starts while some seeds are down
uses the others; one that started while every seed was down recovers by itself once
one answers, without a restart. Requests, ``/health/`` and ``redis_doctor`` alike.

A real 3-master cluster on loopback; "down" is a port nothing listens on, or a node
killed with ``kill -9`` and started again from its ``nodes.conf``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from redis_sessions import connection
from redis_sessions.backends.redis import SessionStore
from redis_sessions.connection import clients
from redis_sessions.doctor import FAIL, OK, diagnose
from redis_sessions.exceptions import RedisUnavailable
from tests.support import cluster_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.single_server("starts its own cluster"),
    pytest.mark.django_db,
]

PERIOD = 0.25  # CIRCUIT_BREAKER_SECONDS: the default
RECOVERY_BOUND = 10.0  # s: the restarted node rejoins its cluster (its own time, not ours)


@pytest.fixture
def cluster() -> Iterator[cluster_server.Cluster]:
    started = cluster_server.start(3)
    try:
        yield started
    finally:
        connection.reset()
        started.stop()


def dead_url() -> str:
    """The URL of a port nothing listens on: a seed that is down."""
    return f"redis://127.0.0.1:{cluster_server._free_port()}"


def use_seeds(settings: Any, nodes: list[str]) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "URL": None, "CLUSTER": True,
                               "NODES": nodes, "CIRCUIT_BREAKER_SECONDS": PERIOD}  # fmt: skip
    connection.reset()


def errors(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "redis_sessions" and r.levelname == "ERROR"]  # fmt: skip


def test_a_process_whose_first_seeds_are_down_serves_through_the_others(
    cluster: cluster_server.Cluster, settings: Any, caplog: Any
) -> None:
    down = [dead_url(), dead_url()]
    use_seeds(settings, [*down, *cluster.urls()[1:]])
    assert clients.seeds()[:2] == [("127.0.0.1", int(url.rsplit(":", 1)[1])) for url in down]
    for _ in range(5):  # redis-py tries the seeds in a random order
        connection.reset()
        connection.get_redis()
    connection.reset()  # (it closes the breakers too)
    caplog.clear()
    client = Client(raise_request_exception=True)
    assert client.get("/write/").status_code == 200
    assert client.get("/read/").content == b"1"
    key = client.cookies["sessionid"].value
    assert asyncio.run(SessionStore(key).aload()) == {"n": 1}  # the asyncio client too
    assert client.get("/health/").status_code == 200
    report = diagnose()
    assert report.findings[0].verdict == OK
    assert "Redis Cluster of 3 primaries" in report.findings[0].detail
    # A dead seed is logged once (when its breaker opens), not once per attempt.
    for url in down:
        port = url.rsplit(":", 1)[1]
        assert sum(f":{port}" in message for message in errors(caplog)) <= 1


def test_a_process_started_with_every_seed_down_recovers_by_itself_once_one_answers(
    cluster: cluster_server.Cluster, settings: Any, caplog: Any, monkeypatch: Any
) -> None:
    from redis_sessions import health
    from redis_sessions.connection.outages import Outage

    monkeypatch.setattr(health, "_outage", Outage(health.logger))  # no outage logged yet
    use_seeds(settings, [cluster.urls()[0], dead_url()])
    cluster.kill(0)
    client = Client(raise_request_exception=False)
    started = time.monotonic()
    for _ in range(20):  # every seed down: a fast failure, for as long as it lasts
        assert client.get("/write/").status_code == 503
        with pytest.raises(RedisUnavailable):
            connection.get_redis()
        time.sleep(0.05)
    assert time.monotonic() - started < 20 * 0.05 + 2.0  # no call waited long
    for _ in range(3):  # a load balancer's probes
        assert client.get("/health/").status_code == 503
    report = diagnose()
    assert report.findings[0].verdict == FAIL
    assert "no Redis Cluster seed node answered" in report.findings[0].detail
    assert len(errors(caplog)) <= 2  # one line per seed, however many probes
    said = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("health: Redis unavailable") for m in said) == 1  # per outage

    cluster.restart(0)  # the seed answers again; nothing in this process is reset
    back = time.monotonic()
    while client.get("/health/").status_code != 200:
        assert time.monotonic() - back < RECOVERY_BOUND, "no recovery without a restart"
        time.sleep(0.05)
    while client.get("/write/").status_code != 200:  # the node's slots: once it is ok
        assert time.monotonic() - back < RECOVERY_BOUND, "no recovery without a restart"
        time.sleep(0.05)
    assert client.get("/read/").content == b"1"
    assert diagnose().findings[0].verdict == OK
    key = client.cookies["sessionid"].value
    assert asyncio.run(SessionStore(key).aload()) == {"n": 1}
