"""Page views and what is popular: ``record_view`` (the book's ``update_token`` side),
the reports (top items, rank, visitors, views per day) and ``rescale_viewed``.

``counting`` records views (riding on the session's or the page cache's round trip),
a visitor's view of an item counted once per ``VIEW_WINDOW``; ``reports`` reads them
and rescales. ``lua/`` holds the scripts, ``splits`` the Cluster split of
``view_count`` (the others are single-slot).
"""

from __future__ import annotations

from redis_sessions.analytics.counting import arecord_view, client_id, record_view, visitor_id
from redis_sessions.analytics.reports import (
    item_rank,
    rescale_viewed,
    top_items,
    unique_visitors,
    unique_visitors_many,
    views_per_day,
)  # fmt: skip

__all__ = [
    "arecord_view", "client_id", "item_rank", "record_view", "rescale_viewed", "top_items",
    "unique_visitors", "unique_visitors_many", "views_per_day", "visitor_id",
]  # fmt: skip
