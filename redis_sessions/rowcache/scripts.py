"""The row cache's Lua scripts (``lua/`` beside this module)."""

from __future__ import annotations

from redis_sessions.connection.scripts import Script

_SPLITS = "redis_sessions.rowcache.splits"
ROWCACHE_DUE = Script(__file__, "rowcache_due", split=f"{_SPLITS}.rowcache_due", builds_keys=True)
ROWCACHE_STORE = Script(
    __file__, "rowcache_store", split=f"{_SPLITS}.rowcache_store", builds_keys=True
)
ROWCACHE_FILL = Script(__file__, "rowcache_fill", split=f"{_SPLITS}.rowcache_fill")
