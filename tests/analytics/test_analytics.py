"""Analytics: reads, per-day counts, HyperLogLog visitors, rescale_viewed."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory

from redis_sessions import connection, keys
from redis_sessions.analytics import (
    item_rank,
    rescale_viewed,
    top_items,
    unique_visitors,
    views_per_day,
)
from redis_sessions.analytics.counting import record_view, today, view_commands, visitor_id
from redis_sessions.connection import get_redis, run
from redis_sessions.loops import read_heartbeat


def test_top_items_and_rank_follow_the_view_counts() -> None:
    for item, views in (("a", 3), ("b", 5), ("c", 1)):
        for _ in range(views):
            run(get_redis(), view_commands(None, [item]))
    assert top_items(2) == [("b", 5.0), ("a", 3.0)]
    assert (item_rank("b"), item_rank("c"), item_rank("never")) == (1, 3, None)


def test_views_per_day_counts_today_and_zero_for_days_without_views() -> None:
    run(get_redis(), view_commands(None, ["a", "a", "b"]))
    days = views_per_day("a", days=3)
    assert [count for _, count in days] == [0, 0, 2]
    assert days[-1][0] == today()


def test_daily_keys_expire_after_the_kept_days(redis: Any) -> None:
    run(get_redis(), view_commands("s" * 32, ["a"]))
    limit = 31 * 86400
    assert 0 < redis.ttl(keys.daily_views(today())) <= limit
    assert 0 < redis.ttl(keys.item_visitors("a", today())) <= limit


def test_unique_visitors_within_two_percent_for_ten_thousand_visitors() -> None:
    commands = []
    for i in range(10_000):
        commands += view_commands(None, ["hot"], visitor=f"visitor-{i}")
    for start in range(0, len(commands), 5000):
        run(get_redis(), commands[start : start + 5000])
    assert abs(unique_visitors("hot") - 10_000) <= 200
    assert unique_visitors("hot", datetime.date(2000, 1, 1)) == 0


def test_a_cookieless_visitor_is_a_keyed_hash_of_address_and_agent_never_the_address(
    redis: Any,
) -> None:
    factory = RequestFactory()
    one = factory.get("/", REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="Firefox")
    same = factory.get("/", REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="Firefox")
    other = factory.get("/", REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="Chrome")
    assert visitor_id(one) == visitor_id(same) != visitor_id(other)
    assert "10.1.2.3" not in visitor_id(one)
    assert visitor_id(one, "20260101") != visitor_id(one, "20260102")
    for request in (one, same, other):
        record_view(request, "a")
    # two visitors in the HyperLogLog (address and agent); the window counted one view
    # (the address alone), to which unique_visitors is clamped
    assert redis.pfcount(keys.item_visitors("a", today())) == 2
    assert (views_per_day("a", days=1)[0][1], unique_visitors("a")) == (1, 1)
    for key in redis.scan_iter(match=keys.scan_pattern()):
        assert b"10.1.2.3" not in key
        if redis.type(key) == b"string":
            assert b"10.1.2.3" not in redis.get(key)


@pytest.mark.single_server("single-server round-trip budget")
def test_views_during_a_request_ride_on_the_session_round_trip_with_their_visitor(
    redis: Any,
) -> None:
    client = Client()
    client.get("/write/")
    before = connection.round_trips()
    client.get("/view/a/")  # reads the session: the view rides on the load
    assert connection.round_trips() - before == 1
    assert unique_visitors("a") == 1
    Client().get("/view-anon/a/", REMOTE_ADDR="10.9.9.9")  # no session: its own trip
    assert unique_visitors("a") == 2


def test_rescale_trims_to_the_top_items_and_halves_the_scores(redis: Any) -> None:
    redis.zadd(keys.viewed_items(), {f"i{n}": -n for n in range(1, 11)})
    assert rescale_viewed(max_items=4) == {"removed": 6, "kept": 4}
    assert top_items(10) == [("i10", 5.0), ("i9", 4.5), ("i8", 4.0), ("i7", 3.5)]


@pytest.mark.single_server("single-server round-trip budget")
def test_each_popularity_read_and_a_rescale_pass_is_one_round_trip(redis: Any) -> None:
    redis.zadd(keys.viewed_items(), {f"i{n}": -n for n in range(1, 11)})
    for call in (lambda: top_items(5), lambda: item_rank("i3"), lambda: rescale_viewed(4)):
        before = connection.round_trips()
        call()
        assert connection.round_trips() - before == 1


def test_rescale_viewed_command_runs_one_pass_with_a_heartbeat(redis: Any, settings: Any) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "VIEWED_MAX_ITEMS": 2}
    redis.zadd(keys.viewed_items(), {"a": -4, "b": -2, "c": -1})
    out = StringIO()
    call_command("rescale_viewed", "--once", stdout=out)
    assert "kept 2, removed 1" in out.getvalue()
    assert redis.zrange(keys.viewed_items(), 0, -1, withscores=True) == [(b"a", -2), (b"b", -1)]
    beat = read_heartbeat("rescale_viewed")
    assert beat is not None and beat["summary"] == {"removed": 1, "kept": 2}


@pytest.mark.parametrize("bad", ["", "x" * 201])
def test_analytics_reject_malformed_item_ids(bad: str) -> None:
    with pytest.raises(ValueError):
        unique_visitors(bad)


def test_visitor_and_client_ids_are_djangos_salted_hmac_and_follow_the_secret_key(
    settings: Any,
) -> None:
    from django.utils.crypto import salted_hmac

    from redis_sessions.analytics.counting import client_id

    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="ua")
    text = "20260101\n10.1.2.3"
    assert (
        client_id(request, "20260101")
        == (salted_hmac("redis_sessions.analytics.client", text).hexdigest()[:32])
    )
    assert (
        visitor_id(request, "20260101")
        == (salted_hmac("redis_sessions.tracking.visitor", text + "\nua").hexdigest()[:32])
    )
    before = visitor_id(request, "20260101")
    settings.SECRET_KEY = "another secret key, for this test only"
    assert visitor_id(request, "20260101") != before
