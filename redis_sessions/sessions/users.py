"""Sessions per user: list them, end them; ended automatically when a user is
deleted or deactivated (after the transaction commits)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from redis_sessions import keys
from redis_sessions.connection import arun, get_async_redis, get_redis, run
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.sessions.store import SessionStore

logger = logging.getLogger("redis_sessions")


def _user_id(user: Any) -> str:
    return str(getattr(user, "pk", user))


def user_session_keys(user: Any) -> list[str]:
    """Session keys of ``user`` (a user or a user id); one round trip."""
    members = run(get_redis(), [("SMEMBERS", keys.user_sessions(_user_id(user)))])[0]
    return sorted(m.decode() for m in members)


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
    members = (await arun(client, [("SMEMBERS", keys.user_sessions(_user_id(user)))]))[0]
    commands = _end_commands(sorted(m.decode() for m in members), except_key)
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
