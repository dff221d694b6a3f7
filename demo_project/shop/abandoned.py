"""Abandoned carts: what the demo does with ``sessions_evicted``.

When ``clean_sessions`` evicts sessions that still had an anonymous cart, the carts
are recorded (newest first) in a Redis list capped at ``KEPT`` entries, for the
inspection views to show.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis_sessions import keys
from redis_sessions.connection import get_redis, run

KEPT = 100


def record_abandoned_carts(
    sender: Any, *, carts: dict[str, dict[str, int]], user_ids: dict[str, str], reason: str,
    **kwargs: Any,
) -> None:  # fmt: skip
    """``sessions_evicted`` receiver: push each non-empty cart, keep the newest KEPT."""
    if not carts:
        return
    now = time.time()
    # The session key is not stored: it was a login token until a moment ago.
    entries = [
        json.dumps({"time": now, "reason": reason, "user": user_ids.get(k), "items": cart})
        for k, cart in carts.items()
    ]
    key = keys.abandoned_carts()
    # One pipeline, not MULTI: were the process to die between the two, the list is
    # one batch too long until the next LTRIM, which is harmless.
    run(get_redis(), [("LPUSH", key, *entries), ("LTRIM", key, 0, KEPT - 1)])


def abandoned_carts(count: int = 20) -> list[dict[str, Any]]:
    """The newest ``count`` abandoned carts (one round trip)."""
    raw = run(get_redis(), [("LRANGE", keys.abandoned_carts(), 0, count - 1)])[0]
    return [json.loads(entry) for entry in raw]
