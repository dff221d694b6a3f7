"""Cluster split of ``lua/view_count.lua``: the seen key, ``viewed:``, ``views:{DAY}``
and the session are in different slots.

The seen key is set first (SET NX EX), then the counts follow in a step of their own
when it was new: a crash between loses that one view, never counts it twice. A
session's seen key shares the session's slot (``seen:{KEY}:ITEM``), so whether Redis
holds the session and the SET on its seen key go in one step; when it holds no such
session, that seen key (if this step made it) is deleted and the client's is set in
the next step, as the script would have.
"""

from __future__ import annotations

from typing import Any

from redis_sessions.connection.replies import first_error
from redis_sessions.connection.scripts import Command, Step


def seen_commands(
    client_seen: str, session: str | None, session_seen: str | None, window: Any
) -> list[Command]:
    """The first step of setting the visitor's seen key (to send with others)."""
    if session is None or session_seen is None:
        return [("SET", client_seen, 1, "EX", window, "NX")]
    return [("EXISTS", session), ("SET", session_seen, 1, "EX", window, "NX")]


def seen_result(
    replies: list[Any], client_seen: str, session: str | None, session_seen: str | None,
    window: Any,
) -> Step:  # fmt: skip
    """Given the replies of ``seen_commands``: True when the visitor's seen key was new
    (the session's when Redis holds the session, else the client's, as
    ``view_count.lua`` and ``cache_get.lua`` decide), False, or the first error reply.
    One more step when the session is not there."""
    error = first_error(replies)
    if error is not None:
        return error
    if session is None or session_seen is None:
        return replies[0] is not None
    alive, fresh = replies
    if alive:
        return fresh is not None
    # no such session: the visitor is the client, and this step made no seen key
    commands: list[Command] = [("SET", client_seen, 1, "EX", window, "NX")]
    if fresh is not None:
        commands.insert(0, ("DEL", session_seen))
    replies = yield commands
    error = first_error(replies)
    return error if error is not None else replies[-1] is not None


def view_count(k: list[Any], a: list[Any]) -> Step:
    viewed, daily, client_seen = k[:3]
    session, session_seen = (k[3], k[4]) if len(k) > 3 else (None, None)
    item, window, ttl = a[0], a[1], a[2]
    seen = (client_seen, session, session_seen, window)
    replies = yield seen_commands(*seen)
    fresh = yield from seen_result(replies, *seen)
    if fresh is not True:
        return fresh if isinstance(fresh, Exception) else 0
    replies = yield [("ZINCRBY", viewed, -1, item), ("ZINCRBY", daily, 1, item),
                     ("EXPIRE", daily, ttl)]  # fmt: skip
    error = first_error(replies)
    return error if error is not None else 1
