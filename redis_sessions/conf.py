"""Every setting of the app, read from ``settings.REDIS_SESSIONS`` (a dict).

Nothing is cached: each property reads the settings again, so ``override_settings``
just works. ``DEFAULTS`` is the documented list; ``checks.py`` validates the values and
rejects unknown names (typos) so a misspelt setting never passes silently.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Connection (connection/)
    "CACHE_ALIAS": "default",
    "URL": None,
    "SOCKET_TIMEOUT": 0.5,
    "SOCKET_CONNECT_TIMEOUT": 0.5,
    "MAX_CONNECTIONS": 100,
    "CIRCUIT_BREAKER_SECONDS": 2.0,
    # Keys (keys.py)
    "KEY_PREFIX": "rs",
    # Sessions and tracking
    "VIEWED_LIMIT": 25,
    "ITEM_ID_MAX_LENGTH": 200,
    # clean_sessions
    "SESSION_LIMIT": 10_000_000,
    "CLEAN_BATCH_SIZE": 100,  # bench/clean_sessions.py: GET p99 < 5 ms, batches < 10 ms
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
    # Row cache
    "ROW_CACHE_MODELS": {},
    # Loops (clean_sessions, rescale_viewed, cache_rows)
    "LOCK_TIMEOUT": 30,
    # Redis Cluster (cluster/): URL / CACHE_ALIAS names one node of a cluster
    "CLUSTER": False,
    # Hot global indexes split in N keys (keys.py): recent:, expires:, login:, viewed:
    "PARTITIONS": 1,
}


def raw_user_settings() -> Any:
    """``settings.REDIS_SESSIONS`` as written (possibly not a dict): for the checks."""
    return getattr(settings, "REDIS_SESSIONS", None)


def _get(name: str) -> Any:
    user: dict[str, Any] = getattr(settings, "REDIS_SESSIONS", None) or {}
    return user.get(name, DEFAULTS[name])


class Settings:
    """Typed access to ``REDIS_SESSIONS``; one property per setting."""

    @property
    def user_settings(self) -> dict[str, Any]:
        return getattr(settings, "REDIS_SESSIONS", None) or {}

    @property
    def CACHE_ALIAS(self) -> str:
        """django-redis cache alias whose server the app uses when ``URL`` is unset."""
        return str(_get("CACHE_ALIAS"))

    @property
    def URL(self) -> str | None:
        """A redis:// / rediss:// / unix:// URL; overrides ``CACHE_ALIAS``."""
        value = _get("URL")
        return str(value) if value else None

    @property
    def SOCKET_TIMEOUT(self) -> float | None:
        return _get("SOCKET_TIMEOUT")  # type: ignore[no-any-return]

    @property
    def SOCKET_CONNECT_TIMEOUT(self) -> float | None:
        return _get("SOCKET_CONNECT_TIMEOUT")  # type: ignore[no-any-return]

    @property
    def MAX_CONNECTIONS(self) -> int:
        return int(_get("MAX_CONNECTIONS"))

    @property
    def CIRCUIT_BREAKER_SECONDS(self) -> float:
        return float(_get("CIRCUIT_BREAKER_SECONDS"))

    @property
    def KEY_PREFIX(self) -> str:
        return str(_get("KEY_PREFIX"))

    @property
    def VIEWED_LIMIT(self) -> int:
        return int(_get("VIEWED_LIMIT"))

    @property
    def ITEM_ID_MAX_LENGTH(self) -> int:
        return int(_get("ITEM_ID_MAX_LENGTH"))

    @property
    def SESSION_LIMIT(self) -> int:
        return int(_get("SESSION_LIMIT"))

    @property
    def CLEAN_BATCH_SIZE(self) -> int:
        return int(_get("CLEAN_BATCH_SIZE"))

    @property
    def CART_MODEL(self) -> str | None:
        value = _get("CART_MODEL")
        return str(value) if value else None

    @property
    def CART_PRICE_FIELD(self) -> str | None:
        value = _get("CART_PRICE_FIELD")
        return str(value) if value else None

    @property
    def CART_MAX_QUANTITY(self) -> int:
        return int(_get("CART_MAX_QUANTITY"))

    @property
    def CART_MAX_LINES(self) -> int:
        return int(_get("CART_MAX_LINES"))

    @property
    def CART_VALIDATE_ITEMS(self) -> bool:
        return bool(_get("CART_VALIDATE_ITEMS"))

    @property
    def CART_USER_TTL(self) -> int:
        return int(_get("CART_USER_TTL"))

    @property
    def CART_MERGE_STRATEGY(self) -> str:
        return str(_get("CART_MERGE_STRATEGY"))

    @property
    def VIEWED_MAX_ITEMS(self) -> int:
        return int(_get("VIEWED_MAX_ITEMS"))

    @property
    def RESCALE_INTERVAL(self) -> float:
        return float(_get("RESCALE_INTERVAL"))

    @property
    def CACHE_TOP_N(self) -> int:
        return int(_get("CACHE_TOP_N"))

    @property
    def PAGE_CACHE_TIMEOUT(self) -> int:
        return int(_get("PAGE_CACHE_TIMEOUT"))

    @property
    def PAGE_CACHE_GRACE(self) -> int:
        return int(_get("PAGE_CACHE_GRACE"))

    @property
    def PAGE_CACHE_MAX_VARIANTS(self) -> int:
        """Most cached pages per item (query parameters, hosts, languages, HEAD)."""
        return int(_get("PAGE_CACHE_MAX_VARIANTS"))

    @property
    def PAGE_CACHE_MODELS(self) -> dict[str, str | None]:
        """Models whose writes drop cached pages: label -> attribute naming the item."""
        return dict(_get("PAGE_CACHE_MODELS"))

    @property
    def X_CACHE_HEADER(self) -> bool:
        return bool(_get("X_CACHE_HEADER"))

    @property
    def DAILY_VIEWS_DAYS(self) -> int:
        return int(_get("DAILY_VIEWS_DAYS"))

    @property
    def ROW_CACHE_MODELS(self) -> dict[str, dict[str, Any]]:
        return dict(_get("ROW_CACHE_MODELS"))

    @property
    def LOCK_TIMEOUT(self) -> int:
        return int(_get("LOCK_TIMEOUT"))

    @property
    def CLUSTER(self) -> bool:
        """The configured server is a node of a Redis Cluster (clients discover the rest)."""
        return bool(_get("CLUSTER"))

    @property
    def PARTITIONS(self) -> int:
        """How many keys each hot global index is split into (1: the book's one key)."""
        return int(_get("PARTITIONS"))


app_settings = Settings()
