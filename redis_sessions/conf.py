"""Every setting of the app, read from ``settings.REDIS_SESSIONS`` (a dict).

The one reader of the app's settings: ``REDIS_SESSIONS`` merged over ``DEFAULTS`` is
kept until Django's ``setting_changed`` says it changed (``override_settings`` and
pytest-django's ``settings`` send it), so a hot path reads a dict, not the settings
object, and nothing else in the app keeps a memo of a setting. ``DEFAULTS`` is the
documented list; ``checks.py`` validates the values and rejects unknown names (typos)
so a misspelt setting never passes silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    # Connection (connection/)
    "CACHE_ALIAS": "default",
    "URL": None,
    "SOCKET_TIMEOUT": 0.5,
    "SOCKET_CONNECT_TIMEOUT": 0.5,
    "MAX_CONNECTIONS": 100,
    "CIRCUIT_BREAKER_SECONDS": 0.25,
    # Keys (keys.py)
    "KEY_PREFIX": "rs",
    # Sessions and view counting (sessions/, analytics/)
    "VIEWED_LIMIT": 25,
    "ITEM_ID_MAX_LENGTH": 200,
    # clean_sessions
    "SESSION_LIMIT": 10_000_000,
    "CLEAN_BATCH_SIZE": 1000,  # the largest batch (sessions/sizing.py)
    "CLEAN_BATCH_TIME": 0.0005,  # seconds a batch aims at (bench/clean_sessions.py)
    # Cart
    "CART_MODEL": None,
    "CART_PRICE_FIELD": "price",
    "CART_MAX_QUANTITY": 99,
    "CART_MAX_LINES": 100,
    "CART_VALIDATE_ITEMS": True,
    "CART_USER_TTL": 30 * 24 * 3600,
    "CART_MERGE_STRATEGY": "add",
    # Analytics and page cache
    "VIEWED_MAX_ITEMS": 20_000,
    "RESCALE_INTERVAL": 300,
    "CACHE_TOP_N": 10_000,
    "PAGE_CACHE_TIMEOUT": 300,
    "PAGE_CACHE_GRACE": 60,
    "PAGE_CACHE_MAX_VARIANTS": 16,
    "PAGE_CACHE_MODELS": {},
    "X_CACHE_HEADER": True,
    "DAILY_VIEWS_DAYS": 30,
    "VIEW_WINDOW": 600,
    "VISITOR_ID": None,
    # Row cache
    "ROW_CACHE_MODELS": {},
    # Loops (clean_sessions, rescale_viewed, cache_rows)
    "LOCK_TIMEOUT": 30,
    # Redis Cluster (connection/cluster.py): URL / CACHE_ALIAS names one node of a cluster,
    # or NODES several (the seeds a process discovers the cluster from)
    "CLUSTER": False,
    "NODES": None,
}


def raw_user_settings() -> Any:
    """``settings.REDIS_SESSIONS`` as written (possibly not a dict): for the checks."""
    return getattr(settings, "REDIS_SESSIONS", None)


T = TypeVar("T")
_merged: dict[str, Any] | None = None


def _values() -> dict[str, Any]:
    global _merged
    values = _merged
    if values is None:
        user = raw_user_settings()
        values = {**DEFAULTS, **(user if isinstance(user, dict) else {})}
        _merged = values
    return values


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: Any) -> None:
    global _merged
    if setting == "REDIS_SESSIONS":
        _merged = None


def _optional_str(value: Any) -> str | None:
    return str(value) if value else None


def _urls(value: Any) -> tuple[str, ...]:
    """A list of URLs, or one string of them separated by commas (as Django's
    ``CACHES`` ``LOCATION``)."""
    if not value:
        return ()
    parts = value.split(",") if isinstance(value, str) else value
    return tuple(str(part).strip() for part in parts if str(part).strip())


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


class _Setting(Generic[T]):
    """One setting, read through the cached dict and converted to its type."""

    def __init__(self, convert: Callable[[Any], T], doc: str = "") -> None:
        self.convert = convert
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> T:
        return self.convert(_values()[self.name])


class Settings:
    """Typed access to ``REDIS_SESSIONS``: one attribute per setting of ``DEFAULTS``
    (docs/settings.md says what each does)."""

    # Connection (connection/)
    CACHE_ALIAS = _Setting(str, "django-redis alias whose server is used when URL is unset")
    URL = _Setting(_optional_str, "a redis:// / rediss:// / unix:// URL; overrides CACHE_ALIAS")
    SOCKET_TIMEOUT = _Setting(_optional_float)
    SOCKET_CONNECT_TIMEOUT = _Setting(_optional_float)
    MAX_CONNECTIONS = _Setting(int)
    CIRCUIT_BREAKER_SECONDS = _Setting(float)
    KEY_PREFIX = _Setting(str)
    # Sessions and view counting
    VIEWED_LIMIT = _Setting(int)
    ITEM_ID_MAX_LENGTH = _Setting(int)
    SESSION_LIMIT = _Setting(int)
    CLEAN_BATCH_SIZE = _Setting(int)
    CLEAN_BATCH_TIME = _Setting(float)
    # Cart
    CART_MODEL = _Setting(_optional_str)
    CART_PRICE_FIELD = _Setting(_optional_str)
    CART_MAX_QUANTITY = _Setting(int)
    CART_MAX_LINES = _Setting(int)
    CART_VALIDATE_ITEMS = _Setting(bool)
    CART_USER_TTL = _Setting(int)
    CART_MERGE_STRATEGY = _Setting(str)
    # Analytics and page cache
    VIEWED_MAX_ITEMS = _Setting(int)
    RESCALE_INTERVAL = _Setting(float)
    CACHE_TOP_N = _Setting(int)
    PAGE_CACHE_TIMEOUT = _Setting(int)
    PAGE_CACHE_GRACE = _Setting(int)
    PAGE_CACHE_MAX_VARIANTS = _Setting(int, "most cached pages per item")
    PAGE_CACHE_MODELS: _Setting[dict[str, str | None]] = _Setting(
        dict, "models whose writes drop cached pages: label -> attribute naming the item"
    )
    X_CACHE_HEADER = _Setting(bool)
    DAILY_VIEWS_DAYS = _Setting(int)
    VIEW_WINDOW = _Setting(int, "seconds a visitor's view of an item counts once (0: every view)")
    VISITOR_ID = _Setting(
        _optional_str, "dotted path of a callable (request) -> str naming the client"
    )
    # Row cache, loops, Redis Cluster
    ROW_CACHE_MODELS: _Setting[dict[str, dict[str, Any]]] = _Setting(dict)
    LOCK_TIMEOUT = _Setting(int)
    CLUSTER = _Setting(bool, "the configured server is a node of a Redis Cluster")
    NODES = _Setting(_urls, "URLs of Redis Cluster seed nodes (any one that answers will do)")

    @property
    def session_cookie_age(self) -> int:
        """Django's ``SESSION_COOKIE_AGE``: the longest expiry age of a session that
        ``set_expiry`` did not lengthen (``clean_sessions`` finds expired ones by it)."""
        return int(settings.SESSION_COOKIE_AGE)


app_settings = Settings()
