from __future__ import annotations

from io import StringIO
from typing import Any

from django.contrib.sessions.backends.cache import SessionStore as CacheSession
from django.core.management import call_command

from redis_sessions import keys
from redis_sessions.backends.redis import SessionStore


def old_session(**data: Any) -> str:
    store = CacheSession()
    store.update(data)
    store.save()
    assert store.session_key
    return store.session_key


def test_live_cache_sessions_move_with_their_keys_and_lifetimes(redis: Any) -> None:
    a = old_session(_auth_user_id="4", colour="red")
    b = old_session(colour="blue")
    out = StringIO()
    call_command("migrate_sessions", stdout=out)
    assert "2 sessions seen, copied 2, skipped 0" in out.getvalue()
    assert SessionStore(a)["colour"] == "red"
    assert SessionStore(b)["colour"] == "blue"
    assert redis.hget(keys.login(), a) == b"4"
    assert 1209000 < redis.ttl(keys.session(a)) <= 1209600


def test_existing_sessions_are_left_alone_and_dry_run_copies_nothing(redis: Any) -> None:
    key = old_session(colour="red")
    out = StringIO()
    call_command("migrate_sessions", "--dry-run", stdout=out)
    assert "would copy 1" in out.getvalue()
    assert not redis.exists(keys.session(key))
    call_command("migrate_sessions", stdout=StringIO())
    mine = SessionStore(key)
    mine["colour"] = "green"
    mine.save()
    out = StringIO()
    call_command("migrate_sessions", stdout=out)
    assert "copied 0, skipped 1" in out.getvalue()
    assert SessionStore(key)["colour"] == "green"
