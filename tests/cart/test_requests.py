"""The cart in requests: request.cart, the badge, login merge, logout, the demo pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django
import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client, override_settings

from demo_project.shop.models import Product
from redis_sessions import connection, keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.cart import Cart
from redis_sessions.cart.merge import merge_carts

pytestmark = pytest.mark.django_db


@pytest.fixture
def products() -> list[Product]:
    return [
        Product.objects.create(name=f"P{i}", slug=f"p{i}", price=Decimal(f"{i + 1}.25"))
        for i in range(3)
    ]


@pytest.fixture
def customer() -> Any:
    return get_user_model().objects.create_user("customer", password="pw")


def add(client: Client, product: Product, quantity: Any = 1) -> Any:
    return client.post(f"/p/{product.slug}/add-to-cart/", {"quantity": quantity})


def session_key(client: Client) -> str:
    return client.cookies["sessionid"].value


def test_a_visitor_without_a_session_who_only_looks_gets_none_and_costs_nothing(
    products: list[Product],
) -> None:
    client = Client()
    assert client.get("/").status_code == 200  # the list's "most viewed" costs its own trips
    before = connection.round_trips()
    assert client.get("/cart/").status_code == 200
    assert connection.round_trips() == before
    assert "sessionid" not in client.cookies


def test_a_first_add_creates_the_session_that_owns_the_cart(
    products: list[Product], redis: Any
) -> None:
    client = Client()
    response = add(client, products[0], 2)

    assert response.status_code == 302 and response["Location"] == "/cart/"
    key = session_key(client)
    assert redis.hgetall(keys.cart(key)) == {str(products[0].pk).encode(): b"2"}
    assert 'class="cart-count">2<' in client.get("/").content.decode()


@pytest.mark.single_server("single-server round-trip budget")
def test_a_template_that_does_not_use_the_cart_costs_no_round_trip(
    products: list[Product],
) -> None:
    client = Client()
    add(client, products[0], 3)

    before = connection.round_trips()
    assert client.get("/plain/").content == b"no cart here"
    assert connection.round_trips() == before
    assert client.get("/badge/").content == b"units=3"
    assert connection.round_trips() - before == 2  # the session load, then HGETALL


@pytest.mark.single_server("single-server round-trip budget")
def test_the_cart_page_lists_lines_with_totals_in_one_round_trip_and_one_query(
    products: list[Product], django_assert_num_queries: Any
) -> None:
    client = Client()
    add(client, products[0], 2)
    add(client, products[1], 1)

    before = connection.round_trips()
    with django_assert_num_queries(1):
        response = client.get("/cart/")
    body = response.content.decode()
    assert connection.round_trips() - before == 2  # the session load, then HGETALL
    assert "P0" in body and "P1" in body
    assert "$2.50" in body  # 2 x 1.25
    assert "$4.75" in body  # 2.50 + 2.25
    assert f'name="qty-{products[0].pk}" value="2"' in body


@pytest.mark.parametrize("bad", ["abc", "", "0", "-1", "100", "1e3", "2.5"])
def test_bad_add_to_cart_input_shows_a_form_error_and_changes_nothing(
    products: list[Product], redis: Any, bad: str
) -> None:
    client = Client()
    add(client, products[0], 1)
    response = add(client, products[0], bad)

    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    assert Cart.for_session_key(session_key(client)).quantities() == {str(products[0].pk): 1}


def test_adding_past_the_cap_in_several_steps_shows_the_carts_own_message(
    products: list[Product],
) -> None:
    client = Client()
    add(client, products[0], 90)
    response = add(client, products[0], 20)
    assert response.status_code == 400
    assert "At most 99 units" in response.content.decode()


def test_the_cart_page_updates_removes_and_clears(products: list[Product]) -> None:
    client = Client()
    add(client, products[0], 1)
    add(client, products[1], 1)
    a, b = (str(p.pk) for p in products[:2])
    cart = Cart.for_session_key(session_key(client))

    assert client.post("/cart/update/", {f"qty-{a}": "4", f"qty-{b}": "0"}).status_code == 302
    assert cart.quantities() == {a: 4}
    client.post("/cart/update/", {"remove": a})
    assert cart.quantities() == {}
    add(client, products[2], 1)
    client.post("/cart/update/", {"clear": "1"})
    assert cart.quantities() == {}


@pytest.mark.parametrize(
    "data",
    [{"qty-{a}": "x"}, {"qty-{a}": "-3"}, {"qty-{a}": "500"}, {"qty-junk": "1"}, {"remove": "x"}],
)
def test_bad_cart_page_input_shows_an_error_and_changes_nothing(
    products: list[Product], data: dict[str, str]
) -> None:
    client = Client()
    add(client, products[0], 2)
    a = str(products[0].pk)
    post = {k.format(a=a): v for k, v in data.items()}
    response = client.post("/cart/update/", post)

    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    assert Cart.for_session_key(session_key(client)).quantities() == {a: 2}


def test_login_merges_the_anonymous_cart_and_says_so(
    products: list[Product], customer: Any, redis: Any
) -> None:
    Cart.for_user(customer).add(products[0], 1)
    client = Client()
    add(client, products[0], 2)
    add(client, products[1], 1)
    anonymous = keys.cart(session_key(client))

    response = client.post(
        "/accounts/login/", {"username": "customer", "password": "pw"}, follow=True
    )

    assert "2 items from before you logged in are now in your cart." in response.content.decode()
    assert Cart.for_user(customer).quantities() == {str(products[0].pk): 3, str(products[1].pk): 1}
    assert not redis.exists(anonymous)
    assert redis.zscore(keys.carts(), anonymous) is None
    assert redis.zscore(keys.carts(), keys.user_cart(customer.pk)) is not None
    assert 'class="cart-count">4<' in client.get("/").content.decode()


def test_logout_shows_an_empty_cart_and_the_users_cart_follows_them_elsewhere(
    products: list[Product], customer: Any
) -> None:
    laptop, phone = Client(), Client()
    laptop.login(username="customer", password="pw")
    add(laptop, products[0], 5)

    laptop.post("/accounts/logout/")
    assert 'class="cart-count"' not in laptop.get("/").content.decode()
    assert "Your cart is empty" in laptop.get("/cart/").content.decode()

    phone.login(username="customer", password="pw")
    assert 'class="cart-count">5<' in phone.get("/").content.decode()


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("add", {"a": 5, "b": 99, "c": 1}),
        ("keep_higher", {"a": 3, "b": 90, "c": 1}),
        ("replace", {"a": 2, "b": 10}),
    ],
)
def test_merge_strategies(redis: Any, strategy: str, expected: dict[str, int]) -> None:
    store = SessionStore()
    store.save()
    key = store.session_key
    assert key is not None
    redis.hset(keys.cart(key), mapping={"a": 2, "b": 10})
    redis.hset(keys.user_cart(9), mapping={"a": 3, "b": 90, "c": 1})

    result = merge_carts(key, 9, strategy)

    assert (result.merged, result.dropped) == (2, 0)
    assert {k.decode(): int(v) for k, v in redis.hgetall(keys.user_cart(9)).items()} == expected
    assert not redis.exists(keys.cart(key))


def test_merge_drops_lines_that_do_not_fit_and_leaves_an_empty_merge_alone(
    redis: Any, settings: Any
) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CART_MAX_LINES": 2}
    redis.hset(keys.cart("s" * 32), mapping={"x": 1, "y": 1})
    redis.hset(keys.user_cart(9), mapping={"a": 1})

    result = merge_carts("s" * 32, 9)
    assert (result.merged, result.dropped) == (1, 1)
    assert redis.hlen(keys.user_cart(9)) == 2

    assert merge_carts("t" * 32, 9, "replace").merged == 0  # nothing to merge: untouched
    assert redis.hlen(keys.user_cart(9)) == 2


def test_an_unknown_merge_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown merge strategy"):
        merge_carts("s" * 32, 9, "union")


@pytest.mark.skipif(django.VERSION < (5, 1), reason="Django's async session API arrived in 5.1")
def test_async_views_use_request_cart_through_the_async_middleware(
    products: list[Product],
) -> None:
    client = AsyncClient()
    pk = str(products[0].pk)
    first = async_to_sync(client.get)(f"/async/cart/add/{pk}/")
    assert first.json() == {"quantity": 1, "count": 1}
    client.cookies = first.cookies
    assert async_to_sync(client.get)(f"/async/cart/add/{pk}/").json()["count"] == 2
    assert async_to_sync(client.get)("/async/cart/lines/").json() == {pk: 2}


@pytest.mark.skipif(django.VERSION < (5, 1), reason="Django's async session API arrived in 5.1")
def test_an_async_login_merges_from_the_old_key_then_moves_the_session(
    products: list[Product], customer: Any, redis: Any
) -> None:
    client = Client()
    add(client, products[0], 2)
    old = session_key(client)
    visitor = AsyncClient()
    visitor.cookies = client.cookies
    login = {"username": "customer", "password": "pw"}
    response = async_to_sync(visitor.post)("/accounts/login/", login)
    assert response.status_code == 302
    new = response.cookies["sessionid"].value
    assert new != old
    assert Cart.for_user(customer).quantities() == {str(products[0].pk): 2}
    assert redis.exists(keys.session(old), keys.cart(old), keys.cart(new)) == 0
    assert redis.hget(keys.login(), new) == str(customer.pk).encode()


def test_async_twins_match_the_sync_api(products: list[Product], redis: Any) -> None:
    a, b = products[:2]
    cart = Cart.for_user(11)

    async def scenario() -> None:
        assert await cart.aadd(a, 2) == 2
        assert await cart.aadd(b.pk) == 1
        assert await cart.aset(a, 5) == 5
        with pytest.raises(ValueError, match="at least 1"):
            await cart.aadd(a, 0)
        with pytest.raises(ValueError, match=r"There is no shop\.Product"):
            await cart.aadd(999999)
        assert await cart.aquantities() == {str(a.pk): 5, str(b.pk): 1}
        assert await cart.alen() == 2 and await cart.acount() == 6
        assert await cart.atotal() == Decimal("1.25") * 5 + Decimal("2.25")
        await cart.aremove(b)
        assert [line.item for line in await cart.alines()] == [a]
        await cart.aclear()
        assert await cart.aquantities() == {}

    async_to_sync(scenario)()
    assert redis.zscore(keys.carts(), keys.user_cart(11)) is None


def test_an_unreachable_redis_gives_a_503_not_a_500(products: list[Product], settings: Any) -> None:
    client = Client(raise_request_exception=False)
    dead = {**settings.REDIS_SESSIONS, "URL": "redis://127.0.0.1:1/0"}
    # A context manager, so the key-space fixture cleans up against the live server.
    with override_settings(REDIS_SESSIONS=dead):
        response = add(client, products[0], 1)
    assert response.status_code == 503


def test_the_product_page_has_an_add_to_cart_form_with_csrf(products: list[Product]) -> None:
    body = Client().get(f"/p/{products[0].slug}/").content.decode()
    assert f'action="/p/{products[0].slug}/add-to-cart/"' in body
    assert 'name="csrfmiddlewaretoken"' in body


def test_adding_without_a_csrf_token_is_refused(products: list[Product]) -> None:
    client = Client(enforce_csrf_checks=True)
    assert add(client, products[0]).status_code == 403
    assert "sessionid" not in client.cookies


def site_template(tmp_path: Any, settings: Any, text: str) -> None:
    """A site's own redis_sessions/cart_merged.txt, first in the template DIRS."""
    own = tmp_path / text.replace(" ", "_")[:20] / "redis_sessions"
    own.mkdir(parents=True)
    (own / "cart_merged.txt").write_text(text)
    first = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**first, "DIRS": [str(own.parent), *first["DIRS"]]}]


def test_a_site_says_the_merge_message_its_own_way_or_not_at_all(
    products: list[Product], customer: Any, tmp_path: Any, settings: Any
) -> None:
    site_template(tmp_path, settings, "Welcome back: {{ merged }} saved for you.")
    client = Client()
    add(client, products[0], 2)
    login = {"username": "customer", "password": "pw"}
    page = client.post("/accounts/login/", login, follow=True).content.decode()
    assert "Welcome back: 1 saved for you." in page
    assert "from before you logged in" not in page

    site_template(tmp_path, settings, "")
    client = Client()
    add(client, products[1], 1)
    page = client.post("/accounts/login/", login, follow=True).content.decode()
    assert "saved for you" not in page and "from before you logged in" not in page
