"""The cart API against a real Redis: writes, limits, bad input, reads, the index."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from demo_project.shop.models import Product
from redis_sessions import connection, keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.cart import Cart
from redis_sessions.cart.merge import cart_count, forget_expired_carts, recent_carts

pytestmark = pytest.mark.django_db


def make_products(n: int) -> list[Product]:
    return [
        Product.objects.create(name=f"P{i}", slug=f"p{i}", price=Decimal(f"{i + 1}.50"))
        for i in range(n)
    ]


def session_cart() -> Cart:
    store = SessionStore()
    store["x"] = 1
    store.save()
    assert store.session_key is not None
    return Cart.for_session_key(store.session_key)


def dump(redis: Any) -> dict[bytes, Any]:
    """Every key of this test's prefix with its value, to prove nothing changed."""
    out: dict[bytes, Any] = {}
    for key in redis.scan_iter(match=keys.scan_pattern()):
        kind = redis.type(key)
        if kind == b"hash":
            out[key] = redis.hgetall(key)
        elif kind == b"zset":
            out[key] = redis.zrange(key, 0, -1, withscores=True)
        else:
            out[key] = redis.get(key) if kind == b"string" else kind
    return out


def test_add_increments_the_line_and_indexes_the_cart(redis: Any) -> None:
    (p,) = make_products(1)
    cart = session_cart()

    assert cart.add(p) == 1
    assert cart.add(p.pk, 3) == 4

    assert redis.hgetall(cart.key) == {str(p.pk).encode(): b"4"}
    assert redis.zscore(keys.carts(), cart.key) is not None
    assert redis.ttl(cart.key) == -1  # an anonymous cart lives as long as its session


def test_ids_are_normalised_so_one_item_is_one_line() -> None:
    (p,) = make_products(1)
    cart = session_cart()
    cart.add(p)
    cart.add(str(p.pk))
    cart.add(f"0{p.pk}")
    assert cart.quantities() == {str(p.pk): 3}


def test_set_replaces_the_quantity_and_zero_removes_the_line(redis: Any) -> None:
    a, b = make_products(2)
    cart = session_cart()
    cart.add(a, 5)
    cart.add(b)

    assert cart.set(a, 2) == 2
    assert cart.set(b, 0) == 0
    assert cart.quantities() == {str(a.pk): 2}
    cart.set(a, 0)
    assert not redis.exists(cart.key)
    assert redis.zscore(keys.carts(), cart.key) is None


def test_remove_and_clear_empty_the_cart_and_its_index_entry(redis: Any) -> None:
    a, b = make_products(2)
    cart = session_cart()
    cart.add(a)
    cart.add(b)

    cart.remove(a)
    assert cart.quantities() == {str(b.pk): 1}
    cart.clear()
    assert cart.quantities() == {}
    assert redis.zscore(keys.carts(), cart.key) is None


def test_len_counts_lines_and_count_counts_units() -> None:
    a, b = make_products(2)
    cart = session_cart()
    cart.add(a, 2)
    cart.add(b, 3)
    assert len(cart) == 2
    assert cart.count() == 5


@pytest.mark.parametrize("bad", [True, 1.0, "3", "1e3", None, Decimal(2)])
def test_a_quantity_that_is_not_an_int_is_refused_and_changes_nothing(redis: Any, bad: Any) -> None:
    (p,) = make_products(1)
    cart = session_cart()
    cart.add(p, 2)
    before = dump(redis)

    for call in (lambda: cart.add(p, bad), lambda: cart.set(p, bad)):
        with pytest.raises(ValueError, match="must be an int"):
            call()
    assert dump(redis) == before


@pytest.mark.parametrize(
    ("method", "quantity", "message"),
    [
        ("add", 0, "at least 1"),
        ("add", -2, "at least 1"),
        ("set", -1, "at least 0"),
        ("add", 100, "At most 99"),
        ("set", 100, "At most 99"),
        ("add", 98, "it holds 2"),  # 2 + 98 > 99: refused inside Redis
    ],
)
def test_quantities_out_of_range_are_refused_and_change_nothing(
    redis: Any, method: str, quantity: int, message: str
) -> None:
    (p,) = make_products(1)
    cart = session_cart()
    cart.add(p, 2)
    before = dump(redis)

    with pytest.raises(ValueError, match=message):
        getattr(cart, method)(p, quantity)
    assert dump(redis) == before


@pytest.mark.parametrize("bad", ["abc", "", "9" * 300, True, 1.5, None, "999999"])
def test_unknown_or_malformed_item_ids_are_refused_and_change_nothing(redis: Any, bad: Any) -> None:
    (p,) = make_products(1)
    cart = session_cart()
    cart.add(p)
    before = dump(redis)

    with pytest.raises(ValueError):
        cart.add(bad)
    with pytest.raises(ValueError):
        cart.set(bad, 1)
    assert dump(redis) == before


def test_an_instance_of_another_model_or_an_unsaved_one_is_refused() -> None:
    from django.contrib.auth.models import User

    cart = session_cart()
    with pytest.raises(ValueError, match=r"holds shop\.Product items, not auth\.User"):
        cart.add(User(pk=1))
    with pytest.raises(ValueError, match="not saved"):
        cart.add(Product(name="x"))


def test_validation_costs_one_query_for_an_id_and_none_for_a_loaded_instance(
    settings: Any,
) -> None:
    (p,) = make_products(1)
    cart = session_cart()
    with CaptureQueriesContext(db) as by_id:
        cart.add(p.pk)
    with CaptureQueriesContext(db) as by_instance:
        cart.add(p)
    assert len(by_id) == 1 and len(by_instance) == 0

    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CART_VALIDATE_ITEMS": False}
    with CaptureQueriesContext(db) as unvalidated:
        cart.add(123456)
    assert len(unvalidated) == 0
    assert cart.quantities()["123456"] == 1


def test_the_line_limit_refuses_a_new_item_but_not_more_of_an_old_one(
    redis: Any, settings: Any
) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CART_MAX_LINES": 2}
    a, b, c = make_products(3)
    cart = session_cart()
    cart.add(a)
    cart.add(b)
    before = dump(redis)

    with pytest.raises(ValueError, match="maximum of 2 different items"):
        cart.add(c)
    with pytest.raises(ValueError, match="maximum of 2 different items"):
        cart.set(c, 1)
    assert dump(redis) == before
    assert cart.add(a) == 2


def test_a_cart_is_never_created_for_a_session_that_has_ended(redis: Any) -> None:
    (p,) = make_products(1)
    store = SessionStore()
    store.save()
    cart = Cart.for_session_key(store.session_key)  # type: ignore[arg-type]
    store.delete()

    with pytest.raises(ValueError, match="session of this cart has ended"):
        cart.add(p)
    assert not redis.exists(keys.cart(store.session_key))  # type: ignore[arg-type]


def test_for_session_key_refuses_a_malformed_key() -> None:
    with pytest.raises(ValueError, match="not a session key"):
        Cart.for_session_key("{evil}*")


def test_a_users_cart_has_its_own_ttl(redis: Any, settings: Any) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CART_USER_TTL": 1000}
    (p,) = make_products(1)
    cart = Cart.for_user(42)
    cart.add(p)
    assert cart.key == keys.user_cart(42)
    assert 990 <= redis.ttl(cart.key) <= 1000


def test_iteration_yields_lines_with_items_quantities_and_totals_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    a, b, c = make_products(3)
    cart = session_cart()
    cart.add(c, 1)
    cart.add(a, 2)
    cart.add(b, 3)
    cart.refresh()

    before = connection.round_trips()
    with django_assert_num_queries(1):
        lines = list(cart)
        assert cart.total() == Decimal("1.50") * 2 + Decimal("2.50") * 3 + Decimal("3.50")
        assert len(cart) == 3 and cart.count() == 6
    assert connection.round_trips() - before == 1  # one snapshot serves every read

    assert [line.item for line in lines] == [a, b, c]
    assert [line.quantity for line in lines] == [2, 3, 1]
    assert lines[1].total == Decimal("7.50")


def test_lines_of_deleted_items_vanish_from_the_cart_and_from_redis(redis: Any) -> None:
    a, b = make_products(2)
    cart = session_cart()
    cart.add(a)
    cart.add(b)
    redis.hset(cart.key, "not-a-number", 1)  # junk written by someone else
    b.delete()

    assert [line.item for line in cart] == [a]
    assert redis.hgetall(cart.key) == {str(a.pk).encode(): b"1"}
    assert cart.count() == 1
    a.delete()
    cart.refresh()
    assert list(cart) == []
    assert redis.zscore(keys.carts(), cart.key) is None


def test_removing_a_deleted_item_works_without_a_query(django_assert_num_queries: Any) -> None:
    (p,) = make_products(1)
    cart = session_cart()
    cart.add(p)
    pk = p.pk
    p.delete()
    with django_assert_num_queries(0):
        cart.remove(pk)
    assert cart.quantities() == {}


def test_total_is_none_without_a_price_field(settings: Any) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CART_PRICE_FIELD": None}
    (p,) = make_products(1)
    cart = session_cart()
    cart.add(p)
    assert cart.total() is None
    assert next(iter(cart)).total is None


@pytest.mark.single_server("single-server round-trip budget")
def test_each_write_and_quantities_cost_one_round_trip() -> None:
    (p,) = make_products(1)
    cart = session_cart()
    for call in (
        lambda: cart.add(p),
        lambda: cart.set(p, 3),
        lambda: cart.quantities(),
        lambda: cart.remove(p),
        lambda: cart.clear(),
    ):
        before = connection.round_trips()
        call()
        assert connection.round_trips() - before == 1


def test_the_index_counts_and_lists_non_empty_carts(redis: Any) -> None:
    a, b = make_products(2)
    first, second = session_cart(), Cart.for_user(7)
    first.add(a)
    second.add(b)
    assert cart_count() == 2
    assert {key for key, _ in recent_carts()} == {first.key, second.key}
    first.clear()
    assert cart_count() == 1


def test_forget_expired_carts_drops_only_entries_of_carts_that_are_gone(
    redis: Any, settings: Any
) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CART_USER_TTL": 100}
    (p,) = make_products(1)
    alive, gone = Cart.for_user(1), Cart.for_user(2)
    alive.add(p)
    gone.add(p)
    redis.delete(gone.key)  # as its TTL would
    redis.zadd(keys.carts(), {alive.key: 0, gone.key: 0})  # both unchanged for long

    assert forget_expired_carts(batch=1) == 1
    assert redis.zrange(keys.carts(), 0, -1) == [alive.key.encode()]  # type: ignore[union-attr]


def run_threads(cart: Cart, item: Product, threads: int, adds: int) -> tuple[int, int]:
    errors = [0] * threads
    barrier = threading.Barrier(threads)

    def worker(n: int) -> None:
        barrier.wait()
        for _ in range(adds):
            try:
                cart.add(item)
            except ValueError:
                errors[n] += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return cart.quantities()[str(item.pk)], sum(errors)


@pytest.mark.parametrize(("cap", "expected"), [(2400, 2400), (5000, 2400), (99, 99)])
def test_concurrent_adds_never_lose_an_update_or_pass_the_cap(
    settings: Any, cap: int, expected: int
) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CART_MAX_QUANTITY": cap}
    (p,) = make_products(1)
    quantity, errors = run_threads(session_cart(), p, threads=8, adds=300)
    assert quantity == expected
    assert errors == 2400 - expected
