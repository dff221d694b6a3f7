"""Removing what is left of sessions that Redis expired by TTL (``clear_expired``)."""

from __future__ import annotations

import time
from typing import Any

from . import keys, scripts
from .conf import app_settings
from .connection import arun, get_async_redis, get_redis, run

Command = tuple[Any, ...]


def _due_command(batch: int) -> Command:
    return ("ZRANGEBYSCORE", keys.expires(), "-inf", time.time(), "LIMIT", 0, batch)


def _forget_command(session_keys: list[bytes]) -> Command:
    data_head = keys.session("")[:-2]
    viewed_head = keys.viewed("")[:-2]
    cart_head = keys.cart("")[:-2]
    head, tail = keys.user_sessions_template()
    return scripts.get("session_forget_expired").command(
        [keys.recent(), keys.expires(), keys.login(), keys.carts()],
        [data_head, head, tail, viewed_head, cart_head, *session_keys],
    )


def clear_expired(batch: int | None = None) -> int:
    """Forget every session whose data has expired; returns how many."""
    batch = batch or app_settings.CLEAN_BATCH_SIZE
    client, total = get_redis(), 0
    while True:
        due = run(client, [_due_command(batch)])[0]
        if not due:
            return total
        forgotten = int(run(client, [_forget_command(due)])[0])
        total += forgotten
        if forgotten == 0 and len(due) < batch:
            return total
        if forgotten == 0:
            # Every due entry is still alive (expiry extended elsewhere): stop here
            # rather than spin; the next pass looks again.
            return total


async def aclear_expired(batch: int | None = None) -> int:
    batch = batch or app_settings.CLEAN_BATCH_SIZE
    client, total = get_async_redis(), 0
    while True:
        due = (await arun(client, [_due_command(batch)]))[0]
        if not due:
            return total
        forgotten = int((await arun(client, [_forget_command(due)]))[0])
        total += forgotten
        if forgotten == 0:
            return total
