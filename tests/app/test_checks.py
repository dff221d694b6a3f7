from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from redis_sessions import checks


def ids(errors: list[Any]) -> list[str]:
    return [e.id for e in errors]


def test_default_demo_configuration_passes_every_check() -> None:
    assert checks.check_settings() + checks.check_connection() + checks.check_sessions() == []


@override_settings(REDIS_SESSIONS=["not", "a", "dict"])
def test_settings_that_are_not_a_dict() -> None:
    assert ids(checks.check_settings()) == ["redis_sessions.E001"]


@override_settings(REDIS_SESSIONS={"VIEWD_LIMIT": 5})
def test_unknown_setting_names_are_errors() -> None:
    assert ids(checks.check_settings()) == ["redis_sessions.E002"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VIEWED_LIMIT", 0),
        ("VIEWED_LIMIT", "25"),
        ("CART_MAX_LINES", True),
        ("SOCKET_TIMEOUT", -1),
        ("CIRCUIT_BREAKER_SECONDS", "2"),
        ("KEY_PREFIX", "a{b}"),
        ("KEY_PREFIX", ""),
        ("CART_MERGE_STRATEGY", "sum"),
    ],
)
def test_invalid_values_are_errors(name: str, value: Any) -> None:
    with override_settings(REDIS_SESSIONS={name: value}):
        assert ids(checks.check_settings()) == ["redis_sessions.E004"]


@override_settings(REDIS_SESSIONS={"CACHE_ALIAS": "sessions"})
def test_missing_cache_alias() -> None:
    assert ids(checks.check_connection()) == ["redis_sessions.E003"]


@pytest.mark.single_server("URL set: no cache-alias checks")
@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_cache_alias_that_is_not_django_redis() -> None:
    assert ids(checks.check_connection()) == ["redis_sessions.E005"]


@override_settings(REDIS_SESSIONS={"URL": "redis://localhost", "SOCKET_TIMEOUT": 5})
def test_long_app_timeout_warns() -> None:
    assert ids(checks.check_connection()) == ["redis_sessions.W002"]


@pytest.mark.single_server("URL set: no cache-alias checks")
def test_long_or_missing_alias_timeouts_warn(settings: Any) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://x",
                    "OPTIONS": {"SOCKET_TIMEOUT": 5}}
    }  # fmt: skip
    assert ids(checks.check_connection()) == ["redis_sessions.W003", "redis_sessions.W003"]


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


@override_settings(REDIS_SESSIONS={"CLUSTER": True, "CIRCUIT_BREAKER_SECONDS": 0})
def test_a_cluster_without_a_circuit_breaker_is_an_error() -> None:
    assert ids(checks.check_settings()) == ["redis_sessions.E006"]
