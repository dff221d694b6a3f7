"""View counting's Lua scripts (``lua/`` beside this module); ``view_count`` spans
slots and has a Cluster split (``splits.py``), the others are single-slot."""

from __future__ import annotations

from redis_sessions.connection.scripts import Script

SESSION_VIEWED = Script(__file__, "session_viewed")
RESCALE_VIEWED = Script(__file__, "rescale_viewed")
VIEW_COUNT = Script(__file__, "view_count", split="redis_sessions.analytics.splits.view_count")
