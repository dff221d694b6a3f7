"""View counting's Lua scripts (``lua/`` beside this module): single-slot, never split."""

from __future__ import annotations

from redis_sessions.connection.scripts import Script

SESSION_VIEWED = Script(__file__, "session_viewed")
RESCALE_VIEWED = Script(__file__, "rescale_viewed")
