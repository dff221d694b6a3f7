"""The cart's Lua scripts (``lua/`` beside this module)."""

from __future__ import annotations

from redis_sessions.connection.scripts import Script

_SPLITS = "redis_sessions.cart.splits"
CART_LINE = Script(__file__, "cart_line", split=f"{_SPLITS}.cart_line")
CART_REMOVE = Script(__file__, "cart_remove", split=f"{_SPLITS}.cart_remove")
CART_MERGE = Script(__file__, "cart_merge", split=f"{_SPLITS}.cart_merge")
# Single-slot steps of cart_merge's split (the anonymous cart's slot).
CART_MERGE_BEGIN = Script(__file__, "cart_merge_begin")
CART_MERGE_END = Script(__file__, "cart_merge_end")
CART_FORGET = Script(__file__, "cart_forget", split=f"{_SPLITS}.cart_forget", builds_keys=True)
