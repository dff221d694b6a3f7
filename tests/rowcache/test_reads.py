"""The row cache's reads and writes: get_row(s), get_instance, invalidation on commit."""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.test import override_settings
from django.utils import timezone

from demo_project.shop.models import Product, StockMovement, Supplier
from redis_sessions import connection, keys
from redis_sessions.connection.outages import Outage
from redis_sessions.rowcache import (
    NotRegistered,
    RowEncoder,
    ToCacheQueryError,
    documents,
    get_instance,
    get_row,
    get_rows,
    invalidate,
    registry,
    row_cached,
    schedule_row_cache,
)
from redis_sessions.rowcache import reads as rowcache_reads
from tests.support.rowcache import entry, member, movement, product, supplier

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_miss_reads_the_database_and_fills_the_cache(redis: Any) -> None:
    item = product(supplier=supplier("Acme"))
    row = get_row(Product, item.pk)
    assert row["name"] == item.name and row["price"] == Decimal("12.50")
    assert row["supplier_name"] == "Acme"  # to_cache(), through select_related
    stored = json.loads(entry(redis, Product, item.pk) or b"{}")
    assert stored["name"] == item.name and stored["supplier_name"] == "Acme"


def test_a_hit_costs_one_round_trip_and_no_query(django_assert_num_queries: Any) -> None:
    item = product()
    get_row(Product, item.pk)
    before = connection.round_trips()
    with django_assert_num_queries(0):
        row = get_row(Product, str(item.pk))  # "7" and 7 are the same row
    assert connection.round_trips() - before == 1
    assert row["id"] == item.pk


@pytest.mark.single_server("single-server round-trip budget (a cluster: one per node)")
def test_get_rows_hit_of_many_rows_costs_one_round_trip_and_no_query(
    django_assert_num_queries: Any,
) -> None:
    items = [product() for _ in range(25)]
    pks = [item.pk for item in items]
    get_rows(Product, pks)  # fills every entry
    before = connection.round_trips()
    with django_assert_num_queries(0):
        rows = get_rows(Product, pks)
    assert connection.round_trips() - before == 1
    assert [rows[pk]["id"] for pk in pks] == pks


@pytest.mark.single_server("single-server round-trip budget")
def test_a_miss_costs_two_round_trips_and_one_query(django_assert_num_queries: Any) -> None:
    get_row(Product, product().pk)  # warm up: connect, load the script
    item = product()
    before = connection.round_trips()
    with django_assert_num_queries(1):  # the row and its supplier, joined
        get_row(Product, item.pk)
    assert connection.round_trips() - before == 2


def test_an_unknown_row_raises_does_not_exist_and_caches_nothing(redis: Any) -> None:
    with pytest.raises(Product.DoesNotExist):
        get_row(Product, 999_999)
    assert entry(redis, Product, 999_999) is None


def test_a_malformed_primary_key_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Invalid primary key"):
        get_row(Product, "seven")


def test_an_unregistered_model_is_refused_with_a_hint() -> None:
    with pytest.raises(NotRegistered, match="ROW_CACHE_MODELS"):
        get_row(StockMovement, 1)


def test_get_instance_is_a_model_instance_as_if_loaded_from_the_database() -> None:
    item = product(stock=0)
    get_row(Product, item.pk)
    cached = get_instance(Product, item.pk)
    assert isinstance(cached, Product) and not cached._state.adding
    assert cached == item and cached.get_absolute_url() == item.get_absolute_url()
    assert (cached.name, cached.price, cached.in_stock) == (item.name, item.price, False)


def test_json_types_round_trip_through_the_cache() -> None:
    when = datetime.datetime(2026, 11, 27, 14, 3, 5, 123456, tzinfo=datetime.timezone.utc)
    item = product(price=Decimal("1234567.89"), supplier=supplier(lead_time_days=3))
    moved = movement(item, 4, created_at=when)
    get_row(Supplier, item.supplier_id)
    row = get_row(Supplier, item.supplier_id)  # from the cache this time
    assert row["stock_value"] == str(Decimal("1234567.89") * 3)  # to_cache: JSON's string
    assert row["last_delivery"] == when.isoformat()  # microseconds kept
    assert row["lead_time_days"] == 3
    assert moved.created_at == when


class Everything(models.Model):  # noqa: DJ008
    """Never saved: only its fields' to_python matter for decoding."""

    uid = models.UUIDField()
    day = models.DateField()
    moment = models.DateTimeField()
    span = models.DurationField()
    amount = models.DecimalField(max_digits=8, decimal_places=3)
    data = models.JSONField()

    class Meta:
        app_label = "rowcache_tests"
        managed = False


def test_uuid_date_datetime_duration_decimal_and_json_fields_decode_to_themselves() -> None:
    values = {
        "id": 1,
        "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "day": datetime.date(2026, 2, 28),
        "moment": datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
        "span": datetime.timedelta(days=2, microseconds=7),
        "amount": Decimal("-0.125"),
        "data": {"a": [1, 2.5, None]},
    }
    assert documents.decode(Everything, RowEncoder().encode(values)) == values


@pytest.mark.single_server("single-server round-trip budget")
def test_get_rows_costs_a_fixed_number_of_queries_whatever_the_batch(
    django_assert_num_queries: Any,
) -> None:
    get_row(Supplier, supplier().pk)  # warm up: connect, load the script
    for n in (2, 25):
        pks = [supplier().pk for _ in range(n)]
        for pk in pks:
            for _ in range(2):
                movement(product(supplier_id=pk), 5)
        before = connection.round_trips()
        # suppliers, their products, the products' movements: 3 queries for any n
        with django_assert_num_queries(3):
            rows = get_rows(Supplier, pks)
        assert connection.round_trips() - before == 2  # MGET, then one fill
        assert list(rows) == pks and all(r["products"] == 2 for r in rows.values())
        with django_assert_num_queries(0):
            assert get_rows(Supplier, pks) == rows
        with django_assert_num_queries(1):  # an unknown pk is a miss: left out
            assert get_rows(Supplier, [*pks, 999_999]) == rows


def test_to_cache_that_queries_is_refused_instead_of_costing_a_query_per_row(
    settings: Any,
) -> None:
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS,
        "ROW_CACHE_MODELS": {"shop.Supplier": {"prefetch_related": []}},
    }
    pk = supplier().pk
    with pytest.raises(ToCacheQueryError, match="prefetch_related"):
        get_row(Supplier, pk)


def test_setting_options_win_over_the_decorator_and_typos_are_refused(settings: Any) -> None:
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS,
        "ROW_CACHE_MODELS": {"shop.Supplier": {"delay": 99}},
    }
    _, options = registry.lookup(Supplier)
    assert options.delay == 99 and options.prefetch_related == ("products__movements",)
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS,
        "ROW_CACHE_MODELS": {"shop.Supplier": {"dealy": 1}},
    }
    with pytest.raises(ImproperlyConfigured, match="dealy"):
        registry.lookup(Supplier)


def test_the_fields_option_keeps_only_those_fields_and_defers_the_rest(settings: Any) -> None:
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS,
        "ROW_CACHE_MODELS": {"shop.Product": {"fields": ["name", "supplier"],
                                              "select_related": ["supplier"]}},
    }  # fmt: skip
    item = product(supplier=supplier())
    row = get_row(Product, item.pk)
    assert set(row) == {"id", "name", "supplier_id", "supplier_name", "lead_time_days"}
    assert get_instance(Product, item.pk).get_deferred_fields() >= {"price", "stock"}


def test_schedule_puts_the_row_in_delay_and_schedule_and_zero_unschedules(redis: Any) -> None:
    item = product()
    schedule_row_cache(item)  # the model's delay (30 in the demo settings)
    assert redis.zscore(keys.row_delay(), member(Product, item.pk)) == 30
    schedule_row_cache(Product, item.pk, delay=5)
    assert redis.zscore(keys.row_delay(), member(Product, item.pk)) == 5
    assert redis.zscore(keys.row_schedule(), member(Product, item.pk)) is not None
    get_row(Product, item.pk)
    schedule_row_cache(item, delay=0)
    assert redis.zscore(keys.row_delay(), member(Product, item.pk)) is None
    assert redis.zscore(keys.row_schedule(), member(Product, item.pk)) is None
    assert entry(redis, Product, item.pk) is None


def test_schedule_needs_a_pk_with_a_model_class() -> None:
    with pytest.raises(TypeError, match="pk is required"):
        schedule_row_cache(Product)


def test_invalidate_drops_the_entry_and_bumps_the_version(redis: Any) -> None:
    item = product()
    get_row(Product, item.pk)
    version = keys.row_version("shop.product", str(item.pk))
    before = int(redis.get(version) or 0)
    invalidate(Product, item.pk)
    assert entry(redis, Product, item.pk) is None
    assert int(redis.get(version)) == before + 1


def test_with_redis_unreachable_get_row_reads_the_database_and_logs_once(
    settings: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An earlier test's fallback may have opened the quiet window moments ago.
    monkeypatch.setattr(rowcache_reads, "_outage", Outage(rowcache_reads.logger))
    item = product()
    dead = {**settings.REDIS_SESSIONS, "URL": "redis://127.0.0.1:1/0"}
    with override_settings(REDIS_SESSIONS=dead), caplog.at_level(logging.WARNING):
        assert get_row(Product, item.pk)["name"] == item.name
        assert get_instance(Product, item.pk) == item
    fallbacks = [r for r in caplog.records if r.name == "redis_sessions.rowcache"]
    assert len(fallbacks) == 1


def test_a_second_decorated_model_registers_under_its_label() -> None:
    @row_cached(delay=2)
    class Gadget(models.Model):  # noqa: DJ008
        class Meta:
            app_label = "rowcache_tests"
            managed = False

    try:
        assert registry.lookup(Gadget)[1].delay == 2
    finally:
        registry._decorated.pop("rowcache_tests.gadget")
        registry._reset()


def test_timestamps_are_timezone_aware_after_decoding() -> None:
    moment = timezone.now()
    doc = documents.decode(StockMovement, RowEncoder().encode({"created_at": moment}))
    assert doc["created_at"] == moment and doc["created_at"].tzinfo is not None


def test_a_miss_inside_a_transaction_fills_only_after_the_commit(redis: Any) -> None:
    item = product(name="Committed")
    with transaction.atomic():
        assert get_row(Product, item.pk)["name"] == "Committed"
        assert entry(redis, Product, item.pk) is None
    assert entry(redis, Product, item.pk) is not None


def test_a_transaction_that_rolls_back_never_caches_its_own_write(redis: Any) -> None:
    item = product(name="Committed")
    with pytest.raises(RuntimeError), transaction.atomic():
        Product.objects.filter(pk=item.pk).update(name="Uncommitted")
        assert get_row(Product, item.pk)["name"] == "Uncommitted"
        raise RuntimeError("roll back")
    assert entry(redis, Product, item.pk) is None
    assert get_row(Product, item.pk)["name"] == "Committed"


@pytest.mark.parametrize(
    "value",
    [
        {"shop.Nope": {}},
        {"shop.Product": {"dealy": 1}},
        {"shop.Product": {"delay": 1, "timeout": 0}},
    ],
)
def test_a_bad_row_cache_setting_fails_the_system_check(settings: Any, value: Any) -> None:
    from redis_sessions.checks import check_row_cache

    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "ROW_CACHE_MODELS": value}
    assert [e.id for e in check_row_cache()] == ["redis_sessions.E020"]


def test_the_demo_row_cache_setting_passes_the_system_check() -> None:
    from redis_sessions.checks import check_row_cache

    assert check_row_cache() == []
