"""Caches that follow the data (issue 14.2): ``cache_request(model=...)``, the fragment
tag's ``depends=`` and ``PAGE_CACHE_MODELS`` drop an item's pages and the fragments
depending on a model when a row of it is saved or deleted, after the transaction
commits, never on rollback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client, override_settings

from demo_project.shop.models import Product, Supplier
from redis_sessions import checks, connection, keys
from redis_sessions.pagecache import cache_request, follow
from redis_sessions.pagecache.fragments import fragment_digest
from tests.support.pagecache import popular
from tests.support.pagecache_urls import calls

FRAGMENTS = Template(
    "{% load redis_sessions %}"
    '{% redis_cache 60 names colour depends="shop.Product" %}[{{ next }}]{% endredis_cache %}'
    '{% redis_cache 60 suppliers depends="shop.Supplier" %}<{{ next }}>{% endredis_cache %}'
)


class Counter:
    """Renders as a new number each time: shows whether a fragment was rendered."""

    n = 0

    def __str__(self) -> str:
        Counter.n += 1
        return str(Counter.n)


def fragments(colour: str = "red") -> tuple[str, str]:
    html = FRAGMENTS.render(Context({"next": Counter(), "colour": colour}))
    names, _, suppliers = html.partition("<")
    return names, suppliers


@pytest.fixture(autouse=True)
def fresh_calls() -> Iterator[None]:
    calls.clear()
    yield


@pytest.fixture(autouse=True)
def own_links() -> Iterator[None]:
    """The links a test declares (a view, a rendered template) end with it."""
    pages = {label: list(item_ofs) for label, item_ofs in follow._pages.items()}
    fragment_models = set(follow._fragments)
    yield
    follow._pages.clear()
    follow._pages.update(pages)
    follow._fragments.clear()
    follow._fragments.update(fragment_models)


def ours(callbacks: list[Any]) -> list[Any]:
    """The page cache's on-commit callbacks (the row cache has its own)."""
    return [c for c in callbacks if getattr(c, "func", None) is follow._drop]


@pytest.fixture
def lamp(db: Any, redis: Any) -> Product:
    product = Product.objects.create(name="Lamp", slug="lamp", price=Decimal(10))
    other = Product.objects.create(name="Desk", slug="desk", price=Decimal(90))
    popular(redis, str(product.pk), str(other.pk))
    for pk in (product.pk, other.pk):
        assert Client().get(f"/pc/product/{pk}/")["X-Cache"] == "miss"
    return product


def state(pk: int) -> str:
    return str(Client().get(f"/pc/product/{pk}/")["X-Cache"])


def test_a_save_drops_the_page_and_the_dependent_fragments_after_commit(
    lamp: Product, redis: Any, django_capture_on_commit_callbacks: Any
) -> None:
    red, blue, suppliers = fragments("red")[0], fragments("blue")[0], fragments()[1]
    assert fragments("red")[0] == red  # cached
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        lamp.name = "Lamp II"
        lamp.save()
    # not committed yet: nothing dropped
    assert state(lamp.pk) == "hit" and fragments("red")[0] == red
    (commit,) = ours(callbacks)
    commit()
    assert not redis.exists(keys.item_pages(str(lamp.pk)), keys.fragment_deps("shop.product"))
    page = Client().get(f"/pc/product/{lamp.pk}/")
    assert (page["X-Cache"], page.content) == ("miss", b"Lamp II #3")
    other = Product.objects.get(slug="desk")
    assert state(other.pk) == "hit"  # another item's page stays
    assert fragments("red")[0] != red and fragments("blue")[0] != blue  # every variant
    assert fragments()[1] == suppliers  # a fragment of another model stays


@pytest.mark.single_server("single-server round-trip budget")
def test_the_drop_is_one_round_trip(lamp: Product, django_capture_on_commit_callbacks: Any) -> None:
    fragments()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        lamp.save()
    (commit,) = ours(callbacks)
    before = connection.round_trips()
    commit()
    assert connection.round_trips() - before == 1  # pages and fragments together
    assert state(lamp.pk) == "miss"


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_save_drops_nothing_and_a_committed_one_does(redis: Any) -> None:
    lamp = Product.objects.create(name="Lamp", slug="lamp", price=Decimal(10))
    popular(redis, str(lamp.pk))
    Client().get(f"/pc/product/{lamp.pk}/")
    red = fragments()[0]
    with pytest.raises(RuntimeError), transaction.atomic():
        lamp.name = "Never"
        lamp.save()
        raise RuntimeError("rolled back")
    assert state(lamp.pk) == "hit" and fragments()[0] == red
    with transaction.atomic():
        lamp.save()
        assert state(lamp.pk) == "hit"  # inside the transaction: not yet
    assert state(lamp.pk) == "miss" and fragments()[0] != red


def test_a_delete_drops_the_page_after_commit(
    lamp: Product, django_capture_on_commit_callbacks: Any
) -> None:
    pk = lamp.pk
    with django_capture_on_commit_callbacks(execute=True):
        lamp.delete()
    page = Client().get(f"/pc/product/{pk}/")
    assert (page["X-Cache"], page.content) == ("miss", b"- #3")


def test_a_write_of_a_model_nothing_follows_costs_no_round_trip(
    lamp: Product, django_capture_on_commit_callbacks: Any
) -> None:
    from django.contrib.auth.models import Group

    fragments()  # this process knows fragments of Product and Supplier now
    before = connection.round_trips()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        Group.objects.create(name="staff")  # no page, fragment or row cache follows it
    assert (connection.round_trips() - before, callbacks) == (0, [])
    assert state(lamp.pk) == "hit"


def test_page_cache_models_links_a_model_by_setting(
    lamp: Product, redis: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # the pages of item "Acme" follow the supplier named Acme: no view declares it
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS,
                               "PAGE_CACHE_MODELS": {"shop.Supplier": "name"}}  # fmt: skip
    popular(redis, "Acme")
    Client().get("/pc/item/Acme/")
    suppliers = fragments()[1]
    with django_capture_on_commit_callbacks(execute=True):
        Supplier.objects.create(name="Acme")
    assert Client().get("/pc/item/Acme/")["X-Cache"] == "miss"
    assert fragments()[1] != suppliers
    assert state(lamp.pk) == "hit"


def test_redis_down_at_commit_is_logged_and_the_save_stands(
    lamp: Product, caplog: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with override_settings(REDIS_SESSIONS={"URL": "redis://127.0.0.1:1/0"}):
        connection.reset()
        with (
            caplog.at_level(logging.ERROR, logger="redis_sessions.pagecache"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            lamp.name = "Saved anyway"
            lamp.save()
        connection.reset()
    assert Product.objects.get(pk=lamp.pk).name == "Saved anyway"
    assert any("may be stale" in r.getMessage() for r in caplog.records)


def test_bad_links_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"app_label\.Model"):
        cache_request(model="Product")
    with pytest.raises(TypeError, match="in a list"):
        cache_request(model=(Product, Supplier))
    with pytest.raises(TypeError, match="model class"):
        cache_request(model=3)  # type: ignore[arg-type]
    with pytest.raises(TemplateSyntaxError, match="depends"):
        Template(
            "{% load redis_sessions %}{% redis_cache 60 x depends='nope' %}{% endredis_cache %}"
        ).render(Context())


@pytest.mark.django_db
def test_a_link_to_a_missing_attribute_says_so_at_the_first_write(
    django_capture_on_commit_callbacks: Any,
) -> None:
    @cache_request(item=lambda request: "x", model=(Supplier, "no_such_field"))
    def view(request: Any) -> Any: ...

    with pytest.raises(ImproperlyConfigured, match="no_such_field"):
        Supplier.objects.create(name="Acme")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([], "redis_sessions.E004"),  # not a dict
        ({"shop.Nope": "pk"}, "redis_sessions.E023"),
        ({"shop.Product": 3}, "redis_sessions.E023"),
        ({"shop.Product": ""}, "redis_sessions.E023"),
        ({"x": None}, "redis_sessions.E023"),
    ],
)
def test_page_cache_models_must_name_installed_models(value: Any, expected: str) -> None:
    with override_settings(REDIS_SESSIONS={"PAGE_CACHE_MODELS": value}):
        found = checks.check_settings() + checks.check_page_cache_models()
        assert [e.id for e in found] == [expected]
    with override_settings(REDIS_SESSIONS={"PAGE_CACHE_MODELS": {"shop.Product": None}}):
        assert checks.check_settings() + checks.check_page_cache_models() == []


def test_fragment_keys_are_named_in_their_models_sets(redis: Any) -> None:
    fragments("red")
    digest = fragment_digest("names", ["red"]).encode()
    assert redis.smembers(keys.fragment_deps("shop.product")) == {digest}
