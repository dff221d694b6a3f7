"""Keys of ours that hold the wrong Redis type: logged and skipped, never a 500.

Only a hand-made mistake (a stray ``SET`` on ``recent:``, a restore from another app,
a shared database with a clashing prefix) puts a hash where a string belongs. Every
request would then fail with WRONGTYPE; instead the affected command's reply is
logged once per request on the ``redis_sessions`` logger (with the key prefix and
Redis's own message, never session contents) and the request carries on.

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

from . import keys

logger = logging.getLogger("redis_sessions")


def is_wrong_type(reply: Any) -> bool:
    """Whether ``reply`` is a WRONGTYPE error (from a command or inside a script)."""
    return isinstance(reply, redis.ResponseError) and "WRONGTYPE" in str(reply)


def settle(replies: Iterable[Any]) -> None:
    """Raise the first error reply, except WRONGTYPE ones, which are logged."""
    for reply in replies:
        if not isinstance(reply, Exception):
            continue
        if not is_wrong_type(reply):
            raise reply
        logger.error(
            "A Redis key under prefix %r holds the wrong type; the command was skipped "
            "(run `manage.py redis_doctor`, then delete the key): %s",
            keys.prefix(),
            reply,
        )
