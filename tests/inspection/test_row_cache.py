"""The row-cache inspection page: scheduled rows (paged on the schedule), refresh now,
unschedule. Real commits (the row cache acts after them), so no wrapping transaction."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.test import Client

from demo_project.shop.models import Product
from redis_sessions import connection, keys
from redis_sessions.inspection import overview, row_cache
from redis_sessions.inspection.paging import Cursor
from redis_sessions.rowcache import get_row, schedule_row_cache
from tests.support.inspection import ADMIN, client_for, staff
from tests.support.rowcache import entry, member, product

pytestmark = pytest.mark.django_db(transaction=True)

ROW_CACHE = ADMIN + "row-cache/"


def operator(*perms: str) -> Client:
    return client_for(staff("ops", "view_redis", *perms))


def test_the_page_lists_scheduled_rows_soonest_first_with_delay_and_entry(redis: Any) -> None:
    later, sooner = product(), product()
    schedule_row_cache(later, delay=30)
    schedule_row_cache(sooner, delay=7)
    redis.zadd(keys.row_schedule(), {member(Product, later.pk): time.time() + 100})
    get_row(Product, sooner.pk)  # cached now
    page = row_cache.row_page()
    assert [r.member for r in page.rows] == [member(Product, sooner.pk), member(Product, later.pk)]
    first, second = page.rows
    assert (first.delay, second.delay) == (7.0, 30.0)
    assert first.entry_ttl is not None and second.entry_ttl is None
    assert first.registered and first.label == "shop.product" and first.pk == str(sooner.pk)
    assert second.due_in > 50 and page.total == 2
    assert overview.overview().counts["scheduled rows"] == 2

    body = operator("manage_cache").get(ROW_CACHE).content.decode()
    assert body.count('class="rs-row"') == 2 and "not cached" in body
    assert f'href="{ROW_CACHE}{member(Product, sooner.pk)}/refresh/"' in body
    assert "2 scheduled rows" in body


@pytest.mark.single_server("single-server round-trip budget")
def test_pages_follow_the_schedule_cursor_and_cost_two_round_trips_anywhere(redis: Any) -> None:
    now = time.time()
    # 120 rows, some sharing a next refresh time (ties cross page boundaries).
    redis.zadd(keys.row_schedule(), {f"shop.product:{n}": now + n // 7 for n in range(120)})
    redis.zadd(keys.row_delay(), {f"shop.product:{n}": 5 for n in range(120)})
    seen: list[str] = []
    costs = []
    cursor: Cursor | None = None
    while True:
        before = connection.round_trips()
        page = row_cache.row_page(cursor)
        costs.append(connection.round_trips() - before)
        seen += [r.member for r in page.rows]
        if page.next is None:
            break
        cursor = page.next
    assert len(seen) == len(set(seen)) == 120
    assert [len(c) for c in [seen[:50], seen[50:100], seen[100:]]] == [50, 50, 20]
    assert costs == [2, 2, 2]


def test_refresh_now_rebuilds_the_entry_from_the_database_and_records_it(redis: Any) -> None:
    item = product(name="Old name")
    schedule_row_cache(item, delay=60)
    get_row(Product, item.pk)
    Product.objects.filter(pk=item.pk).update(name="New name")  # no signal: entry is stale
    assert json.loads(entry(redis, Product, item.pk) or b"{}")["name"] == "Old name"
    client = operator("manage_cache")
    url = f"{ROW_CACHE}{member(Product, item.pk)}/refresh/"
    assert "Rebuild the cached row" in client.get(url).content.decode()
    assert json.loads(entry(redis, Product, item.pk) or b"{}")["name"] == "Old name"

    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == ROW_CACHE
    assert json.loads(entry(redis, Product, item.pk) or b"{}")["name"] == "New name"
    assert redis.zscore(keys.row_delay(), member(Product, item.pk)) == 60  # still scheduled
    log = LogEntry.objects.get()
    assert (log.action_flag, log.object_id) == (CHANGE, member(Product, item.pk))
    assert log.content_type.model == "cachedrow"
    assert client.get(log.get_admin_url())["Location"] == ROW_CACHE


def test_refreshing_a_row_gone_from_the_database_unschedules_it(redis: Any) -> None:
    gone = member(Product, 987654)
    redis.zadd(keys.row_schedule(), {gone: time.time()})
    redis.zadd(keys.row_delay(), {gone: 5})
    client = operator("manage_cache")
    response = client.post(f"{ROW_CACHE}{gone}/refresh/", follow=True)
    assert "no longer exists" in response.content.decode()
    assert redis.zscore(keys.row_schedule(), gone) is None
    assert redis.zscore(keys.row_delay(), gone) is None
    assert LogEntry.objects.get().action_flag == DELETION


def test_unschedule_stops_the_refreshes_and_drops_the_entry(redis: Any) -> None:
    item = product()
    schedule_row_cache(item, delay=5)
    get_row(Product, item.pk)
    client = operator("manage_cache")
    url = f"{ROW_CACHE}{member(Product, item.pk)}/unschedule/"
    assert "Stop refreshing the row" in client.get(url).content.decode()
    assert redis.zscore(keys.row_schedule(), member(Product, item.pk)) is not None
    client.post(url)
    assert redis.zscore(keys.row_schedule(), member(Product, item.pk)) is None
    assert redis.zscore(keys.row_delay(), member(Product, item.pk)) is None
    assert entry(redis, Product, item.pk) is None
    log = LogEntry.objects.get()
    assert (log.action_flag, log.change_message) == (
        DELETION, "Unscheduled the row and dropped its entry.",
    )  # fmt: skip


def test_rows_of_models_not_row_cached_are_listed_without_actions_and_404(redis: Any) -> None:
    redis.zadd(keys.row_schedule(), {"auth.user:1": time.time()})
    client = operator("manage_cache")
    body = client.get(ROW_CACHE).content.decode()
    assert "not row-cached any more" in body and "Refresh now" not in body
    assert client.post(f"{ROW_CACHE}auth.user:1/refresh/").status_code == 404
    assert client.post(f"{ROW_CACHE}nonsense/unschedule/").status_code == 404
    assert client.post(f"{ROW_CACHE}shop.product:abc/unschedule/").status_code == 404
    assert redis.zscore(keys.row_schedule(), "auth.user:1") is not None


@pytest.mark.parametrize("action", ["refresh", "unschedule"])
def test_row_actions_without_manage_cache_get_403_and_change_nothing(
    redis: Any, action: str
) -> None:
    item = product()
    schedule_row_cache(item, delay=5)
    client = client_for(staff("ops", "view_redis", "view_sessions", "manage_sessions",
                              "manage_carts"))  # fmt: skip
    url = f"{ROW_CACHE}{member(Product, item.pk)}/{action}/"
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert redis.zscore(keys.row_schedule(), member(Product, item.pk)) is not None
    assert "Refresh now" not in client.get(ROW_CACHE).content.decode()
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize("action", ["refresh", "unschedule"])
def test_row_actions_on_a_row_that_is_not_scheduled_are_404_and_change_nothing(
    redis: Any, action: str
) -> None:
    item = product()  # row-cached model, real row, but never scheduled (or unscheduled since)
    client = operator("manage_cache")
    url = f"{ROW_CACHE}{member(Product, item.pk)}/{action}/"
    row_keys = [
        keys.row("shop.product", str(item.pk)),
        keys.row_version("shop.product", str(item.pk)),
    ]
    before = [redis.dump(k) for k in row_keys]  # the save's invalidation wrote a version
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert [redis.dump(k) for k in row_keys] == before  # not filled, not bumped
    assert redis.zcard(keys.row_schedule()) == 0
    assert not LogEntry.objects.exists()
