"""System checks (``redis_sessions.E0xx`` / ``W0xx``). They never talk to Redis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from redis_sessions.conf import DEFAULTS, app_settings, raw_user_settings

ENGINE = "redis_sessions.backends.redis"
MIDDLEWARE = "redis_sessions.middleware.RedisSessionsMiddleware"
SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
MAX_TIMEOUT = 1.0

_POSITIVE_INTS = (
    "MAX_CONNECTIONS", "VIEWED_LIMIT", "ITEM_ID_MAX_LENGTH", "SESSION_LIMIT",
    "CLEAN_BATCH_SIZE", "CART_MAX_QUANTITY", "CART_MAX_LINES", "CART_USER_TTL",
    "VIEWED_MAX_ITEMS", "CACHE_TOP_N", "PAGE_CACHE_TIMEOUT", "DAILY_VIEWS_DAYS",
    "LOCK_TIMEOUT", "PARTITIONS",
)  # fmt: skip
_MERGE_STRATEGIES = ("add", "replace", "keep_higher")


def register() -> None:
    checks.register(check_settings, checks.Tags.compatibility)
    checks.register(check_connection, checks.Tags.caches)
    checks.register(check_sessions, checks.Tags.security)
    checks.register(check_row_cache, checks.Tags.caches)
    checks.register(check_page_hit, checks.Tags.caches)
    checks.register(check_async_session_middleware, checks.Tags.compatibility)


def check_settings(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    user = raw_user_settings()
    if user is None:
        return []
    if not isinstance(user, dict):
        return [checks.Error("REDIS_SESSIONS must be a dict.", id="redis_sessions.E001")]
    errors: list[Any] = []
    for name in sorted(set(user) - set(DEFAULTS)):
        errors.append(
            checks.Error(
                f"Unknown setting REDIS_SESSIONS[{name!r}].",
                hint="Check the spelling; the settings are listed in the docs.",
                id="redis_sessions.E002",
            )
        )
    for name in _POSITIVE_INTS:
        value = user.get(name, DEFAULTS[name])
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.append(_invalid(name, value, "a positive integer"))
    partitions = user.get("PARTITIONS", DEFAULTS["PARTITIONS"])
    if isinstance(partitions, int) and not isinstance(partitions, bool) and partitions > 1024:
        # every merging read (top items, the session list, counts) sends one command
        # per partition: past a few dozen that costs more than the split saves
        errors.append(_invalid("PARTITIONS", partitions, "at most 1024"))
    for name in ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT"):
        value = user.get(name, DEFAULTS[name])
        if value is not None and (not isinstance(value, (int, float)) or value <= 0):
            errors.append(_invalid(name, value, "a number of seconds above 0, or None"))
    breaker = user.get("CIRCUIT_BREAKER_SECONDS", DEFAULTS["CIRCUIT_BREAKER_SECONDS"])
    if not isinstance(breaker, (int, float)) or breaker < 0:
        errors.append(_invalid("CIRCUIT_BREAKER_SECONDS", breaker, "a number of seconds >= 0"))
    prefix = user.get("KEY_PREFIX", DEFAULTS["KEY_PREFIX"])
    if not isinstance(prefix, str) or not prefix or any(c in prefix for c in "{}*?[] "):
        errors.append(_invalid("KEY_PREFIX", prefix, "a non-empty string without {}*?[] or spaces"))
    strategy = user.get("CART_MERGE_STRATEGY", DEFAULTS["CART_MERGE_STRATEGY"])
    if strategy not in _MERGE_STRATEGIES:
        errors.append(_invalid("CART_MERGE_STRATEGY", strategy, f"one of {_MERGE_STRATEGIES}"))
    if not isinstance(user.get("CLUSTER", False), bool):
        errors.append(_invalid("CLUSTER", user["CLUSTER"], "True or False"))
    elif user.get("CLUSTER") and isinstance(breaker, (int, float)) and breaker <= 0:
        # redis-py's cluster pipeline sends a command again after a timed-out reply;
        # only an open breaker stops that second send (a second increment).
        errors.append(
            checks.Error(
                "REDIS_SESSIONS['CLUSTER'] needs CIRCUIT_BREAKER_SECONDS above 0.",
                hint="On a cluster, the open breaker is what keeps a write whose reply "
                "timed out from being sent twice. Keep the default (2.0).",
                id="redis_sessions.E006",
            )
        )
    return errors


def _invalid(name: str, value: object, expected: str) -> Any:
    return checks.Error(
        f"REDIS_SESSIONS[{name!r}] is {value!r}; expected {expected}.",
        id="redis_sessions.E004",
    )


def check_connection(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    errors: list[Any] = []
    for name in ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT"):
        value = getattr(app_settings, name)
        if isinstance(value, (int, float)) and value > MAX_TIMEOUT:
            errors.append(
                checks.Warning(
                    f"REDIS_SESSIONS[{name!r}] is {value} s: a dead Redis will hold each "
                    "request that long.",
                    hint=f"Use at most {MAX_TIMEOUT} s (default 0.5).",
                    id="redis_sessions.W002",
                )
            )
    if app_settings.URL:
        return errors
    alias = app_settings.CACHE_ALIAS
    caches = getattr(settings, "CACHES", {})
    if alias not in caches:
        errors.append(
            checks.Error(
                f"REDIS_SESSIONS['CACHE_ALIAS'] is {alias!r}, which is not in CACHES.",
                hint="Add a django-redis cache under that alias, or set REDIS_SESSIONS['URL'].",
                id="redis_sessions.E003",
            )
        )
        return errors
    backend = str(caches[alias].get("BACKEND", ""))
    if not backend.startswith("django_redis."):
        errors.append(
            checks.Error(
                f"CACHES[{alias!r}] uses {backend!r}, not django-redis.",
                hint="Use django_redis.cache.RedisCache, or set REDIS_SESSIONS['URL'].",
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
    elif SESSION_MIDDLEWARE in middleware and middleware.index(MIDDLEWARE) > middleware.index(
        SESSION_MIDDLEWARE
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


def check_row_cache(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    """ROW_CACHE_MODELS names installed models with known options (E020)."""
    from django.core.exceptions import ImproperlyConfigured

    from redis_sessions.rowcache.registry import table

    user = raw_user_settings()
    value = user.get("ROW_CACHE_MODELS", {}) if isinstance(user, dict) else {}
    if not isinstance(value, dict):
        return [_invalid("ROW_CACHE_MODELS", value, "a dict of model label -> options")]
    try:
        table()
    except (ImproperlyConfigured, TypeError, ValueError) as exc:
        return [checks.Error(f"Row cache: {exc}", id="redis_sessions.E020")]
    return []


PAGE_HIT = "redis_sessions.pagecache.PageHitMiddleware"
_LOCALE = "django.middleware.locale.LocaleMiddleware"
_HEADERS = ("django.middleware.clickjacking.XFrameOptionsMiddleware",)
_REMOTE_USER = (
    "django.contrib.auth.middleware.RemoteUserMiddleware",
    "django.contrib.auth.middleware.PersistentRemoteUserMiddleware",
)


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


ASYNC_SESSION_MIDDLEWARE = "redis_sessions.sessions.SessionMiddleware"


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
