"""A bounded page cache (issue 16.1): a page's key holds the path, the query parameters
the view allows (sorted) and the host without its port; any other parameter is served
uncached; an item holds at most ``PAGE_CACHE_MAX_VARIANTS`` pages, whatever comes in."""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings

from redis_sessions import keys
from redis_sessions.pagecache import cache_request, invalidate_page, page_item
from redis_sessions.pagecache import entry as pageentry
from tests.pagecache.test_early_hit import WITH_EARLY
from tests.support.pagecache import count_every_view, popular
from tests.support.pagecache_urls import calls


@pytest.fixture(autouse=True)
def fresh_calls() -> Iterator[None]:
    calls.clear()
    yield


def page_keys(redis: Any) -> set[bytes]:
    return set(redis.scan_iter(match=keys.escape_glob(keys.page("")) + "*", count=1000))


def test_a_parameter_the_view_does_not_allow_is_served_uncached_and_stores_nothing(
    redis: Any, settings: Any
) -> None:
    count_every_view(settings)
    popular(redis, "a")
    states = [Client().get("/pc/list/a/?page=2&utm_source=x")["X-Cache"] for _ in range(2)]
    assert states == ["bypass; reason=query"] * 2 and calls["list"] == 2
    assert not page_keys(redis)
    assert Client().get("/pc/alone/a/?page=2")["X-Cache"] == "bypass; reason=query"  # none
    assert -redis.zscore(keys.viewed_items(), "a") == 100 + 3  # still views, each once


def test_allowed_parameters_are_sorted_in_the_key(redis: Any) -> None:
    popular(redis, "a")
    assert Client().get("/pc/list/a/?sort=name&page=2")["X-Cache"] == "miss"
    assert Client().get("/pc/list/a/?page=2&sort=name")["X-Cache"] == "hit"
    assert Client().get("/pc/list/a/?page=3&sort=name")["X-Cache"] == "miss"
    assert Client().get("/pc/list/a/")["X-Cache"] == "miss"
    assert len(page_keys(redis)) == 3


def test_the_port_of_the_host_is_not_part_of_the_key(redis: Any) -> None:
    popular(redis, "a")
    assert Client().get("/pc/list/a/", HTTP_HOST="testserver:8000")["X-Cache"] == "miss"
    for host in ("testserver", "TESTSERVER:1", "testserver:65535"):
        assert Client().get("/pc/list/a/", HTTP_HOST=host)["X-Cache"] == "hit"
    assert len(page_keys(redis)) == 1
    assert invalidate_page("http://testserver:9999/pc/list/a/") == 1


def test_an_item_holds_at_most_max_variants_pages(redis: Any, settings: Any) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "PAGE_CACHE_MAX_VARIANTS": 3}
    popular(redis, "a")
    states = [Client().get(f"/pc/list/a/?page={n}")["X-Cache"] for n in range(1, 6)]
    assert states == ["miss"] * 3 + ["bypass; reason=variants"] * 2
    assert redis.scard(keys.item_pages("a")) == 3 and len(page_keys(redis)) == 3
    assert not redis.exists(keys.page_lock(pageentry.digest("GET", "http", "testserver",
                                                            "/pc/list/a/", "page=4")))  # fmt: skip
    assert Client().get("/pc/list/a/?page=1")["X-Cache"] == "hit"  # those stored stay
    # a page that went (expired, invalidated) frees its place
    assert invalidate_page("http://testserver/pc/list/a/?page=2") == 1
    assert Client().get("/pc/list/a/?page=4")["X-Cache"] == "miss"
    assert Client().get("/pc/list/a/?page=5")["X-Cache"] == "bypass; reason=variants"
    assert redis.scard(keys.item_pages("a")) == 3


@override_settings(MIDDLEWARE=WITH_EARLY)
def test_the_early_hit_middleware_applies_the_same_key_rules(redis: Any) -> None:
    popular(redis, "a")
    assert Client().get("/pc/list/a/?page=2")["X-Cache"] == "miss"
    hit = Client().get("/pc/list/a/?page=2", HTTP_HOST="testserver:8080")
    assert hit["X-Cache"] == "hit" and not hasattr(hit.wsgi_request, "session")  # early
    other = Client().get("/pc/list/a/?page=2&fbclid=1")
    assert other["X-Cache"] == "bypass; reason=query" and len(page_keys(redis)) == 1


@override_settings(
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "redis_sessions.pagecache.PageCacheMiddleware",
    ]
)
def test_site_wide_pages_allow_the_parameters_page_item_names(redis: Any) -> None:
    Client().get("/read/?page=2")
    assert Client().get("/read/?page=2")["X-Cache"] == "bypass; reason=query"
    assert Client().get("/read/")["X-Cache"] == "miss"


def test_query_must_name_parameters_not_be_one_string() -> None:
    with pytest.raises(TypeError, match="tuple of parameter names"):
        cache_request(query="page")
    with pytest.raises(TypeError, match="as strings"):
        page_item(None, query=[1])  # type: ignore[list-item]


def _random_query(rng: random.Random) -> str:
    def word() -> str:
        return "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(1, 12)))

    pairs = [(rng.choice(["page", "sort", word()]), word()) for _ in range(rng.randint(1, 3))]
    return "&".join(f"{name}={value}" for name, value in pairs)


@pytest.mark.slow
@override_settings(MIDDLEWARE=["redis_sessions.pagecache.PageHitMiddleware"])  # its rules too
def test_a_flood_of_query_strings_and_host_ports_leaves_keys_and_memory_flat(
    redis: Any,
) -> None:
    rng = random.Random(16_1)
    popular(redis, "a")
    client = Client()

    def flood(n: int) -> None:
        for _ in range(n):
            host = f"testserver:{rng.randint(1, 65535)}"
            response = client.get(f"/pc/list/a/?{_random_query(rng)}", HTTP_HOST=host)
            assert response.status_code == 200

    flood(1000)  # warm: the item's variants are full, the day's counters exist
    redis.memory_purge()
    keys_then, memory_then = len(page_keys(redis)), redis.info("memory")["used_memory"]
    flood(4000)
    redis.memory_purge()
    keys_now, memory_now = len(page_keys(redis)), redis.info("memory")["used_memory"]
    assert keys_then == keys_now == 16  # PAGE_CACHE_MAX_VARIANTS
    assert redis.scard(keys.item_pages("a")) == 16
    assert memory_now - memory_then < 64 * 1024, (memory_then, memory_now)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "redis_sessions.E007"), (-1, "redis_sessions.E007"), ("16", "redis_sessions.E004"),
     (True, "redis_sessions.E004")],
)  # fmt: skip
def test_max_variants_must_be_a_positive_integer(value: Any, expected: str) -> None:
    from redis_sessions import checks

    with override_settings(REDIS_SESSIONS={"PAGE_CACHE_MAX_VARIANTS": value}):
        assert [e.id for e in checks.check_settings()] == [expected]
