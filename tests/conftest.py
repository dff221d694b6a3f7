from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest

from redis_sessions import connection, keys

_ids = itertools.count()


@pytest.fixture(autouse=True)
def redis_keyspace(settings: Any) -> Iterator[str]:
    """A key prefix of its own for every test; its keys are deleted afterwards.

    Prefixes (not FLUSHDB) keep tests isolated on a shared server too: the suite may
    run against a Redis it does not own.
    """
    prefix = f"t{os.getpid()}-{next(_ids)}"
    settings.REDIS_SESSIONS = {**getattr(settings, "REDIS_SESSIONS", {}), "KEY_PREFIX": prefix}
    settings.CACHES = {
        alias: {**config, "KEY_PREFIX": prefix} for alias, config in settings.CACHES.items()
    }
    yield prefix
    connection.reset()
    client = connection.get_redis()
    batch = list(client.scan_iter(match=keys.scan_pattern(), count=1000))
    while batch:
        client.delete(*batch[:1000])
        batch = batch[1000:]
    connection.reset()


@pytest.fixture
def redis() -> Any:
    return connection.get_redis()
