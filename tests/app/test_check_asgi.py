"""redis_sessions.W010: Django's sync-only SessionMiddleware in an ASGI project."""

from __future__ import annotations

from typing import Any

from django.core import checks as django_checks

from redis_sessions import checks

DJANGOS = "django.contrib.sessions.middleware.SessionMiddleware"
OURS = "redis_sessions.sessions.SessionMiddleware"


def ids(errors: list[Any]) -> list[str]:
    return [e.id for e in errors]


def test_djangos_session_middleware_under_asgi_suggests_ours(settings: Any) -> None:
    settings.ASGI_APPLICATION = "demo_project.asgi.application"
    settings.MIDDLEWARE = [DJANGOS]
    found = checks.check_async_session_middleware()
    assert ids(found) == ["redis_sessions.W010"]
    assert OURS in found[0].hint


def test_our_session_middleware_under_asgi_passes(settings: Any) -> None:
    settings.ASGI_APPLICATION = "demo_project.asgi.application"
    settings.MIDDLEWARE = [OURS]
    assert checks.check_async_session_middleware() == []


def test_djangos_session_middleware_without_asgi_passes(settings: Any) -> None:
    settings.ASGI_APPLICATION = None
    settings.MIDDLEWARE = [DJANGOS]
    assert checks.check_async_session_middleware() == []


def test_the_check_is_registered(settings: Any) -> None:
    settings.ASGI_APPLICATION = "demo_project.asgi.application"
    settings.MIDDLEWARE = [DJANGOS]
    assert "redis_sessions.W010" in ids(django_checks.run_checks())
