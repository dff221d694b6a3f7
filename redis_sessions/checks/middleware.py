"""What a request passes through: W001, W004-W010.

The session serializer, this app's middleware and their place in ``MIDDLEWARE``, and
the root URLconf's ``handler500``.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.urls import get_resolver

from redis_sessions.views import server_error

ENGINE = "redis_sessions.backends.redis"
MIDDLEWARE = "redis_sessions.middleware.RedisSessionsMiddleware"
SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
ASYNC_SESSION_MIDDLEWARE = "redis_sessions.sessions.SessionMiddleware"
#: Either session middleware (Django's, or ours that also awaits under ASGI).
SESSION_MIDDLEWARES = (SESSION_MIDDLEWARE, ASYNC_SESSION_MIDDLEWARE)
SERVER_ERROR = "redis_sessions.views.server_error"
PAGE_HIT = "redis_sessions.pagecache.PageHitMiddleware"
_LOCALE = "django.middleware.locale.LocaleMiddleware"
_HEADERS = ("django.middleware.clickjacking.XFrameOptionsMiddleware",)
_REMOTE_USER = (
    "django.contrib.auth.middleware.RemoteUserMiddleware",
    "django.contrib.auth.middleware.PersistentRemoteUserMiddleware",
)


def check_sessions(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    errors: list[Any] = []
    if "pickle" in str(getattr(settings, "SESSION_SERIALIZER", "")).lower():
        errors.append(
            checks.Warning(
                "SESSION_SERIALIZER is a pickle serializer: whoever can write to Redis "
                "can run code in your web processes.",
                hint="Use django.contrib.sessions.serializers.JSONSerializer (the default).",
                id="redis_sessions.W001",
            )
        )
    if getattr(settings, "SESSION_ENGINE", "") != ENGINE:
        return errors
    middleware = list(getattr(settings, "MIDDLEWARE", []))
    if MIDDLEWARE not in middleware:
        errors.append(
            checks.Warning(
                f"{MIDDLEWARE} is not in MIDDLEWARE: record_view costs a round trip of "
                "its own and Redis outages show as 500 instead of 503.",
                hint=f"Add it just before {SESSION_MIDDLEWARE}.",
                id="redis_sessions.W004",
            )
        )
    elif any(
        name in middleware and middleware.index(MIDDLEWARE) > middleware.index(name)
        for name in SESSION_MIDDLEWARES
    ):
        errors.append(
            checks.Warning(
                f"{MIDDLEWARE} comes after SessionMiddleware: queued views are sent "
                "before the session is saved, one round trip more than needed.",
                hint="Move it before SessionMiddleware.",
                id="redis_sessions.W005",
            )
        )
    return errors


def check_async_session_middleware(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[Any]:
    """Under ASGI, Django's SessionMiddleware loads and saves in a worker thread (W010)."""
    middleware = list(getattr(settings, "MIDDLEWARE", []))
    if not getattr(settings, "ASGI_APPLICATION", None) or SESSION_MIDDLEWARE not in middleware:
        return []
    return [
        checks.Warning(
            f"ASGI_APPLICATION is set and MIDDLEWARE has {SESSION_MIDDLEWARE}, which is "
            "sync only: under ASGI it loads and saves every session in a worker thread, "
            "and saves again a session an async view saved itself.",
            hint=f"Use {ASYNC_SESSION_MIDDLEWARE} in its place (the same behaviour; it "
            "awaits the session engine on the event loop).",
            id="redis_sessions.W010",
        )
    ]


def check_error_handler(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    """The root URLconf's ``handler500`` answers 503 for ``RedisUnavailable`` (W009).

    A session save that fails inside SessionMiddleware reaches no middleware's
    ``process_exception``: only ``handler500`` sees it. A handler passes when it is
    ``server_error`` or wraps it (``functools.wraps(server_error)``).
    """
    if getattr(settings, "SESSION_ENGINE", "") != ENGINE or not getattr(
        settings, "ROOT_URLCONF", None
    ):
        return []
    try:
        handler = get_resolver().resolve_error_handler(500)
    except Exception:  # a URLconf or handler that does not import: Django's own checks say so
        return []
    if inspect.unwrap(handler) is server_error:
        return []
    name = f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', handler)}"
    return [
        checks.Warning(
            f"handler500 of {settings.ROOT_URLCONF} is {name}, not {SERVER_ERROR}: a "
            "session save that fails because Redis is down shows as a 500 error instead "
            "of a 503 with Retry-After.",
            hint=f'Add handler500 = "{SERVER_ERROR}" to the root URLconf. A handler of your '
            "own that calls it passes when decorated with functools.wraps(server_error).",
            id="redis_sessions.W009",
        )
    ]


def check_page_hit(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    """PageHitMiddleware answers hits before the middleware below it runs."""
    middleware = list(getattr(settings, "MIDDLEWARE", []))
    if PAGE_HIT not in middleware:
        return []
    below = middleware[middleware.index(PAGE_HIT) + 1 :]
    found: list[Any] = []
    if _LOCALE in below:
        found.append(
            checks.Warning(
                f"{_LOCALE} comes after {PAGE_HIT}: early hits are looked up before the "
                "language is chosen (a visitor may get another language's copy).",
                hint="Move LocaleMiddleware above PageHitMiddleware.",
                id="redis_sessions.W006",
            )
        )
    for name in (m for m in _HEADERS if m in below):
        found.append(
            checks.Warning(
                f"{name} comes after {PAGE_HIT}: early hits go out without its header.",
                hint="Move it above PageHitMiddleware.",
                id="redis_sessions.W007",
            )
        )
    if any(m in middleware for m in _REMOTE_USER):
        found.append(
            checks.Warning(
                f"{PAGE_HIT} serves visitors without a session cookie as anonymous, but "
                "RemoteUserMiddleware logs visitors in without one.",
                hint="Do not use PageHitMiddleware with RemoteUserMiddleware.",
                id="redis_sessions.W008",
            )
        )
    return found
