"""Invalidation after real commits, never on rollback, and the stale-write race."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import transaction

from demo_project.shop.models import Product
from redis_sessions import keys
from redis_sessions.rowcache import documents, get_row, refresh_due_rows, schedule_row_cache
from tests.support.rowcache import entry, member, product

# Real commits and rollbacks: the test is not wrapped in a transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_committed_save_drops_the_entry_so_readers_see_the_new_row(redis: Any) -> None:
    item = product(name="Old")
    get_row(Product, item.pk)
    with transaction.atomic():
        item.name = "New"
        item.save()
        # Not committed yet: other readers rightly still get the committed row.
        assert entry(redis, Product, item.pk) is not None
    assert entry(redis, Product, item.pk) is None
    assert get_row(Product, item.pk)["name"] == "New"


def test_a_rolled_back_save_leaves_the_entry_and_its_version_alone(redis: Any) -> None:
    item = product(name="Kept")
    get_row(Product, item.pk)
    version = redis.get(keys.row_version("shop.product", str(item.pk)))
    with pytest.raises(RuntimeError), transaction.atomic():
        item.name = "Never"
        item.save()
        raise RuntimeError("roll back")
    assert entry(redis, Product, item.pk) is not None
    assert redis.get(keys.row_version("shop.product", str(item.pk))) == version
    assert get_row(Product, item.pk)["name"] == "Kept"


def test_a_committed_save_of_a_scheduled_row_makes_it_due_now(redis: Any) -> None:
    item = product()
    schedule_row_cache(item)
    refresh_due_rows()
    due_later = redis.zscore(keys.row_schedule(), member(Product, item.pk))
    item.save()  # autocommit: committed at once
    assert redis.zscore(keys.row_schedule(), member(Product, item.pk)) < due_later
    assert refresh_due_rows()["refreshed"] == 1


def test_a_committed_delete_drops_and_unschedules_the_row(redis: Any) -> None:
    item = product()
    schedule_row_cache(item)
    get_row(Product, item.pk)
    pk = item.pk
    item.delete()
    assert entry(redis, Product, pk) is None
    assert redis.zscore(keys.row_schedule(), member(Product, pk)) is None
    assert redis.zscore(keys.row_delay(), member(Product, pk)) is None
    with pytest.raises(Product.DoesNotExist):
        get_row(Product, pk)


def _write_after_load(monkeypatch: pytest.MonkeyPatch, item: Product, name: str) -> None:
    """Make the next database load of rows return, then commit a write of ``item``:
    the reader holds a document older than the write, exactly the race's window."""
    load = documents.load

    def load_then_write(*args: Any, **kwargs: Any) -> dict[str, str]:
        loaded = load(*args, **kwargs)
        monkeypatch.setattr(documents, "load", load)  # only once
        Product.objects.filter(pk=item.pk).update(name=name)
        item.name = name
        item.save(update_fields=["name"])  # post_save -> invalidation on commit
        return loaded

    monkeypatch.setattr(documents, "load", load_then_write)


def test_a_reader_that_loaded_before_a_write_cannot_put_the_old_row_back(
    redis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = product(name="Before")
    _write_after_load(monkeypatch, item, "After")
    # The reader gets the row it read (it was true when read) ...
    assert get_row(Product, item.pk)["name"] == "Before"
    # ... but its fill was refused: the cache does not hold it over the write.
    assert entry(redis, Product, item.pk) is None
    assert get_row(Product, item.pk)["name"] == "After"
    assert get_row(Product, item.pk)["name"] == "After"  # and now cached


def test_a_refresh_that_loaded_before_a_write_does_not_store_and_retries(
    redis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = product(name="Before")
    schedule_row_cache(item)
    _write_after_load(monkeypatch, item, "After")
    summary = refresh_due_rows()
    assert (summary["refreshed"], summary["stale"]) == (0, 1)
    assert entry(redis, Product, item.pk) is None
    assert summary["next_in"] is not None and summary["next_in"] < 1  # due again at once
    # due again just after that pass (which ended so as not to spin on it)
    assert refresh_due_rows(now=time.time() + 1)["refreshed"] == 1
    assert get_row(Product, item.pk)["name"] == "After"
