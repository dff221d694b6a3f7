"""Redis Cluster: the per-slot steps and what a crash between them leaves.

A crash is simulated by sending only the first steps of a script's cluster split
(``redis_sessions.cluster``). Each step is single-slot, so these tests run on both
passes: against the single server and under ``--redis-cluster``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from django.test import override_settings
from redis.cluster import RedisCluster
from redis.crc import key_slot

from redis_sessions import connection, keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.cart import merge
from redis_sessions.cart.scripts import CART_LINE
from redis_sessions.connection import cluster
from redis_sessions.exceptions import ConfigurationError
from redis_sessions.sessions.clearsessions import clear_expired


def crash_after(command: tuple[Any, ...], steps: int) -> None:
    """Send the first ``steps`` steps of ``command``'s cluster split, then stop."""
    split = cluster._split_of(command)
    assert split is not None
    step = next(split)
    for _ in range(steps):
        step = split.send(connection.run(connection.get_redis(), step, raise_errors=False))


def run_split(command: tuple[Any, ...]) -> Any:
    """All of ``command``'s cluster split, step by step: its reply."""
    split = cluster._split_of(command)
    assert split is not None
    step = next(split)
    try:
        while True:
            step = split.send(connection.run(connection.get_redis(), step, raise_errors=False))
    except StopIteration as stop:
        return stop.value


def saved_session(**data: Any) -> SessionStore:
    store = SessionStore()
    store.update(data)
    store.save()
    return store


def test_a_crash_after_a_deletes_first_step_leaves_index_entries_clean_sessions_removes(
    redis: Any,
) -> None:
    store = saved_session(a=1)
    key = store.session_key
    assert key is not None
    crash_after(SessionStore._delete_command(key), 1)
    assert redis.exists(keys.session(key)) == 0
    assert redis.zscore(keys.recent(), key) is not None  # the index entry is left over
    redis.zadd(keys.recent(), {key: 1.0})  # last seen longer ago than SESSION_COOKIE_AGE
    assert clear_expired() == 1
    assert redis.zscore(keys.recent(), key) is None


def test_a_crash_after_a_saves_first_step_leaves_unindexed_data_that_expires_by_ttl(
    redis: Any,
) -> None:
    store = SessionStore()
    key = "k" * 32
    command = store._save_commands(key, {"_auth_user_id": "7"}, "NX", ttl=60, script=True)[0]
    crash_after(command, 1)
    assert 0 < redis.ttl(keys.session(key)) <= 60
    assert redis.zscore(keys.recent(), key) is None
    assert redis.hget(keys.login(), key) is None


def test_a_crash_in_cycle_key_after_the_new_key_is_written_leaves_both_sessions_working(
    redis: Any,
) -> None:
    store = saved_session(a=1)
    old = store.session_key
    assert old is not None
    redis.hset(keys.cart(old), "p1", 2)
    redis.expire(keys.cart(old), 600)
    new = "n" * 32
    crash_after(store._cycle_command(old, new, {"a": 1}), 3)
    assert SessionStore(old).load() == {"a": 1}  # the client still holds the old cookie
    assert SessionStore(new).load() == {"a": 1}
    assert redis.hgetall(keys.cart(new)) == {b"p1": b"2"}
    assert 0 < redis.ttl(keys.cart(new)) <= 600


def test_cycle_key_moves_the_data_cart_and_index_entries_and_leaves_nothing_of_the_old_key(
    redis: Any,
) -> None:
    store = saved_session(a=1)
    old = store.session_key
    assert old is not None
    redis.hset(keys.cart(old), "p1", 2)
    redis.zadd(keys.carts(), {keys.cart(old): 5})
    store.cycle_key()
    store.save()
    new = store.session_key
    assert new != old
    assert redis.exists(keys.session(old), keys.cart(old), keys.viewed(old)) == 0
    assert redis.zscore(keys.recent(), old) is None
    assert redis.zscore(keys.carts(), keys.cart(old)) is None
    assert redis.zscore(keys.carts(), keys.cart(new)) == 5
    assert redis.hgetall(keys.cart(new)) == {b"p1": b"2"}


@pytest.mark.parametrize("steps", [1, 2, 3])
@pytest.mark.parametrize("added_since", [False, True])
def test_a_login_merge_interrupted_between_its_steps_is_finished_once_by_the_next(
    redis: Any, steps: int, added_since: bool
) -> None:
    store = saved_session(a=1)
    anon = keys.cart(store.session_key or "")
    redis.hset(anon, mapping={"p1": 2, "p2": 1})
    redis.hset(keys.user_cart("5"), "p1", 1)
    command = merge._merge_command(store.session_key or "", 5, "add")
    crash_after(command, steps)
    if steps >= 2:  # the user's cart has the units; the anonymous cart still shows them
        assert redis.hgetall(keys.user_cart("5")) == {b"p1": b"3", b"p2": b"1"}
    if steps <= 2:
        assert redis.hgetall(anon) == {b"p1": b"2", b"p2": b"1"}
    if added_since:  # the visitor, still anonymous, adds before logging in again
        redis.hincrby(anon, "p1", 4)
        redis.hset(anon, "p3", 1)
    reply = run_split(command)
    expected = {b"p1": b"7" if added_since else b"3", b"p2": b"1"}
    if added_since:
        expected[b"p3"] = b"1"
    assert redis.hgetall(keys.user_cart("5")) == expected
    # a merge taken up again tells its lines; one finished but for its mark has none
    assert reply[0] == (2 if steps < 3 else 0) + (2 if added_since else 0)
    assert redis.exists(anon, keys.cart_merging(store.session_key or "")) == 0
    marks = list(redis.scan_iter(match=keys.cart_merged("5", "*")))
    if steps < 3:
        assert marks == []
    else:  # the crash came before the mark's own step: it stays until its TTL
        assert len(marks) == 1 and redis.ttl(marks[0]) > 0
    assert redis.zscore(keys.carts(), anon) is None
    assert redis.zscore(keys.carts(), keys.user_cart("5")) is not None


def test_a_crash_between_a_cart_write_and_its_index_is_repaired_by_the_next_write(
    redis: Any,
) -> None:
    store = saved_session(a=1)
    key = store.session_key
    assert key is not None
    cart, data = keys.cart(key), keys.session(key)
    args = ["p1", 1, 99, 100, time.time(), 0, "1", "add"]
    command = CART_LINE.command([cart, keys.carts(), data], args)
    crash_after(command, 1)
    assert redis.hget(cart, "p1") == b"1"
    assert redis.zscore(keys.carts(), cart) is None
    connection.run(connection.get_redis(), [command])
    assert redis.hget(cart, "p1") == b"2"
    assert redis.zscore(keys.carts(), cart) is not None
    assert redis.exists(keys.cluster_scratch(key)) == 0  # the throwaway zset is gone


def test_a_cluster_url_must_name_database_0() -> None:
    user = {"URL": "redis://127.0.0.1:1/3", "CLUSTER": True}
    with override_settings(REDIS_SESSIONS=user), pytest.raises(ConfigurationError):
        connection.get_redis()


def test_a_cluster_url_must_not_be_a_unix_socket() -> None:
    user = {"URL": "unix:///tmp/nothing.sock", "CLUSTER": True}
    with override_settings(REDIS_SESSIONS=user), pytest.raises(ConfigurationError, match="unix"):
        connection.get_redis()

    async def async_client() -> None:
        connection.get_async_redis()

    with override_settings(REDIS_SESSIONS=user), pytest.raises(ConfigurationError, match="unix"):
        asyncio.run(async_client())


def test_on_a_cluster_the_client_is_a_cluster_client_and_a_sessions_keys_share_a_slot(
    redis_cluster: Any, redis: Any
) -> None:
    if redis_cluster is None:
        pytest.skip("runs under --redis-cluster")
    assert isinstance(redis, RedisCluster)
    slots = {key_slot(k.encode()) for k in (*keys.session_keys("abc"), keys.cluster_scratch("abc"))}
    assert len(slots) == 1
