"""Reading replies the same way whatever the protocol (RESP2 or RESP3) or redis-py
version: redis-py 8 speaks RESP3 by default and nests ``WITHSCORES`` pairs, redis-py 7
speaks RESP2 and, for a raw ``execute_command``, leaves them flat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def scored_pairs(reply: Sequence[Any]) -> list[tuple[str, float]]:
    """``(member, score)`` pairs from a ``WITHSCORES`` reply (nested or flat)."""
    if reply and isinstance(reply[0], (list, tuple)):
        return [(text(m), float(s)) for m, s in reply]
    return [(text(reply[i]), float(reply[i + 1])) for i in range(0, len(reply), 2)]
