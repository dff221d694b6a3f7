"""What a clean key space looks like: every key accounted for by a live session."""

from __future__ import annotations

from typing import Any

from redis_sessions import keys


def key_space(redis: Any) -> set[bytes]:
    """Every key of the test's prefix but the loop's and the demo's own."""
    other = {keys.loop_lock("clean_sessions"), keys.heartbeat("clean_sessions")}
    other.add(keys.abandoned_carts())
    found = set(redis.scan_iter(match=keys.scan_pattern(), count=1000))
    return found - {k.encode() for k in other}


def expected_key_space(redis: Any) -> set[bytes]:
    """The keys that exactly the sessions in ``recent:`` account for (populate layout)."""
    live = [k.decode() for k in redis.zrange(keys.recent(), 0, -1)]
    logins = {k.decode(): v.decode() for k, v in redis.hgetall(keys.login()).items()}
    expected = {keys.session(k) for k in live} | {keys.viewed(k) for k in live}
    expected |= {keys.cart(k) for k in live} | {keys.user_sessions(u) for u in logins.values()}
    if live:
        expected |= {keys.recent(), keys.carts()}
    if logins:
        expected.add(keys.login())
    return {k.encode() for k in expected}


def assert_consistent(redis: Any) -> None:
    """No orphan key, no index entry without its session, no session missing from one."""
    assert key_space(redis) == expected_key_space(redis)
    live = set(redis.zrange(keys.recent(), 0, -1))
    logins = redis.hgetall(keys.login())
    assert set(logins) <= live
    for session, uid in logins.items():
        assert redis.zscore(keys.user_sessions(uid.decode()), session) is not None
    members = set()
    for uid in set(logins.values()):
        members |= set(redis.zrange(keys.user_sessions(uid.decode()), 0, -1))
    assert members == set(logins)
    assert {m.decode() for m in redis.zrange(keys.carts(), 0, -1)} == {
        keys.cart(k.decode()) for k in live
    }
