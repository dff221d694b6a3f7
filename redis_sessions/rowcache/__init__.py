"""The database row cache: the book's ``inv:`` / ``delay:`` / ``schedule:`` with
invalidation on write.

Register a model with ``@row_cached(...)`` or ``REDIS_SESSIONS["ROW_CACHE_MODELS"]``;
read with ``get_row`` / ``get_rows`` / ``get_instance``; keep rows warm with
``schedule_row_cache`` and the ``cache_rows`` daemon. Saves and deletes of a
registered model drop its entry after the transaction commits.
"""

from __future__ import annotations

from redis_sessions.rowcache.documents import RowEncoder, ToCacheQueryError
from redis_sessions.rowcache.reads import get_instance, get_row, get_rows
from redis_sessions.rowcache.refresh import cache_rows, refresh_due_rows
from redis_sessions.rowcache.registry import NotRegistered, RowOptions, row_cached
from redis_sessions.rowcache.writes import invalidate, schedule_all, schedule_row_cache

__all__ = [
    "NotRegistered",
    "RowEncoder",
    "RowOptions",
    "ToCacheQueryError",
    "cache_rows",
    "get_instance",
    "get_row",
    "get_rows",
    "invalidate",
    "refresh_due_rows",
    "row_cached",
    "schedule_all",
    "schedule_row_cache",
]
