"""``cache_request`` counts the view of its item itself (issue 14.1): the decorator
alone makes an item popular, in the lookup's round trip, and a view's own
``record_view`` of the same item in the same request is not counted again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from redis_sessions import connection, keys
from redis_sessions.analytics.counting import today
from redis_sessions.pagecache import bypass
from tests.support.pagecache import (
    EARLY_STACK,
    count_every_view,
    logged_in,
    popular,
    with_empty_session,
)
from tests.support.pagecache_urls import calls


@pytest.fixture(autouse=True)
def fresh_calls() -> Iterator[None]:
    calls.clear()
    yield


@pytest.fixture(autouse=True)
def every_view(settings: Any) -> None:
    count_every_view(settings)  # one client's requests: each counts (VIEW_WINDOW 0)


@pytest.fixture
def top_two(settings: Any, every_view: None) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CACHE_TOP_N": 2}


def views_of(redis: Any, item: str) -> tuple[float, float]:
    """(popularity views, the day's views) of ``item``."""
    score = redis.zscore(keys.viewed_items(), item) or 0
    return -score, redis.zscore(keys.daily_views(today()), item) or 0


def trips_and_state(client: Client, url: str, **extra: Any) -> tuple[int, str]:
    before = connection.round_trips()
    response = client.get(url, **extra)
    return connection.round_trips() - before, response["X-Cache"]


@pytest.mark.parametrize("stack", [None, EARLY_STACK], ids=["in the view", "early"])
@pytest.mark.single_server("single-server round-trip budget")
def test_the_decorator_alone_goes_bypass_miss_hit_in_the_budget(
    redis: Any, top_two: None, stack: list[str] | None
) -> None:
    popular(redis, "other")  # one item ranks first; "z" has never been viewed
    with override_settings(**({"MIDDLEWARE": stack} if stack else {})):
        seen = [trips_and_state(Client(), "/pc/alone/z/") for _ in range(3)]
    # cold (the lookup counts the view: now z ranks second), then stored, then served;
    # the lookup, the lookup and the store, the hit: no round trip of its own to count
    assert seen == [(1, "bypass; reason=cold"), (2, "miss"), (1, "hit")]
    assert calls["alone"] == 2
    assert views_of(redis, "z") == (3, 3)
    assert redis.pfcount(keys.item_visitors("z", today())) == 1


def test_the_decorator_alone_never_caches_an_item_outside_the_top_n(
    redis: Any, settings: Any
) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CACHE_TOP_N": 1}
    popular(redis, "other")  # 100 views: z's three stay below it
    states = [Client().get("/pc/alone/z/")["X-Cache"] for _ in range(3)]
    assert states == ["bypass; reason=cold"] * 3
    assert views_of(redis, "z") == (3, 3)  # still counted, every time


def test_a_views_own_record_view_is_not_counted_twice(redis: Any, top_two: None) -> None:
    popular(redis, "other")
    states = [Client().get("/pc/item/z/")["X-Cache"] for _ in range(3)]  # with record_view
    assert states == ["bypass; reason=cold", "miss", "hit"]
    assert views_of(redis, "z") == (3, 3)


@pytest.mark.single_server("single-server round-trip budget")
def test_a_visitor_with_a_session_cookie_is_counted_once_in_the_session_load(
    redis: Any, top_two: None
) -> None:
    popular(redis, "other")
    client = Client()
    with_empty_session(client)
    key = client.session.session_key
    seen = [trips_and_state(client, "/pc/item/z/") for _ in range(3)]
    # cold: the load with the peek; miss: that, the lookup with the lock, the store
    assert seen == [(1, "bypass; reason=cold"), (3, "miss"), (1, "hit")]
    assert views_of(redis, "z") == (3, 3)
    assert redis.zrange(keys.viewed(key), 0, -1) == [b"z"]


@pytest.mark.django_db
def test_a_logged_in_visitor_is_counted_once_by_the_decorator_alone(
    redis: Any, django_user_model: Any
) -> None:
    popular(redis, "a")
    client = logged_in(django_user_model)
    assert client.get("/pc/alone/a/")["X-Cache"] == "bypass; reason=session"
    assert client.get("/pc/item/a/")["X-Cache"] == "bypass; reason=session"  # record_view
    assert views_of(redis, "a") == (102, 2)


@pytest.mark.parametrize("url", ["/pc/alone/a/", "/pc/item/a/"])
def test_a_request_bypassed_before_any_lookup_is_counted_once(redis: Any, url: str) -> None:
    popular(redis, "a")
    response = Client().get(url, HTTP_AUTHORIZATION="Bearer x")
    assert response["X-Cache"] == "bypass; reason=authorization"
    assert views_of(redis, "a") == (101, 1)


def test_a_post_is_not_a_view(redis: Any) -> None:
    assert Client().post("/pc/alone/a/")["X-Cache"] == "bypass; reason=method"
    assert views_of(redis, "a") == (0, 0)


def test_every_bypass_names_its_reason_and_each_reason_is_logged_once(
    redis: Any, caplog: Any, settings: Any
) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CACHE_TOP_N": 1}
    popular(redis, "other")
    bypass.forget_logged()
    with caplog.at_level(logging.DEBUG, logger="redis_sessions.pagecache"):
        for _ in range(3):
            assert Client().get("/pc/alone/z/")["X-Cache"] == "bypass; reason=cold"
            assert Client().post("/pc/alone/z/")["X-Cache"] == "bypass; reason=method"
    lines = [r.getMessage() for r in caplog.records if r.name == "redis_sessions.pagecache"]
    assert len(lines) == 2
    assert "reason=cold" in lines[0] and "CACHE_TOP_N" in lines[0]
    assert "reason=method" in lines[1]


def test_every_bypass_reason_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "caching.md").read_text()
    missing = [reason for reason in bypass.REASONS if f"`{reason}`" not in doc]
    assert missing == []
