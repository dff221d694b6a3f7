"""The cart in async code: never a blocking Redis call on the event loop. A sync read
there answers from what aprefetch() loaded, or raises naming the async method."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import django
import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import SynchronousOnlyOperation
from django.test import AsyncClient, override_settings
from django.test.client import RequestFactory

from demo_project.shop.models import Product
from redis_sessions import connection
from redis_sessions.backends.redis import SessionStore
from redis_sessions.cart import Cart

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(django.VERSION < (5, 1), reason="Django's async session API is 5.1+"),
]


@pytest.fixture(autouse=True)
def asgi_urls() -> Iterator[None]:
    middleware = [
        "redis_sessions.sessions.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "redis_sessions.middleware.CartMiddleware",
    ]
    with override_settings(ROOT_URLCONF="tests.support.asgi_urls", MIDDLEWARE=middleware):
        yield


@pytest.fixture
def products() -> list[Product]:
    return [
        Product.objects.create(name=f"Thing {i}", slug=f"thing-{i}", price=Decimal("2.50"))
        for i in range(2)
    ]


@pytest.fixture
def shopper(products: list[Product]) -> AsyncClient:
    """A visitor with a session whose cart holds 3 units on 2 lines."""
    store = SessionStore()
    store.save()
    assert store.session_key is not None
    cart = Cart.for_session_key(store.session_key)
    cart.add(products[0], 2)
    cart.add(products[1], 1)
    client = AsyncClient()
    client.cookies["sessionid"] = store.session_key
    return client


def trips_of(call: Any) -> tuple[Any, int]:
    before = connection.round_trips()
    result = call()
    return result, connection.round_trips() - before


def test_a_badge_rendered_on_the_event_loop_without_aprefetch_names_it_and_sends_nothing(
    shopper: AsyncClient,
) -> None:
    before = connection.round_trips()
    with pytest.raises(SynchronousOnlyOperation, match=r"await cart\.aprefetch\(\)") as error:
        async_to_sync(shopper.get)("/async/badge-unprefetched/")
    assert "acount()" in str(error.value)
    assert connection.round_trips() == before


@pytest.mark.single_server("single-server round-trip budget")
def test_a_badge_rendered_on_the_event_loop_after_aprefetch_costs_two_round_trips(
    shopper: AsyncClient,
) -> None:
    response, trips = trips_of(lambda: async_to_sync(shopper.get)("/async/badge/"))
    assert response.content == b"units=3"
    assert trips == 2  # the session's load, the cart's HGETALL


def test_the_demo_cart_page_renders_from_an_async_view_after_aprefetch_lines(
    shopper: AsyncClient,
) -> None:
    response = async_to_sync(shopper.get)("/async/cart/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Thing 0" in page and "Thing 1" in page
    assert "Total (3 items)" in page and "$7.50" in page


def test_sync_writes_and_fresh_reads_on_the_event_loop_raise_before_any_round_trip(
    products: list[Product],
) -> None:
    cart = Cart.for_user(5)

    async def scenario() -> None:
        before = connection.round_trips()
        for call, twin in (
            (lambda: cart.add(products[0]), "aadd()"),
            (lambda: cart.set(products[0], 2), "aset()"),
            (lambda: cart.remove(products[0]), "aremove()"),
            (cart.clear, "aclear()"),
            (cart.quantities, "aquantities()"),
            (cart.count, "acount()"),
            (lambda: len(cart), "alen()"),
            (cart.lines, "alines()"),
            (cart.total, "alines()"),
        ):
            with pytest.raises(SynchronousOnlyOperation, match=rf"await cart\.{twin[:-2]}\(\)"):
                call()
        assert connection.round_trips() == before

    async_to_sync(scenario)()
    assert cart.quantities() == {}  # off the loop, the sync API works as ever


def test_reads_after_aprefetch_are_served_on_the_loop_until_a_write(
    products: list[Product],
) -> None:
    cart = Cart.for_user(6)

    async def scenario() -> None:
        await cart.aadd(products[0], 2)
        await cart.aprefetch(lines=True)
        before = connection.round_trips()
        assert (cart.count(), len(cart), cart.total()) == (2, 1, Decimal("5.00"))
        assert [line.item for line in cart] == [products[0]]
        assert connection.round_trips() == before
        await cart.aadd(products[1])  # the prefetched copy is stale now
        with pytest.raises(SynchronousOnlyOperation, match=r"aprefetch\(\)"):
            cart.count()
        await cart.aprefetch()
        assert cart.count() == 3
        with pytest.raises(SynchronousOnlyOperation, match=r"aprefetch\(lines=True\)"):
            cart.lines()

    async_to_sync(scenario)()


def test_a_visitor_without_a_session_has_an_empty_prefetched_cart() -> None:
    request = RequestFactory().get("/")
    request.session = SessionStore()

    async def scenario() -> None:
        cart = await Cart(request).aprefetch(lines=True)
        assert (cart.count(), cart.lines(), cart.key) == (0, [], None)

    async_to_sync(scenario)()
