"""The system checks: each id fires for its kind of mistake, with a hint, and stays
quiet for a right value; several mistakes are reported at once. (E030, the installed
files, is in test_checks_installation.py.)"""

from __future__ import annotations

import functools
import re
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import override_settings

from redis_sessions import checks
from redis_sessions.conf import DEFAULTS
from redis_sessions.rowcache import registry
from redis_sessions.views import server_error

#: The checks that read REDIS_SESSIONS.
SETTING_CHECKS = (
    checks.check_settings,
    checks.check_cluster,
    checks.check_connection,
    checks.check_cart_model,
    checks.check_row_cache,
)


def ids(errors: list[Any]) -> list[str]:
    return [e.id for e in errors]


def found(**changes: Any) -> list[Any]:
    """What the setting checks say of the test settings with ``changes``."""
    with override_settings(REDIS_SESSIONS={**settings.REDIS_SESSIONS, **changes}):
        return [e for check in SETTING_CHECKS for e in check()]


#: A right value of every setting, other than its default where there is one.
RIGHT: dict[str, Any] = {
    "CACHE_ALIAS": "default",
    "URL": "redis://localhost:6379/0",
    "SOCKET_TIMEOUT": 0.25,
    "SOCKET_CONNECT_TIMEOUT": 1,
    "MAX_CONNECTIONS": 50,
    "CIRCUIT_BREAKER_SECONDS": 1,
    "KEY_PREFIX": "shop-2",
    "VIEWED_LIMIT": 10,
    "ITEM_ID_MAX_LENGTH": 64,
    "SESSION_LIMIT": 1000,
    "CLEAN_BATCH_SIZE": 500,
    "CLEAN_BATCH_TIME": 0.002,
    "CART_MODEL": "shop.Product",
    "CART_PRICE_FIELD": None,
    "CART_MAX_QUANTITY": 5,
    "CART_MAX_LINES": 5,
    "CART_VALIDATE_ITEMS": False,
    "CART_USER_TTL": 3600,
    "CART_MERGE_STRATEGY": "keep_higher",
    "VIEWED_MAX_ITEMS": 100,
    "RESCALE_INTERVAL": 0.5,
    "CACHE_TOP_N": 1,
    "PAGE_CACHE_TIMEOUT": 60,
    "PAGE_CACHE_GRACE": 0,
    "PAGE_CACHE_MAX_VARIANTS": 4,
    "PAGE_CACHE_MODELS": {"shop.Product": "slug"},
    "X_CACHE_HEADER": False,
    "DAILY_VIEWS_DAYS": 7,
    "VIEW_WINDOW": 0,
    "VISITOR_ID": "tests.support.visitors.forwarded_for",
    "ROW_CACHE_MODELS": {"shop.Product": {"fields": ["name", "supplier_id"], "timeout": 60}},
    "LOCK_TIMEOUT": 10,
    "CLUSTER": True,
    "NODES": ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"],
}

#: What a setting's right value needs of the others (NODES: a cluster's, instead of URL).
WITH: dict[str, dict[str, Any]] = {"NODES": {"CLUSTER": True, "URL": None}}

#: A value of the wrong type for every setting (E004).
WRONG_TYPE: dict[str, Any] = {
    "CACHE_ALIAS": None,
    "URL": 6379,
    "SOCKET_TIMEOUT": "0.5",
    "SOCKET_CONNECT_TIMEOUT": True,
    "MAX_CONNECTIONS": 100.0,
    "CIRCUIT_BREAKER_SECONDS": None,
    "KEY_PREFIX": b"rs",
    "VIEWED_LIMIT": "25",
    "ITEM_ID_MAX_LENGTH": None,
    "SESSION_LIMIT": 1e7,
    "CLEAN_BATCH_SIZE": True,
    "CLEAN_BATCH_TIME": "1ms",
    "CART_MODEL": ("shop", "Product"),
    "CART_PRICE_FIELD": 1,
    "CART_MAX_QUANTITY": "99",
    "CART_MAX_LINES": [100],
    "CART_VALIDATE_ITEMS": "False",
    "CART_USER_TTL": 2.5,
    "CART_MERGE_STRATEGY": None,
    "VIEWED_MAX_ITEMS": "20000",
    "RESCALE_INTERVAL": "300",
    "CACHE_TOP_N": None,
    "PAGE_CACHE_TIMEOUT": "300",
    "PAGE_CACHE_GRACE": 1.5,
    "PAGE_CACHE_MAX_VARIANTS": "16",
    "PAGE_CACHE_MODELS": ["shop.Product"],
    "X_CACHE_HEADER": 1,
    "DAILY_VIEWS_DAYS": "30",
    "VIEW_WINDOW": 600.0,
    "VISITOR_ID": len,
    "ROW_CACHE_MODELS": ["shop.Product"],
    "LOCK_TIMEOUT": None,
    "CLUSTER": "yes",
    "NODES": 7000,
}


def test_every_setting_has_a_rule_and_a_right_and_a_wrong_value_here() -> None:
    assert set(checks.RULES) == set(RIGHT) == set(WRONG_TYPE) == set(DEFAULTS)


def test_the_demo_configuration_passes_every_check() -> None:
    every = [*SETTING_CHECKS, checks.check_sessions, checks.check_error_handler]
    assert [e for check in every for e in check()] == []


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_a_right_value_of_each_setting_passes(name: str) -> None:
    assert found(**{name: DEFAULTS[name]}) == []
    assert found(**{name: RIGHT[name]}, **WITH.get(name, {})) == []


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_a_value_of_the_wrong_type_is_E004_and_nothing_else(name: str) -> None:
    errors = found(**{name: WRONG_TYPE[name]})
    assert ids(errors) == ["redis_sessions.E004"]
    assert name in errors[0].msg and errors[0].hint.startswith("Write it as ")


@override_settings(REDIS_SESSIONS=["not", "a", "dict"])
def test_settings_that_are_not_a_dict_are_E001_and_the_other_checks_keep_quiet() -> None:
    assert ids([e for check in SETTING_CHECKS for e in check()]) == ["redis_sessions.E001"]


#: (changes to REDIS_SESSIONS, the one id they give). URL None: the CACHE_ALIAS
#: checks run under --redis-cluster too (its URL is set for the whole run).
MISTAKES: list[tuple[dict[str, Any], str]] = [
    ({"VIEWD_LIMIT": 5}, "E002"),
    ({"PARTITIONS": 3}, "E002"),  # removed before 0.1.0: a leftover is named, not ignored
    ({"URL": None, "CACHE_ALIAS": "sessions"}, "E003"),
    ({"CLUSTER": True, "CIRCUIT_BREAKER_SECONDS": 0}, "E006"),
    ({"VIEWED_LIMIT": 0}, "E007"),
    ({"CART_USER_TTL": -1}, "E007"),
    ({"SOCKET_TIMEOUT": 0}, "E007"),
    ({"SOCKET_CONNECT_TIMEOUT": float("nan")}, "E007"),
    ({"CIRCUIT_BREAKER_SECONDS": -0.5}, "E007"),
    ({"RESCALE_INTERVAL": 0}, "E007"),
    ({"PAGE_CACHE_GRACE": -1}, "E007"),
    ({"VIEW_WINDOW": -1}, "E007"),
    ({"CLEAN_BATCH_TIME": -0.001}, "E007"),
    ({"CART_MERGE_STRATEGY": "sum"}, "E008"),
    ({"URL": "http://localhost:6379"}, "E009"),
    ({"URL": "localhost:6379"}, "E009"),
    ({"URL": "redis://localhost:port"}, "E009"),
    ({"URL": "redis://localhost/zero"}, "E009"),
    ({"URL": "redis://localhost?db=one"}, "E009"),
    ({"CLUSTER": True, "URL": "redis://localhost:7000/2"}, "E010"),
    ({"CLUSTER": True, "URL": "unix:///run/redis.sock"}, "E010"),
    ({"CLUSTER": True, "URL": None, "NODES": []}, "E013"),
    ({"CLUSTER": True, "URL": None, "NODES": ["redis://a:7000", "unix:///r.sock"]}, "E013"),
    ({"CLUSTER": True, "URL": None, "NODES": "redis://a:7000,redis://b:7000/1"}, "E013"),
    ({"CLUSTER": True, "URL": None, "NODES": ["redis://a:7000", "a:7001"]}, "E013"),
    ({"CLUSTER": True, "URL": None, "NODES": ["redis://a:7000", "rediss://b:7000"]}, "E013"),
    ({"CLUSTER": True, "URL": None, "NODES": ["redis://:pw@a:7000", "redis://b:7000"]}, "E013"),
    ({"CLUSTER": True, "URL": None, "NODES": ["redis://a:7000", None]}, "E013"),
    ({"CLUSTER": False, "URL": None, "NODES": ["redis://a:7000"]}, "E013"),
    ({"CLUSTER": True, "URL": "redis://a:7000", "NODES": ["redis://b:7000"]}, "E013"),
    ({"KEY_PREFIX": "a{b}"}, "E011"),
    ({"KEY_PREFIX": "my shop"}, "E011"),
    ({"KEY_PREFIX": "rs*"}, "E011"),
    ({"KEY_PREFIX": ""}, "E011"),
    ({"ROW_CACHE_MODELS": {"shop.Nope": {}}}, "E020"),
    ({"ROW_CACHE_MODELS": {"Product": {}}}, "E020"),
    ({"ROW_CACHE_MODELS": {"shop.Product": 30}}, "E020"),
    ({"ROW_CACHE_MODELS": {"shop.Product": {"dealy": 1}}}, "E020"),
    ({"ROW_CACHE_MODELS": {"shop.Product": {"timeout": 0}}}, "E020"),
    ({"ROW_CACHE_MODELS": {"shop.Product": {"delay": "5"}}}, "E020"),
    ({"ROW_CACHE_MODELS": {"shop.Product": {"fields": "name"}}}, "E020"),
    ({"ROW_CACHE_MODELS": {"shop.Product": {"fields": ["nmae"]}}}, "E020"),
    ({"CART_MODEL": "shop.Prodcut"}, "E021"),
    ({"CART_MODEL": "Product"}, "E021"),
    ({"CART_MODEL": "store.Product"}, "E021"),
    ({"CART_MODEL": "shop.Product", "CART_PRICE_FIELD": "prize"}, "E022"),
    ({"CART_MODEL": "shop.Supplier"}, "E022"),  # the default "price": Supplier has none
    ({"VISITOR_ID": "tests.support.visitors.nope"}, "E024"),  # no such function
    ({"VISITOR_ID": "tests.support.nope.client"}, "E024"),  # no such module
    ({"VISITOR_ID": "client_address"}, "E024"),  # not a dotted path
    ({"VISITOR_ID": "tests.support.visitors.NOT_CALLABLE"}, "E024"),
    ({"VISITOR_ID": "tests.support.visitors.takes_nothing"}, "E024"),  # no request
]


@pytest.mark.parametrize(("changes", "check_id"), MISTAKES, ids=lambda v: repr(v)[:60])
def test_each_kind_of_mistake_has_its_own_id_and_a_hint(
    changes: dict[str, Any], check_id: str
) -> None:
    errors = found(**changes)
    assert ids(errors) == [f"redis_sessions.{check_id}"]
    assert errors[0].hint


def test_every_error_id_of_the_settings_is_exercised() -> None:
    exercised = {check_id for _, check_id in MISTAKES} | {"E001", "E004", "E005"}
    assert exercised == {f"E{n:03}" for n in [*range(1, 12), 13, 20, 21, 22, 24]}  # E012 retired


def test_the_hints_say_what_to_write() -> None:
    assert "'VIEWED_LIMIT'" in found(VIEWD_LIMIT=5)[0].hint
    assert "'add'" in found(CART_MERGE_STRATEGY="ad")[0].hint
    assert "'shop.Product'" in found(CART_MODEL="shop.Prodcut")[0].hint
    assert "'price'" in found(CART_MODEL="shop.Product", CART_PRICE_FIELD="prise")[0].hint
    assert "None" in found(CART_MODEL="shop.Supplier")[0].hint
    assert "'delay'" in found(ROW_CACHE_MODELS={"shop.Product": {"dealy": 1}})[0].hint
    assert "'name'" in found(ROW_CACHE_MODELS={"shop.Product": {"fields": ["nmae"]}})[0].hint
    assert "25 (the default)" in found(VIEWED_LIMIT=0)[0].hint


def test_nodes_may_be_one_string_of_urls_separated_by_commas() -> None:
    nodes = "redis://10.0.0.1:7000, redis://10.0.0.2:7000"
    assert found(CLUSTER=True, URL=None, NODES=nodes) == []
    with override_settings(REDIS_SESSIONS={"NODES": nodes}):
        from redis_sessions.conf import app_settings

        assert app_settings.NODES == ("redis://10.0.0.1:7000", "redis://10.0.0.2:7000")


def test_each_bad_node_is_named_in_its_own_error() -> None:
    errors = found(CLUSTER=True, URL=None, NODES=["redis://a:7000/2", "unix:///r.sock"])
    assert ids(errors) == ["redis_sessions.E013"] * 2
    assert "'redis://a:7000/2'" in errors[0].msg and "database 2" in errors[0].msg
    assert "'unix:///r.sock'" in errors[1].msg and "redis://" in errors[1].hint


def test_several_mistakes_are_all_reported_at_once() -> None:
    errors = found(
        VIEWD_LIMIT=5,
        VIEWED_LIMIT="25",
        CART_MAX_LINES=0,
        CART_MERGE_STRATEGY="sum",
        URL="http://localhost/zero",
        KEY_PREFIX="my {shop}",
        CART_MODEL="shop.Prodcut",
        ROW_CACHE_MODELS={"shop.Nope": {}, "shop.Product": {"dealy": 1, "timeout": 0}},
    )
    assert sorted(ids(errors)) == [
        "redis_sessions.E002", "redis_sessions.E004", "redis_sessions.E007",
        "redis_sessions.E008", "redis_sessions.E009", "redis_sessions.E011",
        "redis_sessions.E020", "redis_sessions.E020", "redis_sessions.E020",
        "redis_sessions.E021",
    ]  # fmt: skip
    prefix = next(e for e in errors if e.id == "redis_sessions.E011")
    assert "'{'" in prefix.msg and "'}'" in prefix.msg and "' '" in prefix.msg


def test_every_problem_of_the_row_cache_is_reported_at_once() -> None:
    errors = found(
        ROW_CACHE_MODELS={
            "shop.Nope": {},
            "shop.Supplier": {"dealy": 1, "timeout": 0},
            "shop.Product": {"fields": ["nmae", "prise"], "select_related": "supplier"},
        }
    )
    assert ids(errors) == ["redis_sessions.E020"] * 6
    said = " ".join(e.msg for e in errors)
    for problem in ("'shop.Nope'", "'dealy'", "'timeout' is 0", "'nmae'", "'prise'", "'select"):
        assert problem in said


def test_a_bad_option_of_a_row_cached_decorator_is_reported_even_under_a_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model, options = registry._decorated["shop.supplier"]
    monkeypatch.setitem(registry._decorated, "shop.supplier", (model, {**options, "timeout": 0}))
    registry._reset()
    try:
        errors = found()
        assert ids(errors) == ["redis_sessions.E020"]
        assert "@row_cached on shop.Supplier" in errors[0].msg
        # the decorator's options are built before the setting's override them
        overridden = found(ROW_CACHE_MODELS={"shop.Supplier": {"timeout": 60}})
        assert ids(overridden) == ["redis_sessions.E020"]
    finally:
        monkeypatch.undo()
        registry._reset()


# -- the server: E003, E005 and their hints; W002, W003 ------------------------------------

REDIS_CACHE = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://x",
               "OPTIONS": {"SOCKET_TIMEOUT": 0.5, "SOCKET_CONNECT_TIMEOUT": 0.5}}  # fmt: skip
LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def alias_errors(caches: dict[str, Any], **changes: Any) -> list[Any]:
    with override_settings(
        CACHES=caches, REDIS_SESSIONS={**settings.REDIS_SESSIONS, "URL": None, **changes}
    ):
        return checks.check_connection()


def test_a_cache_alias_that_is_not_django_redis_is_E005() -> None:
    errors = alias_errors({"default": LOCMEM})
    assert ids(errors) == ["redis_sessions.E005"]
    assert "django_redis.cache.RedisCache" in errors[0].hint and "URL" in errors[0].hint


def test_the_E005_and_E003_hints_name_the_alias_where_the_redis_cache_sits() -> None:
    errors = alias_errors({"default": LOCMEM, "redis": REDIS_CACHE})
    assert ids(errors) == ["redis_sessions.E005"]
    assert "REDIS_SESSIONS['CACHE_ALIAS'] = 'redis'" in errors[0].hint
    errors = alias_errors({"default": LOCMEM, "a": REDIS_CACHE, "b": REDIS_CACHE})
    assert "CACHE_ALIAS" in errors[0].hint and "'a', 'b'" in errors[0].hint
    errors = alias_errors({"redis": REDIS_CACHE}, CACHE_ALIAS="sessions")
    assert ids(errors) == ["redis_sessions.E003"]
    assert "REDIS_SESSIONS['CACHE_ALIAS'] = 'redis'" in errors[0].hint


def test_djangos_own_redis_cache_is_named_in_the_E005_hint() -> None:
    errors = alias_errors({"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}})
    assert ids(errors) == ["redis_sessions.E005"] and "Django's own" in errors[0].hint


def test_a_url_set_skips_the_cache_alias_checks() -> None:
    assert alias_errors({"default": LOCMEM}, URL="redis://localhost") == []


@override_settings(REDIS_SESSIONS={"URL": "redis://localhost", "SOCKET_TIMEOUT": 5})
def test_long_app_timeout_warns() -> None:
    assert ids(checks.check_connection()) == ["redis_sessions.W002"]


def test_long_or_missing_alias_timeouts_warn() -> None:
    caches = {"default": {**REDIS_CACHE, "OPTIONS": {"SOCKET_TIMEOUT": 5}}}
    assert ids(alias_errors(caches)) == ["redis_sessions.W003", "redis_sessions.W003"]


# -- what a request passes through: W001, W004-W009 ----------------------------------------


@override_settings(SESSION_SERIALIZER="myproject.serializers.PickleSerializer")
def test_pickle_serializer_warns() -> None:
    assert ids(checks.check_sessions()) == ["redis_sessions.W001"]


def test_missing_or_misplaced_middleware_warns(settings: Any) -> None:
    middleware = [m for m in settings.MIDDLEWARE if m != checks.MIDDLEWARE]
    settings.MIDDLEWARE = middleware
    assert ids(checks.check_sessions()) == ["redis_sessions.W004"]
    settings.MIDDLEWARE = [*middleware, checks.MIDDLEWARE]
    assert ids(checks.check_sessions()) == ["redis_sessions.W005"]


def test_page_hit_middleware_above_locale_header_or_remote_user_middleware_warns(
    settings: Any,
) -> None:
    assert ids(checks.check_page_hit()) == []  # the demo's order
    settings.MIDDLEWARE = [
        checks.PAGE_HIT,
        "django.middleware.locale.LocaleMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "django.contrib.auth.middleware.RemoteUserMiddleware",
    ]
    assert ids(checks.check_page_hit()) == [
        "redis_sessions.W006", "redis_sessions.W007", "redis_sessions.W008",
    ]  # fmt: skip
    settings.MIDDLEWARE = settings.MIDDLEWARE[1:]  # not installed: nothing to say
    assert ids(checks.check_page_hit()) == []


@pytest.fixture
def urlconf(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., list[Any]]]:
    """Run W009's check with a root URLconf that has the given attributes."""

    def run(**attributes: Any) -> list[Any]:
        module = types.ModuleType("tests_app_check_urlconf")
        module.urlpatterns = []  # type: ignore[attr-defined]
        for name, value in attributes.items():
            setattr(module, name, value)
        monkeypatch.setitem(sys.modules, module.__name__, module)
        with override_settings(ROOT_URLCONF=module.__name__):
            return checks.check_error_handler()

    yield run


@functools.wraps(server_error)
def logging_handler(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return server_error(request, *args, **kwargs)


def plain_handler(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=500)


def test_a_handler500_that_is_not_the_503_view_warns(urlconf: Callable[..., list[Any]]) -> None:
    assert ids(urlconf()) == ["redis_sessions.W009"]  # Django's default handler
    errors = urlconf(handler500=plain_handler)
    assert ids(errors) == ["redis_sessions.W009"]
    assert "plain_handler" in errors[0].msg and checks.SERVER_ERROR in errors[0].hint
    assert ids(urlconf(handler500="django.views.defaults.server_error")) == ["redis_sessions.W009"]


def test_the_503_view_or_a_handler_that_wraps_it_passes(
    urlconf: Callable[..., list[Any]],
) -> None:
    assert checks.check_error_handler() == []  # the test URLconf's
    assert urlconf(handler500=checks.SERVER_ERROR) == []
    assert urlconf(handler500=server_error) == []
    assert urlconf(handler500=logging_handler) == []


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db")
def test_without_this_session_engine_the_handler_is_not_checked(
    urlconf: Callable[..., list[Any]],
) -> None:
    assert urlconf() == []


def test_a_handler500_that_does_not_import_is_left_to_djangos_own_checks(
    urlconf: Callable[..., list[Any]],
) -> None:
    assert urlconf(handler500="nowhere.handler") == []


def test_every_check_is_registered() -> None:
    from django.core.checks.registry import registry as django_checks

    registered = django_checks.get_checks()
    for check in (*SETTING_CHECKS, checks.check_sessions, checks.check_error_handler,
                  checks.check_page_hit, checks.check_installation):  # fmt: skip
        assert check in registered


def test_every_check_id_is_documented_and_every_documented_id_exists() -> None:
    from pathlib import Path

    package = Path(checks.__file__).parent
    code = "".join(p.read_text() for p in package.glob("*.py"))
    used = set(re.findall(r'id="redis_sessions\.([EW]\d{3})"', code))
    page = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text()
    documented = set(re.findall(r"^\| `redis_sessions\.([EW]\d{3})` \|", page, flags=re.M))
    assert used == documented
    assert len(used) == 28


@override_settings(
    REDIS_SESSIONS={"PAGE_CACHE_MODELS": {"shop.Prodcut": None, "shop.Product": 3, "auth.User": ""}}
)
def test_page_cache_models_report_every_bad_link_at_once() -> None:
    errors = checks.check_page_cache_models()
    assert [e.id for e in errors] == ["redis_sessions.E023"] * 3
    assert "shop.Product" in (errors[0].hint or "")  # did you mean


@override_settings(
    REDIS_SESSIONS={"PAGE_CACHE_MODELS": {"shop.Product": "slug", "auth.User": None}}
)
def test_page_cache_models_naming_installed_models_pass() -> None:
    assert checks.check_page_cache_models() == []
