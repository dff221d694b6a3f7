"""Primary keys the model's database cannot hold are refused before Redis or the
database sees them: a clear ``ValueError``, as a malformed key gets, never the driver's
``OverflowError`` (SQLite) or ``DataError`` (PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from demo_project.shop.models import Product
from redis_sessions import keys
from redis_sessions.rowcache import (
    get_row,
    get_rows,
    invalidate,
    refresh_due_rows,
    schedule_row_cache,
)
from redis_sessions.rowcache.documents import clean_pk
from tests.support.rowcache import product

pytestmark = pytest.mark.django_db

TOO_BIG = [2**63, str(2**63), 10**30, str(-(2**63) - 1)]


def all_keys(redis: Any) -> set[bytes]:
    return set(redis.scan_iter(match=keys.scan_pattern(), count=1000))


@pytest.mark.parametrize("pk", TOO_BIG)
def test_a_primary_key_out_of_the_databases_range_is_a_value_error_naming_the_range(
    redis: Any, pk: Any
) -> None:
    before = all_keys(redis)
    with pytest.raises(ValueError, match=r"Invalid primary key .* out of the range"):
        get_row(Product, pk)
    with pytest.raises(ValueError, match="out of the range"):
        get_rows(Product, [product().pk, pk])
    with pytest.raises(ValueError, match="out of the range"):
        schedule_row_cache(Product, pk, delay=30)
    with pytest.raises(ValueError, match="out of the range"):
        invalidate(Product, pk)
    assert all_keys(redis) == before  # nothing cached, scheduled or versioned


def test_the_range_ends_are_primary_keys_that_simply_name_no_row() -> None:
    top = 2**63 - 1
    assert clean_pk(Product, str(top)) == top
    assert clean_pk(Product, -(2**63)) == -(2**63)
    with pytest.raises(Product.DoesNotExist):
        get_row(Product, top)


def test_the_refresh_loop_unschedules_a_member_whose_pk_is_out_of_range(redis: Any) -> None:
    name = f"shop.product:{2**63}"  # written by hand, or by a version before this check
    redis.zadd(keys.row_delay(), {name: 5})
    redis.zadd(keys.row_schedule(), {name: 0})
    assert refresh_due_rows()["removed"] == 1
    assert redis.zcard(keys.row_schedule()) == redis.zcard(keys.row_delay()) == 0
