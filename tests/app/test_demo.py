"""The demo shop: seeding, the product pages and logging in and out."""

from __future__ import annotations

from io import StringIO
from typing import Any

import django
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from demo_project.shop.models import Product
from demo_project.shop.views import PRODUCTS_PER_PAGE
from redis_sessions import keys

pytestmark = pytest.mark.django_db


def seed(products: int) -> str:
    out = StringIO()
    call_command("seed_demo", "--products", str(products), stdout=out)
    return out.getvalue()


def test_seed_demo_is_idempotent_and_creates_the_demo_users() -> None:
    first = seed(30)
    second = seed(30)

    assert Product.objects.count() == 30
    assert "30 products created" in first
    assert "0 products created, 30 in total" in second
    users = get_user_model().objects
    admin = users.get(username="admin")
    assert admin.is_staff and admin.is_superuser and admin.check_password("admin")
    customer = users.get(username="customer")
    assert not customer.is_staff and customer.check_password("customer")


def test_seed_demo_adds_only_the_missing_products_when_asked_for_more() -> None:
    seed(10)
    first_ten = dict(Product.objects.values_list("slug", "pk"))

    assert "20 products created, 30 in total" in seed(30)
    assert dict(Product.objects.filter(slug__in=first_ten).values_list("slug", "pk")) == first_ten


def test_product_list_shows_the_first_page_in_name_order(client: Client) -> None:
    seed(30)
    response = client.get("/")

    assert response.status_code == 200
    page = response.context["page"]
    names = [p.name for p in page.object_list]
    assert len(names) == PRODUCTS_PER_PAGE
    assert names == sorted(Product.objects.values_list("name", flat=True))[:PRODUCTS_PER_PAGE]
    assert names[0] in response.content.decode()
    assert 'aria-current="page">1<' in response.content.decode()


def test_product_list_second_page_holds_the_rest(client: Client) -> None:
    seed(30)
    response = client.get("/", {"page": 2})

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 30 - PRODUCTS_PER_PAGE
    assert 'rel="prev"' in response.content.decode()


def test_product_list_tolerates_a_malformed_page_number(client: Client) -> None:
    seed(30)
    assert client.get("/", {"page": "nope"}).context["page"].number == 1
    assert client.get("/", {"page": 99}).context["page"].number == 2


def test_product_detail_shows_price_stock_and_description(client: Client) -> None:
    seed(30)
    product = Product.objects.order_by("pk").first()
    assert product is not None

    response = client.get(product.get_absolute_url())

    assert response.status_code == 200
    assert product.get_absolute_url() == f"/p/{product.slug}/"
    body = response.content.decode()
    for text in (product.name, f"${product.price}", product.description):
        assert text in body


def test_product_detail_counts_a_view_of_the_product(client: Client, redis: Any) -> None:
    seed(3)
    product = Product.objects.earliest("pk")

    client.get(product.get_absolute_url())

    assert redis.zscore(keys.viewed_items(), str(product.pk)) == -1


def test_product_detail_is_404_for_an_unknown_slug(client: Client) -> None:
    assert client.get("/p/no-such-product/").status_code == 404


def test_customer_can_log_in_and_log_out_with_a_post(client: Client) -> None:
    seed(0)

    response = client.post("/accounts/login/", {"username": "customer", "password": "customer"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "Signed in as <strong>customer</strong>" in client.get("/").content.decode()

    if django.VERSION >= (5, 0):  # Django 4.2 still logs out on GET (deprecated)
        assert client.get("/accounts/logout/").status_code == 405  # never by a link
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    home: Any = client.get("/")
    assert not home.context["user"].is_authenticated
    assert "Log in" in home.content.decode()


def test_login_with_a_wrong_password_shows_the_form_again(client: Client) -> None:
    seed(0)
    response = client.post("/accounts/login/", {"username": "customer", "password": "nope"})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "didn't match" in response.content.decode()


@pytest.mark.django_db
def test_product_page_survives_a_stale_slug_memo_from_another_process(client: Client) -> None:
    from demo_project.shop import views

    seed(3)
    product = Product.objects.order_by("pk").first()
    assert product is not None
    views._product_ids[product.slug] = 10**9  # as if deleted and re-created elsewhere
    assert client.get(product.get_absolute_url()).status_code == 200
    assert views._product_ids[product.slug] == product.pk
