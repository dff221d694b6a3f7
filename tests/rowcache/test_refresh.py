"""The cache_rows daemon: due rows, batches, clean-up of what the book crashed on."""

from __future__ import annotations

import json
import time
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection as db

from demo_project.shop.models import Product, Supplier
from redis_sessions import connection, keys
from redis_sessions.loops import read_heartbeat
from redis_sessions.rowcache import get_row, refresh_due_rows, schedule_row_cache
from tests.support.rowcache import entry, member, movement, product, supplier

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_once_pass_refreshes_every_due_row_and_reschedules_it(redis: Any) -> None:
    items = [product() for _ in range(3)]
    for item in items:
        schedule_row_cache(item, delay=60)
    before = time.time()
    out = StringIO()
    call_command("cache_rows", "--once", stdout=out)
    assert "1 pass(es): 3 rows refreshed, 0 removed" in out.getvalue()
    for item in items:
        assert json.loads(entry(redis, Product, item.pk) or b"{}")["name"] == item.name
        next_due = redis.zscore(keys.row_schedule(), member(Product, item.pk))
        assert before + 60 <= next_due <= time.time() + 60
        assert 3590 < redis.ttl(keys.row(Product._meta.label_lower, str(item.pk))) <= 3600
    beat = read_heartbeat("cache_rows")
    assert beat is not None and beat["summary"]["refreshed"] == 3


def test_a_pass_picks_up_a_write_that_bypassed_the_signals(redis: Any) -> None:
    item = product(name="Before")
    schedule_row_cache(item, delay=1)
    refresh_due_rows()
    Product.objects.filter(pk=item.pk).update(name="After")  # no post_save
    assert get_row(Product, item.pk)["name"] == "Before"  # until the next refresh
    refresh_due_rows(now=time.time() + 2)
    assert get_row(Product, item.pk)["name"] == "After"


def test_rows_not_yet_due_are_left_alone_and_set_the_next_sleep(redis: Any) -> None:
    item = product()
    schedule_row_cache(item, delay=50)
    refresh_due_rows()
    summary = refresh_due_rows()
    assert summary["refreshed"] == 0 and summary["batches"] == 1
    assert 45 < summary["next_in"] <= 50


def test_nothing_scheduled_means_no_next_time() -> None:
    assert refresh_due_rows()["next_in"] is None


@pytest.mark.single_server("single-server round-trip budget")
def test_a_pass_works_in_batches_with_two_round_trips_each(redis: Any) -> None:
    items = [product() for _ in range(7)]
    for item in items:
        schedule_row_cache(item)
    refresh_due_rows(now=0)  # warm up (connect, load scripts) with nothing due
    before = connection.round_trips()
    summary = refresh_due_rows(batch_size=3)
    assert (summary["refreshed"], summary["batches"]) == (7, 3)
    assert connection.round_trips() - before == 3 * 2


def test_a_batch_costs_the_same_queries_for_any_number_of_rows(
    django_assert_num_queries: Any,
) -> None:
    for n in (2, 20):
        for _ in range(n):
            held = supplier()
            movement(product(supplier=held), 3)
            schedule_row_cache(held)
        with django_assert_num_queries(3):  # suppliers, products, movements
            assert refresh_due_rows()["refreshed"] == n


def test_a_row_in_schedule_but_not_in_delay_is_removed_not_crashed_on(redis: Any) -> None:
    item = product()
    get_row(Product, item.pk)
    redis.zadd(keys.row_schedule(), {member(Product, item.pk): 0})
    summary = refresh_due_rows()
    assert (summary["refreshed"], summary["removed"]) == (0, 1)
    assert redis.zcard(keys.row_schedule()) == 0
    assert entry(redis, Product, item.pk) is None


def test_a_row_deleted_from_the_database_behind_our_back_is_unscheduled(redis: Any) -> None:
    item = product()
    schedule_row_cache(item)
    with db.cursor() as cursor:  # no post_delete signal
        cursor.execute(f"DELETE FROM {Product._meta.db_table} WHERE id = %s", [item.pk])
    summary = refresh_due_rows()
    assert (summary["refreshed"], summary["removed"]) == (0, 1)
    assert redis.zscore(keys.row_delay(), member(Product, item.pk)) is None
    assert redis.zscore(keys.row_schedule(), member(Product, item.pk)) is None


def test_rows_of_models_no_longer_cached_or_with_bad_pks_are_unscheduled(redis: Any) -> None:
    for name in ("shop.stockmovement:1", "nosuch.model:1", "shop.product:not-a-number"):
        redis.zadd(keys.row_delay(), {name: 5})
        redis.zadd(keys.row_schedule(), {name: 0})
    assert refresh_due_rows()["removed"] == 3
    assert redis.zcard(keys.row_delay()) == 0


def test_a_row_unscheduled_during_a_pass_stays_unscheduled(
    redis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis_sessions.rowcache import documents

    item = product()
    schedule_row_cache(item)
    load = documents.load

    def load_then_unschedule(*args: Any, **kwargs: Any) -> dict[str, str]:
        loaded = load(*args, **kwargs)
        schedule_row_cache(item, delay=0)
        return loaded

    monkeypatch.setattr(documents, "load", load_then_unschedule)
    assert refresh_due_rows()["removed"] == 1
    assert redis.zscore(keys.row_schedule(), member(Product, item.pk)) is None
    assert entry(redis, Product, item.pk) is None


def test_verbose_command_logs_each_pass_summary() -> None:
    schedule_row_cache(supplier())
    out = StringIO()
    call_command("cache_rows", "--once", "--batch-size", "5", "-v", "2", stdout=out)
    assert "cache_rows: {'refreshed': 1" in out.getvalue()


def test_the_command_refuses_a_zero_batch_size() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="batch-size"):
        call_command("cache_rows", "--once", "--batch-size", "0")


def test_the_inventory_row_sums_products_and_recent_movements() -> None:
    held = supplier("Acme")
    kettle = product(name="Kettle", stock=2, supplier=held)
    product(name="Lamp", stock=10, supplier=held)
    movement(kettle, 12)
    movement(kettle, -10)
    schedule_row_cache(held)
    refresh_due_rows()
    row = get_row(Supplier, held.pk)
    assert (row["products"], row["units_in_stock"], row["low_stock"]) == (2, 12, ["Kettle"])
    assert (row["received_30d"], row["sold_30d"], row["stock_value"]) == (12, 10, "150.00")


def test_the_product_page_and_the_inventory_page_read_through_the_row_cache(
    client: Any, redis: Any, django_assert_max_num_queries: Any
) -> None:
    call_command("seed_demo", "--products", "12", stdout=StringIO())
    assert redis.zcard(keys.row_schedule()) == Supplier.objects.count() == 6
    item = Product.objects.earliest("pk")
    assert client.get(item.get_absolute_url()).status_code == 200
    assert entry(redis, Product, item.pk) is not None
    refresh_due_rows()
    response = client.get("/inventory/")
    assert response.status_code == 200
    held = Supplier.objects.get(pk=item.supplier_id)
    assert held.name in response.content.decode()
    with django_assert_max_num_queries(1):  # the supplier ids; rows from Redis
        client.get("/inventory/")


def test_with_nothing_scheduled_the_command_says_how_to_schedule_rows(redis: Any) -> None:
    product()
    out = StringIO()
    call_command("cache_rows", "--once", stdout=out)
    assert "0 rows scheduled" in out.getvalue()
    assert "--schedule-all" in out.getvalue()
    assert "1 pass(es): 0 rows refreshed, 0 removed" in out.getvalue()


def test_schedule_all_schedules_every_row_of_each_model_with_a_delay_and_keeps_due_times(
    redis: Any,
) -> None:
    items = [product() for _ in range(5)]
    schedule_row_cache(items[0], delay=600)
    out = StringIO()
    call_command("cache_rows", "--once", "--schedule-all", "--batch-size", "2", stdout=out)
    assert f"scheduled {Product.objects.count()} rows of shop.product" in out.getvalue()
    assert f"{Product.objects.count()} rows refreshed" in out.getvalue()
    for item in items:
        assert json.loads(entry(redis, Product, item.pk) or b"{}")["name"] == item.name
    assert redis.zscore(keys.row_delay(), member(Product, items[1].pk)) == 30  # the model's
    # A row scheduled before keeps its own delay (ZADD NX).
    assert redis.zscore(keys.row_delay(), member(Product, items[0].pk)) == 600
    assert "0 rows scheduled" not in out.getvalue()
