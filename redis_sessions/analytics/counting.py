"""``record_view``: the book's view tracking (``update_token`` with an item).

Per session: ``viewed:{KEY}``, the newest ``VIEWED_LIMIT`` items viewed. Globally:
``ZINCRBY viewed: -1 item``, the popularity table (lower score = more popular), and
for ``analytics``: the item's views that UTC day (``views:{DAY}``) and its distinct
visitors that day (a HyperLogLog, ``visitors:{DAY}:{ITEM}``), both kept
``DAILY_VIEWS_DAYS``. A visitor is its session key or, without a session, a keyed
hash of day, client IP and user agent (``visitor_id``): never the raw address.

Round trips: during a request (``RedisSessionsMiddleware`` installed) a view is queued
on the session store and rides along with the session's next round trip (its load or
its save); whatever is still queued when the response leaves goes in one pipeline.
Outside a request it costs exactly one round trip. ``arecord_view`` is its twin for
async views (the asyncio client, no thread).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from redis_sessions import keys
from redis_sessions.analytics.scripts import SESSION_VIEWED
from redis_sessions.conf import app_settings
from redis_sessions.connection import arun, get_async_redis, get_redis, run
from redis_sessions.connection.integrity import settle
from redis_sessions.connection.scripts import Command

#: Set on the request by RedisSessionsMiddleware: views may be queued.
QUEUE_ATTR = "_redis_sessions_queue_views"
#: Set on the request by the page cache: item ids whose view it already counted.
COUNTED_ATTR = "_redis_sessions_counted_views"
DAY = 86400


def today(now: float | None = None) -> str:
    """The UTC day of ``now`` as ``YYYYMMDD`` (the day part of analytics keys)."""
    return time.strftime("%Y%m%d", time.gmtime(time.time() if now is None else now))


def analytics_ttl() -> int:
    """Seconds a day's analytics keys live: ``DAILY_VIEWS_DAYS`` whole days after it."""
    return (app_settings.DAILY_VIEWS_DAYS + 1) * DAY


def visitor_id(request: HttpRequest, day: str | None = None) -> str:
    """A cookieless visitor's id: a keyed hash of the day, client IP and user agent.

    Keyed with ``SECRET_KEY`` (so it cannot be reversed by trying addresses) and
    salted with the day (so one visitor cannot be followed from day to day).
    """
    meta = request.META
    text = f"{day or today()}\n{meta.get('REMOTE_ADDR', '')}\n{meta.get('HTTP_USER_AGENT', '')}"
    # The salt keeps its first name: changing it would change every visitor id.
    return salted_hmac("redis_sessions.tracking.visitor", text).hexdigest()[:32]


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


def view_commands(
    session_key: str | None, item_ids: Iterable[str], visitor: str | None = None
) -> list[Command]:
    """Commands that record views of ``item_ids`` by ``session_key`` (or by nobody).

    ``visitor`` is who counts as a distinct visitor; it defaults to the session key,
    and with neither the views count but no visitor does. The commands are plain (no
    MULTI): each counter stands alone, and a lost reply loses analytics, not data.
    """
    items = list(item_ids)
    if not items:
        return []
    commands: list[Command] = []
    now = time.time()
    if session_key is not None:
        pairs: list[Any] = []
        for i, item in enumerate(items):
            # Distinct times keep the order of several views in one request.
            pairs += [now + i * 1e-6, item]
        data_key, viewed_key, _ = keys.session_keys(session_key)
        commands.append(
            SESSION_VIEWED.command([data_key, viewed_key], [app_settings.VIEWED_LIMIT, *pairs])
        )
    viewed = keys.viewed_items()
    commands.extend(("ZINCRBY", viewed, -1, item) for item in items)
    day, ttl = today(now), analytics_ttl()
    daily = keys.daily_views(day)
    commands.extend(("ZINCRBY", daily, 1, item) for item in items)
    commands.append(("EXPIRE", daily, ttl))
    visitor = visitor or session_key
    if visitor:
        for item in dict.fromkeys(items):
            hll = keys.item_visitors(item, day)
            commands += [("PFADD", hll, visitor), ("EXPIRE", hll, ttl)]
    return commands


def mark_counted(request: HttpRequest, item: str) -> None:
    """This request's view of ``item`` is counted already (by the page cache): the
    view's own ``record_view`` of it counts nothing, once."""
    counted: set[str] = request.__dict__.setdefault(COUNTED_ATTR, set())
    counted.add(item)


def is_counted(request: HttpRequest, item: str) -> bool:
    return item in request.__dict__.get(COUNTED_ATTR, ())


def record_view(request: HttpRequest, item_id: object) -> None:
    """Record that this request's visitor viewed ``item_id``.

    Never creates a session: a visitor without one only adds to global popularity.
    """
    commands = _view(request, item_id)
    if commands:
        settle(run(get_redis(), commands, raise_errors=False), best_effort=True)


async def arecord_view(request: HttpRequest, item_id: object) -> None:
    """``record_view`` for async views: queued the same way, or one round trip on the
    asyncio client."""
    commands = _view(request, item_id)
    if commands:
        settle(await arun(get_async_redis(), commands, raise_errors=False), best_effort=True)


def _view(request: HttpRequest, item_id: object) -> list[Command]:
    """What ``record_view`` sends now: nothing when the view is counted already or
    queued on the session store (it rides on the session's round trip)."""
    item = clean_item_id(item_id)
    counted = getattr(request, COUNTED_ATTR, None)
    if counted and item in counted:
        counted.discard(item)  # the page cache counted this view already
        return []
    store = getattr(request, "session", None)
    # Computed now (the request is at hand), used only if no session key exists at
    # flush time.
    visitor = visitor_id(request)
    queue = getattr(store, "queue_view", None)
    if queue is not None and getattr(request, QUEUE_ATTR, False):
        queue(item, visitor)
        return []
    session_key = getattr(store, "session_key", None) if store is not None else None
    return view_commands(session_key, [item], session_key or visitor)
