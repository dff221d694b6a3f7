"""clean_sessions' atomic step and passes: what goes, what stays, what is reported."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from django.core.management import call_command

from redis_sessions import connection, keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.sessions.clean import clean_pass
from redis_sessions.sessions.clearsessions import aclear_expired, clear_expired
from redis_sessions.sessions.eviction import evict, pick_expired, pick_over_limit
from redis_sessions.signals import sessions_evicted
from tests.support.populate import populate, session_key, user_id
from tests.support.sessions import assert_consistent, key_space


def test_a_session_touched_after_the_pick_survives_with_its_cart_and_login(redis: Any) -> None:
    populate(10, logged_in_every=1)
    picked = pick_over_limit(limit=6, batch=100)
    assert [k for k, _ in picked] == [session_key(i) for i in range(4)]

    touched = session_key(0)
    assert SessionStore(touched).load() == {"_auth_user_id": user_id(0)}  # a request
    evicted = evict(picked)

    assert evicted.session_keys == [session_key(i) for i in (1, 2, 3)]
    assert evicted.survivors == 1
    assert redis.exists(keys.session(touched), keys.viewed(touched), keys.cart(touched)) == 3
    assert redis.hget(keys.login(), touched) == user_id(0).encode()
    assert redis.zscore(keys.user_sessions(user_id(0)), touched) is not None
    assert redis.zscore(keys.recent(), touched) is not None
    assert redis.zcard(keys.recent()) == 7
    assert_consistent(redis)


def test_eviction_removes_every_trace_of_the_sessions(redis: Any) -> None:
    populate(6)
    evicted = evict(pick_over_limit(limit=0, batch=100))
    assert len(evicted.session_keys) == 6
    assert evicted.keys_deleted == 18  # data, viewed, cart of each
    assert key_space(redis) == set()


def test_a_session_deleted_after_the_pick_is_skipped(redis: Any) -> None:
    populate(3)
    picked = pick_over_limit(limit=0, batch=100)
    SessionStore().delete(session_key(1))
    assert evict(picked).session_keys == [session_key(0), session_key(2)]


def test_limit_keeps_exactly_the_newest_sessions_and_a_second_pass_changes_nothing(
    redis: Any,
) -> None:
    populate(50)
    summary = clean_pass(limit=20, batch_size=7)
    assert summary["removed"] == summary["over_limit"] == 30 and summary["complete"]
    assert [k.decode() for k in redis.zrange(keys.recent(), 0, -1)] == [
        session_key(i) for i in range(30, 50)
    ]
    assert_consistent(redis)
    before = {k: redis.dump(k) for k in key_space(redis)}
    assert clean_pass(limit=20, batch_size=7)["removed"] == 0
    assert {k: redis.dump(k) for k in key_space(redis)} == before


def idle(redis: Any, *session_keys: str) -> None:
    """Last seen longer ago than SESSION_COOKIE_AGE (a year ago)."""
    redis.zadd(keys.recent(), {key: time.time() - 365 * 24 * 3600 for key in session_keys})


def expire_by_ttl(redis: Any, *session_keys: str) -> None:
    """What Redis does when a session's TTL runs out: its data key disappears (by then
    it was last seen at least its expiry age ago)."""
    for key in session_keys:
        redis.delete(keys.session(key))
    idle(redis, *session_keys)


def test_expired_sessions_go_but_a_live_session_stays_however_long_ago_it_was_seen(
    redis: Any,
) -> None:
    populate(5)
    expire_by_ttl(redis, session_key(1), session_key(3))
    idle(redis, session_key(4))  # idle, but its data is still there
    long_lived = SessionStore()
    long_lived["x"] = 1
    long_lived.set_expiry(10 * 365 * 24 * 3600)  # beyond SESSION_COOKIE_AGE
    long_lived.save()
    assert long_lived.session_key is not None
    idle(redis, long_lived.session_key)

    summary = clean_pass(limit=1000)

    assert summary["expired"] == 2 and summary["over_limit"] == 0
    assert summary["survivors"] == 2
    live = {k.decode() for k in redis.zrange(keys.recent(), 0, -1)}
    assert live == {session_key(i) for i in (0, 2, 4)} | {long_lived.session_key}
    assert not redis.exists(keys.viewed(session_key(1)), keys.cart(session_key(3)))


def test_a_pass_walks_past_idle_sessions_still_alive_and_ends(redis: Any) -> None:
    # 20 idle sessions, every other one still alive (a longer set_expiry), picked in
    # batches of 3: the pass steps over the live ones and removes every expired one.
    populate(20)
    idle(redis, *[session_key(i) for i in range(20)])
    expire_by_ttl(redis, *[session_key(i) for i in range(0, 20, 2)])
    summary = clean_pass(limit=1000, batch_size=3)
    assert summary["expired"] == 10 and summary["survivors"] == 10 and summary["complete"]
    assert {k.decode() for k in redis.zrange(keys.recent(), 0, -1)} == {
        session_key(i) for i in range(1, 20, 2)
    }
    assert_consistent(redis)
    # A second pass checks the live ones again (once each) and removes nothing.
    again = clean_pass(limit=1000, batch_size=3)
    assert again["expired"] == 0 and again["survivors"] == 10


def test_an_expired_session_seen_recently_stays_until_cookie_age_after_its_last_request(
    redis: Any,
) -> None:
    # A shorter set_expiry: Redis expired the data, but the session was last seen less
    # than SESSION_COOKIE_AGE ago, so a pass does not look at it yet (docs/sessions.md).
    populate(3)
    redis.delete(keys.session(session_key(1)))
    assert clean_pass(limit=1000)["expired"] == 0
    assert redis.zscore(keys.recent(), session_key(1)) is not None
    idle(redis, session_key(1))  # SESSION_COOKIE_AGE later
    assert clean_pass(limit=1000)["expired"] == 1
    assert_consistent(redis)


def test_a_pass_unlinks_the_expires_zset_of_earlier_releases(redis: Any) -> None:
    populate(2)
    redis.zadd(keys.legacy_expires(), {session_key(0): 1.0, session_key(1): 2.0})
    clean_pass(limit=1000)
    assert not redis.exists(keys.legacy_expires())
    redis.zadd(keys.legacy_expires(), {session_key(0): 1.0})
    clear_expired()
    assert not redis.exists(keys.legacy_expires())


def test_expired_sessions_are_removed_before_the_limit_counts(redis: Any) -> None:
    populate(10)
    expire_by_ttl(redis, session_key(8), session_key(9))
    summary = clean_pass(limit=5, batch_size=3)
    assert summary["expired"] == 2 and summary["over_limit"] == 3
    assert [k.decode() for k in redis.zrange(keys.recent(), 0, -1)] == [
        session_key(i) for i in range(3, 8)
    ]


def test_clearsessions_forgets_expired_sessions(redis: Any) -> None:
    populate(4)
    expire_by_ttl(redis, session_key(0), session_key(2))
    call_command("clearsessions")
    assert pick_expired(100) == []
    assert redis.zcard(keys.recent()) == 2
    assert_consistent(redis)


def test_clear_expired_steps_over_due_sessions_that_are_still_alive(redis: Any) -> None:
    populate(5)
    idle(redis, *[session_key(i) for i in range(5)])
    expire_by_ttl(redis, session_key(4))
    assert clear_expired(batch=2) == 1
    assert redis.zcard(keys.recent()) == 4


def test_aclear_expired_forgets_expired_sessions(redis: Any) -> None:
    populate(3)
    expire_by_ttl(redis, session_key(1))
    assert asyncio.run(aclear_expired()) == 1
    connection.reset()
    assert redis.zscore(keys.recent(), session_key(1)) is None


def test_the_signal_carries_what_was_removed_with_the_carts(
    redis: Any, received: list[dict[str, Any]]
) -> None:
    populate(4, logged_in_every=2)
    redis.delete(keys.cart(session_key(2)))  # an empty cart is no cart
    picked = pick_over_limit(limit=0, batch=100)
    SessionStore(session_key(3)).load()  # survives: must not be reported

    evict(picked)

    assert len(received) == 1
    call = received[0]
    assert call["reason"] == "limit"
    assert call["session_keys"] == [session_key(i) for i in (0, 1, 2)]
    assert call["user_ids"] == {session_key(0): user_id(0), session_key(2): user_id(2)}
    assert call["carts"] == {
        session_key(0): {"item0": 1, "item1": 2},
        session_key(1): {"item7": 1, "item8": 2},
    }


def test_without_a_receiver_the_step_reports_neither_carts_nor_user_ids(
    redis: Any, no_receivers: None
) -> None:
    populate(2)
    evicted = evict(pick_over_limit(limit=0, batch=100))
    assert len(evicted.session_keys) == 2 and evicted.carts == {} and evicted.user_ids == {}


def test_a_failing_receiver_does_not_stop_the_pass(redis: Any, caplog: Any) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    sessions_evicted.connect(broken, weak=False, dispatch_uid="test.broken")
    try:
        populate(6)
        assert clean_pass(limit=0, batch_size=2)["removed"] == 6
    finally:
        sessions_evicted.disconnect(dispatch_uid="test.broken")
    assert "receiver" in caplog.text


def test_the_demo_records_abandoned_carts_in_a_capped_list(redis: Any, monkeypatch: Any) -> None:
    from demo_project.shop import abandoned

    monkeypatch.setattr(abandoned, "KEPT", 3)
    populate(5, logged_in_every=0)
    clean_pass(limit=0)
    entries = abandoned.abandoned_carts()
    assert len(entries) == 3 == redis.llen(keys.abandoned_carts())
    assert entries[0]["items"] == {"item28": 1, "item29": 2}  # session 4, the newest
    assert entries[0]["reason"] == "limit" and entries[0]["user"] is None
    assert all(json.dumps(e).find("sess") < 0 for e in entries)  # no session keys kept


@pytest.mark.single_server("single-server round-trip budget")
def test_a_pass_costs_one_round_trip_per_batch(redis: Any, no_receivers: None) -> None:
    populate(30)
    before = connection.round_trips()
    summary = clean_pass(limit=0, batch_size=10)
    # One pick of idle sessions (the scripts loaded with it), then one round trip per
    # batch: the script takes the oldest itself (the third finds the limit reached).
    assert summary["batches"] == 3
    assert connection.round_trips() - before == 1 + 3
