"""The Top items report never shows more unique visitors than views (issue 14.7): the
HyperLogLog's estimate is clamped to the day's views of the item."""

from __future__ import annotations

from typing import Any

import pytest

from redis_sessions import keys
from redis_sessions.analytics import unique_visitors, unique_visitors_many
from redis_sessions.analytics.counting import today, view_commands
from redis_sessions.connection import get_redis, run


def views_by_distinct_visitors(item: str, n: int) -> None:
    commands = []
    for i in range(1, n + 1):
        commands += view_commands(None, [item], visitor=f"visitor-{i}")
    run(get_redis(), commands)


def test_the_estimate_never_exceeds_the_days_views(redis: Any) -> None:
    # 128 distinct visitors, one view each: the HyperLogLog reads 129
    views_by_distinct_visitors("a", 128)
    assert redis.pfcount(keys.item_visitors("a", today())) == 129
    assert redis.zscore(keys.daily_views(today()), "a") == 128
    assert unique_visitors("a") == 128
    assert unique_visitors_many(["a", "never-viewed"]) == [128, 0]


@pytest.mark.django_db
def test_the_top_items_page_shows_no_more_unique_visitors_than_views(redis: Any) -> None:
    from redis_sessions.inspection import top_items

    views_by_distinct_visitors("a", 128)
    (row,) = top_items.top_items(1)
    assert (row.views, row.unique_today) == (128, 128)


@pytest.mark.single_server("single-server round-trip budget")
def test_the_clamp_rides_in_the_same_round_trip() -> None:
    from redis_sessions import connection

    views_by_distinct_visitors("a", 3)
    before = connection.round_trips()
    assert unique_visitors_many(["a", *(f"i{n}" for n in range(99))]) == [3] + [0] * 99
    assert connection.round_trips() - before == 1
