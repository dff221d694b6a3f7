"""clean_sessions beyond the limit, one batch on the wire at a time (the default) and
two (``IN_FLIGHT``): sessions that arrive, go or are used mid-pass, a flushed script,
a stop."""

from __future__ import annotations

import time
from typing import Any

import pytest

from redis_sessions import keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.sessions import clean
from redis_sessions.sessions.clean import clean_pass
from redis_sessions.sessions.eviction import Evicted
from tests.support.populate import populate, session_key
from tests.support.sessions import assert_consistent, key_space


@pytest.fixture(autouse=True, params=[1, 2], ids=["one in flight", "two in flight"])
def in_flight(request: Any, monkeypatch: Any) -> int:
    monkeypatch.setattr(clean, "IN_FLIGHT", request.param)
    return int(request.param)


def newest(redis: Any, count: int) -> list[str]:
    return [k.decode() for k in redis.zrange(keys.recent(), 0, -1)[-count:]]


@pytest.mark.usefixtures("no_receivers")
def test_sessions_older_than_the_picks_arriving_mid_pass_are_evicted_once(
    redis: Any,
) -> None:
    populate(60, start=100)
    kept = newest(redis, 5)
    added: list[str] = []

    # Between batches (a pipeline is on the wire), three sessions older than every
    # pick appear: later picks land partly on batches already claimed.
    def on_batch(evicted: Evicted, elapsed: float) -> None:
        if not added:
            added.extend(populate(3, now=time.time() - 3600))

    summary = clean_pass(limit=5, batch_size=10, on_batch=on_batch)

    assert summary["complete"]
    assert summary["removed"] == 60 + 3 - 5
    assert summary["survivors"] == 0  # no session was picked twice
    assert newest(redis, 10) == kept
    assert_consistent(redis)


@pytest.mark.usefixtures("no_receivers")
def test_sessions_deleted_or_used_mid_pass_leave_exactly_the_newest(
    redis: Any,
) -> None:
    populate(60)
    touched: list[str] = []

    def on_batch(evicted: Evicted, elapsed: float) -> None:
        if not touched:
            # Sessions of the batches still ahead: the picks after them shift.
            SessionStore().delete(session_key(32))
            SessionStore(session_key(35)).load()  # a request: now the newest
            touched.append(session_key(35))

    summary = clean_pass(limit=5, batch_size=10, on_batch=on_batch)

    assert summary["complete"]
    assert redis.zcard(keys.recent()) == 5
    assert newest(redis, 1) == touched
    assert newest(redis, 5)[:4] == [session_key(i) for i in range(56, 60)]
    assert summary["removed"] + summary["survivors"] >= 60 - 5 - 1
    assert_consistent(redis)


@pytest.mark.usefixtures("no_receivers")
def test_a_script_flushed_mid_pass_is_loaded_again_and_the_pass_completes(
    redis: Any,
) -> None:
    populate(50)
    flushed: list[bool] = []

    def on_batch(evicted: Evicted, elapsed: float) -> None:
        if not flushed:
            redis.script_flush()
            flushed.append(True)

    try:
        summary = clean_pass(limit=10, batch_size=10, on_batch=on_batch)
    finally:
        # Leave the server's script cache as the suite found it: a later test that
        # pipelines a script with commands after it must not meet NOSCRIPT first.
        from redis_sessions.connection import scripts

        for script in scripts.registered():
            redis.script_load(script.source)

    assert summary["complete"] and summary["removed"] == 40
    assert newest(redis, 20) == [session_key(i) for i in range(40, 50)]
    assert_consistent(redis)


@pytest.mark.usefixtures("no_receivers")
def test_a_stopped_pass_finishes_and_reports_the_batches_in_flight(
    redis: Any,
) -> None:
    populate(60)
    asked: list[bool] = []

    def keep_going() -> bool:
        asked.append(True)
        return len(asked) <= 3  # the expired pass asks nothing: nothing is due

    summary = clean_pass(limit=0, batch_size=10, keep_going=keep_going)

    assert not summary["complete"]
    assert summary["batches"] == 3 and summary["removed"] == 30
    assert redis.zcard(keys.recent()) == 30
    assert_consistent(redis)
    assert len(key_space(redis)) > 0
