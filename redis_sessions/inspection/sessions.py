"""The sessions page: a page of sessions, newest first, all of them, one user's, or
those with a cart.

Round trips: a page is two whatever its position (the page of ``recent:`` with the
total, then every row's details in one pipeline); filtered by user it is three (the
user's index, their last-seen times, the details).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

from redis_sessions import keys
from redis_sessions.connection import get_redis, run
from redis_sessions.connection.replies import scored_pairs, text
from redis_sessions.inspection import refs
from redis_sessions.inspection.guard import inspection_view, link, page, query
from redis_sessions.inspection.ids import find_user_id, usernames
from redis_sessions.inspection.paging import (
    PAGE_SIZE,
    Cursor,
    in_memory_page,
    next_cursor,
    oldest_command,
    page_command,
    score_time,
)
from redis_sessions.sessions.users import user_session_keys


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


def session_page(
    cursor: Cursor | None = None, *, oldest: bool = False, n: int = PAGE_SIZE
) -> SessionPage:
    """Sessions newest first from ``recent:``; ``oldest`` gives the last page."""
    recent = keys.recent()
    fetch = oldest_command(recent, n) if oldest else page_command(recent, cursor, n)
    total, reply = run(get_redis(), [("ZCARD", recent), fetch])
    fetched = scored_pairs(reply)
    if oldest:
        fetched.reverse()
        return SessionPage(_rows(fetched[:n]), int(total), None, oldest=True)
    return SessionPage(_rows(fetched[:n]), int(total), next_cursor(fetched, cursor, n))


def user_session_page(
    user_id: str, cursor: Cursor | None = None, *, n: int = PAGE_SIZE
) -> SessionPage:
    """The sessions of one user (from ``user-sessions:{UID}``), newest first."""
    client = get_redis()
    members = user_session_keys(user_id)
    if not members:
        return SessionPage([], 0, None)
    scores = run(client, [("ZMSCORE", keys.recent(), *members)])[0]
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
    fetched = scored_pairs(reply)
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
    commands: list[tuple[Any, ...]] = [("HMGET", keys.login(), *session_keys)]
    if last_seen_from_index:
        commands.append(("ZMSCORE", keys.recent(), *session_keys))
    for k in session_keys:
        data_key, viewed_key, cart_key = keys.session_keys(k)
        commands += [("TTL", data_key), ("HLEN", cart_key), ("ZCARD", viewed_key)]
    replies = run(get_redis(), [*commands, *refs.remember(session_keys)])
    user_ids = [None if u is None else text(u) for u in replies[0]]
    seen = replies[1] if last_seen_from_index else [s for _, s in scored]
    details = replies[2 if last_seen_from_index else 1 :]
    names = usernames(u for u in user_ids if u is not None)
    rows = []
    for i, k in enumerate(session_keys):
        ttl, lines, viewed = details[3 * i : 3 * i + 3]
        rows.append(
            SessionRow(
                key=k,
                last_seen=score_time(seen[i]),
                ttl=int(ttl) if int(ttl) >= 0 else None,
                user_id=user_ids[i],
                username=names.get(user_ids[i] or ""),
                cart_lines=int(lines),
                viewed=int(viewed),
            )
        )
    return rows


@inspection_view("view_sessions")
def sessions_view(request: HttpRequest) -> HttpResponse:
    cursor = Cursor.decode(request.GET.get("after"))
    username = request.GET.get("user", "").strip()
    with_cart = request.GET.get("cart") == "1"
    oldest = request.GET.get("oldest") == "1"
    params: dict[str, str] = {}
    unknown_user = False
    if username:
        params["user"] = username
        user_id = find_user_id(username)
        unknown_user = user_id is None
        result = SessionPage([], 0, None) if user_id is None else user_session_page(user_id, cursor)
    elif with_cart:
        params["cart"] = "1"
        result = cart_session_page(cursor)
    else:
        result = session_page(cursor, oldest=oldest)
    for row in result.rows:
        row.url = link(request, "session_detail", row.ref)
    return page(
        request,
        "sessions.html",
        "Sessions",
        {
            "page": result,
            "username": username,
            "unknown_user": unknown_user,
            "with_cart": with_cart,
            "first_url": query(params),
            "next_url": query(params, after=result.next.encode()) if result.next else None,
            "oldest_url": None if params else query({}, oldest="1"),
            "is_first": cursor is None and not oldest,
            "all_url": link(request, "sessions"),
            "cart_url": query({"cart": "1"}),
        },
    )
