"""The inspection pages in the admin: what they show, who may see them, and Redis down."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from demo_project.shop.models import Product
from redis_sessions import connection, keys
from redis_sessions.analytics.counting import view_commands
from redis_sessions.connection import get_redis, run
from redis_sessions.inspection import carts, overview, top_items
from redis_sessions.inspection.refs import ref
from redis_sessions.loops import LoopRunner
from tests.support.inspection import (
    ADMIN,
    client_for,
    listed,
    point_at_nothing,
    put_cart,
    put_strings,
    session,
    staff,
)

pytestmark = pytest.mark.django_db

PAGES = ["", "sessions/", "carts/", "top-items/", "page-cache/", "row-cache/"]


def test_the_apps_permissions_exist_without_a_table_of_its_own() -> None:
    codenames = set(
        Permission.objects.filter(content_type__app_label="redis_sessions").values_list(
            "codename", flat=True
        )
    )
    assert codenames == {
        "view_redis", "view_sessions", "manage_sessions", "manage_carts", "manage_cache",
    }  # fmt: skip
    from django.db import connection

    assert not any("redis_sessions" in t for t in connection.introspection.table_names())


def test_the_admin_index_lists_a_redis_section_with_every_page(admin_client: Client) -> None:
    body = admin_client.get("/admin/").content.decode()
    # The section's link, whatever the admin version's markup around it.
    assert re.search(r'<a href="/admin/redis_sessions/"[^>]*>Redis</a>', body)
    for name in ("Overview", "Sessions", "Carts", "Top items", "Page cache", "Row cache"):
        assert f">{name}</a>" in body


def test_each_section_row_leads_to_its_page(admin_client: Client) -> None:
    for model, page in [("redis", ""), ("sessionrecord", "sessions/"), ("cartrecord", "carts/"),
                        ("topitem", "top-items/"), ("pagecacheentry", "page-cache/"),
                        ("cachedrow", "row-cache/")]:  # fmt: skip
        response = admin_client.get(f"/admin/redis_sessions/{model}/", follow=True)
        assert response.status_code == 200
        assert response.redirect_chain == [] or response.redirect_chain[-1][0] == ADMIN + page


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_inside_the_admin_for_a_superuser(
    admin_client: Client, page: str
) -> None:
    response = admin_client.get(ADMIN + page)
    assert response.status_code == 200
    body = response.content.decode()
    assert '<div class="breadcrumbs">' in body and 'href="/admin/redis_sessions/">Redis</a>' in body
    assert "admin/css/base.css" in body  # the admin's own styles
    assert "theme-toggle" in body or "color_theme_toggle" in body or "data-theme" in body


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_and_non_staff_visitors_are_sent_to_the_admin_login(page: str) -> None:
    customer = staff("customer", "view_redis", "view_sessions", is_staff=False)
    for client in (Client(), client_for(customer)):
        response = client.get(ADMIN + page)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/?next=")


def test_staff_without_the_view_permission_get_403() -> None:
    client = client_for(staff("bare"))
    for page in PAGES:
        assert client.get(ADMIN + page).status_code == 403


def test_view_redis_alone_opens_overview_items_and_caches_but_not_sessions() -> None:
    client = client_for(staff("ops", "view_redis"))
    for page in ("", "top-items/", "page-cache/", "row-cache/"):
        assert client.get(ADMIN + page).status_code == 200
    assert client.get(ADMIN + "sessions/").status_code == 403
    assert client.get(ADMIN + "carts/").status_code == 403


def test_overview_counts_the_indexes_and_says_which_loops_never_ran(
    admin_client: Client, redis: Any
) -> None:
    user = staff("alice")
    session(user)
    session(a=1)
    put_cart(redis, keys.cart("abcdefgh12345678"), {"1": 2})
    run(get_redis(), view_commands(None, ["7", "7", "8"]))
    LoopRunner("rescale_viewed", once=True).run(lambda r: {"trimmed": 4})

    data = overview.overview()
    # admin_client's own session is the third.
    assert data.counts == {
        "sessions": 3, "logged-in sessions": 2, "non-empty carts": 1, "viewed items": 2,
        "scheduled rows": 0,
    }  # fmt: skip
    body = admin_client.get(ADMIN).content.decode()
    assert "trimmed: 4" in body
    assert body.count("never run") == 2  # clean_sessions and cache_rows
    assert data.version and data.memory != "?"


def test_keys_per_family_are_exact_when_the_sample_covers_the_database(redis: Any) -> None:
    session(a=1)
    session(b=2)
    put_cart(redis, keys.cart("abcdefgh12345678"), {"1": 2})
    families = overview.key_families(calls=1000, count=1000)
    assert families.exact
    counts = dict(families.counts)
    assert counts["session:{…}"] == 2
    assert counts["cart:{…}"] == 1
    assert counts["recent:"] == 1
    assert counts["carts:"] == 1


def test_keys_per_family_are_scaled_estimates_when_the_sample_is_partial(redis: Any) -> None:
    put_strings(redis, {keys.session(f"k{i:07d}"): "{}" for i in range(300)})
    families = overview.key_families(calls=1, count=10)
    assert not families.exact
    assert 0 < families.sampled < 300
    assert dict(families.counts)["session:{…}"] >= 1


def test_session_detail_shows_data_with_secrets_masked_viewed_items_and_cart(
    admin_client: Client, redis: Any
) -> None:
    user = staff("alice")
    key = session(user, colour="blue", api_token="s3cr3t")
    run(get_redis(), view_commands(key, ["42"]))
    put_cart(redis, keys.cart(key), {"42": 3})
    body = admin_client.get(f"{ADMIN}sessions/{listed(key)}/").content.decode()
    assert "blue" in body and "alice" in body
    assert user.get_session_auth_hash() not in body and "s3cr3t" not in body
    assert body.count("********") == 2
    assert "<code>42</code>" in body and "\u00d7 3" in body
    assert "End session" in body and "End all sessions of this user" in body


def test_session_detail_of_an_unknown_or_malformed_key_is_404(admin_client: Client) -> None:
    assert admin_client.get(f"{ADMIN}sessions/abcdefgh12345678/").status_code == 404
    assert admin_client.get(f"{ADMIN}sessions/NOT-A-KEY/").status_code == 404


def test_session_detail_hides_actions_the_viewer_may_not_take(redis: Any) -> None:
    key = session(a=1)
    put_cart(redis, keys.cart(key), {"1": 1})
    body = client_for(staff("reader", "view_sessions")).get(f"{ADMIN}sessions/{listed(key)}/")
    text = body.content.decode()
    assert body.status_code == 200
    assert "End session" not in text and "Clear cart" not in text


def test_sessions_can_be_filtered_by_username_and_by_having_a_cart(
    admin_client: Client, redis: Any
) -> None:
    alice, bob = staff("alice"), staff("bob")
    a1, a2, b1 = session(alice), session(alice), session(bob)
    anon = session(x=1)
    put_cart(redis, keys.cart(anon), {"1": 1})
    put_cart(redis, keys.user_cart(bob.pk), {"2": 1})  # a user cart is not a session row

    by_user = admin_client.get(ADMIN + "sessions/?user=ALICE").content.decode()
    assert ref(a1) in by_user and ref(a2) in by_user and ref(b1) not in by_user
    with_cart = admin_client.get(ADMIN + "sessions/?cart=1").content.decode()
    assert with_cart.count('class="rs-session"') == 1 and ref(anon) in with_cart
    nobody = admin_client.get(ADMIN + "sessions/?user=nobody").content.decode()
    assert "No user is called" in nobody


def test_carts_page_lists_indexed_carts_with_units_and_value(
    admin_client: Client, redis: Any
) -> None:
    p1 = Product.objects.create(name="Lamp", slug="lamp", price=Decimal("10.50"))
    p2 = Product.objects.create(name="Mug", slug="mug", price=Decimal("4.00"))
    anon = session(x=1)
    put_cart(redis, keys.cart(anon), {str(p1.pk): 2, str(p2.pk): 1})
    redis.hset(keys.cart("zzzzzzzz99999999"), "1", 1)  # not in the index: not listed
    body = admin_client.get(ADMIN + "carts/").content.decode()
    assert body.count('class="rs-cart-row"') == 1
    assert "25.00" in body  # 2 x 10.50 + 4.00
    assert "<td>3</td>" in body  # units


def test_top_items_show_views_most_first_with_a_chart_unique_visitors_and_a_trend(
    admin_client: Client,
) -> None:
    lamp = Product.objects.create(name="<b>Lamp</b>", slug="lamp", price=Decimal(1))
    run(get_redis(), view_commands(None, [str(lamp.pk)] * 4 + ["999"]))  # 4 views, 999: 3
    for visitor in ("v1", "v2"):
        run(get_redis(), view_commands(None, ["999"], visitor=visitor))
    body = admin_client.get(ADMIN + "top-items/").content.decode()
    assert body.index("&lt;b&gt;Lamp&lt;/b&gt;") < body.index(">999<")
    assert "<b>Lamp</b>" not in body  # labels are escaped, in the table and the SVG
    assert '<svg class="rs-chart"' in body and body.count('class="rs-bar"') == 2
    assert "<td>3</td>" in body
    # Unique visitors today: none for the lamp (views without a visitor), 2 for 999.
    assert "<td>0</td>" in body and "<td>2</td>" in body
    # The trend of the top item by default: a big line and one in its row; the other
    # row links to its own.
    assert body.count('class="rs-spark"') == 2
    assert "Last 30 days: &lt;b&gt;Lamp&lt;/b&gt; (4 views)" in body
    assert 'href="?item=999" class="rs-trend-link"' in body
    other = admin_client.get(ADMIN + "top-items/?item=999").content.decode()
    assert "Last 30 days: 999 (3 views)" in other


def test_pages_show_an_error_banner_not_a_500_when_redis_is_unreachable(
    settings: Any, tmp_path: Any
) -> None:
    # Sessions elsewhere (signed cookies), so the admin login itself does not need Redis.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    user = staff("ops", "view_redis", "view_sessions")
    client = client_for(user)
    point_at_nothing(settings, tmp_path)
    for page in PAGES:
        response = client.get(ADMIN + page)
        assert response.status_code == 503
        assert "Redis is unreachable" in response.content.decode()
        assert '<div class="breadcrumbs">' in response.content.decode()


def test_the_pages_work_when_included_on_their_own(admin_client: Client) -> None:
    key = session(a=1)
    body = admin_client.get("/ops/redis/sessions/").content.decode()
    assert f'href="/ops/redis/sessions/{ref(key)}/"' in body
    assert 'href="/ops/redis/top-items/"' in body
    assert admin_client.get(f"/ops/redis/sessions/{ref(key)}/").status_code == 200
    assert Client().get("/ops/redis/").status_code == 302


@pytest.mark.parametrize(
    ("page", "row"),
    [("", "Overview"), ("sessions/", "Sessions"), ("page-cache/", "Page cache"),
     ("row-cache/", "Row cache"), ("top-items/", "Top items")],
)  # fmt: skip
def test_the_admin_sidebar_highlights_only_the_page_shown(
    admin_client: Client, page: str, row: str
) -> None:
    body = admin_client.get(ADMIN + page).content.decode()
    start = body.index('id="nav-sidebar"')
    sidebar = body[start : body.index("</nav>", start)]
    assert sidebar.count('aria-current="page"') == 1
    assert sidebar.count("current-model") == 1
    assert f'href="{ADMIN + page}" aria-current="page">{row}</a>' in sidebar


def test_a_session_page_highlights_sessions_in_the_sidebar(admin_client: Client) -> None:
    key = session(a=1)
    body = admin_client.get(f"{ADMIN}sessions/{listed(key)}/").content.decode()
    start = body.index('id="nav-sidebar"')
    sidebar = body[start : body.index("</nav>", start)]
    assert sidebar.count('aria-current="page"') == 1
    assert 'aria-current="page">Sessions</a>' in sidebar
    assert f'href="{ADMIN}?">Overview</a>' in sidebar  # the same page, not a prefix


@pytest.mark.single_server("single-server round-trip budget")
@pytest.mark.parametrize("n", [3, 100])
def test_top_items_cost_three_round_trips_whatever_the_number_of_rows(n: int) -> None:
    run(get_redis(), view_commands(None, [f"i{k}" for k in range(n)], visitor="v"))
    before = connection.round_trips()
    top = top_items.top_items()
    trend = top_items.trend(top)
    # the top items, every row's unique visitors, the one trend's 30 days
    assert connection.round_trips() - before == 3
    assert len(top) == n and all(i.unique_today == 1 for i in top)
    assert trend is not None and len(trend.days) == 30 and trend.total == 1


def test_cart_values_are_priced_like_the_cart_with_one_query_for_the_page(
    redis: Any, django_assert_num_queries: Any
) -> None:
    lamp = Product.objects.create(name="Lamp", slug="lamp", price=Decimal("10.50"))
    gone = Product.objects.create(name="Gone", slug="gone", price=Decimal("99.00"))
    put_cart(redis, keys.cart("abcdefgh12345678"), {str(lamp.pk): 2, str(gone.pk): 1})
    put_cart(redis, keys.cart("abcdefgh87654321"), {str(gone.pk): 1})
    gone.delete()
    with django_assert_num_queries(1):  # the items (no user carts: no username query)
        page = carts.cart_page()
    values = {row.key: row.value for row in page.rows}
    # A vanished item is left out of the value, as Cart.total() leaves it out.
    assert values == {
        keys.cart("abcdefgh12345678"): Decimal("21.00"), keys.cart("abcdefgh87654321"): None,
    }  # fmt: skip


def test_carts_page_shows_the_abandoned_carts_clean_sessions_evicted(
    admin_client: Client, redis: Any
) -> None:
    from io import StringIO

    from django.core.management import call_command

    kept, evicted = session(x=1), session(x=2)
    redis.zadd(keys.recent(), {evicted: 1})  # the oldest: goes first
    put_cart(redis, keys.cart(evicted), {"lamp": 2, "mug": 1})
    redis.rpush(keys.abandoned_carts(), "not json")  # a foreign entry is not shown
    # keeps the two newest: `kept` and the admin client's own session
    call_command("clean_sessions", "--once", "--limit", "2", stdout=StringIO())
    assert redis.exists(keys.session(kept))
    body = admin_client.get(ADMIN + "carts/").content.decode()
    assert body.count('class="rs-abandoned-row"') == 1
    assert "lamp \u00d7 2" in body and "mug \u00d7 1" in body


def test_secrets_nested_in_session_values_are_masked_too() -> None:
    import json

    from redis_sessions.inspection.session_detail import decoded_data

    raw = json.dumps({"oauth": {"provider": "x", "access_token": "SECRET-1"},
                      "keys": [{"api_key": "SECRET-2"}]}).encode()  # fmt: skip
    shown, undecodable = decoded_data(raw)
    assert not undecodable
    text = repr(shown)
    assert "SECRET-1" not in text and "SECRET-2" not in text and "provider" in text


def test_session_detail_names_viewed_items_and_cart_lines_by_their_label(
    admin_client: Client, redis: Any
) -> None:
    from demo_project.shop.models import Product

    item = Product.objects.create(name="Sturdy kettle", slug="sturdy-kettle", price=5)
    key = session(staff("bob"))
    run(get_redis(), view_commands(key, [str(item.pk), "999999"]))
    put_cart(redis, keys.cart(key), {str(item.pk): 2})
    body = admin_client.get(f"{ADMIN}sessions/{listed(key)}/").content.decode()
    assert body.count("Sturdy kettle") == 2  # its view and its cart line
    assert f"<code>{item.pk}</code>" in body and "<code>999999</code>" in body  # no label
