"""The Redis server the app uses: E003, E005, W002, W003.

Without ``URL`` (or ``NODES``) the app takes its server from the django-redis cache named by
``CACHE_ALIAS``; the hints name the django-redis caches that ``CACHES`` does have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from redis_sessions.checks.values import setting, valid_value

MAX_TIMEOUT = 1.0
DJANGO_REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


def check_connection(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    errors: list[Any] = []
    for name in ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT"):
        value = valid_value(name)
        if value is not None and value > MAX_TIMEOUT:
            errors.append(
                checks.Warning(
                    f"{setting(name)} is {value} s: a dead Redis will hold each request that long.",
                    hint=f"Use at most {MAX_TIMEOUT} s (default 0.5).",
                    id="redis_sessions.W002",
                )
            )
    alias = valid_value("CACHE_ALIAS")
    if valid_value("URL") or valid_value("NODES") or alias is None:
        return errors  # URL/NODES win over CACHE_ALIAS; a CACHE_ALIAS of the wrong type is E004
    caches: dict[str, Any] = getattr(settings, "CACHES", {})
    if alias not in caches:
        errors.append(
            checks.Error(
                f"{setting('CACHE_ALIAS')} is {alias!r}, which is not in CACHES.",
                hint=_other_aliases(caches, alias)
                or f"Add a django-redis cache as CACHES[{alias!r}], or set REDIS_SESSIONS['URL'].",
                id="redis_sessions.E003",
            )
        )
        return errors
    backend = str(caches[alias].get("BACKEND", ""))
    if not backend.startswith("django_redis."):
        own = (
            " (Django's own RedisCache is not supported: the app builds its pools from "
            "django-redis's.)"
            if backend == DJANGO_REDIS_CACHE
            else ""
        )
        errors.append(
            checks.Error(
                f"CACHES[{alias!r}] (the cache REDIS_SESSIONS['CACHE_ALIAS'] names) uses "
                f"{backend!r}, not django-redis.",
                hint=(
                    _other_aliases(caches, alias)
                    or f"Make CACHES[{alias!r}] a django_redis.cache.RedisCache, or set "
                    "REDIS_SESSIONS['URL'] to the Redis server's URL."
                )
                + own,
                id="redis_sessions.E005",
            )
        )
        return errors
    options = caches[alias].get("OPTIONS", {})
    for name in ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT"):
        value = options.get(name)
        if value is None or value > MAX_TIMEOUT:
            errors.append(
                checks.Warning(
                    f"CACHES[{alias!r}]['OPTIONS'][{name!r}] is {value!r}: cache calls "
                    "elsewhere in the site will wait that long (or for ever) on a dead Redis.",
                    hint=f"Set it to at most {MAX_TIMEOUT} s. (This app's own clients "
                    "use REDIS_SESSIONS timeouts.)",
                    id="redis_sessions.W003",
                )
            )
    return errors


def _other_aliases(caches: dict[str, Any], alias: str) -> str:
    """The hint when the Redis cache sits under another alias; "" when none does."""
    others = [
        name
        for name, config in caches.items()
        if name != alias and str(config.get("BACKEND", "")).startswith("django_redis.")
    ]
    if len(others) == 1:
        return (
            f"CACHES[{others[0]!r}] is a django-redis cache: set "
            f"REDIS_SESSIONS['CACHE_ALIAS'] = {others[0]!r} (or set REDIS_SESSIONS['URL'])."
        )
    if others:
        return (
            "Set REDIS_SESSIONS['CACHE_ALIAS'] to one of the django-redis caches "
            f"{', '.join(map(repr, others))} (or set REDIS_SESSIONS['URL'])."
        )
    return ""
