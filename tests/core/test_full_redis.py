"""A full Redis (``maxmemory`` reached under ``noeviction``): reads work, writes 503."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from redis_sessions import connection, embedded

pytestmark = pytest.mark.single_server("starts its own single Redis")


@pytest.fixture
def full_redis(settings: Any) -> Iterator[Any]:
    server = embedded.start("--maxmemory-policy", "noeviction")
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "URL": server.url}
    yield connection.get_redis()
    settings.REDIS_SESSIONS = {k: v for k, v in settings.REDIS_SESSIONS.items() if k != "URL"}
    server.stop()


def test_full_redis_serves_reads_answers_503_to_writes_and_recovers(
    full_redis: Any, caplog: Any
) -> None:
    client = Client(raise_request_exception=False)
    client.get("/write/")
    cookie = client.cookies["sessionid"].value
    full_redis.config_set("maxmemory", 1)  # far below what it uses: every write refused
    with caplog.at_level(logging.WARNING, logger="redis_sessions"):
        read = client.get("/view/item-1/")  # the last-seen and view updates are refused
    assert read.status_code == 200 and read.content == b"1"
    assert "Redis is full" in caplog.text
    for response in (client.get("/write/"), Client(raise_request_exception=False).get("/write/")):
        assert response.status_code == 503 and response["Retry-After"]
        assert "sessionid" not in response.cookies
    full_redis.config_set("maxmemory", 0)
    assert client.get("/write/").status_code == 200
    assert client.get("/read/").content == b"2"
    assert client.cookies["sessionid"].value == cookie


def test_a_page_cache_hit_on_a_full_redis_is_served_uncached_not_a_500(full_redis: Any) -> None:
    from redis_sessions import keys

    full_redis.zincrby(keys.viewed_items(), -100, "f")  # popular
    client = Client(raise_request_exception=False)
    assert client.get("/pc/item/f/")["X-Cache"] == "miss"
    assert client.get("/pc/item/f/")["X-Cache"] == "hit"
    full_redis.config_set("maxmemory", 1)  # the hit's view counting is refused
    response = client.get("/pc/item/f/")
    assert response.status_code == 200 and response["X-Cache"] == "bypass; reason=unavailable"
    full_redis.config_set("maxmemory", 0)
    assert client.get("/pc/item/f/")["X-Cache"] == "hit"


def test_a_full_redis_is_logged_once_however_many_pages_it_refuses(
    full_redis: Any, caplog: Any, monkeypatch: Any
) -> None:
    # A full Redis answers reads (the lookup works: the outage looks over) and refuses
    # writes (the store fails: a new outage): the warning must not follow every request.
    from redis_sessions import keys
    from redis_sessions.connection.outages import Outage
    from redis_sessions.pagecache import engine, pending

    monkeypatch.setattr(pending.outage, "outage", Outage(engine.logger))  # none logged yet

    full_redis.config_set("maxmemory", 1)
    with caplog.at_level(logging.WARNING, logger="redis_sessions"):
        for n in range(30):
            item = f"g{n}"
            full_redis.config_set("maxmemory", 0)
            full_redis.zincrby(keys.viewed_items(), -100, item)
            full_redis.config_set("maxmemory", 1)
            Client(raise_request_exception=False).get(f"/pc/item/{item}/")
            Client(raise_request_exception=False).get("/pc/item/f/")
    outages = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(outages) == 1


def test_a_full_redis_is_logged_once_per_process_by_threads_serving_pages_together(
    full_redis: Any, caplog: Any, monkeypatch: Any
) -> None:
    """The threads of a worker hit the same full Redis at once (issue 18: under load
    the page cache's warning must still be one line per outage per process)."""
    import threading
    import time

    from redis_sessions import keys
    from redis_sessions.connection.outages import Outage
    from redis_sessions.pagecache import engine, pending

    monkeypatch.setattr(pending.outage, "outage", Outage(engine.logger))  # none logged yet
    for n in range(10):
        full_redis.zincrby(keys.viewed_items(), -100, f"t{n}")
    full_redis.config_set("maxmemory", 1)
    statuses: list[int] = []
    start = threading.Barrier(8)

    def browse() -> None:
        client = Client(raise_request_exception=False)
        start.wait()
        until = time.monotonic() + 1.5
        n = 0
        while time.monotonic() < until:
            statuses.append(client.get(f"/pc/item/t{n % 10}/").status_code)
            statuses.append(client.get(f"/view/item-{n}/").status_code)
            n += 1

    with caplog.at_level(logging.WARNING, logger="redis_sessions"):
        threads = [threading.Thread(target=browse) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    full_redis.config_set("maxmemory", 0)
    assert len(statuses) > 100 and set(statuses) == {200}  # pages served uncached
    messages = [r.getMessage() for r in caplog.records if r.name == "redis_sessions"]
    assert sum("page cache: Redis unavailable" in m for m in messages) == 1
    assert sum("Redis is full" in m for m in messages) == 1
