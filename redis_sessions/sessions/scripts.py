"""The session engine's Lua scripts (``lua/`` beside this module).

Each builds the per-user key names inside Redis, so each is always split on a cluster.
"""

from __future__ import annotations

from redis_sessions.connection.scripts import Script


def _script(name: str) -> Script:
    split = f"redis_sessions.sessions.splits.{name}"
    # user_sessions.lua: adding to and removing from user-sessions:{UID}, a zset (or a
    # set written by earlier code), the same in every script
    return Script(__file__, name, split=split, builds_keys=True, uses=["user_sessions"])


SESSION_SAVE = _script("session_save")
SESSION_DELETE = _script("session_delete")
SESSION_CYCLE = _script("session_cycle")
SESSION_EVICT = _script("session_evict")
