"""The session engine and the book's token model.

``store`` is the engine (``SESSION_ENGINE = "redis_sessions.backends.redis"`` points
at it) and ``commands`` what it sends and how it reads the replies; ``middleware`` the
``SessionMiddleware`` that awaits it under ASGI; ``users`` the per-user index;
``eviction`` the atomic removal of sessions, ``clean`` the ``clean_sessions`` loop
around it and ``clearsessions`` Django's ``clearsessions`` pass; ``sizing`` the batch
size both take; ``migrate`` copies sessions in from Django's cache engine. ``lua/`` holds the
scripts and ``splits.py`` their Redis Cluster splits.
"""

from __future__ import annotations

from redis_sessions.sessions.clean import clean_pass, clean_sessions
from redis_sessions.sessions.clearsessions import aclear_expired, clear_expired
from redis_sessions.sessions.eviction import Evicted, evict
from redis_sessions.sessions.middleware import SessionMiddleware
from redis_sessions.sessions.migrate import MigrationResult, migrate_from_cache
from redis_sessions.sessions.store import SessionStore
from redis_sessions.sessions.users import aend_user_sessions, end_user_sessions, user_session_keys

__all__ = [
    "Evicted", "MigrationResult", "SessionMiddleware", "SessionStore", "aclear_expired",
    "aend_user_sessions", "clean_pass", "clean_sessions", "clear_expired",
    "end_user_sessions", "evict", "migrate_from_cache", "user_session_keys",
]  # fmt: skip
