"""Keys of ours that hold the wrong Redis type: logged and skipped, never a 500.

Only a hand-made mistake (a stray ``SET`` on ``recent:``, a restore from another app,
a shared database with a clashing prefix) puts a hash where a string belongs. Every
request would then fail with WRONGTYPE; instead the affected command's reply is
logged once per request on the ``redis_sessions`` logger (with the key prefix and
Redis's own message, never session contents; at most once per ``LOG_EVERY`` seconds
per kind) and the request carries on.

Scripts are not transactions: a script that fails half way keeps what it did before
the failing call. The session scripts start with their data write (``SET``), so a
WRONGTYPE from an index further down means the data was written and only that index
entry is missing; ``clean_sessions`` and the next save repair the indexes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import redis

from redis_sessions import keys
from redis_sessions.connection.outages import Outage
from redis_sessions.exceptions import RedisUnavailable

logger = logging.getLogger("redis_sessions")


def is_wrong_type(reply: Any) -> bool:
    """Whether ``reply`` is a WRONGTYPE error (from a command or inside a script)."""
    return isinstance(reply, redis.ResponseError) and "WRONGTYPE" in str(reply)


def is_out_of_memory(reply: Any) -> bool:
    """Whether ``reply`` is Redis refusing a write at ``maxmemory`` (``noeviction``)."""
    # redis-py maps the -OOM reply to OutOfMemoryError (and drops the "OOM" prefix).
    # Redis 6.2 reports an OOM inside a script as a script error quoting "-OOM ...".
    return isinstance(reply, redis.exceptions.OutOfMemoryError) or (
        isinstance(reply, redis.ResponseError)
        and (str(reply).startswith("OOM") or "OOM command not allowed" in str(reply))
    )


def settle(replies: Iterable[Any], *, best_effort: bool = False) -> None:
    """Raise the first error reply, except WRONGTYPE ones, which are logged.

    A full Redis (OOM under ``noeviction``) raises ``RedisUnavailable`` (a 503, like
    an unreachable server: the write was refused, nothing applied); with
    ``best_effort`` (the last-seen update on a load, page views) it is logged and
    skipped, so reading sessions keeps working while Redis is full.
    """
    for reply in replies:
        if not isinstance(reply, Exception):
            continue
        if is_wrong_type(reply):
            _log_once("wrongtype", logging.ERROR,
                      "A Redis key under prefix %r holds the wrong type; the command was "
                      "skipped (run `manage.py redis_doctor`, then delete the key): %s",
                      keys.prefix(), reply)  # fmt: skip
        elif is_out_of_memory(reply):
            if not best_effort:
                raise RedisUnavailable(f"Redis refused a write: {reply}") from reply
            _log_once("oom", logging.WARNING,
                      "Redis is full (key prefix %r): last-seen times and page views are "
                      "not recorded: %s", keys.prefix(), reply)  # fmt: skip
        else:
            raise reply


LOG_EVERY = 10.0  # seconds: a broken key or a full Redis affects every request
_outages: dict[tuple[str, str], Outage] = {}


def _log_once(kind: str, level: int, message: str, *args: Any) -> None:
    slot = (kind, keys.prefix())
    outage = _outages.get(slot)
    if outage is None:
        outage = _outages[slot] = Outage(logger, LOG_EVERY)
    outage.throttled(level, message, *args)
