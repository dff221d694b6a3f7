"""clean_sessions sizes each batch by the time the last one took (sessions/sizing.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from redis_sessions import keys
from redis_sessions.connection import run
from redis_sessions.sessions.clean import clean_pass
from redis_sessions.sessions.clearsessions import clear_expired
from redis_sessions.sessions.eviction import Evicted
from redis_sessions.sessions.sizing import FIRST, LEAST, BatchSizer, timed, untimed
from tests.support.populate import populate, session_key


# -- the rule, given measured durations (no clock involved) -----------------------------
def test_the_first_batch_is_small_and_never_above_the_bound() -> None:
    assert BatchSizer(1000, 0.001).size == FIRST
    assert BatchSizer(20, 0.001).size == 20


def test_a_slow_batch_makes_the_next_one_fit_the_budget_at_once() -> None:
    sizer = BatchSizer(1000, 0.001)
    # 50 sessions in 4 ms: 80 us each, so 12 fit in 1 ms.
    assert sizer.measured(50, 0.004) == 12


def test_a_quick_batch_lets_the_next_one_grow_at_most_twofold_up_to_the_bound() -> None:
    sizer = BatchSizer(1000, 0.001)
    # 50 sessions in 0.1 ms: 500 would fit, but one measure at most doubles the size.
    assert sizer.measured(50, 0.0001) == 100
    assert sizer.measured(100, 0.0002) == 200
    assert sizer.measured(200, 0.0004) == 400
    assert sizer.measured(400, 0.0004) == 800
    assert sizer.measured(800, 0.0004) == 1000  # the bound (CLEAN_BATCH_SIZE)
    assert sizer.measured(1000, 0.0) == 1000  # below the clock's resolution


def test_the_size_settles_where_the_batch_takes_the_budget() -> None:
    sizer = BatchSizer(1000, 0.001)
    for _ in range(10):  # 5 us a session, and 0.1 ms per round trip whatever its size
        sizer.measured(sizer.size, 0.0001 + sizer.size * 5e-6)
    assert sizer.size in range(178, 182)  # 0.1 ms + 180 x 5 us = 1 ms


def test_the_size_never_falls_below_the_least_nor_moves_on_an_empty_batch() -> None:
    sizer = BatchSizer(1000, 0.001)
    assert sizer.measured(50, 1.0) == LEAST
    assert sizer.measured(0, 1.0) == LEAST
    assert BatchSizer(4, 0.001).measured(4, 1.0) == 4  # a bound below LEAST wins


def test_no_budget_means_every_batch_takes_the_bound() -> None:
    sizer = BatchSizer(300, 0)
    assert sizer.size == 300
    assert sizer.measured(300, 1.0) == 300


def test_the_script_time_is_read_from_the_servers_two_time_replies() -> None:
    # raw replies (bytes, as a pipeline in flight reads them) or redis-py's (ints)
    replies = [[b"100", b"999500"], "evicted", (101, 700), 7, [b"a"]]
    reply, seconds, rest = untimed(replies, clocked=True)
    assert reply == "evicted" and rest == [7, [b"a"]]
    assert seconds == pytest.approx(0.0012)
    assert untimed(["evicted", 7], clocked=False) == ("evicted", None, [7])


@pytest.mark.single_server("TIME around a script: one server's clock")
def test_a_timed_command_runs_between_two_times_on_the_server(redis: Any) -> None:
    spin = ("EVAL", "local x = 0 for i = 1, 2000000 do x = x + i end return 1", 0)
    reply, seconds, rest = untimed(run(redis, [*timed(spin, True), ("PING",)]), True)
    assert reply == 1 and rest == [True]
    assert seconds is not None and 0 < seconds < 5


# -- real passes -------------------------------------------------------------------------
def sizes_of_a_pass(batch_time: float, **kwargs: Any) -> list[int]:
    picked: list[int] = []

    def on_batch(evicted: Evicted, elapsed: float) -> None:
        picked.append(evicted.picked)

    clean_pass(batch_size=1000, batch_time=batch_time, on_batch=on_batch, **kwargs)
    return picked


@pytest.mark.usefixtures("no_receivers")
def test_a_pass_with_room_in_its_budget_grows_its_batches_to_the_bound(redis: Any) -> None:
    populate(3000)
    sizes = sizes_of_a_pass(10.0, limit=0)  # a budget no batch here comes near
    # The first batch takes FIRST (nothing measured yet); each later one twice the
    # last, up to the bound.
    assert sizes[:6] == [FIRST, 100, 200, 400, 800, 1000]
    assert sum(sizes) == 3000 and redis.zcard(keys.recent()) == 0


@pytest.mark.usefixtures("no_receivers")
def test_a_pass_whose_batches_overrun_the_budget_shrinks_them_to_the_least(
    redis: Any,
) -> None:
    populate(300)
    sizes = sizes_of_a_pass(1e-9, limit=0)  # every batch overruns a nanosecond
    # The first batch went out alone; every batch after it is cut to LEAST at once.
    assert sizes[0] == FIRST
    assert set(sizes[1:]) == {LEAST}
    assert sum(sizes) == 300 and redis.zcard(keys.recent()) == 0


def expire(redis: Any, count: int) -> None:
    """Sessions 0..count-1: data gone, last seen a year ago (as Redis leaves them)."""
    for i in range(count):
        redis.delete(keys.session(session_key(i)))
    year_ago = time.time() - 365 * 24 * 3600
    redis.zadd(keys.recent(), {session_key(i): year_ago for i in range(count)})


@pytest.mark.usefixtures("no_receivers")
def test_expired_batches_are_sized_by_time_too(redis: Any) -> None:
    populate(200)
    expire(redis, 200)
    sizes = sizes_of_a_pass(1e-9, limit=1000)
    assert sizes[0] == FIRST and set(sizes[1:]) == {LEAST}
    assert sum(sizes) == 200


@pytest.mark.usefixtures("no_receivers")
def test_clearsessions_sizes_its_batches_by_time(redis: Any, settings: Any) -> None:
    populate(100)
    expire(redis, 100)
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CLEAN_BATCH_TIME": 1e-9}
    assert clear_expired() == 100
    assert redis.zcard(keys.recent()) == 0
