"""Reads for the sessions pages: a page of sessions, one session in full.

Round trips: a page is two whatever its position (the page of ``recent:`` with the
total, then every row's details in one pipeline); filtered by user it is three (the
user's index, their last-seen times, the details); a session's detail is one, two
when it belongs to a user (their cart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from django.contrib.auth import get_user_model

from redis_sessions import keys
from redis_sessions.connection import get_redis, run
from redis_sessions.inspection import refs
from redis_sessions.inspection.paging import (
    PAGE_SIZE,
    Cursor,
    in_memory_page,
    next_cursor,
    oldest_command,
    page_command,
    pairs,
)
from redis_sessions.sessions.store import AUTH_USER_ID, SessionStore

# Session-data keys whose values are shown masked: hashes, tokens, secrets.
SECRET_KEY_RE = re.compile(r"hash|token|secret|passw|csrf|otp|credential|api_?key", re.I)
MASK = "********"
VALUE_PREVIEW = 500


@dataclass
class SessionRow:
    key: str  # never rendered: the pages show ``ref`` (see ``refs``)
    last_seen: datetime | None = None
    ttl: int | None = None  # seconds; None when the data is gone
    user_id: str | None = None
    username: str | None = None
    cart_lines: int = 0
    viewed: int = 0
    url: str = ""  # set by the view

    @property
    def ref(self) -> str:
        """The session's reference on the pages (a digest, not the key)."""
        return refs.ref(self.key)


@dataclass
class SessionPage:
    rows: list[SessionRow]
    total: int
    next: Cursor | None
    oldest: bool = False


@dataclass
class SessionDetail(SessionRow):
    data: list[tuple[str, str]] = field(default_factory=list)
    undecodable: bool = False
    expires_at: datetime | None = None
    viewed_items: list[tuple[str, datetime]] = field(default_factory=list)
    cart: dict[str, int] = field(default_factory=dict)
    user_cart: dict[str, int] = field(default_factory=dict)


def _time(score: Any) -> datetime | None:
    return None if score is None else datetime.fromtimestamp(float(score), tz=timezone.utc)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def session_page(
    cursor: Cursor | None = None, *, oldest: bool = False, n: int = PAGE_SIZE
) -> SessionPage:
    """Sessions newest first from ``recent:``; ``oldest`` gives the last page.

    With ``PARTITIONS`` above 1 each partition gives its page (from the cursor's score,
    with room for the members the cursor skips) in the same round trip, and the pages
    are merged: a page is still two round trips.
    """
    parts = keys.all_recent()
    if len(parts) == 1:
        recent = parts[0]
        fetch = oldest_command(recent, n) if oldest else page_command(recent, cursor, n)
        total, reply = run(get_redis(), [("ZCARD", recent), fetch])
        fetched = pairs(reply)
    else:
        if oldest:
            fetches = [oldest_command(p, n) for p in parts]
        else:
            start = None if cursor is None else Cursor(cursor.score)
            extra = 0 if cursor is None else cursor.skip
            fetches = [page_command(p, start, n + extra) for p in parts]
        replies = run(get_redis(), [*[("ZCARD", p) for p in parts], *fetches])
        total = sum(int(t) for t in replies[: len(parts)])
        merged = [pair for reply in replies[len(parts) :] for pair in pairs(reply)]
        if oldest:  # the n oldest of all, oldest first (as ZRANGE gives them)
            fetched = sorted(merged, key=lambda p: (p[1], p[0].encode()))[:n]
        else:
            fetched = in_memory_page(merged, cursor, n)
    if oldest:
        fetched.reverse()
        return SessionPage(_rows(fetched[:n]), int(total), None, oldest=True)
    return SessionPage(_rows(fetched[:n]), int(total), next_cursor(fetched, cursor, n))


def user_session_page(
    user_id: str, cursor: Cursor | None = None, *, n: int = PAGE_SIZE
) -> SessionPage:
    """The sessions of one user (from ``user-sessions:{UID}``), newest first."""
    client = get_redis()
    members = sorted(_text(m) for m in run(client, [("SMEMBERS", keys.user_sessions(user_id))])[0])
    if not members:
        return SessionPage([], 0, None)
    groups = _partitions(members)
    replies = run(client, [("ZMSCORE", keys.recent(p), *group) for p, group in groups])
    scores = _ungroup(members, groups, replies)
    scored = [(m, float(s)) for m, s in zip(members, scores, strict=True) if s is not None]
    fetched = in_memory_page(scored, cursor, n)
    return SessionPage(_rows(fetched[:n]), len(scored), next_cursor(fetched, cursor, n))


def cart_session_page(cursor: Cursor | None = None, *, n: int = PAGE_SIZE) -> SessionPage:
    """Sessions with a non-empty cart, newest cart change first (from ``carts:``).

    The page is a page of the cart index: user carts in it are left out here (they
    are on the carts page), so a page may hold fewer than ``n`` sessions.
    """
    index = keys.carts()
    total, reply = run(get_redis(), [("ZCARD", index), page_command(index, cursor, n)])
    fetched = pairs(reply)
    owners = [keys.cart_owner(member) for member, _ in fetched[:n]]
    session_keys = [owner[1] for owner in owners if owner and owner[0] == "session"]
    rows = _rows([(k, 0.0) for k in session_keys], last_seen_from_index=True)
    return SessionPage(rows, int(total), next_cursor(fetched, cursor, n))


def _rows(
    scored: list[tuple[str, float]], *, last_seen_from_index: bool = False
) -> list[SessionRow]:
    """Rows with their details: one round trip for any number of rows."""
    if not scored:
        return []
    session_keys = [k for k, _ in scored]
    groups = _partitions(session_keys)
    commands: list[tuple[Any, ...]] = [("HMGET", keys.login(p), *g) for p, g in groups]
    if last_seen_from_index:
        commands += [("ZMSCORE", keys.recent(p), *g) for p, g in groups]
    indexes = len(commands)
    for k in session_keys:
        data_key, viewed_key, cart_key = keys.session_keys(k)
        commands += [("TTL", data_key), ("HLEN", cart_key), ("ZCARD", viewed_key)]
    replies = run(get_redis(), [*commands, *refs.remember(session_keys)])
    logins = _ungroup(session_keys, groups, replies[: len(groups)])
    user_ids = [None if u is None else _text(u) for u in logins]
    if last_seen_from_index:
        seen = _ungroup(session_keys, groups, replies[len(groups) : indexes])
    else:
        seen = [s for _, s in scored]
    details = replies[indexes:]
    names = usernames(u for u in user_ids if u is not None)
    rows = []
    for i, k in enumerate(session_keys):
        ttl, lines, viewed = details[3 * i : 3 * i + 3]
        rows.append(
            SessionRow(
                key=k,
                last_seen=_time(seen[i]),
                ttl=int(ttl) if int(ttl) >= 0 else None,
                user_id=user_ids[i],
                username=names.get(user_ids[i] or ""),
                cart_lines=int(lines),
                viewed=int(viewed),
            )
        )
    return rows


def _partitions(session_keys: list[str]) -> list[tuple[int, list[str]]]:
    """The keys grouped by the partition of ``recent:``/``login:`` holding them."""
    groups: dict[int, list[str]] = {}
    for key in session_keys:
        groups.setdefault(keys.session_partition(key), []).append(key)
    return sorted(groups.items())


def _ungroup(session_keys: list[str], groups: list[tuple[int, list[str]]],
             replies: list[Any]) -> list[Any]:  # fmt: skip
    """Per-group multi-key replies (HMGET, ZMSCORE) back in ``session_keys`` order."""
    found = {k: v for (_, group), reply in zip(groups, replies, strict=True)
             for k, v in zip(group, reply, strict=True)}  # fmt: skip
    return [found[k] for k in session_keys]


def usernames(user_ids: Any) -> dict[str, str]:
    """``{user id: username}`` in one query (ids that are not users are left out)."""
    ids = {str(u) for u in user_ids}
    if not ids:
        return {}
    user_model = get_user_model()
    try:
        found = user_model._default_manager.in_bulk(list(ids))
    except (ValueError, TypeError):  # an id in Redis that is not a valid pk
        return {}
    return {str(pk): user.get_username() for pk, user in found.items()}


def find_user_id(username: str) -> str | None:
    """The id of the user called ``username`` (exact, then case-insensitive)."""
    user_model = get_user_model()
    field = user_model.USERNAME_FIELD
    manager = user_model._default_manager
    pk = manager.filter(**{field: username}).values_list("pk", flat=True).first()
    if pk is None:
        pk = manager.filter(**{f"{field}__iexact": username}).values_list("pk", flat=True).first()
    return None if pk is None else str(pk)


def session_detail(session_key: str) -> SessionDetail | None:
    """Everything Redis holds about one session, or None when it is unknown."""
    data_key, viewed_key, cart_key = keys.session_keys(session_key)
    recent, expires, login = keys.session_index_keys(session_key)
    client = get_redis()
    raw, ttl, seen, expires, user_id, viewed, cart = run(
        client,
        [
            ("GET", data_key),
            ("TTL", data_key),
            ("ZSCORE", recent, session_key),
            ("ZSCORE", expires, session_key),
            ("HGET", login, session_key),
            ("ZREVRANGE", viewed_key, 0, -1, "WITHSCORES"),
            ("HGETALL", cart_key),
            *refs.remember([session_key]),  # its actions address it by reference
        ],
    )[:7]
    if raw is None and seen is None and not cart:
        return None
    detail = SessionDetail(
        key=session_key,
        last_seen=_time(seen),
        ttl=int(ttl) if int(ttl) >= 0 else None,
        user_id=None if user_id is None else _text(user_id),
        expires_at=_time(expires),
        viewed_items=[(item, t) for item, s in pairs(viewed) if (t := _time(s)) is not None],
        cart=_quantities(cart),
    )
    detail.viewed = len(detail.viewed_items)
    detail.cart_lines = len(detail.cart)
    if raw is not None:
        detail.data, detail.undecodable = decoded_data(raw)
    if detail.user_id is None and raw is not None:
        detail.user_id = dict(detail.data).get(AUTH_USER_ID)
    if detail.user_id is not None:
        detail.username = usernames([detail.user_id]).get(detail.user_id)
        user_cart = run(client, [("HGETALL", keys.user_cart(detail.user_id))])[0]
        detail.user_cart = _quantities(user_cart)
    return detail


def _quantities(reply: Any) -> dict[str, int]:
    return {_text(k): int(v) for k, v in dict(reply or {}).items()}


def decoded_data(raw: bytes) -> tuple[list[tuple[str, str]], bool]:
    """``(sorted (name, shown value) pairs, undecodable)``; secret-looking values masked."""
    try:
        data = SessionStore().serializer().loads(raw)
        if not isinstance(data, dict):
            raise TypeError
    except Exception:
        return [], True
    shown = []
    for name in sorted(data, key=str):
        value = MASK if SECRET_KEY_RE.search(str(name)) else _preview(_masked(data[name]))
        shown.append((str(name), value))
    return shown, False


def _masked(value: Any) -> Any:
    """``value`` with secret-looking entries masked at any depth (``{"oauth":
    {"access_token": ...}}`` shows no token)."""
    if isinstance(value, dict):
        return {k: MASK if SECRET_KEY_RE.search(str(k)) else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= VALUE_PREVIEW else text[:VALUE_PREVIEW] + "…"
