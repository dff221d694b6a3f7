"""``cache_request`` on an ``async def`` view (issue 15.3): an async wrapper whose
lookup and store use the asyncio client, with the sync wrapper's hit / miss / bypass
behaviour and round-trip budgets. Before, such a view answered 500 (``'coroutine'
object has no attribute 'status_code'``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client, override_settings

from redis_sessions import connection, keys
from redis_sessions.analytics.counting import today
from redis_sessions.pagecache import entry as pageentry
from tests.pagecache.test_early_hit import STACK, WITH_EARLY
from tests.support.pagecache import count_every_view, popular, with_empty_session
from tests.support.pagecache_urls import calls


@pytest.fixture(autouse=True)
def fresh_calls() -> Iterator[None]:
    calls.clear()
    yield


def get(client: AsyncClient, url: str, **extra: Any) -> tuple[int, Any]:
    """(round trips, response) of one request through the ASGI handler."""
    before = connection.round_trips()
    response = async_to_sync(client.get)(url, **extra)
    return connection.round_trips() - before, response


@pytest.mark.parametrize("middleware", [STACK, WITH_EARLY], ids=["in the view", "early"])
@pytest.mark.single_server("single-server round-trip budget")
def test_an_async_view_goes_bypass_miss_hit_in_the_sync_budget(
    redis: Any, settings: Any, middleware: list[str]
) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CACHE_TOP_N": 2}
    count_every_view(settings)
    popular(redis, "other")
    with override_settings(MIDDLEWARE=middleware):
        seen = [get(AsyncClient(), "/pc/async/z/") for _ in range(3)]
    assert [r.status_code for _, r in seen] == [200] * 3
    assert [(trips, r["X-Cache"]) for trips, r in seen] == [
        (1, "bypass; reason=cold"), (2, "miss"), (1, "hit")
    ]  # fmt: skip
    assert seen[2][1].content == b"async z #2" and calls["async"] == 2
    # each request one view: the lookup counted it, the view's arecord_view did not
    assert -redis.zscore(keys.viewed_items(), "z") == 3
    assert redis.zscore(keys.daily_views(today()), "z") == 3


def test_an_async_view_is_the_same_page_as_for_the_sync_client(redis: Any) -> None:
    popular(redis, "a")
    assert async_to_sync(AsyncClient().get)("/pc/async/a/")["X-Cache"] == "miss"
    assert Client().get("/pc/async/a/")["X-Cache"] == "hit"  # WSGI: async_to_sync'd view


@override_settings(MIDDLEWARE=STACK)
@pytest.mark.single_server("single-server round-trip budget")
def test_an_async_hit_with_a_session_cookie_costs_one_round_trip(redis: Any) -> None:
    popular(redis, "a")
    async_to_sync(AsyncClient().get)("/pc/async/a/")
    client = AsyncClient()
    sync = Client()
    with_empty_session(sync)
    client.cookies = sync.cookies
    trips, response = get(client, "/pc/async/a/")
    assert (trips, response["X-Cache"]) == (1, "hit")  # the session loads with the lookup
    key = sync.cookies["sessionid"].value
    assert redis.zrange(keys.viewed(key), 0, -1) == [b"a"]


@pytest.mark.django_db(transaction=True)
@override_settings(MIDDLEWARE=STACK)
def test_a_logged_in_visitor_of_an_async_view_gets_a_fresh_page_counted_once(
    redis: Any, django_user_model: Any
) -> None:
    popular(redis, "a")
    async_to_sync(AsyncClient().get)("/pc/async/a/")  # stored
    django_user_model.objects.create_user("u", password="p")
    sync = Client()
    sync.login(username="u", password="p")
    client = AsyncClient()
    client.cookies = sync.cookies
    response = async_to_sync(client.get)("/pc/async/a/")
    assert (response["X-Cache"], response.content) == ("bypass; reason=session", b"async a #2")
    assert -redis.zscore(keys.viewed_items(), "a") == 100 + 2


def test_an_async_item_function_is_awaited_and_query_rules_apply(redis: Any) -> None:
    popular(redis, "f")
    client = AsyncClient()
    states = [async_to_sync(client.get)("/pc/async-fn/f/?page=2")["X-Cache"] for _ in range(2)]
    assert states == ["miss", "hit"] and calls["async-fn"] == 1
    other = async_to_sync(client.get)("/pc/async-fn/f/?ref=x")
    assert other["X-Cache"] == "bypass; reason=query"


def test_post_and_authorization_bypass_an_async_view(redis: Any, settings: Any) -> None:
    count_every_view(settings)
    popular(redis, "a")
    client = AsyncClient()
    assert async_to_sync(client.post)("/pc/async/a/")["X-Cache"] == "bypass; reason=method"
    assert -redis.zscore(keys.viewed_items(), "a") == 100 + 1  # the view's own count
    authorized = async_to_sync(client.get)("/pc/async/a/", headers={"authorization": "Bearer x"})
    assert authorized["X-Cache"] == "bypass; reason=authorization"
    assert -redis.zscore(keys.viewed_items(), "a") == 100 + 2  # the GET, once


def test_a_failing_async_view_releases_the_render_lock(redis: Any) -> None:
    popular(redis, "b")
    client = AsyncClient(raise_request_exception=False)
    assert async_to_sync(client.get)("/pc/async-failing/b/").status_code == 500
    digest = pageentry.digest("GET", "http", "testserver", "/pc/async-failing/b/", "")
    assert not redis.exists(keys.page_lock(digest)) and calls["async-failing"] == 1


def test_redis_down_serves_an_async_view_uncached(caplog: Any) -> None:
    with override_settings(REDIS_SESSIONS={"URL": "redis://127.0.0.1:1/0"}, MIDDLEWARE=STACK):
        connection.reset()
        with caplog.at_level(logging.WARNING, logger="redis_sessions"):
            responses = [async_to_sync(AsyncClient().get)("/pc/async/a/") for _ in range(2)]
        connection.reset()
    assert [(r.status_code, r["X-Cache"]) for r in responses] == [
        (200, "bypass; reason=unavailable")
    ] * 2
