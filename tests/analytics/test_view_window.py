"""``VIEW_WINDOW`` (issue 16.3): a visitor's views of an item count once per window in
the popularity counters (``viewed:``, ``views:{DAY}``), decided in the round trip that
counts the view, through the page cache's lookup and through ``record_view``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory, override_settings

from redis_sessions import connection, keys
from redis_sessions.analytics import counting
from redis_sessions.analytics.counting import client_id, record_view, today
from redis_sessions.backends.redis import SessionStore
from tests.support.pagecache import EARLY_STACK, popular, with_empty_session
from tests.support.pagecache_urls import calls

N = 300
single_server = pytest.mark.single_server("single-server round-trip budget")


@pytest.fixture(autouse=True)
def fresh_calls() -> Iterator[None]:
    calls.clear()
    yield


def window(settings: Any, seconds: int) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "VIEW_WINDOW": seconds}


def views_of(redis: Any, item: str) -> tuple[float, float]:
    """(popularity views, the day's views) of ``item``; ``popular`` gave it 100 of the
    first."""
    score = redis.zscore(keys.viewed_items(), item) or 0
    return -score - 100, redis.zscore(keys.daily_views(today()), item) or 0


def visitors_of(redis: Any, item: str) -> int:
    """The HyperLogLog's count, not clamped to the views (``unique_visitors`` is)."""
    return int(redis.pfcount(keys.item_visitors(item, today())))


def agents(n: int = N) -> list[dict[str, str]]:
    return [{"HTTP_USER_AGENT": f"Agent/{i}.0"} for i in range(n)]


# -- one client, many user agents: one view -----------------------------------------------


@pytest.mark.parametrize("stack", [None, EARLY_STACK], ids=["in the view", "early"])
def test_one_address_with_300_user_agents_counts_one_view_through_the_page_cache(
    redis: Any, stack: list[str] | None
) -> None:
    popular(redis, "z")
    with override_settings(**({"MIDDLEWARE": stack} if stack else {})):
        states = {Client().get("/pc/alone/z/", **agent)["X-Cache"] for agent in agents()}
    assert states == {"miss", "hit"}  # rendered once, then served from the copy
    assert views_of(redis, "z") == (1, 1)
    assert visitors_of(redis, "z") > N * 0.95  # the HyperLogLog is not gated


@pytest.mark.parametrize("url", ["/view-anon/z/", "/view/z/"])
def test_one_address_with_300_user_agents_counts_one_view_through_record_view(
    redis: Any, url: str
) -> None:
    popular(redis, "z")
    for agent in agents():
        assert Client().get(url, **agent).status_code == 200
    assert views_of(redis, "z") == (1, 1)
    assert visitors_of(redis, "z") > N * 0.95


def test_record_view_outside_a_request_counts_one_view_per_address(redis: Any) -> None:
    popular(redis, "z")
    factory = RequestFactory()
    for agent in agents():
        record_view(factory.get("/", REMOTE_ADDR="10.0.0.1", **agent), "z")
    record_view(factory.get("/", REMOTE_ADDR="10.0.0.2"), "z")  # another client
    assert views_of(redis, "z") == (2, 2)


def test_300_made_up_session_cookies_from_one_address_count_one_view(redis: Any) -> None:
    popular(redis, "z")
    for i in range(N):
        client = Client()
        client.cookies["sessionid"] = f"{i:032d}"  # well formed, never created
        client.get("/pc/alone/z/")
        client.get("/view/z/")
    assert views_of(redis, "z") == (1, 1)


def test_a_session_each_request_makes_is_no_new_visitor(redis: Any) -> None:
    popular(redis, "z")
    for agent in agents():
        response = Client().get("/view-write/z/", **agent)  # no cookie: a new session
        assert "sessionid" in response.cookies
    assert views_of(redis, "z") == (1, 1)


# -- many sessions: many views ----------------------------------------------------------


def test_300_sessions_from_one_address_count_300_views_each_once(redis: Any) -> None:
    popular(redis, "z")
    clients = [Client() for _ in range(N)]
    for client in clients:
        with_empty_session(client)
    for _ in range(2):  # each session twice: its second view is in its window
        for client in clients:
            client.get("/pc/alone/z/")
            client.get("/view/z/")
    assert views_of(redis, "z") == (N, N)
    key = clients[0].cookies["sessionid"].value
    assert redis.zrange(keys.viewed(key), 0, -1) == [b"z"]


def test_a_session_visitors_own_viewed_list_is_not_gated(redis: Any) -> None:
    client = Client()
    client.get("/write/")
    key = client.cookies["sessionid"].value
    for item in ("a", "b", "a"):
        client.get(f"/view/{item}/")
    assert redis.zrange(keys.viewed(key), 0, -1) == [b"b", b"a"]  # a is the newest
    assert [views_of(redis, item)[1] for item in ("a", "b")] == [1, 1]


# -- the window ---------------------------------------------------------------------------


def test_with_a_window_of_0_every_view_counts(redis: Any, settings: Any) -> None:
    popular(redis, "z")
    for agent in agents(20):
        Client().get("/pc/alone/z/", **agent)
        Client().get("/view-anon/y/", **agent)
    assert (views_of(redis, "z"), views_of(redis, "y")[1]) == ((1, 1), 1)  # the default
    window(settings, 0)
    for agent in agents(20):
        Client().get("/pc/alone/z/", **agent)
        Client().get("/view-anon/y/", **agent)
    assert (views_of(redis, "z"), views_of(redis, "y")[1]) == ((21, 21), 21)


def test_a_view_counts_again_once_its_window_has_passed(redis: Any, settings: Any) -> None:
    window(settings, 1)
    popular(redis, "z")
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")
    seen = keys.view_seen(client_id(request), "z")
    for _ in range(2):
        Client().get("/pc/alone/z/", REMOTE_ADDR="10.0.0.1")
        Client().get("/view-anon/z/", REMOTE_ADDR="10.0.0.1")
        assert 0 < redis.pttl(seen) <= 1000
        time.sleep(1.1)  # a real wait past the window (no assertion on time)
    assert views_of(redis, "z") == (2, 2)
    assert not redis.exists(seen)


def test_the_default_window_is_600_seconds(redis: Any) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")
    record_view(request, "z")
    assert 590 < redis.ttl(keys.view_seen(client_id(request), "z")) <= 600


# -- the client: VISITOR_ID ---------------------------------------------------------------


def test_visitor_id_names_the_client_behind_a_trusted_proxy(redis: Any, settings: Any) -> None:
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS, "VISITOR_ID": "tests.support.visitors.forwarded_for",
    }  # fmt: skip
    popular(redis, "z")
    for i in range(10):  # ten clients behind the proxy at 127.0.0.1, twice each
        for _ in range(2):
            Client().get("/pc/alone/z/", HTTP_X_FORWARDED_FOR=f"1.2.3.4, 10.0.0.{i}")
            Client().get("/view-anon/z/", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    assert views_of(redis, "z") == (10, 10)


def test_a_proxied_request_without_visitor_id_is_logged_once(caplog: Any) -> None:
    counting._warn_proxy.cache_clear()
    factory = RequestFactory()
    with caplog.at_level(logging.WARNING, logger="redis_sessions.analytics"):
        record_view(factory.get("/", REMOTE_ADDR="10.0.0.1"), "z")  # direct: nothing
        assert caplog.records == []
        for _ in range(2):
            record_view(
                factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4"), "z"
            )
            record_view(factory.get("/", REMOTE_ADDR=""), "z")
    assert len(caplog.records) == 1 and "VISITOR_ID" in caplog.records[0].getMessage()


def test_a_visitor_id_that_returns_no_text_is_a_clear_error(settings: Any) -> None:
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS,
        "VISITOR_ID": "tests.support.visitors.not_text",
    }
    with pytest.raises(ImproperlyConfigured, match="must return the client as a str"):
        record_view(RequestFactory().get("/"), "z")


# -- round trips: unchanged -----------------------------------------------------------------


def trips(send: Any) -> int:
    before = connection.round_trips()
    send()
    return connection.round_trips() - before


@single_server
@pytest.mark.parametrize("stack", [None, EARLY_STACK], ids=["in the view", "early"])
def test_a_hit_is_one_round_trip_whether_its_view_counts_or_not(
    redis: Any, stack: list[str] | None
) -> None:
    popular(redis, "z")
    with override_settings(**({"MIDDLEWARE": stack} if stack else {})):
        Client().get("/pc/alone/z/", REMOTE_ADDR="10.0.0.1")  # miss: rendered, stored
        # a new client's hit counts; its hit with another user agent does not
        seen = [trips(lambda a=a: Client().get("/pc/alone/z/", REMOTE_ADDR="10.0.0.2",
                                               HTTP_USER_AGENT=a))
                for a in ("first", "second")]  # fmt: skip
    assert seen == [1, 1] and calls["alone"] == 1
    assert views_of(redis, "z") == (2, 2)


@single_server
def test_a_hit_for_a_session_visitor_is_one_round_trip(redis: Any) -> None:
    popular(redis, "z")
    Client().get("/pc/item/z/")  # rendered and stored
    client = Client()
    with_empty_session(client)
    seen = [trips(lambda: client.get("/pc/item/z/")) for _ in range(2)]
    assert seen == [1, 1]
    assert views_of(redis, "z") == (2, 2)  # the cookieless render, the session's first


@single_server
def test_record_view_outside_a_request_is_one_round_trip_counted_or_not(redis: Any) -> None:
    factory = RequestFactory()
    request = factory.get("/", REMOTE_ADDR="10.0.0.1")
    store = SessionStore()
    store.create()
    with_session = factory.get("/", REMOTE_ADDR="10.0.0.1")
    with_session.session = store
    seen = [trips(lambda r=r: record_view(r, "z"))
            for r in (request, request, with_session, with_session)]  # fmt: skip
    assert seen == [1, 1, 1, 1]
    assert views_of(redis, "z")[1] == 2  # the client's view, the session's
