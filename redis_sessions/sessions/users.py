"""Sessions per user: list them, end them; ended automatically when a user is
deleted or deactivated (after the transaction commits)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from redis_sessions import keys
from redis_sessions.connection import arun, get_async_redis, get_redis, run
from redis_sessions.connection.integrity import is_wrong_type, settle
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.sessions.store import SessionStore

logger = logging.getLogger("redis_sessions")


def _user_id(user: Any) -> str:
    return str(getattr(user, "pk", user))


def _members_commands(user: Any) -> list[tuple[Any, ...]]:
    # A zset; a set if earlier code wrote it and no session was added since (the
    # session scripts turn it into a zset then). Asking both in one round trip: the
    # one of the wrong type answers WRONGTYPE, a missing key two empty lists.
    key = keys.user_sessions(_user_id(user))
    return [("ZRANGE", key, 0, -1), ("SMEMBERS", key)]


def _members(replies: list[Any]) -> list[str]:
    found = [r for r in replies if not is_wrong_type(r)]
    settle(found)
    return sorted({m.decode() for reply in found for m in reply})


def user_session_keys(user: Any) -> list[str]:
    """Session keys of ``user`` (a user or a user id); one round trip."""
    return _members(run(get_redis(), _members_commands(user), raise_errors=False))


def _end_commands(session_keys: list[str], except_key: str | None) -> list[tuple[Any, ...]]:
    return [SessionStore._delete_command(k) for k in session_keys if k != except_key]


def end_user_sessions(user: Any, except_key: str | None = None) -> int:
    """End every session of ``user`` but ``except_key``; returns how many ended.

    Two round trips: the per-user index, then one atomic delete per session in one
    pipeline (each removes the data, viewed items, anonymous cart and index entries).
    """
    commands = _end_commands(user_session_keys(user), except_key)
    return sum(run(get_redis(), commands)) if commands else 0


async def aend_user_sessions(user: Any, except_key: str | None = None) -> int:
    client = get_async_redis()
    members = _members(await arun(client, _members_commands(user), raise_errors=False))
    commands = _end_commands(members, except_key)
    return sum(await arun(client, commands)) if commands else 0


def _end_later(user_id: str) -> None:
    def end() -> None:
        try:
            ended = end_user_sessions(user_id)
        except RedisUnavailable:
            logger.error("Could not end the sessions of user %s: Redis unavailable", user_id)
        else:
            logger.info("Ended %d session(s) of user %s", ended, user_id)

    transaction.on_commit(end)


def on_user_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    _end_later(str(instance.pk))


def on_user_saved(sender: type, instance: Any, **kwargs: Any) -> None:
    if getattr(instance, "is_active", True) is False:
        _end_later(str(instance.pk))
