"""Round trips are the cost: the budget of each session hot path, counted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client

from redis_sessions import connection, keys
from redis_sessions.analytics.counting import record_view
from redis_sessions.backends.redis import SessionStore

pytestmark = pytest.mark.single_server("single-server round-trip budget")


class Counter:
    count = 0


@contextmanager
def counting() -> Iterator[Counter]:
    counter = Counter()
    start = connection.round_trips()
    yield counter
    counter.count = connection.round_trips() - start


@pytest.fixture
def client_with_session() -> Client:
    client = Client()
    client.get("/write/")
    return client


def test_loading_a_session_and_its_last_seen_update_is_one_round_trip() -> None:
    key = SessionStore().session_key or ""
    store = SessionStore()
    store["a"] = 1
    store.save()
    key = store.session_key or ""
    with counting() as trips:
        assert SessionStore(key)["a"] == 1
    assert trips.count == 1


def test_saving_a_modified_session_with_index_updates_is_one_round_trip() -> None:
    store = SessionStore()
    store["_auth_user_id"] = "1"
    store.save()
    store["a"] = 2
    with counting() as trips:
        store.save()
    assert trips.count == 1


def test_creating_a_session_is_one_round_trip() -> None:
    store = SessionStore()
    store["a"] = 1
    with counting() as trips:
        store.save()
    assert trips.count == 1


def test_cycle_key_sends_nothing_and_the_save_that_commits_it_is_two_round_trips() -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    with counting() as trips:
        store.cycle_key()
    assert trips.count == 0  # the move waits for the save (the login's cart merges first)
    store["b"] = 2
    with counting() as trips:
        store.save()
    assert trips.count == 2  # the move (session_cycle.lua), then the save


@pytest.mark.django_db
def test_a_login_with_an_anonymous_cart_costs_four_round_trips(settings: Any) -> None:
    """The session load, the cart merge (from the old key, still the cookie's), the
    move to the new key, the save with the user id: the same four as when the move
    came first, in the order that never loses the cart."""
    from django.contrib.auth import get_user_model

    from redis_sessions.cart import Cart

    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CART_VALIDATE_ITEMS": False}
    get_user_model().objects.create_user("shopper", password="pw")
    store = SessionStore()
    store["a"] = 1
    store.save()
    Cart.for_session_key(store.session_key or "").add("1", 2)
    client = Client()
    client.cookies["sessionid"] = store.session_key or ""
    with counting() as trips:
        response = client.post("/accounts/login/", {"username": "shopper", "password": "pw"})
    assert response.status_code == 302
    assert trips.count == 4


def test_a_reading_request_costs_one_round_trip(client_with_session: Client) -> None:
    with counting() as trips:
        assert client_with_session.get("/read/").content == b"1"
    assert trips.count == 1


def test_a_writing_request_costs_two_round_trips(client_with_session: Client) -> None:
    with counting() as trips:
        client_with_session.get("/write/")
    assert trips.count == 2


def test_a_first_writing_request_without_a_cookie_costs_one_round_trip() -> None:
    with counting() as trips:
        Client().get("/write/")
    assert trips.count == 1


def test_record_view_rides_on_the_session_load(client_with_session: Client, redis: Any) -> None:
    with counting() as trips:
        client_with_session.get("/view/book-1/")
    assert trips.count == 1
    key = client_with_session.cookies["sessionid"].value
    assert redis.zrange(keys.viewed(key), 0, -1) == [b"book-1"]
    assert redis.zscore(keys.viewed_items(), "book-1") == -1


def test_record_view_rides_on_the_session_save(client_with_session: Client, redis: Any) -> None:
    with counting() as trips:
        client_with_session.get("/view-write/book-2/")
    assert trips.count == 2
    key = client_with_session.cookies["sessionid"].value
    assert redis.zrange(keys.viewed(key), 0, -1) == [b"book-2"]


def test_record_view_without_a_session_sends_one_pipeline_and_sets_no_cookie(
    redis: Any,
) -> None:
    client = Client()
    with counting() as trips:
        response = client.get("/view-anon/book-3/")
    assert trips.count == 1
    assert "sessionid" not in response.cookies
    assert redis.zscore(keys.viewed_items(), "book-3") == -1
    assert redis.zcard(keys.recent()) == 0


def test_record_view_outside_a_request_is_one_round_trip(redis: Any) -> None:
    from django.http import HttpRequest

    request = HttpRequest()
    store = SessionStore()
    store["a"] = 1
    store.save()
    request.session = store
    with counting() as trips:
        record_view(request, "book-4")
    assert trips.count == 1
    assert redis.zrange(keys.viewed(store.session_key or ""), 0, -1) == [b"book-4"]


def test_viewed_items_keep_the_newest_limit(redis: Any, settings: Any) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "VIEWED_LIMIT": 3}
    client = Client()
    client.get("/write/")
    for i in range(5):
        client.get(f"/view/item-{i}/")
    key = client.cookies["sessionid"].value
    assert redis.zrange(keys.viewed(key), 0, -1) == [b"item-2", b"item-3", b"item-4"]


@pytest.mark.parametrize("bad", ["", "x" * 201, None, 1.5, True])
def test_record_view_rejects_bad_item_ids_and_changes_nothing(redis: Any, bad: Any) -> None:
    from django.http import HttpRequest

    before = redis.dbsize()
    with pytest.raises(ValueError):
        record_view(HttpRequest(), bad)
    assert redis.dbsize() == before
