"""The page-cache inspection page: entries per item, purge one, purge an item, purge all."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.test import Client, override_settings

from redis_sessions import connection, keys
from redis_sessions.inspection import overview, page_cache, page_cache_purge
from redis_sessions.pagecache import entry as pageentry
from redis_sessions.pagecache.fragments import cached_fragment
from tests.support.inspection import (
    ADMIN,
    client_for,
    point_at_nothing,
    put_strings,
    session,
    staff,
)

pytestmark = pytest.mark.django_db

PAGE_CACHE = ADMIN + "page-cache/"


def cached(redis: Any, item: str, *queries: str) -> list[str]:
    """Cache the test page of a popular ``item`` once per query string; the digests."""
    redis.zincrby(keys.viewed_items(), -100, item)
    digests = []
    for query in queries or ("",):
        assert Client().get(f"/pc/item/{item}/?{query}")["X-Cache"] == "miss"
        digests.append(pageentry.digest("GET", "http", "testserver", f"/pc/item/{item}/", query))
    return digests


def operator(*perms: str) -> Client:
    return client_for(staff("ops", "view_redis", *perms))


def test_the_page_lists_each_items_cached_pages_with_size_ttl_and_state(redis: Any) -> None:
    a1, a2 = cached(redis, "a", "", "q=1")
    (b1,) = cached(redis, "b")
    redis.sadd(keys.item_pages("b"), "0" * 64)  # a page that expired: counted, not listed
    result = page_cache.item_pages()
    by_item = {row.item: row for row in result.items}
    assert set(by_item) == {"a", "b"} and result.next is None
    assert sorted(e.digest for e in by_item["a"].entries) == sorted([a1, a2])
    entry = by_item["b"].entries[0]
    assert entry.digest == b1 and entry.size == len(b"item b #1")
    assert entry.fresh and entry.status == 200 and entry.content_type.startswith("text/html")
    assert 60 < entry.ttl <= 120  # the view's timeout (60 s) plus PAGE_CACHE_GRACE (60 s)
    assert by_item["b"].expired == 1

    body = operator("manage_cache").get(PAGE_CACHE).content.decode()
    assert body.count('class="rs-cache-item"') == 2 and body.count('class="rs-cache-entry"') == 3
    assert "1 expired" in body and "fresh" in body
    assert f'href="{PAGE_CACHE}{a1}/purge/?item=a"' in body
    assert f'href="{PAGE_CACHE}item/purge/?item=a"' in body


def test_the_list_pages_through_the_item_sets_with_the_scan_cursor(redis: Any) -> None:
    for n in range(30):
        redis.sadd(keys.item_pages(f"i{n}"), "f" * 64)
    seen: list[str] = []
    cursor, pages_read = 0, 0
    while True:
        result = page_cache.item_pages(cursor, n=5, count=5)
        seen += [row.item for row in result.items]
        pages_read += 1
        if result.next is None:
            break
        cursor = result.next
    assert sorted(set(seen)) == sorted(f"i{n}" for n in range(30))
    assert pages_read > 1


@pytest.mark.single_server("single-server round-trip budget")
def test_a_list_page_costs_a_fixed_number_of_round_trips_after_its_scan(redis: Any) -> None:
    for item in ("a", "b", "c"):
        cached(redis, item, "", "x=1")
    before = connection.round_trips()
    result = page_cache.item_pages(calls=1, count=1000)
    # one SCAN, one round trip for the sets' members, one for every entry's fields
    assert connection.round_trips() - before == 3
    assert sum(len(row.entries) for row in result.items) == 6


def test_purging_one_page_asks_first_then_drops_it_and_records_it(redis: Any) -> None:
    a1, a2 = cached(redis, "a", "", "q=1")
    client = operator("manage_cache")
    url = f"{PAGE_CACHE}{a1}/purge/?item=a"
    assert "Purge the cached page" in client.get(url).content.decode()
    assert redis.exists(keys.page(a1))  # a GET changes nothing

    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == PAGE_CACHE
    assert not redis.exists(keys.page(a1)) and redis.exists(keys.page(a2))
    assert redis.smembers(keys.item_pages("a")) == {a2.encode()}
    entry = LogEntry.objects.get()
    assert entry.action_flag == DELETION and entry.object_id == keys.page(a1)
    assert entry.content_type.model == "pagecacheentry"
    assert client.get(entry.get_admin_url())["Location"] == PAGE_CACHE
    assert "Cached page purged." in client.get(PAGE_CACHE).content.decode()


def test_purging_an_item_drops_all_its_pages_and_nothing_else(redis: Any) -> None:
    a1, a2 = cached(redis, "a", "", "q=1")
    (b1,) = cached(redis, "b")
    client = operator("manage_cache")
    url = f"{PAGE_CACHE}item/purge/?item=a"
    assert "Purge every cached page of item" in client.get(url).content.decode()
    client.post(url)
    assert not redis.exists(keys.page(a1), keys.page(a2), keys.item_pages("a"))
    assert redis.exists(keys.page(b1), keys.item_pages("b")) == 2
    entry = LogEntry.objects.get()
    assert entry.object_id == keys.item_pages("a")
    assert entry.change_message == "Purged 2 cached page(s) of item a."


def test_purge_all_drops_every_page_cache_key_of_this_app_and_nothing_else(redis: Any) -> None:
    (a1,) = cached(redis, "a")
    redis.set(keys.page_lock(a1), "token")
    cached_fragment("sidebar", [], 60, None, lambda: "<ul></ul>")
    redis.set(keys.fragment_lock("d" * 64), "token")
    key = session(colour="blue")
    others = {
        f"someone-else-{os.getpid()}:page:1": "x",  # another application's, same family
        keys.prefix().replace(":1:", ":2:") + "page:1": "x",  # the next schema version
        keys.prefix() + "pagex": "x",  # ours, matched by the pattern, not a cache key
    }
    put_strings(redis, others)
    try:
        client = operator("manage_cache")
        question = client.get(PAGE_CACHE + "purge/").content.decode()
        assert "Nothing else in Redis is touched" in question
        client.post(PAGE_CACHE + "purge/")
        left = {k.decode() for k in redis.scan_iter(match=keys.scan_pattern())}
        assert not [k for k in left if k.startswith(keys.page_cache_heads())]
        assert keys.session(key) in left and keys.prefix() + "pagex" in left
        assert redis.exists(*others) == 3
        assert LogEntry.objects.get().change_message == "Purged the page cache (5 keys)."
    finally:
        redis.delete(*others)


def test_purge_all_deletes_in_batches_across_many_scan_steps(redis: Any) -> None:
    put_strings(redis, {keys.page(f"{n:064x}"): "x" for n in range(40)})
    put_strings(redis, {keys.session(f"k{n:07d}"): "{}" for n in range(40)})
    before = connection.round_trips()
    assert page_cache_purge.purge_all(count=10, batch=3) == 40
    assert connection.round_trips() - before > 4  # many SCAN steps, not one big call
    assert len(list(redis.scan_iter(match=keys.scan_pattern()))) == 40  # the sessions


def test_purge_all_escapes_glob_characters_of_the_key_prefix(redis: Any, settings: Any) -> None:
    prefix = f"g[ab]*{os.getpid()}"  # its own per process: the server may be shared
    with override_settings(REDIS_SESSIONS={**settings.REDIS_SESSIONS, "KEY_PREFIX": prefix}):
        ours = keys.page("1" * 64)
    lookalike = f"gaX{os.getpid()}:1:page:" + "1" * 64  # what an unescaped g[ab]* matches
    put_strings(redis, {ours: "x", lookalike: "x"})
    try:
        with override_settings(REDIS_SESSIONS={**settings.REDIS_SESSIONS, "KEY_PREFIX": prefix}):
            assert page_cache_purge.purge_all() == 1
        assert not redis.exists(ours) and redis.exists(lookalike)
    finally:
        redis.delete(ours, lookalike)


def test_the_overview_counts_cached_pages_and_fragments(admin_client: Client, redis: Any) -> None:
    cached(redis, "a", "", "q=1")
    cached_fragment("sidebar", [], 60, None, lambda: "<ul></ul>")
    families = overview.key_families(calls=1000, count=1000)
    assert overview.cached_counts(families) == {"cached pages": 2, "cached fragments": 1}
    body = admin_client.get(ADMIN).content.decode()
    assert "Cached pages" in body and "Cached fragments" in body


@pytest.mark.parametrize(
    "path", ["{digest}/purge/?item=a", "item/purge/?item=a", "purge/"]
)  # fmt: skip
def test_purges_without_manage_cache_get_403_and_change_nothing(redis: Any, path: str) -> None:
    (a1,) = cached(redis, "a")
    client = client_for(staff("ops", "view_redis", "view_sessions", "manage_sessions",
                              "manage_carts"))  # fmt: skip
    url = PAGE_CACHE + path.format(digest=a1)
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert redis.exists(keys.page(a1))
    assert not LogEntry.objects.exists()
    body = client.get(PAGE_CACHE).content.decode()
    assert "Purge" not in body.split('id="changelist"')[1]  # no action links either


def test_a_purge_posted_without_a_csrf_token_is_refused(redis: Any) -> None:
    (a1,) = cached(redis, "a")
    client = client_for(staff("ops", "view_redis", "manage_cache"), enforce_csrf_checks=True)
    assert client.post(PAGE_CACHE + "purge/").status_code == 403
    assert redis.exists(keys.page(a1))


def test_purges_of_malformed_digests_or_items_are_404(admin_client: Client) -> None:
    assert admin_client.post(f"{PAGE_CACHE}{'z' * 64}/purge/?item=a").status_code == 404
    assert admin_client.post(f"{PAGE_CACHE}{'a' * 64}/purge/").status_code == 404  # no item
    assert admin_client.post(f"{PAGE_CACHE}item/purge/?item=").status_code == 404


def test_a_purge_with_redis_unreachable_shows_the_banner(settings: Any, tmp_path: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    client = client_for(staff("ops", "view_redis", "manage_cache"))
    point_at_nothing(settings, tmp_path)
    response = client.post(PAGE_CACHE + "purge/")
    assert response.status_code == 503 and "Redis is unreachable" in response.content.decode()
    assert not LogEntry.objects.exists()
