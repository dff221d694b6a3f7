"""The demo shop's use of the page cache, the fragment cache and the analytics."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from demo_project.shop.models import Product
from redis_sessions import keys
from redis_sessions.pagecache.fragments import invalidate_fragment

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> list[Product]:
    call_command("seed_demo", "--products", "30", stdout=StringIO())
    return list(Product.objects.order_by("pk"))


def test_a_product_page_is_cached_for_anonymous_visitors_once_it_is_viewed(
    products: list[Product],
) -> None:
    url = products[0].get_absolute_url()
    states = [Client().get(url)["X-Cache"] for _ in range(3)]
    # unranked (the view counted), then popular: stored, served
    assert states == ["bypass; reason=cold", "miss", "hit"]
    hit = Client().get(url)
    assert products[0].name in hit.content.decode()
    # served by PageHitMiddleware, before the session middleware, with the headers of
    # the middleware above it
    assert not hasattr(hit.wsgi_request, "session") and hit["X-Frame-Options"] == "DENY"


def test_a_logged_in_customer_always_gets_a_fresh_product_page(products: list[Product]) -> None:
    url = products[0].get_absolute_url()
    for _ in range(2):
        Client().get(url)
    customer = Client()
    customer.login(username="customer", password="customer")
    assert customer.get(url)["X-Cache"] == "bypass; reason=session"


def test_the_most_viewed_sidebar_and_the_list_page_show_the_top_items(
    products: list[Product],
) -> None:
    top, second = products[3], products[7]
    for product, views in ((top, 3), (second, 2)):
        for _ in range(views):
            Client().get(product.get_absolute_url())
    invalidate_fragment("most_viewed")  # cached (empty) by the first page view
    listing = Client().get("/").content.decode()
    sidebar = listing.split('class="most-viewed"')[1].split("</aside>")[0]
    assert sidebar.index(top.name) < sidebar.index(second.name)
    assert products[0].name not in sidebar


def test_an_unknown_product_is_a_404_and_never_cached(products: Any, redis: Any) -> None:
    statuses = [Client().get("/p/no-such-product/").status_code for _ in range(2)]
    assert statuses == [404, 404]
    assert not list(redis.scan_iter(match=keys.escape_glob(keys.page("")) + "*"))


def test_saving_a_product_drops_its_cached_pages(
    products: list[Product], django_capture_on_commit_callbacks: Any
) -> None:
    product = products[0]
    for _ in range(2):
        Client().get(product.get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):  # dropped after the commit
        product.price = 1234
        product.save()
    page = Client().get(product.get_absolute_url())
    assert page["X-Cache"] == "miss" and "1234" in page.content.decode()


def test_a_new_visitor_can_post_the_add_to_cart_form_of_a_cached_product_page(
    products: list[Product],
) -> None:
    import re

    from redis_sessions.cart import Cart

    product = products[2]
    url = product.get_absolute_url()
    for _ in range(2):
        Client().get(url)  # popular and stored
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get(url)
    assert page["X-Cache"] == "hit"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None
    response = visitor.post(
        f"{url}add-to-cart/", {"quantity": 2, "csrfmiddlewaretoken": token.group(1)}
    )
    assert response.status_code == 302
    cart = Cart.for_session_key(visitor.cookies["sessionid"].value)
    assert cart.quantities() == {str(product.pk): 2}
