"""Sentinel: one master, one replica, one sentinel on loopback ports; kill -9 the master.

The app reaches Redis through django-redis's Sentinel support (``SentinelClient`` +
``SentinelConnectionFactory``); after the master dies and the sentinel promotes the
replica, requests recover by themselves, without restarting anything.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django
import pytest
import redis
from django.test import Client

from redis_sessions import connection, embedded, keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.doctor import diagnose

pytestmark = pytest.mark.single_server("starts its own single Redis")

RECOVERY_BOUND = 10.0  # seconds: a correctness bound (no restart needed), not a benchmark
SETUP_BOUND = 20.0
#: From the sentinel naming the promoted replica to the first request it serves: at
#: most one breaker period (0.25 s, the default) for the next probe, plus the probe's
#: own round trips and this loop's step (measured: 0.11-0.26 s; before the half-open
#: breaker, 0.60-1.77 s, a 2 s window re-armed by the failover's errors).
AFTER_PROMOTION_BOUND = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Any, bound: float = SETUP_BOUND) -> Any:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        try:
            result = check()
        except redis.RedisError:
            result = None
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Topology:
    service: str
    master: embedded.EmbeddedRedis
    replica: embedded.EmbeddedRedis
    sentinel: subprocess.Popen[bytes]
    master_port: int
    replica_port: int
    sentinel_port: int

    def sentinel_client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.sentinel_port, socket_timeout=1)

    def master_address(self) -> tuple[str, int]:
        host, port = self.sentinel_client().sentinel_get_master_addr_by_name(self.service)
        return host.decode() if isinstance(host, bytes) else str(host), int(port)


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    master_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    # One service name per topology: django-redis caches pools per process by URL,
    # and the URL names the service.
    service = f"anatomy{sentinel_port}"
    on_loopback = ("--bind", "127.0.0.1")
    master = embedded.start("--port", str(master_port), *on_loopback)
    replica = embedded.start(
        "--port", str(replica_port), *on_loopback,
        "--replicaof", "127.0.0.1", str(master_port),
    )  # fmt: skip
    sentinel_proc: subprocess.Popen[bytes] | None = None
    try:
        admin = redis.Redis(unix_socket_path=str(master.socket))
        wait_for("the replica to sync",
                 lambda: admin.info("replication").get("connected_slaves") == 1)  # fmt: skip
        conf = tmp_path / "sentinel.conf"
        conf.write_text(
            f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
            f"sentinel monitor {service} 127.0.0.1 {master_port} 1\n"
            f"sentinel down-after-milliseconds {service} 1000\n"
            f"sentinel failover-timeout {service} 5000\n"
        )
        sentinel_proc = subprocess.Popen(
            [embedded.find_redis_server(), str(conf), "--sentinel",
             "--logfile", str(tmp_path / "sentinel.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        topo = Topology(service, master, replica, sentinel_proc, master_port, replica_port,
                        sentinel_port)  # fmt: skip
        wait_for("the sentinel to see the replica",
                 lambda: topo.sentinel_client().sentinel_slaves(service))  # fmt: skip
        yield topo
    finally:
        if sentinel_proc is not None:
            sentinel_proc.terminate()
            sentinel_proc.wait(timeout=5)
        connection.reset()
        replica.stop()
        master.stop()


@pytest.fixture
def through_sentinel(topology: Topology, settings: Any) -> Topology:
    """Point the django-redis alias (and so the app) at the sentinel."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://{topology.service}/0",
            "KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", ""),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.SentinelClient",
                "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
                "SENTINELS": [("127.0.0.1", topology.sentinel_port)],
                "SOCKET_TIMEOUT": 0.5,
                "SOCKET_CONNECT_TIMEOUT": 0.5,
            },
        },
    }
    return topology


def test_sessions_work_through_sentinel_with_the_apps_no_retry_policy(
    through_sentinel: Topology,
) -> None:
    client = Client(raise_request_exception=True)
    assert client.get("/write/").status_code == 200
    assert client.get("/read/").content == b"1"
    pool = connection.get_redis().connection_pool
    conn = pool.connection_class(**pool.connection_kwargs)
    assert isinstance(conn, redis.sentinel.SentinelManagedConnection)
    assert conn.retry._retries == 0 and conn.socket_timeout == 0.5

    async def async_read() -> Any:
        key = client.cookies["sessionid"].value
        return await SessionStore(key).aget("n")

    if django.VERSION >= (5, 1):  # Django's async session API
        assert asyncio.run(async_read()) == 1
    assert f"Sentinel service {through_sentinel.service!r}" in diagnose().findings[0].detail


@pytest.mark.slow
def test_requests_recover_after_kill_9_of_the_master_without_a_restart(
    through_sentinel: Topology, settings: Any
) -> None:
    topo = through_sentinel
    client = Client(raise_request_exception=False)
    assert client.get("/write/").status_code == 200
    cookie = client.cookies["sessionid"].value
    # Replication is asynchronous: make sure the session reached the replica first
    # (what a kill loses before that is the AOF/replication trade-off, not this test's).
    replica = redis.Redis(unix_socket_path=str(topo.replica.socket))
    wait_for("the session to reach the replica", lambda: replica.exists(keys.session(cookie)))
    assert topo.master_address() == ("127.0.0.1", topo.master_port)

    topo.master.process.kill()  # SIGKILL
    topo.master.process.wait()
    killed = time.monotonic()
    statuses: list[int] = []
    promoted: float | None = None
    not_promoted_at = killed  # the last time the sentinel still named the old master
    while time.monotonic() - killed < RECOVERY_BOUND:
        if promoted is None:
            if topo.master_address() == ("127.0.0.1", topo.replica_port):
                promoted = time.monotonic()  # the sentinel names the new master from now on
            else:
                not_promoted_at = time.monotonic()
        response = client.get("/write/")
        statuses.append(response.status_code)
        if response.status_code == 200:
            break
        time.sleep(0.01)
    served = time.monotonic()
    if promoted is None:  # promoted during the request that succeeded: an upper bound
        promoted = not_promoted_at
    assert statuses[-1] == 200, f"no recovery within {RECOVERY_BOUND} s: {statuses[-5:]}"
    assert set(statuses[:-1]) <= {503}  # the outage answered the 503 page, never a 500
    assert topo.master_address() == ("127.0.0.1", topo.replica_port)
    # Served within a breaker period of the promotion, not a window re-armed by the
    # failover's errors ("No master found" while the sentinel promotes).
    assert served - promoted < AFTER_PROMOTION_BOUND, f"{served - promoted:.3f} s"
    print(
        f"sentinel: killed +0 s, promoted +{promoted - killed:.3f} s, "
        f"served +{served - killed:.3f} s ({served - promoted:.3f} s after the promotion)"
    )
    assert client.cookies["sessionid"].value == cookie  # same session, nobody logged out
    assert client.get("/read/").content == b"2"
    assert asyncio.run(SessionStore(cookie).aload()) == {"n": 2}  # asyncio finds it too
