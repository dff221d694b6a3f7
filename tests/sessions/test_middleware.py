"""redis_sessions.sessions.SessionMiddleware: Django's behaviour (its own tests run in
test_django_contract.py), the engine awaited on the event loop in async mode, and a
session the view saved itself not written twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django
import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client, override_settings

from redis_sessions import connection, keys
from redis_sessions.backends.redis import SessionStore

pytestmark = [
    pytest.mark.single_server("single-server round-trip budget"),
    pytest.mark.skipif(django.VERSION < (5, 1), reason="Django's async session API is 5.1+"),
]

OURS = "redis_sessions.sessions.SessionMiddleware"


@pytest.fixture(autouse=True)
def only_the_session_middleware() -> Iterator[None]:
    with override_settings(ROOT_URLCONF="tests.support.asgi_urls", MIDDLEWARE=[OURS]):
        yield


@pytest.fixture
def no_sync_session_io(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's sync I/O fails the test: in async mode everything is awaited."""

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("sync session I/O in async mode")

    for name in ("load", "save", "flush_views"):
        monkeypatch.setattr(SessionStore, name, refused)


def get(client: AsyncClient, path: str) -> Any:
    response = async_to_sync(client.get)(path)
    client.cookies.update(response.cookies)
    return response


def stored_key(client: Any) -> str:
    return str(client.cookies["sessionid"].value)


def stored(client: Any) -> dict[str, Any]:
    return SessionStore(stored_key(client)).load()


def trips_of(call: Any) -> int:
    before = connection.round_trips()
    call()
    return connection.round_trips() - before


def test_an_async_view_that_reads_and_writes_costs_two_round_trips_all_awaited(
    no_sync_session_io: None,
) -> None:
    client = AsyncClient()
    get(client, "/async/write/")  # creates the session
    assert trips_of(lambda: get(client, "/async/write/")) == 2  # load, save
    assert trips_of(lambda: get(client, "/async/read/")) == 1  # load
    assert get(client, "/async/read/").json() == {"n": 2}


def test_an_async_view_that_saved_the_session_itself_is_not_written_again(
    no_sync_session_io: None,
) -> None:
    client = AsyncClient()
    first = get(client, "/async/write-save/")
    assert "sessionid" in first.cookies  # a new session still gets its cookie
    assert trips_of(lambda: get(client, "/async/write-save/")) == 2  # load, the view's save
    response = get(client, "/async/read/")
    assert response.json() == {"n": 2}
    assert response["Vary"] == "Cookie"


def test_the_apps_middleware_queues_and_sends_views_on_the_event_loop(
    no_sync_session_io: None,
) -> None:
    app = ["redis_sessions.middleware.RedisSessionsMiddleware", OURS,
           "redis_sessions.middleware.CartMiddleware"]  # fmt: skip
    with override_settings(MIDDLEWARE=app):
        client = AsyncClient()
        get(client, "/async/write/")
        assert trips_of(lambda: get(client, "/async/view/item-1/")) == 1  # with the load
        assert trips_of(lambda: get(client, "/async/view-only/item-2/")) == 1  # at the end
    viewed = connection.get_redis().zrange(keys.viewed(stored_key(client)), 0, -1)
    assert sorted(viewed) == [b"item-1", b"item-2"]


def test_a_sync_view_that_saved_the_session_itself_is_not_written_again() -> None:
    client = Client()
    assert "sessionid" in client.get("/write-save/").cookies
    assert trips_of(lambda: client.get("/write-save/")) == 2
    assert stored(client)["n"] == 2


def test_a_session_changed_after_the_views_save_is_saved_again() -> None:
    client = Client()
    client.get("/write-save-write/")
    assert stored(client) == {"n": 1, "after": True}


def test_session_save_every_request_renews_an_untouched_session_on_the_loop(
    no_sync_session_io: None, settings: Any
) -> None:
    client = AsyncClient()
    get(client, "/async/write/")
    settings.SESSION_SAVE_EVERY_REQUEST = True
    response = get(client, "/trips/")  # never touches the session
    assert "sessionid" in response.cookies
    assert response["Vary"] == "Cookie"


def test_an_unreachable_redis_answers_503_in_async_mode_and_keeps_the_cookie(
    settings: Any,
) -> None:
    client = AsyncClient(raise_request_exception=False)
    get(client, "/async/write/")
    cookie = client.cookies["sessionid"].value
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "URL": "redis://127.0.0.1:1/0"}
    try:
        response = async_to_sync(client.get)("/async/write/")
        assert response.status_code == 503
        assert "sessionid" not in response.cookies
        assert client.cookies["sessionid"].value == cookie
    finally:
        connection.guard.breaker.close()
