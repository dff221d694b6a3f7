"""PageHitMiddleware: hits served before the session, CSRF and auth middleware, with
CSRF done as Django does it; everything else handed down the stack unchanged."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.middleware import csrf
from django.test import Client, RequestFactory, override_settings

from redis_sessions import connection, keys
from redis_sessions.pagecache import csrf as pagecsrf
from redis_sessions.pagecache import engine as caching
from redis_sessions.pagecache import entry as pageentry
from tests.support.pagecache import popular, with_empty_session
from tests.support.pagecache_urls import calls

EARLY = "redis_sessions.pagecache.PageHitMiddleware"
STACK = [
    "django.middleware.security.SecurityMiddleware",
    "redis_sessions.middleware.RedisSessionsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
WITH_EARLY = [STACK[0], EARLY, *STACK[1:]]


@pytest.fixture(autouse=True)
def fresh_calls() -> Iterator[None]:
    calls.clear()
    yield


def short_circuit(get_response: Any) -> Any:
    """Answers before any view when asked to (a redirecting or refusing middleware)."""

    def middleware(request: HttpRequest) -> Any:
        if "HTTP_X_STOP" in request.META:
            return HttpResponse("stopped")
        return get_response(request)

    return middleware


def round_trips_of(client: Client, url: str) -> tuple[int, Any]:
    before = connection.round_trips()
    response = client.get(url)
    return connection.round_trips() - before, response


@override_settings(MIDDLEWARE=WITH_EARLY)
@pytest.mark.single_server("single-server round-trip budget")
def test_a_cookieless_hit_costs_one_round_trip_and_skips_the_session_and_auth_middleware(
    redis: Any,
) -> None:
    popular(redis, "a")
    Client().get("/pc/item/a/")
    trips, response = round_trips_of(Client(), "/pc/item/a/")
    assert (trips, response["X-Cache"], calls["item"]) == (1, "hit", 1)
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "user")


@override_settings(MIDDLEWARE=WITH_EARLY)
def test_an_early_hit_says_its_length_as_common_middleware_would(redis: Any) -> None:
    popular(redis, "f")
    Client().get("/pc/form/f/")
    hit = Client().get("/pc/form/f/")  # a first visit: the token is put in the copy
    assert hit["X-Cache"] == "hit" and hit["Content-Length"] == str(len(hit.content))


@pytest.mark.parametrize("middleware", [WITH_EARLY, STACK], ids=["early", "in the view"])
@pytest.mark.single_server("single-server round-trip budget")
def test_hit_and_miss_budgets_are_the_same_with_or_without_the_early_middleware(
    redis: Any, middleware: list[str]
) -> None:
    popular(redis, "a")
    with override_settings(MIDDLEWARE=middleware):
        miss_trips, miss = round_trips_of(Client(), "/pc/item/a/")
        hit_trips, hit = round_trips_of(Client(), "/pc/item/a/")
        cookie_client = Client()
        with_empty_session(cookie_client)
        cookie_trips, cookie_hit = round_trips_of(cookie_client, "/pc/item/a/")
    assert (miss["X-Cache"], hit["X-Cache"], cookie_hit["X-Cache"]) == ("miss", "hit", "hit")
    # miss: the lookup (which counts the view: the view's record_view counts nothing),
    # the store; hit: one; with a session: its load and the lookup together
    assert (miss_trips, hit_trips, cookie_trips) == (2, 1, 1)
    assert calls["item"] == 1


@override_settings(MIDDLEWARE=WITH_EARLY)
def test_a_visitor_with_a_session_cookie_goes_down_the_stack(redis: Any) -> None:
    popular(redis, "a")
    Client().get("/pc/item/a/")
    client = Client()
    with_empty_session(client)
    response = client.get("/pc/item/a/")
    assert response["X-Cache"] == "hit" and hasattr(response.wsgi_request, "session")


@override_settings(MIDDLEWARE=WITH_EARLY)
def test_an_early_hit_gives_a_new_visitor_a_cookie_and_a_token_that_posts(redis: Any) -> None:
    popular(redis, "f")
    Client().get("/pc/form/f/")
    visitor = Client(enforce_csrf_checks=True)
    pages = [visitor.get("/pc/form/f/") for _ in range(2)]
    assert [p["X-Cache"] for p in pages] == ["hit", "hit"] and calls["form"] == 1
    secret = visitor.cookies["csrftoken"].value
    tokens = [p.content.split(b'value="')[1].split(b'"')[0].decode() for p in pages]
    assert tokens[0] != tokens[1]  # masked afresh for every response (BREACH)
    assert {csrf._unmask_cipher_token(t) for t in tokens} == {secret}  # type: ignore[attr-defined]
    assert "csrftoken" in pages[0].cookies  # a new secret: the cookie is set
    assert "csrftoken" not in pages[1].cookies  # theirs already: not sent again
    assert all("Cookie" in p["Vary"] for p in pages)  # the page holds the cookie's token
    assert visitor.post("/pc/post/", {"csrfmiddlewaretoken": tokens[1]}).content == b"posted"
    assert visitor.post("/pc/post/", {}).status_code == 403


@override_settings(MIDDLEWARE=WITH_EARLY)
def test_a_returning_visitor_gets_a_token_of_their_cookie_that_posts_and_no_new_cookie(
    redis: Any,
) -> None:
    popular(redis, "f")
    Client().get("/pc/form/f/")
    visitor = Client(enforce_csrf_checks=True)
    first = visitor.get("/pc/form/g/")  # not popular: rendered, the cookie Django's own
    secret = first.cookies["csrftoken"].value
    assert first["X-Cache"] == "bypass; reason=cold"
    page = visitor.get("/pc/form/f/")
    token = page.content.split(b'value="')[1].split(b'"')[0].decode()
    assert page["X-Cache"] == "hit" and not page.cookies and "Cookie" in page["Vary"]
    assert csrf._unmask_cipher_token(token) == secret  # type: ignore[attr-defined]
    assert visitor.post("/pc/post/", {"csrfmiddlewaretoken": token}).content == b"posted"


@override_settings(MIDDLEWARE=WITH_EARLY)
def test_a_masked_csrf_cookie_of_old_django_is_replaced_by_its_secret_on_a_hit(
    redis: Any,
) -> None:
    popular(redis, "f")
    Client().get("/pc/form/f/")
    visitor = Client(enforce_csrf_checks=True)
    secret = "s" * csrf.CSRF_SECRET_LENGTH
    visitor.cookies["csrftoken"] = csrf._mask_cipher_secret(secret)  # type: ignore[attr-defined]
    page = visitor.get("/pc/form/f/")
    token = page.content.split(b'value="')[1].split(b'"')[0].decode()
    assert page["X-Cache"] == "hit" and page.cookies["csrftoken"].value == secret  # as Django
    assert visitor.post("/pc/post/", {"csrfmiddlewaretoken": token}).content == b"posted"


@override_settings(MIDDLEWARE=WITH_EARLY)
def test_an_invalid_csrf_cookie_is_replaced_on_an_early_hit_as_django_does(redis: Any) -> None:
    popular(redis, "f")
    Client().get("/pc/form/f/")
    visitor = Client(enforce_csrf_checks=True)
    visitor.cookies["csrftoken"] = "not-a-valid-secret"
    page = visitor.get("/pc/form/f/")
    secret = page.cookies["csrftoken"].value
    token = page.content.split(b'value="')[1].split(b'"')[0].decode()
    assert page["X-Cache"] == "hit" and len(secret) == csrf.CSRF_SECRET_LENGTH
    assert csrf._unmask_cipher_token(token) == secret  # type: ignore[attr-defined]
    assert visitor.post("/pc/post/", {"csrfmiddlewaretoken": token}).content == b"posted"


@override_settings(
    MIDDLEWARE=[*WITH_EARLY[:2], "tests.pagecache.test_early_hit.short_circuit", *STACK[1:]]
)
def test_an_early_lookup_whose_view_never_runs_frees_the_render_lock(redis: Any) -> None:
    popular(redis, "b")
    assert Client().get("/pc/item/b/", HTTP_X_STOP="1").content == b"stopped"
    digest = pageentry.digest("GET", "http", "testserver", "/pc/item/b/", "")
    assert not redis.exists(keys.page_lock(digest))
    assert Client().get("/pc/item/b/")["X-Cache"] == "miss"  # not waiting for a lock


@override_settings(MIDDLEWARE=WITH_EARLY)
@pytest.mark.single_server("single-server round-trip budget")
def test_an_unpopular_page_is_looked_up_once(redis: Any, settings: Any) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CACHE_TOP_N": 1}
    popular(redis, "top")
    trips, response = round_trips_of(Client(), "/pc/rule/plain/z/")  # no record_view
    assert (trips, response["X-Cache"]) == (1, "bypass; reason=cold")


@override_settings(MIDDLEWARE=WITH_EARLY)
def test_a_page_no_view_caches_is_left_to_the_stack(redis: Any) -> None:
    trips, response = round_trips_of(Client(), "/pc/post/")
    assert (trips, response.content, "X-Cache" in response) == (0, b"get", False)


def test_a_masked_token_unmasks_to_the_secret_and_renews_the_cookie() -> None:
    request = RequestFactory().get("/")
    secret = request.META["CSRF_COOKIE"] = "a" * 31 + "Z"
    tokens = {pageentry.masked_token(request) for _ in range(200)}
    assert len(tokens) == 200 and request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    assert {csrf._unmask_cipher_token(t) for t in tokens} == {secret}  # type: ignore[attr-defined]
    assert all(len(t) == csrf.CSRF_TOKEN_LENGTH and t.isalnum() for t in tokens)
    fresh = RequestFactory().get("/")  # no secret yet: one is made, and the cookie set
    token = pageentry.masked_token(fresh)
    made = fresh.META["CSRF_COOKIE"]
    assert csrf._unmask_cipher_token(token) == made  # type: ignore[attr-defined]
    assert len(made) == csrf.CSRF_SECRET_LENGTH and made.isalnum()
    assert fresh.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    returning = RequestFactory().get("/", HTTP_COOKIE=f"csrftoken={secret}")
    returning.META["CSRF_COOKIE"] = secret  # as CsrfViewMiddleware.process_request puts it
    pageentry.masked_token(returning)
    assert "CSRF_COOKIE_NEEDS_UPDATE" not in returning.META  # their cookie holds it as it is


def test_the_random_characters_of_a_token_are_uniform() -> None:
    drawn = pagecsrf.random_indexes(62 * 2000)
    counts = Counter(drawn)
    assert len(drawn) == 62 * 2000 and set(counts) == set(range(62))
    # each index 2000 times on average (sd ~44): a bias of 1 in 62, as "b % 62" over
    # all 256 byte values would give the first 8 indexes (5/4 of the others), fails
    assert all(1750 < n < 2250 for n in counts.values()), counts


def test_a_copy_gone_between_the_script_and_its_read_is_rendered_without_the_lock() -> None:
    found = caching._found([[b"hit"], [None, None]], "token")
    assert (found.state, found.servable, found.token) == (caching.GONE, False, "")


@override_settings(MIDDLEWARE=WITH_EARLY)
def test_a_view_with_a_decorator_around_cache_request_gets_its_hits_down_the_stack(
    redis: Any,
) -> None:
    popular(redis, "n")
    Client().get("/pc/never/n/")
    hit = Client().get("/pc/never/n/")
    assert hit["X-Cache"] == "hit" and calls["never"] == 1
    assert "no-cache" in hit["Cache-Control"]  # never_cache's work is part of the hit
    assert hasattr(hit.wsgi_request, "session")  # served down the stack
