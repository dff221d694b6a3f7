"""The session engine: what Django's contract does not already cover."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

import django
import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.utils import timezone

from redis_sessions import connection, keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.connection import get_redis, run
from redis_sessions.sessions.users import aend_user_sessions, end_user_sessions, user_session_keys


def saved(**data: Any) -> SessionStore:
    store = SessionStore()
    for k, v in data.items():
        store[k] = v
    store.save()
    return store


def test_create_writes_data_ttl_and_indexes(redis: Any) -> None:
    store = saved(a=1)
    key = store.session_key
    assert key is not None and len(key) == 28  # 144.7 bits of VALID_KEY_CHARS
    assert redis.ttl(keys.session(key)) == store.get_expiry_age()
    assert redis.zscore(keys.recent(), key) == pytest.approx(time.time(), abs=5)
    assert not redis.exists(keys.legacy_expires())  # expiry is the data key's TTL alone
    assert redis.hget(keys.login(), key) is None


def test_data_is_stored_serialized_not_signed(redis: Any, settings: Any) -> None:
    store = saved(colour="blue")
    assert redis.get(keys.session(store.session_key)) == b'{"colour":"blue"}'
    settings.SECRET_KEY = "rotated"  # rotating the secret logs nobody out
    assert SessionStore(store.session_key)["colour"] == "blue"


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [(60, 60), (timedelta(minutes=5), 300), (0, 1209600), (None, 1209600)],
)
def test_redis_ttl_equals_expiry_age(redis: Any, expiry: Any, expected: int) -> None:
    store = SessionStore()
    store["x"] = 1
    store.set_expiry(expiry)
    store.save()
    assert abs(store.get_expiry_age() - expected) <= 1
    assert abs(redis.ttl(keys.session(store.session_key)) - expected) <= 1


def test_expiry_datetime_sets_ttl(redis: Any) -> None:
    store = SessionStore()
    store["x"] = 1
    store.set_expiry(timezone.now() + timedelta(hours=1))
    store.save()
    assert 3590 <= redis.ttl(keys.session(store.session_key)) <= 3600


def test_expiry_in_the_past_deletes_the_session_and_its_traces(redis: Any) -> None:
    store = saved(x=1)
    key = store.session_key
    store.set_expiry(-10)
    store.save()
    assert not redis.exists(keys.session(key))
    assert redis.zscore(keys.recent(), key) is None


def test_a_32_character_key_of_an_older_session_stays_valid(redis: Any) -> None:
    old = "abcdefgh12345678abcdefgh12345678"  # what the engine made before issue 19
    run(get_redis(), [SessionStore.import_command(old, {"x": 1}, ttl=600)])
    store = SessionStore(old)
    assert store["x"] == 1
    store["x"] = 2
    store.save()
    assert store.session_key == old and SessionStore(old)["x"] == 2
    store.cycle_key()
    assert store.session_key is not None and len(store.session_key) == 28


def test_unknown_cookie_is_never_adopted(redis: Any) -> None:
    store = SessionStore("abcdefgh12345678abcdefgh12345678")
    store["x"] = 1
    store.save()
    assert store.session_key != "abcdefgh12345678abcdefgh12345678"
    assert not redis.exists(keys.session("abcdefgh12345678abcdefgh12345678"))


@pytest.mark.parametrize(
    "cookie", ["", "short", "A" * 32, "a" * 65, "*" * 32, "{abc}defgh", "abc\x00defgh", "ünïcödé1"]
)
def test_malformed_cookie_builds_no_redis_key(redis: Any, cookie: str) -> None:
    before = redis.dbsize()
    store = SessionStore(cookie)
    assert store.session_key is None
    assert store.load() == {}
    assert store.exists(cookie) is False
    store.delete(cookie)
    assert redis.dbsize() == before


def test_load_refreshes_last_seen_but_never_indexes_unknown_keys(redis: Any) -> None:
    store = saved(x=1)
    key = store.session_key
    redis.zadd(keys.recent(), {key: 1})
    assert SessionStore(key)["x"] == 1
    assert redis.zscore(keys.recent(), key) == pytest.approx(time.time(), abs=5)
    SessionStore("zzzzzzzz12345678").load()
    assert redis.zscore(keys.recent(), "zzzzzzzz12345678") is None


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_cookie_whose_data_redis_expired_takes_its_traces_with_it(redis: Any, mode: str) -> None:
    # The index entries of an expired session would otherwise stay until
    # SESSION_COOKIE_AGE after the last request that presented its cookie.
    gone = saved(_auth_user_id="5")
    alive = saved(_auth_user_id="5")
    key = gone.session_key
    assert key is not None
    redis.zadd(keys.viewed(key), {"i": 1})
    redis.delete(keys.session(key))  # its TTL ran out
    store = SessionStore(key)
    data = store.load() if mode == "sync" else asyncio.run(store.aload())
    connection.reset()
    assert data == {} and store.session_key is None
    assert redis.zscore(keys.recent(), key) is None
    assert redis.hget(keys.login(), key) is None
    assert not redis.exists(keys.viewed(key))
    assert user_session_keys(5) == [alive.session_key]


@pytest.mark.single_server("single-server round-trip budget")
def test_a_dead_cookie_costs_one_round_trip_more_and_a_made_up_one_none() -> None:
    gone = saved(a=1)
    key = gone.session_key
    assert key is not None
    get_redis().delete(keys.session(key))  # its TTL ran out
    before = connection.round_trips()
    SessionStore(key).load()
    assert connection.round_trips() - before == 2  # the load, then the eviction
    before = connection.round_trips()
    SessionStore(key).load()  # its traces are gone now: the load alone
    SessionStore("zzzzzzzz12345678").load()
    assert connection.round_trips() - before == 2


def test_create_raises_create_error_when_key_taken() -> None:
    first = saved(x=1)
    clash = SessionStore()
    clash._session_key = first.session_key
    with pytest.raises(CreateError):
        clash.save(must_create=True)
    assert SessionStore(first.session_key)["x"] == 1


def test_save_after_other_request_flushed_raises_and_resurrects_nothing(redis: Any) -> None:
    store = saved(_auth_user_id="7", x=1)
    key = store.session_key
    SessionStore(key).flush()
    store["x"] = 2
    with pytest.raises(UpdateError):
        store.save()
    assert not redis.exists(keys.session(key))
    assert redis.hget(keys.login(), key) is None
    assert redis.zscore(keys.recent(), key) is None
    assert redis.zscore(keys.user_sessions(7), key) is None


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"\xff\xfe", b'"str"'])
def test_corrupt_data_is_an_empty_session_with_a_security_warning(
    redis: Any, raw: bytes, caplog: Any
) -> None:
    store = saved(x=1)
    redis.set(keys.session(store.session_key), raw)
    with caplog.at_level(logging.WARNING, logger="django.security.SuspiciousSession"):
        loaded = SessionStore(store.session_key)
        assert dict(loaded.items()) == {}
    assert "Session data corrupted" in caplog.text
    assert loaded.session_key == store.session_key  # key kept: the next save repairs it


def test_login_index_and_per_user_sessions(redis: Any) -> None:
    a = saved(_auth_user_id="42")
    b = saved(_auth_user_id="42")
    other = saved(_auth_user_id="43")
    assert redis.hget(keys.login(), a.session_key) == b"42"
    assert user_session_keys(42) == sorted([a.session_key, b.session_key])
    assert end_user_sessions(42, except_key=b.session_key) == 1
    assert not a.exists(a.session_key)
    assert b.exists(b.session_key)
    assert user_session_keys(42) == [b.session_key]
    assert other.exists(other.session_key)


def test_changing_the_user_moves_the_session_between_user_indexes(redis: Any) -> None:
    store = saved(_auth_user_id="1")
    store["_auth_user_id"] = "2"
    store.save()
    assert user_session_keys(1) == []
    assert user_session_keys(2) == [store.session_key]
    del store["_auth_user_id"]
    store.save()
    assert user_session_keys(2) == []
    assert redis.hget(keys.login(), store.session_key) is None


def test_flush_removes_every_trace(redis: Any) -> None:
    store = saved(_auth_user_id="5")
    key = store.session_key
    redis.zadd(keys.viewed(key), {"item": 1})
    redis.hset(keys.cart(key), "item", 2)
    store.flush()
    assert store.session_key is None
    leftovers = [k for k in redis.scan_iter(match=keys.scan_pattern()) if key.encode() in k]
    assert leftovers == []
    assert redis.hget(keys.login(), key) is None
    assert redis.zscore(keys.recent(), key) is None


def test_cycle_key_moves_data_viewed_items_cart_and_indexes(redis: Any) -> None:
    store = saved(_auth_user_id="9", x=1)
    old = store.session_key
    redis.zadd(keys.viewed(old), {"book": 1})
    redis.hset(keys.cart(old), "book", 3)
    redis.zadd(keys.carts(), {keys.cart(old): 5})
    store.cycle_key()
    assert redis.exists(keys.session(old)) == 1  # nothing moves before the save...
    assert not store.exists(old)  # ...but for this store the old key is gone
    store.save()
    new = store.session_key
    assert new != old
    assert SessionStore(new)["x"] == 1
    assert redis.zrange(keys.viewed(new), 0, -1) == [b"book"]
    assert redis.hgetall(keys.cart(new)) == {b"book": b"3"}
    assert redis.zscore(keys.carts(), keys.cart(new)) == 5
    assert redis.hget(keys.login(), new) == b"9"
    assert user_session_keys(9) == [new]
    old_traces = [k for k in redis.scan_iter(match=keys.scan_pattern()) if old.encode() in k]
    assert old_traces == []
    assert redis.zscore(keys.recent(), old) is None
    assert redis.hget(keys.login(), old) is None
    assert redis.zscore(keys.carts(), keys.cart(old)) is None


def test_flush_after_cycle_key_deletes_the_session_redis_still_holds(redis: Any) -> None:
    store = saved(x=1)
    old = store.session_key
    redis.hset(keys.cart(old), "book", 3)
    store.cycle_key()
    store.flush()
    assert store.session_key is None
    assert redis.exists(keys.session(old), keys.cart(old)) == 0
    assert redis.zscore(keys.recent(), old) is None


def test_a_request_that_cycles_the_key_but_is_not_saved_leaves_the_old_session(
    redis: Any,
) -> None:
    store = saved(x=1)
    old = store.session_key
    store.cycle_key()  # a login whose response was a 500: the middleware does not save
    assert SessionStore(old)["x"] == 1
    assert redis.exists(keys.session(store.session_key)) == 0


@pytest.mark.django_db
def test_user_deleted_or_deactivated_ends_their_sessions(django_user_model: Any) -> None:
    from django.test import TestCase

    user = django_user_model.objects.create_user("u1", password="pw")
    other = django_user_model.objects.create_user("u2", password="pw")
    s1 = saved(_auth_user_id=str(user.pk))
    s2 = saved(_auth_user_id=str(other.pk))
    with TestCase.captureOnCommitCallbacks(execute=True):
        user.is_active = False
        user.save()
    assert not s1.exists(s1.session_key)
    with TestCase.captureOnCommitCallbacks(execute=True):
        other.delete()
    assert not s2.exists(s2.session_key)


def test_clear_expired_forgets_sessions_redis_expired(redis: Any) -> None:
    alive = saved(_auth_user_id="3")
    gone = saved(_auth_user_id="3")
    redis.zadd(keys.viewed(gone.session_key), {"i": 1})
    redis.delete(keys.session(gone.session_key))  # as if its TTL ran out
    # ... and was last seen more than SESSION_COOKIE_AGE ago
    redis.zadd(keys.recent(), {gone.session_key: time.time() - 2 * settings.SESSION_COOKIE_AGE})
    SessionStore.clear_expired()
    assert redis.zscore(keys.recent(), gone.session_key) is None
    assert redis.hget(keys.login(), gone.session_key) is None
    assert not redis.exists(keys.viewed(gone.session_key))
    assert user_session_keys(3) == [alive.session_key]


needs_async_sessions = pytest.mark.skipif(
    django.VERSION < (5, 1), reason="Django's async session API arrived in 5.1"
)


@needs_async_sessions
def test_async_api_matches_sync(redis: Any) -> None:
    asyncio.run(_async_api(redis))


async def _async_api(redis: Any) -> None:
    store = SessionStore()
    await store.aset("a", 1)
    await store.asave()
    key = store.session_key
    assert await store.aexists(key)
    again = SessionStore(key)
    assert await again.aget("a") == 1
    await again.acycle_key()
    assert not await again.aexists(key)
    await again.asave()
    assert not await SessionStore(key).aexists(key)
    assert await SessionStore(again.session_key).aget("a") == 1
    await again.aflush()
    assert again.session_key is None
    assert redis.zcard(keys.recent()) == 0


@needs_async_sessions
def test_async_views_read_and_write_the_session_through_asgi() -> None:
    from django.test import AsyncClient

    async def scenario() -> list[Any]:
        client = AsyncClient()
        await client.get("/async/write/")
        await client.get("/async/write/")
        response = await client.get("/async/read/")
        return [response.status_code, response.json(), client.cookies["sessionid"].value]

    status, body, cookie = asyncio.run(scenario())
    assert status == 200 and body == {"n": 2}
    assert SessionStore(cookie)["n"] == 2


@pytest.mark.django_db
def test_logging_in_again_after_a_flush_indexes_the_new_session(
    django_user_model: Any, rf: Any
) -> None:
    """Django's login() flushes a session whose user hash no longer matches, then saves a
    new key for the same user: that key must be in login: and the user's set."""
    from django.contrib.auth import login

    user = django_user_model.objects.create_user("again", password="pw")
    request = rf.get("/")
    request.session = SessionStore()
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session.save()
    first = request.session.session_key
    request = rf.get("/")
    request.session = SessionStore(first)
    request.session["_auth_user_hash"] = "stale"  # e.g. the password changed elsewhere
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session.save()
    second = request.session.session_key
    assert second != first
    assert user_session_keys(user) == [second]
    assert end_user_sessions(user) == 1


# Each path a save can take, after another request deleted the session: the plain save
# (SET XX), the login and the logout (session_save.lua), sync and async. None may bring
# the session back; each must raise UpdateError.
CHANGES = {
    "plain": ({"_auth_user_id": "7"}, {"_auth_user_id": "7", "x": 2}),
    "login": ({"x": 1}, {"x": 1, "_auth_user_id": "8"}),
    "logout": ({"_auth_user_id": "7"}, {"x": 3}),
    "other user": ({"_auth_user_id": "7"}, {"_auth_user_id": "9"}),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_save_never_resurrects_a_session_deleted_meanwhile(
    redis: Any, change: str, mode: str
) -> None:
    before, after = CHANGES[change]
    store = saved(**before)
    key = store.session_key
    assert key is not None
    SessionStore(key).delete()
    for name in list(store.keys()):
        del store[name]
    store.update(after)
    with pytest.raises(UpdateError):
        if mode == "sync":
            store.save()
        else:
            asyncio.run(store.asave())
    assert not redis.exists(keys.session(key))
    assert redis.zscore(keys.recent(), key) is None
    assert redis.hget(keys.login(), key) is None
    for uid in ("7", "8", "9"):
        assert redis.zscore(keys.user_sessions(uid), key) is None


def as_old_set(redis: Any, uid: str) -> None:
    """Write ``user-sessions:{uid}`` as the set that code before issue 19 kept."""
    key = keys.user_sessions(uid)
    if redis.type(key) == b"zset":
        members = redis.zrange(key, 0, -1)
        redis.delete(key)
        redis.sadd(key, *members)


def test_a_set_of_user_sessions_written_by_earlier_code_keeps_working(redis: Any) -> None:
    a, b, c = saved(_auth_user_id="5"), saved(_auth_user_id="5"), saved(_auth_user_id="5")
    key = keys.user_sessions(5)
    as_old_set(redis, "5")
    assert user_session_keys(5) == sorted([a.session_key, b.session_key, c.session_key])
    c.flush()  # the delete script removes it from the set
    assert redis.type(key) == b"set" and redis.scard(key) == 2
    b.cycle_key()
    b.save()  # moves the session: the new key goes in, as a zset
    assert redis.type(key) == b"zset"
    assert user_session_keys(5) == sorted([a.session_key, b.session_key])
    as_old_set(redis, "5")
    d = saved(_auth_user_id="5")  # a login adds to it: a zset of all three
    assert redis.type(key) == b"zset"
    assert redis.zscore(key, d.session_key) == int(redis.zscore(key, d.session_key))
    assert user_session_keys(5) == sorted([a.session_key, b.session_key, d.session_key])
    as_old_set(redis, "5")
    assert asyncio.run(aend_user_sessions(5, except_key=d.session_key)) == 2
    connection.reset()
    assert user_session_keys(5) == [d.session_key]
    as_old_set(redis, "5")
    redis.delete(keys.session(d.session_key))  # its TTL ran out, long ago
    redis.zadd(keys.recent(), {d.session_key: 1.0})
    assert SessionStore.clear_expired() is None and not redis.exists(key)
