"""Sessions pages: cursor pagination on scores, and its cost in round trips."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from redis_sessions import connection, keys
from redis_sessions.connection.replies import scored_pairs
from redis_sessions.inspection.paging import Cursor, in_memory_page, next_cursor, page_command
from redis_sessions.inspection.sessions import session_page, user_session_page
from tests.support.inspection import ADMIN, session, staff

pytestmark = pytest.mark.django_db


def fill(redis: Any, scores: list[float]) -> list[str]:
    """Sessions with these last-seen scores, written in the engine's key layout."""
    made = [f"s{i:08d}abcdefgh" for i in range(len(scores))]
    pipe = redis.pipeline(transaction=False)
    for key, score in zip(made, scores, strict=True):
        pipe.set(keys.session(key), "{}", ex=3600)
        pipe.zadd(keys.recent(), {key: score})
    pipe.execute()
    return made


def walk(**kwargs: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = session_page(cursor, **kwargs)
        seen += [row.key for row in page.rows]
        if page.next is None:
            return seen
        cursor = page.next


def test_pages_go_newest_first_and_show_every_session_once(redis: Any) -> None:
    now = time.time()
    made = fill(redis, [now - i for i in range(125)])
    assert walk() == made  # made[0] is the newest


def test_sessions_with_equal_last_seen_times_are_neither_lost_nor_repeated(
    redis: Any,
) -> None:
    made = fill(redis, [1000.0] * 70 + [999.0] * 3 + [1000.5] * 60)
    seen = walk(n=50)
    assert sorted(seen) == sorted(made) and len(seen) == len(made)


def test_a_session_touched_while_paging_moves_to_the_top_and_shifts_nothing(
    redis: Any,
) -> None:
    now = time.time()
    made = fill(redis, [now - i for i in range(100)])
    first = session_page()
    redis.zadd(keys.recent(), {made[70]: now + 10})  # seen again
    second = session_page(first.next)
    assert [r.key for r in second.rows] == [k for k in made[50:] if k != made[70]]


def test_the_oldest_page_holds_the_oldest_sessions_oldest_last(redis: Any) -> None:
    now = time.time()
    made = fill(redis, [now - i for i in range(120)])
    page = session_page(oldest=True)
    assert [r.key for r in page.rows] == made[70:]
    assert page.next is None and page.total == 120


def test_a_users_sessions_page_like_the_global_one(redis: Any) -> None:
    alice = staff("alice")
    mine = [session(alice) for _ in range(3)]
    for i, key in enumerate(mine):
        redis.zadd(keys.recent(), {key: 1000.0 + i})
    first = user_session_page(str(alice.pk), n=2)
    assert [r.key for r in first.rows] == [mine[2], mine[1]] and first.total == 3
    assert [r.key for r in user_session_page(str(alice.pk), first.next, n=2).rows] == [mine[0]]


@settings(max_examples=40, deadline=None)
@given(scores=st.lists(st.sampled_from([1.0, 2.0, 2.5, 3.0]), max_size=30))
def test_the_in_memory_page_equals_what_redis_returns_for_the_same_cursor(
    scores: list[float],
) -> None:
    redis = connection.get_redis()
    zset = keys.recent()
    redis.delete(zset)
    scored = [(f"m{i:03d}", s) for i, s in enumerate(scores)]
    if scored:
        redis.zadd(zset, dict(scored))
    cursor = None
    while True:
        fetched = scored_pairs(connection.run(redis, [page_command(zset, cursor, 4)])[0])
        assert fetched == in_memory_page(scored, cursor, 4)
        cursor = next_cursor(fetched, cursor, 4)
        if cursor is None:
            break


def test_a_malformed_cursor_means_the_first_page() -> None:
    for text in ("", "x", "1_-2", "nan_0", "1_y"):
        assert Cursor.decode(text) is None
    assert Cursor.decode(Cursor(12.5, 3).encode()) == Cursor(12.5, 3)


def trips_of(client: Client, url: str) -> int:
    start = connection.round_trips()
    response = client.get(url)
    assert response.status_code == 200
    return connection.round_trips() - start


@pytest.mark.single_server("single-server round-trip budget")
def test_first_and_last_page_of_10000_sessions_cost_the_same_few_round_trips(
    redis: Any, admin_client: Client
) -> None:
    admin_client.get(ADMIN + "sessions/")  # the admin's own session now exists
    fill(redis, [time.time() - 1 - i for i in range(10_000)])
    cursor, pages = session_page().next, 1
    while (after := session_page(cursor).next) is not None:  # to the last page
        cursor, pages = after, pages + 1
    assert cursor is not None and pages + 1 == 201  # 10,001 sessions, 50 a page
    last_url = f"{ADMIN}sessions/?after={cursor.encode()}"

    first = trips_of(admin_client, ADMIN + "sessions/")
    last = trips_of(admin_client, last_url)
    oldest = trips_of(admin_client, ADMIN + "sessions/?oldest=1")
    # 1 for the admin's own session load, 2 for the page: no scan, whatever the page.
    assert first == last == oldest == 3
    body = admin_client.get(last_url).content.decode()
    assert body.count('class="rs-session"') == 1 and "Older" not in body
