"""The page cache: cacheability rules both ways, round trips, CSRF, stampede, outage."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from redis_sessions import connection, keys
from redis_sessions.analytics.counting import today
from redis_sessions.backends.redis import SessionStore
from redis_sessions.pagecache import entry as pageentry
from redis_sessions.pagecache import invalidate_item, invalidate_page
from tests.support.pagecache import count_every_view, logged_in, popular, with_empty_session
from tests.support.pagecache_urls import calls


@pytest.fixture(autouse=True)
def fresh_calls() -> Iterator[None]:
    calls.clear()
    yield


def test_popular_item_page_is_stored_then_served_without_running_the_view(redis: Any) -> None:
    popular(redis, "a")
    first, second = Client().get("/pc/item/a/"), Client().get("/pc/item/a/")

    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    assert first.content == second.content == b"item a #1"
    assert calls["item"] == 1


@pytest.mark.single_server("single-server round-trip budget")
def test_a_hit_without_a_session_cookie_costs_one_round_trip(redis: Any) -> None:
    popular(redis, "a")
    client = Client()
    client.get("/pc/item/a/")
    before = connection.round_trips()
    assert client.get("/pc/item/a/")["X-Cache"] == "hit"
    assert connection.round_trips() - before == 1


@pytest.mark.single_server("single-server round-trip budget")
def test_a_hit_with_a_session_cookie_costs_one_round_trip(redis: Any) -> None:
    popular(redis, "a")
    client = Client()
    with_empty_session(client)  # now the client has a session cookie
    client.get("/pc/item/a/")
    before = connection.round_trips()
    assert client.get("/pc/item/a/")["X-Cache"] == "hit"
    assert connection.round_trips() - before == 1  # the session loads with the lookup


@pytest.mark.django_db
@pytest.mark.single_server("single-server round-trip budget")
def test_a_logged_in_visitor_of_a_stored_page_costs_one_round_trip_and_counts_once(
    redis: Any, django_user_model: Any
) -> None:
    popular(redis, "a")
    Client().get("/pc/item/a/")  # stored
    client = logged_in(django_user_model)
    before = connection.round_trips()
    response = client.get("/pc/item/a/")
    # the session load with the lookup, which found the copy and counted the view (the
    # view's record_view then counts nothing): one round trip, as the load alone was
    assert connection.round_trips() - before == 1
    assert (response["X-Cache"], response.content) == ("bypass; reason=session", b"item a #2")
    assert redis.zscore(keys.viewed_items(), "a") == -100 - 2  # once per request
    assert redis.zscore(keys.daily_views(today()), "a") == 2
    assert redis.zrange(keys.viewed(client.session.session_key), 0, -1) == [b"a"]


@pytest.mark.django_db
@pytest.mark.single_server("single-server round-trip budget")
def test_a_logged_in_visitor_of_a_page_with_no_copy_takes_no_lock_and_costs_no_more(
    redis: Any, django_user_model: Any
) -> None:
    popular(redis, "a")
    client = logged_in(django_user_model)
    before = connection.round_trips()
    assert client.get("/pc/item/a/")["X-Cache"] == "bypass; reason=session"
    assert connection.round_trips() - before == 1  # the load with the peek, which counted
    digest = pageentry.digest("GET", "http", "testserver", "/pc/item/a/", "")
    assert not redis.exists(keys.page_lock(digest))  # a peek takes no lock
    assert Client().get("/pc/item/a/")["X-Cache"] == "miss"  # nobody waits for it


@pytest.mark.single_server("single-server round-trip budget")
def test_an_anonymous_visitor_with_a_session_cookie_renders_a_missing_or_stale_page(
    redis: Any, settings: Any
) -> None:
    count_every_view(settings)
    popular(redis, "a")
    client = Client()
    with_empty_session(client)
    before = connection.round_trips()
    assert client.get("/pc/item/a/")["X-Cache"] == "miss"
    # the load with a peek (which counts the view), the lookup that takes the lock, the
    # store
    assert connection.round_trips() - before == 3
    digest = pageentry.digest("GET", "http", "testserver", "/pc/item/a/", "")
    redis.hset(keys.page(digest), "fresh", 0)  # expired: served by nobody, re-rendered
    assert client.get("/pc/item/a/").content == b"item a #2"
    assert redis.zscore(keys.viewed_items(), "a") == -100 - 2  # each view once


def test_each_view_is_counted_once_on_a_miss_and_on_a_hit(redis: Any, settings: Any) -> None:
    count_every_view(settings)
    popular(redis, "a")
    client = Client()
    with_empty_session(client)
    key = client.session.session_key
    client.get("/pc/item/a/")  # miss: the lookup counts it (the view's record_view not)
    client.get("/pc/item/a/")  # hit: the cache counts it
    assert redis.zscore(keys.viewed_items(), "a") == -102
    assert redis.zscore(keys.daily_views(today()), "a") == 2
    assert redis.pfcount(keys.item_visitors("a", today())) == 1
    assert redis.zrange(keys.viewed(key), 0, -1) == [b"a"]


def test_unpopular_item_is_never_cached_then_cached_once_popular(redis: Any, settings: Any) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CACHE_TOP_N": 2}
    popular(redis, "x", "y")
    for _ in range(3):
        assert Client().get("/pc/item/z/")["X-Cache"] == "bypass; reason=cold"
    assert calls["item"] == 3
    redis.zincrby(keys.viewed_items(), -1000, "z")  # now in the top 2
    assert Client().get("/pc/item/z/")["X-Cache"] == "miss"
    assert Client().get("/pc/item/z/")["X-Cache"] == "hit"
    assert calls["item"] == 4


def test_an_empty_body_is_a_hit(redis: Any) -> None:
    popular(redis, "e")
    Client().get("/pc/empty/e/")
    response = Client().get("/pc/empty/e/")
    assert (response["X-Cache"], response.content, calls["empty"]) == ("hit", b"", 1)


@pytest.mark.parametrize(
    ("rule", "reason"),
    [("cookie", "cookie"), ("private", "cache-control"), ("no-store", "cache-control"),
     ("vary-star", "vary"), ("status", "status"), ("session", "session-changed")],
)  # fmt: skip
def test_responses_that_must_not_be_shared_are_never_stored(
    redis: Any, rule: str, reason: str
) -> None:
    popular(redis, "r")
    for _ in range(2):
        assert Client().get(f"/pc/rule/{rule}/r/")["X-Cache"] == f"bypass; reason={reason}"
    assert calls[f"rule-{rule}"] == 2
    assert not redis.exists(keys.page(pageentry.digest("GET", "http", "testserver",
                                                       f"/pc/rule/{rule}/r/", "")))  # fmt: skip


def test_plain_responses_of_the_same_view_are_stored(redis: Any) -> None:
    popular(redis, "r")
    Client().get("/pc/rule/plain/r/")
    assert Client().get("/pc/rule/plain/r/")["X-Cache"] == "hit"


def test_post_and_authorization_bypass_the_cache(redis: Any) -> None:
    popular(redis, "a")
    Client().get("/pc/item/a/")
    assert Client().post("/pc/item/a/")["X-Cache"] == "bypass; reason=method"
    authorized = Client().get("/pc/item/a/", HTTP_AUTHORIZATION="Bearer x")
    assert authorized["X-Cache"] == "bypass; reason=authorization"
    assert Client().head("/pc/item/a/")["X-Cache"] == "miss"  # HEAD is cacheable
    assert calls["item"] == 4


@pytest.mark.django_db
def test_logged_in_visitors_get_fresh_pages_unless_the_view_is_public(
    redis: Any, django_user_model: Any
) -> None:
    popular(redis, "a")
    client = logged_in(django_user_model)
    Client().get("/pc/item/a/")  # stored by an anonymous visitor
    assert client.get("/pc/item/a/")["X-Cache"] == "bypass; reason=session"
    assert calls["item"] == 2
    Client().get("/pc/public/a/")
    assert client.get("/pc/public/a/")["X-Cache"] == "hit"


def test_a_visitor_with_a_non_empty_cart_gets_fresh_pages(redis: Any) -> None:
    popular(redis, "a")
    Client().get("/pc/item/a/")
    client = Client()
    with_empty_session(client)
    redis.hset(keys.cart(client.session.session_key), "42", 1)
    assert client.get("/pc/item/a/")["X-Cache"] == "bypass; reason=cart"
    assert client.get("/pc/public/a/")["X-Cache"] == "miss"  # public: the cart is no matter


def test_a_vary_header_must_match_for_a_hit_and_a_mismatch_is_counted_once(
    redis: Any, settings: Any
) -> None:
    count_every_view(settings)
    popular(redis, "v")
    fr, de = {"HTTP_ACCEPT_LANGUAGE": "fr"}, {"HTTP_ACCEPT_LANGUAGE": "de"}
    assert Client().get("/pc/vary/v/", **fr)["X-Cache"] == "miss"
    assert Client().get("/pc/vary/v/", **fr)["X-Cache"] == "hit"
    response = Client().get("/pc/vary/v/", **de)
    assert (response["X-Cache"], response.content) == ("miss", b"lang=de")
    assert redis.zscore(keys.viewed_items(), "v") == -103  # three views, three counts


def test_page_keys_are_the_same_in_processes_with_different_hash_seeds() -> None:
    code = (
        "from redis_sessions.pagecache.entry import digest;"
        "print(digest('GET', 'https', 'shop.example', '/p/x/', 'b=2&a=1&a=0'))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }  # fmt: skip
    # Sorted by name; a repeated name keeps its values' order (request.GET.getlist).
    assert outputs == {pageentry.digest("GET", "https", "shop.example", "/p/x/", "a=1&a=0&b=2")}


def test_the_stored_copy_holds_no_csrf_token_and_a_second_visitor_can_post(redis: Any) -> None:
    popular(redis, "f")
    first = Client(enforce_csrf_checks=True)
    first_page = first.get("/pc/form/f/")
    first_secret = first.cookies["csrftoken"].value
    digest = pageentry.digest("GET", "http", "testserver", "/pc/form/f/", "")
    stored = redis.hgetall(keys.page(digest))
    assert first_page["X-Cache"] == "miss"
    assert stored[b"body"].count(pageentry.PLACEHOLDER) == 2
    assert first_secret.encode() not in stored[b"body"]
    meta = json.loads(stored[b"meta"])
    headers = {name.lower(): value for name, value in meta["h"]}
    # The copy says it varies with the cookie (each visitor's token is theirs), but is
    # served whatever the cookie ("v" holds no Cookie to compare), and sets none.
    assert "set-cookie" not in headers and headers["vary"] == "Cookie" and meta["v"] == []

    second = Client(enforce_csrf_checks=True)
    page = second.get("/pc/form/f/")
    assert page["X-Cache"] == "hit" and calls["form"] == 1
    assert pageentry.PLACEHOLDER not in page.content
    token = page.content.split(b'name="csrfmiddlewaretoken" value="')[1].split(b'"')[0]
    assert second.cookies["csrftoken"].value != first_secret
    assert second.post("/pc/post/", {"csrfmiddlewaretoken": token.decode()}).content == b"posted"
    assert second.post("/pc/post/", {}).status_code == 403  # CSRF is really checked


def test_twenty_threads_requesting_a_cold_page_call_the_view_once(redis: Any) -> None:
    popular(redis, "s")
    results: list[bytes] = []

    def fetch() -> None:
        results.append(Client().get("/pc/slow/s/").content)

    threads = [threading.Thread(target=fetch) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls["slow"] == 1
    assert results == [b"slow s #1"] * 20


def test_a_stale_copy_is_served_while_another_worker_renders(redis: Any) -> None:
    popular(redis, "a")
    Client().get("/pc/item/a/")
    digest = pageentry.digest("GET", "http", "testserver", "/pc/item/a/", "")
    redis.hset(keys.page(digest), "fresh", 0)  # expired
    redis.set(keys.page_lock(digest), "another-worker", px=10_000)
    assert Client().get("/pc/item/a/")["X-Cache"] == "hit"
    assert calls["item"] == 1
    redis.delete(keys.page_lock(digest))  # that worker gave up: the next visitor renders
    assert Client().get("/pc/item/a/").content == b"item a #2"


def test_a_failing_view_releases_the_render_lock(redis: Any) -> None:
    popular(redis, "b")
    client = Client(raise_request_exception=False)
    assert client.get("/pc/failing/b/").status_code == 500
    digest = pageentry.digest("GET", "http", "testserver", "/pc/failing/b/", "")
    assert not redis.exists(keys.page_lock(digest))


def test_item_less_pages_are_cached_only_when_the_decorator_says_so(redis: Any) -> None:
    for _ in range(2):
        Client().get("/pc/itemless/")
        Client().get("/pc/no-item/")
    assert (calls["itemless"], calls["no-item"]) == (1, 2)


def test_invalidate_page_and_invalidate_item_drop_cached_copies(redis: Any) -> None:
    popular(redis, "a")
    Client().get("/pc/item/a/")
    Client().get("/pc/item/a/?q=1")
    assert invalidate_page("http://testserver/pc/item/a/") == 1
    assert Client().get("/pc/item/a/")["X-Cache"] == "miss"
    assert invalidate_item("a") == 2
    assert Client().get("/pc/item/a/?q=1")["X-Cache"] == "miss"
    with pytest.raises(ValueError, match="absolute URL"):
        invalidate_page("/pc/item/a/")


def test_the_x_cache_header_can_be_turned_off(redis: Any, settings: Any) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "X_CACHE_HEADER": False}
    popular(redis, "a")
    assert "X-Cache" not in Client().get("/pc/item/a/")


def test_redis_down_serves_pages_uncached_and_logs_once(caplog: Any, monkeypatch: Any) -> None:
    from redis_sessions.connection.outages import Outage
    from redis_sessions.pagecache import engine, pending

    monkeypatch.setattr(pending.outage, "outage", Outage(engine.logger))  # none logged yet
    with override_settings(REDIS_SESSIONS={"URL": "redis://127.0.0.1:1/0"}):
        connection.reset()
        with caplog.at_level(logging.WARNING, logger="redis_sessions"):
            responses = [Client().get("/pc/item/a/") for _ in range(3)]
        connection.reset()
    assert [(r.status_code, r["X-Cache"]) for r in responses] == [
        (200, "bypass; reason=unavailable")
    ] * 3
    assert calls["item"] == 3
    assert sum("page cache" in r.getMessage() for r in caplog.records) == 1


@override_settings(
    MIDDLEWARE=[
        "redis_sessions.middleware.RedisSessionsMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "redis_sessions.pagecache.PageCacheMiddleware",
    ]
)
def test_the_middleware_caches_pages_site_wide_and_leaves_decorated_views_alone(
    redis: Any,
) -> None:
    popular(redis, "a")
    for _ in range(2):
        Client().get("/read/")
        Client().get("/pc/item/a/")
    assert Client().get("/read/")["X-Cache"] == "hit"
    assert calls["item"] == 1


def test_session_of_a_cookie_visitor_is_refreshed_on_a_hit(redis: Any) -> None:
    popular(redis, "a")
    store = SessionStore()
    store["x"] = 1
    store.save()
    client = Client()
    client.cookies["sessionid"] = store.session_key
    client.get("/pc/item/a/")
    redis.zadd(keys.recent(), {store.session_key: 1})
    client.get("/pc/item/a/")
    assert redis.zscore(keys.recent(), store.session_key) > 1


def test_an_anonymous_visitor_whose_session_holds_data_gets_a_fresh_page_never_stored(
    redis: Any,
) -> None:
    from redis_sessions.backends.redis import SessionStore

    popular(redis, "p")
    store = SessionStore()
    store["name"] = "ALICE"  # what a view might show: this page is the visitor's own
    store.save()
    alice = Client()
    alice.cookies["sessionid"] = store.session_key or ""
    assert [alice.get("/pc/item/p/")["X-Cache"] for _ in range(2)] == ["bypass; reason=session"] * 2
    assert Client().get("/pc/item/p/")["X-Cache"] == "miss"  # nobody got Alice's copy


def test_a_page_in_another_language_is_another_cache_entry(redis: Any) -> None:
    from django.utils import translation

    popular(redis, "l")
    assert Client().get("/pc/item/l/")["X-Cache"] == "miss"
    with translation.override("fr"):
        assert Client().get("/pc/item/l/")["X-Cache"] == "miss"  # not the default's copy
        assert Client().get("/pc/item/l/")["X-Cache"] == "hit"
    assert Client().get("/pc/item/l/")["X-Cache"] == "hit"
    assert invalidate_page("http://testserver/pc/item/l/") == 2  # both languages' GETs
