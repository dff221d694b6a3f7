"""The page and fragment caches' Lua scripts (``lua/`` beside this module)."""

from __future__ import annotations

from redis_sessions.connection.scripts import Script

_SPLITS = "redis_sessions.pagecache.splits"
CACHE_GET = Script(__file__, "cache_get", split=f"{_SPLITS}.cache_get")
# builds_keys: the cap on an item's variants checks its pages (by digest) exist
CACHE_STORE = Script(__file__, "cache_store", split=f"{_SPLITS}.cache_store", builds_keys=True)
CACHE_INVALIDATE_ITEM = Script(
    __file__, "cache_invalidate_item", split=f"{_SPLITS}.cache_invalidate_item", builds_keys=True
)
