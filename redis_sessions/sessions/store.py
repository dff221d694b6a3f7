"""``SESSION_ENGINE = "redis_sessions.backends.redis"``.

Behaves like Django's own engines (``SessionBase`` contract, sync and async) and adds
the book's token model: every load refreshes the session's last-seen time in
``recent:``; every save keeps ``recent:``, ``login:`` and the per-user index in step
with the data, in the same round trip. The data key's TTL is the session's expiry;
``clean_sessions`` finds the index entries of expired sessions from ``recent:``.

Round trips: a load is one (GET + ZADD XX CH in one pipeline; XX so that a made-up
cookie or a flushed session never enters the index; CH tells a cookie whose data Redis
expired but whose index entries are still there: that load removes them, one more
round trip, rather than keep them alive); a save is one (a Lua script, so
the SET NX/XX and the index updates are atomic and conditional on each other).
Queued ``record_view`` calls ride along with the next of these.

``cycle_key`` (login) sends nothing: the move to the new key (one round trip,
``session_cycle.lua``) is made by the next save, just before the save itself. Until
then Redis still holds the session, and its anonymous cart, under the old key, the
one the browser's cookie names: the login's cart merge (``user_logged_in``) runs
from there, so a login that fails part-way (a 503 before the new cookie reaches the
browser) leaves the cart where the old cookie finds it, or already in the user's
cart. A response that is not saved (a 5xx) leaves the old session as it was. For
this store the old key is gone at once (``exists()`` answers False).

Data is serialized with ``SESSION_SERIALIZER`` but not signed, like Django's cache
engine: Redis is trusted storage, and rotating ``SECRET_KEY`` must not log everyone
out. Undecodable data is an empty session plus a warning on
``django.security.SuspiciousSession``, never a 500.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib.sessions.backends.base import CreateError

from redis_sessions import keys
from redis_sessions.connection import (
    arun,
    arun_raw,
    get_async_redis,
    get_redis,
    run,
    run_raw,
)
from redis_sessions.connection.integrity import settle
from redis_sessions.connection.scripts import Command
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.sessions import clearsessions, eviction
from redis_sessions.sessions.commands import KEY_LENGTH, StoreCommands
from redis_sessions.sessions.eviction import Candidate

__all__ = ["KEY_LENGTH", "SessionStore"]


def _notify_stale(picked: list[Candidate], reply: Any) -> None:
    if not isinstance(reply, Exception):
        eviction.notify(eviction.parse_evicted(eviction.EXPIRED, picked, reply))


class SessionStore(StoreCommands):
    """A Django session stored in Redis, with the book's token indexes."""

    # -- queued views (analytics.record_view) -------------------------------------------
    def flush_views(self) -> None:
        """Send views still queued (end of request): one round trip, or none."""
        self._forget_stale()  # a load outside load() (the page cache's) may leave one
        commands = self._take_views(self.session_key)
        if commands:
            settle(run(get_redis(), commands, raise_errors=False), best_effort=True)

    async def aflush_views(self) -> None:
        await self._aforget_stale()
        commands = self._take_views(self.session_key)
        if commands:
            settle(await arun(get_async_redis(), commands, raise_errors=False), best_effort=True)

    # -- a key whose data Redis expired (found by a load) -------------------------------
    # Evicted as clean_sessions would: every trace, only if its data is still gone (the
    # script re-checks), the signal sent. Best effort: the load itself succeeded, and
    # the cleaner does it otherwise.
    def _forget_stale(self) -> None:
        for picked in filter(None, [self._take_stale()]):
            command = eviction.evict_command(eviction.EXPIRED, picked, eviction.wants_carts())
            with contextlib.suppress(RedisUnavailable):
                _notify_stale(picked, run(get_redis(), [command], raise_errors=False)[0])

    async def _aforget_stale(self) -> None:
        for picked in filter(None, [self._take_stale()]):
            command = eviction.evict_command(eviction.EXPIRED, picked, eviction.wants_carts())
            with contextlib.suppress(RedisUnavailable):
                reply = (await arun(get_async_redis(), [command], raise_errors=False))[0]
                _notify_stale(picked, reply)

    # -- the SessionBase contract (sync) -----------------------------------------------
    def load(self) -> dict[str, Any]:
        session_key = self.session_key
        if session_key is None:
            return {}
        data = self._loaded(
            run_raw(get_redis(), self._load_commands(session_key), raise_errors=False)
        )
        self._forget_stale()
        return data

    @property
    def is_loaded(self) -> bool:
        """Whether the data is loaded already (reading it costs no round trip)."""
        return hasattr(self, "_session_cache")

    def load_with(self, commands: list[Command]) -> list[Any]:
        """Load the session and send ``commands`` in the same round trip; their replies
        (an error reply is raised). The page cache looks a page up this way while the
        session that says whether the page may be served loads. Loaded already, or no
        key: ``commands`` alone."""
        session_key = self.session_key
        if session_key is None or self.is_loaded:
            return run_raw(get_redis(), commands)
        load = self._load_commands(session_key)
        replies = run_raw(get_redis(), [*load, *commands], raise_errors=False)
        self._session_cache = self._loaded(replies[: len(load)])
        self.accessed = True  # as SessionBase._get_session does on a load
        rest = replies[len(load) :]
        settle(rest)
        self._forget_stale()
        return rest

    def exists(self, session_key: str | None) -> bool:
        if session_key is not None and session_key == self._cycled_from:
            return False  # cycled away from: gone for this store, dropped at the save
        if not self._validate_session_key(session_key):
            return False
        assert session_key is not None
        return bool(run(get_redis(), [("EXISTS", keys.session(session_key))])[0])

    def create(self) -> None:
        self._forget_indexes()
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        while self._cycled_from is not None:
            self._cycle_sent(run(get_redis(), [self._pending_cycle()], raise_errors=False)[0])
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        commands = self._prepare_save(must_create, data)
        self._check_saved(run_raw(get_redis(), commands, raise_errors=False), commands, must_create)

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            session_key = self._forget_cycle() or self.session_key
            if session_key is None:
                return
        elif not self._validate_session_key(session_key):
            return
        settle(run(get_redis(), [self._delete_command(session_key)], raise_errors=False))

    def cycle_key(self) -> None:
        data = self._session  # type: ignore[attr-defined]
        if self.session_key is None:
            self.create()
            return
        self._defer_cycle(data)

    @classmethod
    def clear_expired(cls) -> None:
        clearsessions.clear_expired()

    # -- the SessionBase contract (async, redis.asyncio) -------------------------------
    async def aload(self) -> dict[str, Any]:
        session_key = self.session_key
        if session_key is None:
            return {}
        commands = self._load_commands(session_key)
        data = self._loaded(await arun_raw(get_async_redis(), commands, raise_errors=False))
        await self._aforget_stale()
        return data

    async def aload_with(self, commands: list[Command]) -> list[Any]:
        """``load_with`` on the asyncio client."""
        session_key = self.session_key
        if session_key is None or self.is_loaded:
            return await arun_raw(get_async_redis(), commands)
        load = self._load_commands(session_key)
        replies = await arun_raw(get_async_redis(), [*load, *commands], raise_errors=False)
        self._session_cache = self._loaded(replies[: len(load)])
        self.accessed = True  # as SessionBase._aget_session does on a load
        rest = replies[len(load) :]
        settle(rest)
        await self._aforget_stale()
        return rest

    async def aexists(self, session_key: str | None) -> bool:
        if session_key is not None and session_key == self._cycled_from:
            return False  # as exists()
        if not self._validate_session_key(session_key):
            return False
        assert session_key is not None
        replies = await arun(get_async_redis(), [("EXISTS", keys.session(session_key))])
        return bool(replies[0])

    async def acreate(self) -> None:
        self._forget_indexes()
        while True:
            self._session_key = self._get_new_session_key()
            try:
                await self.asave(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    async def _adata(self, no_load: bool = False) -> dict[str, Any]:
        self.accessed = True
        try:
            return self._session_cache
        except AttributeError:
            if self.session_key is None or no_load:
                self._session_cache = {}
            else:
                self._session_cache = await self.aload()
            return self._session_cache

    async def asave(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return await self.acreate()
        while self._cycled_from is not None:
            command = self._pending_cycle()
            self._cycle_sent((await arun(get_async_redis(), [command], raise_errors=False))[0])
        data = await self._adata(no_load=must_create)
        commands = self._prepare_save(must_create, data)
        replies = await arun_raw(get_async_redis(), commands, raise_errors=False)
        self._check_saved(replies, commands, must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        if session_key is None:
            session_key = self._forget_cycle() or self.session_key
            if session_key is None:
                return
        elif not self._validate_session_key(session_key):
            return
        command = self._delete_command(session_key)
        settle(await arun(get_async_redis(), [command], raise_errors=False))

    async def acycle_key(self) -> None:
        data = await self._adata()
        if self.session_key is None:
            await self.acreate()
            return
        self._defer_cycle(data)

    @classmethod
    async def aclear_expired(cls) -> None:
        await clearsessions.aclear_expired()
