"""``record_view``: the book's view tracking (``update_token`` with an item).

Per session: ``viewed:{KEY}``, the newest ``VIEWED_LIMIT`` items viewed. Globally:
``ZINCRBY viewed: -1 item``, the popularity table (lower score = more popular).

Round trips: during a request (``RedisSessionsMiddleware`` installed) a view is queued
on the session store and rides along with the session's next round trip (its load or
its save); whatever is still queued when the response leaves goes in one pipeline.
Outside a request it costs exactly one round trip.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest

from . import keys, scripts
from .conf import app_settings
from .connection import get_redis, run
from .integrity import settle

Command = tuple[Any, ...]

#: Set on the request by RedisSessionsMiddleware: views may be queued.
QUEUE_ATTR = "_redis_sessions_queue_views"


def clean_item_id(item_id: object) -> str:
    """The item id as a string; ``ValueError`` for empty, over-long or non-text ids."""
    if isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
        raise ValueError(f"Item id must be a str or int, not {type(item_id).__name__}.")
    text = str(item_id)
    limit = app_settings.ITEM_ID_MAX_LENGTH
    if not text or len(text) > limit:
        raise ValueError(f"Item id must be 1 to {limit} characters long (got {len(text)}).")
    try:
        # Checked now, not when a queued view is sent with the session's save: a lone
        # surrogate would otherwise fail that save, far from the call that caused it.
        text.encode()
    except UnicodeEncodeError:
        raise ValueError("Item id must be valid Unicode text (no lone surrogates).") from None
    return text


def view_commands(session_key: str | None, item_ids: Iterable[str]) -> list[Command]:
    """Commands that record views of ``item_ids`` by ``session_key`` (or by nobody)."""
    items = list(item_ids)
    if not items:
        return []
    commands: list[Command] = []
    if session_key is not None:
        now = time.time()
        pairs: list[Any] = []
        for i, item in enumerate(items):
            # Distinct times keep the order of several views in one request.
            pairs += [now + i * 1e-6, item]
        data_key, viewed_key, _ = keys.session_keys(session_key)
        commands.append(
            scripts.get("session_viewed").command(
                [data_key, viewed_key], [app_settings.VIEWED_LIMIT, *pairs]
            )
        )
    popularity = keys.viewed_items()
    commands.extend(("ZINCRBY", popularity, -1, item) for item in items)
    return commands


def record_view(request: HttpRequest, item_id: object) -> None:
    """Record that this request's visitor viewed ``item_id``.

    Never creates a session: a visitor without one only adds to global popularity.
    """
    item = clean_item_id(item_id)
    store = getattr(request, "session", None)
    queue = getattr(store, "queue_view", None)
    if queue is not None and getattr(request, QUEUE_ATTR, False):
        queue(item)
        return
    session_key = getattr(store, "session_key", None) if store is not None else None
    commands = view_commands(session_key, [item])
    settle(run(get_redis(), commands, raise_errors=False), best_effort=True)
