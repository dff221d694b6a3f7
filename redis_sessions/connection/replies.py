"""Reading replies the same way whatever the protocol (RESP2 or RESP3) or redis-py
version: redis-py 8 speaks RESP3 by default and nests ``WITHSCORES`` pairs, redis-py 7
speaks RESP2 and, for a raw ``execute_command``, leaves them flat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def text(value: Any) -> str:
    """A reply (bytes or not) as ``str``."""
    return value.decode() if isinstance(value, bytes) else str(value)


def first_error(replies: Sequence[Any]) -> Exception | None:
    """The first error reply of a pipeline, if any."""
    return next((r for r in replies if isinstance(r, Exception)), None)


def flat(reply: Any) -> list[Any]:
    """An HGETALL reply as a script returns it (field, value, ...), whatever the callback."""
    if isinstance(reply, dict):
        return [x for pair in reply.items() for x in pair]
    return list(reply or [])


def pairs(reply: Sequence[Any]) -> list[tuple[Any, Any]]:
    """``(member, score)`` pairs of a ``WITHSCORES`` reply (nested or flat), both left
    as sent: a score sent back to a script round-trips exactly (RESP2 gives the
    server's own text, RESP3 a float that the client packs with ``repr``)."""
    if reply and isinstance(reply[0], (list, tuple)):
        return [(m, s) for m, s in reply]
    return list(zip(reply[::2], reply[1::2], strict=True))


def scored_pairs(reply: Sequence[Any]) -> list[tuple[str, float]]:
    """``(member, score)`` pairs from a ``WITHSCORES`` reply, as ``str`` and ``float``."""
    return [(text(m), float(s)) for m, s in pairs(reply)]
