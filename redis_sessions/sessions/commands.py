"""What the session engine sends to Redis and how it reads the replies, without I/O.

``StoreCommands``, the base of ``store.SessionStore``, builds the commands of a load, a
save, a delete and a key cycle once for the sync and the async twins, and keeps the
state between them: the queued views, the user id the login index holds, a cycle not
yet committed.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.sessions.backends.base import (
    VALID_KEY_CHARS,
    CreateError,
    SessionBase,
    UpdateError,
)
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string

from redis_sessions import keys
from redis_sessions.analytics.counting import view_commands
from redis_sessions.connection.integrity import is_wrong_type, settle
from redis_sessions.connection.scripts import Command
from redis_sessions.sessions import payload
from redis_sessions.sessions.eviction import Candidate
from redis_sessions.sessions.scripts import SESSION_CYCLE, SESSION_DELETE, SESSION_SAVE

_security_log = logging.getLogger("django.security.SuspiciousSession")
#: Characters of a new session key, from Django's VALID_KEY_CHARS (36): 28 of them are
#: 144.7 bits (Django's 32: 165.4), well above 128. A key is a member of recent:,
#: login: and user-sessions:{UID}; at 28 characters its string is in jemalloc's
#: 32-byte size class instead of the 48-byte one, 16 B less per index entry
#: (docs/benchmarks.md). Keys of 32 characters (older sessions) stay valid.
KEY_LENGTH = 28
_installed: bool | None = None


def _check_installed() -> None:
    global _installed
    if _installed is None:
        _installed = apps.is_installed("redis_sessions")
    if not _installed:
        raise ImproperlyConfigured(
            "SESSION_ENGINE is 'redis_sessions.backends.redis' but 'redis_sessions' is "
            "not in INSTALLED_APPS; add it (it registers the checks, commands and the "
            "receivers that end a deleted user's sessions)."
        )


@functools.cache
def _serializer(path: str) -> Any:
    return import_string(path)


def _user_id(data: dict[str, Any]) -> str:
    user_id = data.get(payload.AUTH_USER_ID)
    return "" if user_id is None else str(user_id)


class StoreCommands(SessionBase):
    """What ``store.SessionStore`` sends and how it reads the replies; no I/O."""

    def __init__(self, session_key: str | None = None) -> None:
        _check_installed()
        # SessionBase.__init__, with the serializer class imported once per setting
        # value instead of once per request.
        self._session_key = session_key
        self.accessed = False
        self.modified = False
        self.serializer = _serializer(settings.SESSION_SERIALIZER)
        self._queued_views: list[str] = []
        self._queued_visitor: str | None = None
        self._queued_client: str | None = None
        self._created = False  # this request made the session: its views count by client
        # The user id the login index holds for this key, as far as we know: "" for
        # none, None when unknown (corrupt data). A save that keeps it needs no script.
        self._indexed_uid: str | None = ""
        self._saving_uid: str | None = None
        self._seen = False
        # A key whose data Redis expired while its index entries remain (seen by a load).
        self._stale: str | None = None
        # (key, payload) this object last wrote, and the payload being written.
        self._saved: tuple[str, Any] | None = None
        self._saving: Any = None
        # A cycle_key() not yet committed: the key Redis holds the session under and
        # the data the move writes under the new key: as cycle_key() saw it, so a save
        # that fails after the move leaves the new key without the login's user id.
        self._cycled_from: str | None = None
        self._cycle_data: dict[str, Any] = {}

    # -- keys --------------------------------------------------------------------------
    def _validate_session_key(self, key: Any) -> bool:
        # Django asks for 8+ characters; we also refuse anything that is not what
        # _get_new_session_key makes, so no Redis key is ever built from junk.
        return keys.is_session_key(key)

    def _get_new_session_key(self) -> str:
        # No EXISTS round trip: creation is SET NX, and a (never seen) collision
        # raises CreateError and picks again.
        return get_random_string(KEY_LENGTH, VALID_KEY_CHARS)

    async def _aget_new_session_key(self) -> str:
        return self._get_new_session_key()

    # -- queued views (analytics.record_view) -------------------------------------------
    def queue_view(
        self, item_id: str, visitor: str | None = None, client: str | None = None
    ) -> None:
        """Queue a view; ``visitor`` counts it when the session has no key by then,
        ``client`` for ``VIEW_WINDOW`` when Redis holds no such session."""
        self._queued_views.append(item_id)
        if visitor is not None:
            self._queued_visitor = visitor
        if client is not None:
            self._queued_client = client

    def _take_views(self, session_key: str | None) -> list[Command]:
        if not self._queued_views:
            return []
        items, self._queued_views = self._queued_views, []
        return view_commands(session_key, items, session_key or self._queued_visitor,
                             self._queued_client, new_session=self._created)  # fmt: skip

    # -- building commands (shared by the sync and async twins) ------------------------
    def _load_commands(self, session_key: str) -> list[Command]:
        data_key, recent = keys.session_load_keys(session_key)
        commands: list[Command] = [
            ("GET", data_key),
            ("ZADD", recent, "XX", "CH", time.time(), session_key),
        ]
        if self._queued_views:
            commands += self._take_views(session_key)
        return commands

    def _loaded(self, replies: list[Any]) -> dict[str, Any]:
        raw = replies[0]
        # Last-seen and views: a broken index or a full Redis is logged, not fatal.
        settle(replies[1:], best_effort=True)
        if is_wrong_type(raw):
            _security_log.warning("Session data corrupted (the key has the wrong Redis type)")
            return {}
        settle([raw])
        if raw is None:
            # Unknown or expired key: never adopt it (a client-chosen cookie gets a
            # fresh key when the session is saved). Expired with its entries still in
            # recent: (the ZADD XX CH changed a score): they go now, not one
            # SESSION_COOKIE_AGE after this request (see _forget_stale).
            if replies[1] == 1 and self._session_key is not None:
                self._stale = self._session_key
            self._session_key = None
            return {}
        try:
            data = payload.decode(self.serializer(), raw)
            if not isinstance(data, dict):
                raise TypeError(f"session data is a {type(data).__name__}, not a dict")
        except Exception as exc:
            _security_log.warning("Session data corrupted (%s)", type(exc).__name__)
            self._indexed_uid = None
            return {}
        self._indexed_uid = _user_id(data)
        self._seen = True  # this load refreshed the last-seen time
        return data

    def _save_commands(
        self,
        session_key: str,
        data: dict[str, Any],
        mode: str,
        ttl: int | None = None,
        script: bool = False,
    ) -> list[Command]:
        if ttl is None:
            ttl = self.get_expiry_age()
        self._created = self._created or mode == "NX"
        if ttl <= 0:
            # Redis refuses EX 0; an expiry in the past means the session is over.
            self._saving = None
            return [self._delete_command(session_key), *self._take_views(None)]
        now = time.time()
        data_key, recent, login, head, tail = keys.session_save_keys(session_key)
        uid = self._saving_uid = _user_id(data)
        value = self._saving = payload.encode(self.serializer(), data)
        if uid == self._indexed_uid and not script:
            # The common save: the user did not change, so the login indexes stay as
            # they are. SET NX/XX decides; the ZADD only touches a member that exists
            # (XX: never re-index a session flushed meanwhile) or that is new (NX: never
            # move another session's score), so no MULTI or script is needed.
            commands: list[Command] = [("SET", data_key, value, "EX", ttl, mode)]
            if mode == "NX" or not self._seen:  # a load in this request already did it
                commands.append(("ZADD", recent, mode, now, session_key))
            return commands + self._take_views(session_key)
        save = SESSION_SAVE.command(
            [data_key, recent, login],
            [value, ttl, mode, now, session_key, uid, head, tail],
        )
        return [save, *self._take_views(session_key)]

    @classmethod
    def import_command(cls, session_key: str, data: dict[str, Any], ttl: int) -> Command:
        """The command that creates ``session_key`` with ``data`` for ``ttl`` seconds,
        with its index entries, unless it already exists (used by migrate_sessions)."""
        store = cls(session_key)
        store._session_cache = data
        return store._save_commands(session_key, data, "NX", ttl=ttl, script=True)[0]

    @staticmethod
    def _delete_command(session_key: str) -> Command:
        data_key, viewed_key, cart_key = keys.session_keys(session_key)
        head, tail = keys.user_sessions_template()
        return SESSION_DELETE.command(
            [data_key, viewed_key, cart_key, *keys.index_keys(), keys.carts()],
            [session_key, head, tail],
        )  # fmt: skip

    def _cycle_command(self, old: str, new: str, data: dict[str, Any]) -> Command:
        ttl = max(self.get_expiry_age(), 1)
        now = time.time()
        old_data, old_viewed, old_cart = keys.session_keys(old)
        new_data, new_viewed, new_cart = keys.session_keys(new)
        head, tail = keys.user_sessions_template()
        return SESSION_CYCLE.command(
            [old_data, new_data, old_viewed, new_viewed, old_cart, new_cart,
             *keys.index_keys(), keys.carts()],
            [payload.encode(self.serializer(), data), ttl, now, old, new, head, tail],
        )  # fmt: skip

    def _prepare_save(self, must_create: bool, data: dict[str, Any]) -> list[Command]:
        assert self.session_key is not None
        return self._save_commands(self.session_key, data, "NX" if must_create else "XX")

    def _check_saved(self, replies: list[Any], commands: list[Command], must_create: bool) -> None:
        settle(replies)
        # SET NX/XX answers nil and the save script 0 for "NX found it taken / XX found
        # it gone"; an expiry in the past sent a delete instead, with nothing to report.
        first = commands[0]
        if first[0] == "SET":
            failed = replies[0] is None
        else:
            failed = replies[0] == 0 and first[1] == SESSION_SAVE.sha
        if failed:
            raise CreateError if must_create else UpdateError
        self._indexed_uid = self._saving_uid
        assert self.session_key is not None
        self._saved = (self.session_key, self._saving) if self._saving is not None else None

    def saved_as_is(self) -> bool:
        """Whether this object saved the session, as it is now, under its current key
        (the session middleware then has nothing to write: an async view that awaited
        ``asave()`` is not written twice). Costs a serialization, only after a save."""
        saved, data = self._saved, getattr(self, "_session_cache", None)
        if saved is None or data is None or saved[0] != self._session_key:
            return False
        return bool(payload.encode(self.serializer(), data) == saved[1])

    def _take_stale(self) -> list[Candidate]:
        # The key a load found expired, for store._forget_stale to evict.
        stale, self._stale = self._stale, None
        return [] if stale is None else [(stale, "")]

    def _forget_indexes(self) -> None:
        # A new key has no index entries yet (after flush() the store may still hold
        # the old session's user id): its first save must write the login indexes.
        self._indexed_uid = ""
        self._seen = False

    # -- a cycle_key() not yet committed -----------------------------------------------
    @property
    def stored_key(self) -> str | None:
        """The key Redis holds this session under now: the previous key between
        ``cycle_key()`` and the save that commits the move (the cart merges from it)."""
        return self._cycled_from or self.session_key

    def _defer_cycle(self, data: dict[str, Any]) -> None:
        # Nothing is sent: the next save moves the session (see store.py's docstring).
        if self._cycled_from is None:
            self._cycled_from = self.session_key
        self._cycle_data = dict(data)
        self._session_key = self._get_new_session_key()
        self._session_cache = data
        self.modified = True

    def _forget_cycle(self) -> str | None:
        """Drop a cycle not yet committed; the key Redis still holds, if any."""
        old, self._cycled_from, self._cycle_data = self._cycled_from, None, {}
        return old

    def _cycle_sent(self, reply: Any) -> None:
        settle([reply])
        # 0: the new key is taken (nothing changed): pick another. A WRONGTYPE past
        # the script's first call (SET NX) means the data moved.
        if reply == 1 or is_wrong_type(reply):
            self._forget_cycle()
        else:
            self._session_key = self._get_new_session_key()

    def _pending_cycle(self) -> Command:
        assert self._cycled_from is not None and self.session_key is not None
        return self._cycle_command(self._cycled_from, self.session_key, self._cycle_data)
