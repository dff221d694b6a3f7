"""The session engine's Lua scripts (``lua/`` beside this module).

Each builds the per-user key names inside Redis, so each is always split on a cluster.
"""

from __future__ import annotations

from redis_sessions.connection.scripts import Script


def _script(name: str, *shared: str) -> Script:
    split = f"redis_sessions.sessions.splits.{name}"
    # user_sessions.lua: adding to and removing from user-sessions:{UID}, a zset (or a
    # set written by earlier code), the same in every script
    uses = ["user_sessions", *shared]
    return Script(__file__, name, split=split, builds_keys=True, uses=uses)


SESSION_SAVE = _script("session_save")
SESSION_DELETE = _script("session_delete")
SESSION_CYCLE = _script("session_cycle")
# evict_sessions.lua: every trace of a batch of sessions but their recent: entries
SESSION_EVICT = _script("session_evict", "evict_sessions")
SESSION_EVICT_OLDEST = _script("session_evict_oldest", "evict_sessions")
