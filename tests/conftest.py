from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from redis_sessions import connection, keys
from redis_sessions.signals import sessions_evicted

_ids = itertools.count()


# -- pytest --redis-cluster: the whole suite against a real 3-master cluster ----------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--redis-cluster", action="store_true",
                     help="run against a 3-master Redis Cluster started for the run")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "single_server(reason): skipped under --redis-cluster, with the reason"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--redis-cluster"):
        return
    for item in items:
        marker = item.get_closest_marker("single_server")
        if marker is not None:
            reason = marker.args[0] if marker.args else "single-server only"
            item.add_marker(pytest.mark.skip(reason=f"not on a cluster: {reason}"))


@pytest.fixture(scope="session", autouse=True)
def redis_cluster(request: pytest.FixtureRequest) -> Iterator[Any]:
    """With ``--redis-cluster``: start the cluster and point the app at it (URL of one
    node, ``CLUSTER`` on) for the whole run; tests still isolate by key prefix."""
    if not request.config.getoption("--redis-cluster"):
        yield None
        return
    from tests.support import cluster_server

    cluster = cluster_server.start()
    user = {**getattr(settings, "REDIS_SESSIONS", {}), "URL": cluster.url, "CLUSTER": True}
    try:
        with override_settings(REDIS_SESSIONS=user):
            yield cluster
    finally:
        connection.reset()
        cluster.stop()


@pytest.fixture(autouse=True)
def redis_keyspace(redis_cluster: Any) -> Iterator[str]:
    """A key prefix of its own for every test; its keys are deleted afterwards.

    Prefixes (not FLUSHDB) keep tests isolated on a shared server too: the suite may
    run against a Redis it does not own. The cleanup runs after any settings the test
    changed have been restored, inside this fixture's own override.
    """
    prefix = f"t{os.getpid()}-{next(_ids)}"
    # The demo's per-process slug -> pk memo outlives a test's rolled-back rows (no
    # post_delete is sent for them); on PostgreSQL the next test's products get new
    # pks under the same slugs.
    from demo_project.shop import views as shop_views

    shop_views._product_ids.clear()
    caches = {alias: {**config, "KEY_PREFIX": prefix} for alias, config in settings.CACHES.items()}
    user = {**getattr(settings, "REDIS_SESSIONS", {}), "KEY_PREFIX": prefix}
    with override_settings(REDIS_SESSIONS=user, CACHES=caches):
        yield prefix
        connection.reset()
        client = connection.get_redis()
        batch = list(client.scan_iter(match=keys.scan_pattern(), count=1000))
        for start in range(0, len(batch), 1000):
            client.delete(*batch[start : start + 1000])
    connection.reset()


@pytest.fixture(scope="session", autouse=True)
def preloaded_scripts(django_db_blocker: Any, redis_cluster: Any) -> None:
    """Load every Lua script once, so round-trip counts see the steady state (a first
    EVALSHA on a fresh server costs a SCRIPT LOAD and a resend)."""
    import redis_sessions.analytics
    import redis_sessions.cart
    import redis_sessions.pagecache
    import redis_sessions.rowcache
    import redis_sessions.sessions  # noqa: F401  (each declares its scripts)
    from redis_sessions.connection import scripts

    client = connection.get_redis()
    for script in scripts.registered():
        client.script_load(script.source)


@pytest.fixture
def received() -> Iterator[list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        calls.append(kwargs)

    sessions_evicted.connect(receiver, weak=False, dispatch_uid="test.received")
    yield calls
    sessions_evicted.disconnect(dispatch_uid="test.received")


@pytest.fixture
def no_receivers() -> Iterator[None]:
    sessions_evicted.disconnect(dispatch_uid="shop.abandoned_carts")
    yield
    from demo_project.shop.abandoned import record_abandoned_carts

    sessions_evicted.connect(record_abandoned_carts, dispatch_uid="shop.abandoned_carts")


@pytest.fixture
def redis() -> Any:
    return connection.get_redis()
