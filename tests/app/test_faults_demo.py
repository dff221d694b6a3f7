"""Redis stopped in the middle of the demo's traffic, then brought back.

While it is down, anonymous visitors still get the product page (page cache and row
cache fall back to rendering from the database) and the list page (the most-viewed
fragment renders uncached); visitors with a session get the app's 503 page, their
cookie kept. When Redis is back (same socket, data gone), the next request works
without restarting anything. ``CIRCUIT_BREAKER_SECONDS = 0``: the breaker window
would only delay the recovery the test checks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from demo_project.shop.models import Product
from redis_sessions import embedded, keys
from redis_sessions.connection import get_redis
from redis_sessions.pagecache.fragments import invalidate_fragment
from redis_sessions.rowcache import get_row

# transaction=True: the row cache fills only after a commit, as it would in production.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.single_server("stops and restarts a single Redis of its own"),
]


@pytest.fixture
def private_redis(settings: Any) -> Iterator[embedded.EmbeddedRedis]:
    server = embedded.start()
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS,
        "URL": server.url,
        "CIRCUIT_BREAKER_SECONDS": 0,
    }
    yield server
    # The restarted server is not the fixture's process: shut it down by its socket.
    os.system(f"redis-cli -s {server.socket} shutdown nosave >/dev/null 2>&1")
    server.stop()


@pytest.fixture
def products(private_redis: embedded.EmbeddedRedis) -> list[Product]:
    call_command("seed_demo", "--products", "30", stdout=StringIO())
    return list(Product.objects.order_by("pk"))


def sidebar(html: str) -> str:
    return html.split('class="most-viewed"')[1].split("</aside>")[0]


def warm_up(product: Product) -> None:
    """Make the product page popular and cached, and its row cached."""
    url = product.get_absolute_url()
    states = [Client().get(url)["X-Cache"] for _ in range(3)]
    assert states == ["bypass; reason=cold", "miss", "hit"]
    assert get_redis().exists(keys.row(Product._meta.label_lower, str(product.pk)))


def test_product_and_list_pages_render_from_the_database_while_redis_is_down_and_recover(
    private_redis: embedded.EmbeddedRedis, products: list[Product]
) -> None:
    product = products[0]
    warm_up(product)
    invalidate_fragment("most_viewed")  # cached (empty) by the first product page
    assert product.name in sidebar(Client().get("/").content.decode())
    # A database change Redis never hears of: the page must show it while Redis is down.
    Product.objects.filter(pk=product.pk).update(name="Renamed while Redis was down")

    private_redis.stop(keep_directory=True)
    for _ in range(2):  # the first request finds the broken pooled connections
        page = Client().get(product.get_absolute_url())
        assert page.status_code == 200
        assert page["X-Cache"] == "bypass; reason=unavailable"
        assert "Renamed while Redis was down" in page.content.decode()
        listing = Client().get("/")
        assert listing.status_code == 200
        assert "Renamed while Redis was down" in listing.content.decode()
        assert "Nothing viewed yet." in sidebar(listing.content.decode())

    embedded.start(directory=private_redis.directory)  # same socket, empty data
    states = [Client().get(product.get_absolute_url())["X-Cache"] for _ in range(3)]
    assert states == ["bypass; reason=cold", "miss", "hit"]  # popular again, cached again
    assert get_row(Product, product.pk)["name"] == "Renamed while Redis was down"
    assert get_redis().exists(keys.row(Product._meta.label_lower, str(product.pk)))
    invalidate_fragment("most_viewed")  # cached (empty) again by the first page view
    assert "Renamed while Redis was down" in sidebar(Client().get("/").content.decode())


def test_a_visitor_with_a_session_gets_503_while_redis_is_down_and_keeps_the_cookie(
    private_redis: embedded.EmbeddedRedis, products: list[Product]
) -> None:
    product = products[1]
    visitor = Client(raise_request_exception=False)
    assert (
        visitor.post(f"{product.get_absolute_url()}add-to-cart/", {"quantity": 2}).status_code
        == 302
    )
    cookie = visitor.cookies["sessionid"].value

    private_redis.stop(keep_directory=True)
    for url in (product.get_absolute_url(), "/", "/cart/"):
        response = visitor.get(url)
        assert response.status_code == 503, url
        assert "sessionid" not in response.cookies  # never deleted, never replaced
    assert visitor.cookies["sessionid"].value == cookie

    embedded.start(directory=private_redis.directory)
    assert visitor.get(product.get_absolute_url()).status_code == 200
    cart = visitor.get("/cart/")  # the session and cart went with Redis's data
    assert cart.status_code == 200 and product.name not in cart.content.decode()
