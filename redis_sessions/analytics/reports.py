"""Reading the page-view analytics that ``counting.record_view`` writes.

``top_items`` and ``item_rank`` read the book's popularity table ``viewed:`` (score =
minus the views, halved by every ``rescale_viewed`` pass, so recent views weigh
more); ``unique_visitors`` and ``views_per_day`` read the per-day keys. Each call is
one round trip.
"""

from __future__ import annotations

import datetime

from redis_sessions import keys
from redis_sessions.analytics.counting import DAY, clean_item_id, today
from redis_sessions.analytics.scripts import RESCALE_VIEWED
from redis_sessions.conf import app_settings
from redis_sessions.connection import get_redis, run
from redis_sessions.connection.replies import pairs

__all__ = [
    "item_rank", "rescale_viewed", "top_items", "unique_visitors", "unique_visitors_many",
    "views_per_day",
]  # fmt: skip

Day = datetime.date | str | None


def _day(day: Day) -> str:
    if day is None:
        return today()
    if isinstance(day, datetime.date):
        return day.strftime("%Y%m%d")
    return day


def top_items(n: int = 10) -> list[tuple[str, float]]:
    """The ``n`` most viewed items as ``(item_id, views)``, most viewed first.

    ``views`` is the decayed count (halved by each ``rescale_viewed`` pass).
    """
    if n < 1:
        return []
    rows = run(get_redis(), [("ZRANGE", keys.viewed_items(), 0, n - 1, "WITHSCORES")])[0]
    return [(item.decode(), -float(score)) for item, score in pairs(rows)]


def item_rank(item_id: object) -> int | None:
    """Popularity rank of an item: 1 is the most viewed; ``None`` if never viewed."""
    rank = run(get_redis(), [("ZRANK", keys.viewed_items(), clean_item_id(item_id))])[0]
    return None if rank is None else int(rank) + 1


def unique_visitors(item_id: object, day: Day = None) -> int:
    """Distinct visitors of an item on one UTC day (today by default); ~0.81% error,
    and never more than the item's views that day."""
    return unique_visitors_many([item_id], day)[0]


def unique_visitors_many(item_ids: list[object], day: Day = None) -> list[int]:
    """``unique_visitors`` of several items on one day, in ONE round trip (a page of
    top items reads 100 of them). The HyperLogLog's estimate is clamped to the day's
    views of the item (``views:{DAY}``, read in the same round trip): its error may
    exceed the exact count (128 visitors read as 129), never the truth."""
    name = _day(day)
    items = [clean_item_id(i) for i in item_ids]
    commands = [c for i in items for c in (("PFCOUNT", keys.item_visitors(i, name)),
                                           ("ZSCORE", keys.daily_views(name), i))]  # fmt: skip
    replies = run(get_redis(), commands) if commands else []
    return [
        min(int(n), int(float(v or 0))) for n, v in zip(replies[::2], replies[1::2], strict=True)
    ]


def views_per_day(item_id: object, days: int = 7) -> list[tuple[str, int]]:
    """Views of an item on each of the last ``days`` UTC days, oldest first."""
    item = clean_item_id(item_id)
    days = max(1, min(days, app_settings.DAILY_VIEWS_DAYS))
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    names = [today(now - i * DAY) for i in reversed(range(days))]
    replies = run(get_redis(), [("ZSCORE", keys.daily_views(d), item) for d in names])
    return [(d, int(float(r or 0))) for d, r in zip(names, replies, strict=True)]


def rescale_viewed(max_items: int | None = None) -> dict[str, int]:
    """One pass of the book's ``rescale_viewed``: trim ``viewed:`` to the top
    ``max_items`` (``VIEWED_MAX_ITEMS``) and halve all scores, atomically (one Lua
    script, so no view lands between the trim and the halving and is lost).
    """
    limit = app_settings.VIEWED_MAX_ITEMS if max_items is None else max_items
    command = RESCALE_VIEWED.command([keys.viewed_items()], [limit])
    removed, kept = run(get_redis(), [command])[0]
    return {"removed": int(removed), "kept": int(kept)}
