"""Page-cache URLs with odd query strings, paths and headers (Hypothesis where it helps).

Keys must be stable (the same page under a reordered query is one key), odd input must
never be a 500, and glob characters in a URL or item id must never widen what an
invalidation deletes (the app never builds a SCAN pattern from a URL; ``invalidate_page``
and ``invalidate_item`` delete keys by digest).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from redis_sessions import keys
from redis_sessions.pagecache import invalidate_item, invalidate_page
from tests.support.pagecache_urls import ITEM_QUERY, calls

FEW = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ODD = "abc &=;#%+?*[]{}\\/é\u2603\x00 \t"


@pytest.fixture(autouse=True)
def fresh_calls() -> Iterator[None]:
    calls.clear()
    yield


def popular(redis: Any, *items: str) -> None:
    for item in items:
        redis.zincrby(keys.viewed_items(), -100, item)


def page_keys(redis: Any) -> set[bytes]:
    return set(redis.scan_iter(match=keys.escape_glob(keys.page("")) + "*", count=1000))


def no_pages(redis: Any) -> None:
    """Drop every cached page (Hypothesis runs many examples in one test's key space,
    and an item holds at most PAGE_CACHE_MAX_VARIANTS pages)."""
    for key in page_keys(redis):
        redis.delete(key)
    redis.delete(*(keys.item_pages(item) for item in ("q", "v", "h")))


def wsgi(text: str) -> str:
    # A WSGI server hands the query string over as latin-1-decoded bytes.
    return text.encode().decode("latin-1")


names = st.sampled_from(ITEM_QUERY)  # the parameters the page allows; values are odd
params = st.dictionaries(names, st.lists(st.text(alphabet=ODD, max_size=6), min_size=1, max_size=3),
                         min_size=1, max_size=4)  # fmt: skip


@FEW
@given(params=params, order=st.randoms(use_true_random=False))
def test_the_same_query_in_another_parameter_order_is_the_same_cached_page(
    redis: Any, params: dict[str, list[str]], order: Any
) -> None:
    popular(redis, "q")
    no_pages(redis)
    names_ = list(params)
    first = urlencode([(n, v) for n in names_ for v in params[n]], quote_via=quote)
    order.shuffle(names_)
    second = urlencode([(n, v) for n in names_ for v in params[n]], quote_via=quote)

    stored = Client().get("/pc/item/q/", QUERY_STRING=first)
    again = Client().get("/pc/item/q/", QUERY_STRING=second)

    assert stored.status_code == again.status_code == 200
    assert again["X-Cache"] == "hit" and again.content == stored.content


def test_a_repeated_parameter_in_another_value_order_is_another_page(redis: Any) -> None:
    popular(redis, "q")
    assert Client().get("/pc/item/q/?a=1&a=2")["X-Cache"] == "miss"
    assert Client().get("/pc/item/q/?a=2&a=1")["X-Cache"] == "miss"  # getlist("a") differs
    assert Client().get("/pc/item/q/?a=1&a=2")["X-Cache"] == "hit"


@FEW
@given(query=st.one_of(st.text(alphabet=ODD, max_size=40), st.text(max_size=40)))
@example(query="%zz&%ff=%fe&a=%")
@example(query="&&&==;;")
@example(query="a" * 3000)
@example(query="page=%zz&q=%ff&a=%")
@example(query="&&&")
@example(query="q=" + "a" * 3000)
def test_any_query_string_is_served_and_its_key_is_stable(redis: Any, query: str) -> None:
    popular(redis, "q")
    no_pages(redis)
    stored = Client().get("/pc/item/q/", QUERY_STRING=wsgi(query))
    again = Client().get("/pc/item/q/", QUERY_STRING=wsgi(query))
    assert stored.status_code == again.status_code == 200
    if again["X-Cache"] == "hit":  # only parameters the page allows: one stable key
        assert again.content == stored.content
    else:  # any other parameter: served uncached, nothing stored
        assert again["X-Cache"] == stored["X-Cache"] == "bypass; reason=query"
        assert not page_keys(redis)


GLOBS = ["a*", "a?", "a[b]", "a[", "a]", "*", "?", "[ab]", "a\\*", "a%2A"]
NEIGHBOURS = ["a", "ab", "ax", "b", "a*b", "a[b]c"]


@pytest.mark.parametrize("item", GLOBS)
def test_invalidating_a_page_with_glob_characters_drops_only_that_page(
    redis: Any, item: str
) -> None:
    items = [item, *(n for n in NEIGHBOURS if n != item)]
    popular(redis, *items)
    urls = {i: f"/pc/item/{quote(i, safe='')}/" for i in items}
    for url in urls.values():
        assert Client().get(url)["X-Cache"] == "miss"
    before = page_keys(redis)
    assert len(before) == len(items)

    assert invalidate_page(f"http://testserver{urls[item]}") == 1

    assert len(before - page_keys(redis)) == 1
    states = {i: Client().get(url)["X-Cache"] for i, url in urls.items()}
    assert states == {i: "miss" if i == item else "hit" for i in items}


@pytest.mark.parametrize("item", ["a*", "a[b]", "*"])
def test_invalidate_page_takes_the_url_unencoded_too(redis: Any, item: str) -> None:
    popular(redis, item)
    Client().get(f"/pc/item/{quote(item, safe='')}/")
    assert invalidate_page(f"http://testserver/pc/item/{item}/") == 1


@pytest.mark.parametrize("item", GLOBS)
def test_invalidating_an_item_with_glob_characters_drops_only_its_pages(
    redis: Any, item: str
) -> None:
    items = [item, *(n for n in NEIGHBOURS if n != item)]
    popular(redis, *items)
    for i in items:
        for query in ("", "?page=2"):
            Client().get(f"/pc/item/{quote(i, safe='')}/{query}")
    before = page_keys(redis)

    assert invalidate_item(item) == 2

    assert len(before - page_keys(redis)) == 2
    assert len(page_keys(redis)) == 2 * (len(items) - 1)


@FEW
@given(language=st.one_of(st.text(alphabet=ODD, max_size=30), st.text(max_size=30)),
       cookie=st.one_of(st.none(), st.text(alphabet=ODD + "=;", max_size=40)))  # fmt: skip
@example(language="", cookie="sessionid=*")
@example(language="x" * 4000, cookie="sessionid=" + "a" * 32)
def test_odd_headers_are_served_and_the_same_headers_give_a_hit(
    redis: Any, language: str, cookie: str | None
) -> None:
    popular(redis, "v")
    no_pages(redis)
    headers = {"HTTP_ACCEPT_LANGUAGE": wsgi(language)}
    if cookie is not None:
        headers["HTTP_COOKIE"] = wsgi(cookie)
    stored = Client().get("/pc/vary/v/", **headers)
    again = Client().get("/pc/vary/v/", **headers)
    assert stored.status_code == again.status_code == 200
    assert again["X-Cache"] == "hit" and again.content == stored.content


@pytest.mark.parametrize("host", ["TestServer", "evil.example", "a*b", "[::1]", "testserver:80"])
def test_an_odd_host_is_never_a_500_and_a_refused_one_stores_nothing(redis: Any, host: str) -> None:
    popular(redis, "h")
    response = Client().get("/pc/item/h/", HTTP_HOST=host)
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert not page_keys(redis)
    elif host.lower().startswith("testserver"):  # without case or port: the same page
        assert Client().get("/pc/item/h/")["X-Cache"] == "hit"


def test_the_apps_scan_pattern_matches_only_its_own_prefix_when_the_prefix_has_glob_characters(
    redis: Any, redis_keyspace: str, settings: Any
) -> None:
    from redis_sessions.doctor import key_counts

    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "KEY_PREFIX": f"{redis_keyspace}*[?]"}
    own = keys.login()
    redis.hset(own, "k", "1")
    neighbour = own.replace("*[?]", "zz?", 1)  # what an unescaped "*[?]" would match
    redis.hset(neighbour, "k", "1")

    try:
        assert set(redis.scan_iter(match=keys.scan_pattern())) == {own.encode()}
        assert key_counts(redis, sample=1000).data["kinds"] == {"login:": 1}
    finally:
        redis.delete(own, neighbour)  # outside the keyspace fixture's own prefix
