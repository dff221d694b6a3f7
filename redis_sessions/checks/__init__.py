"""System checks (``redis_sessions.E0xx`` / ``W0xx``); none of them talks to Redis.

One id per kind of mistake, each with a hint that says what to do (docs/settings.md
lists them all), and every check reports every problem it finds, not only the first.

``values``        ``REDIS_SESSIONS`` itself: E001, E002, E004, E007-E009, E011, E024 (VISITOR_ID)
``cluster``       what a Redis Cluster needs of it: E006, E010, E013 (NODES)
``server``        the Redis server it names through ``CACHES``: E003, E005, W002, W003
``middleware``    what a request passes through: W001, W004-W010
``models``        the models it names: E020 (row cache), E021, E022 (cart), E023
``installation``  the files on disk: E030
"""

from __future__ import annotations

from django.core import checks

from redis_sessions.checks.cluster import check_cluster
from redis_sessions.checks.installation import check_installation
from redis_sessions.checks.middleware import (
    MIDDLEWARE,
    PAGE_HIT,
    SERVER_ERROR,
    check_async_session_middleware,
    check_error_handler,
    check_page_hit,
    check_sessions,
)
from redis_sessions.checks.models import (
    check_cart_model,
    check_page_cache_models,
    check_row_cache,
)
from redis_sessions.checks.server import check_connection
from redis_sessions.checks.values import RULES, check_settings

__all__ = [
    "MIDDLEWARE",
    "PAGE_HIT",
    "RULES",
    "SERVER_ERROR",
    "check_async_session_middleware",
    "check_cart_model",
    "check_cluster",
    "check_connection",
    "check_error_handler",
    "check_installation",
    "check_page_cache_models",
    "check_page_hit",
    "check_row_cache",
    "check_sessions",
    "check_settings",
    "register",
]


def register() -> None:
    checks.register(check_settings, checks.Tags.compatibility)
    checks.register(check_cluster, checks.Tags.compatibility)
    checks.register(check_connection, checks.Tags.caches)
    checks.register(check_sessions, checks.Tags.security)
    checks.register(check_error_handler, checks.Tags.urls)
    checks.register(check_async_session_middleware, checks.Tags.compatibility)
    checks.register(check_page_hit, checks.Tags.caches)
    checks.register(check_cart_model, checks.Tags.models)
    checks.register(check_row_cache, checks.Tags.caches)
    checks.register(check_page_cache_models, checks.Tags.caches)
    checks.register(check_installation, checks.Tags.compatibility)
