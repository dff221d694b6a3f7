"""The page of one session, and its actions: end the session, end every session of
its user.

The page is one round trip, two when the session belongs to a user (their cart). Its
data is decoded with the session engine's serializer and shown with secret-looking
values masked. Each action is a confirmation page on GET and a CSRF-checked POST that
acts, records a ``LogEntry`` and returns to the sessions list with a message. (Clearing
the session's cart is the carts page's action, ``carts.cart_clear_view``.)
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html

from redis_sessions import keys
from redis_sessions.connection import get_redis, run
from redis_sessions.connection.replies import scored_pairs, text
from redis_sessions.inspection import refs
from redis_sessions.inspection.guard import can, confirm, inspection_view, link, log, page
from redis_sessions.inspection.ids import (
    is_user_id,
    item_labels,
    user,
    user_id_or_404,
    usernames,
)
from redis_sessions.inspection.paging import score_time
from redis_sessions.inspection.sessions import SessionRow
from redis_sessions.models import SessionRecord
from redis_sessions.sessions import payload
from redis_sessions.sessions.store import SessionStore
from redis_sessions.sessions.users import end_user_sessions, user_session_keys

# Session-data keys whose values are shown masked: hashes, tokens, secrets.
SECRET_KEY_RE = re.compile(r"hash|token|secret|passw|csrf|otp|credential|api_?key", re.I)
MASK = "********"
VALUE_PREVIEW = 500


@dataclass
class SessionDetail(SessionRow):
    data: list[tuple[str, str]] = field(default_factory=list)
    undecodable: bool = False
    expires_at: datetime | None = None
    viewed_items: list[tuple[str, datetime]] = field(default_factory=list)
    cart: dict[str, int] = field(default_factory=dict)
    user_cart: dict[str, int] = field(default_factory=dict)
    #: item id -> its CART_MODEL object's str(), for the ids shown (one query)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def viewed_rows(self) -> list[tuple[str, str, datetime]]:
        return [(item, self.labels.get(item, ""), when) for item, when in self.viewed_items]

    @property
    def cart_rows(self) -> list[tuple[str, str, int]]:
        return [(item, self.labels.get(item, ""), n) for item, n in self.cart.items()]

    @property
    def user_cart_rows(self) -> list[tuple[str, str, int]]:
        return [(item, self.labels.get(item, ""), n) for item, n in self.user_cart.items()]


def session_detail(session_key: str) -> SessionDetail | None:
    """Everything Redis holds about one session, or None when it is unknown."""
    data_key, viewed_key, cart_key = keys.session_keys(session_key)
    client = get_redis()
    raw, ttl, seen, user_id, viewed, cart = run(
        client,
        [
            ("GET", data_key),
            ("TTL", data_key),
            ("ZSCORE", keys.recent(), session_key),
            ("HGET", keys.login(), session_key),
            ("ZREVRANGE", viewed_key, 0, -1, "WITHSCORES"),
            ("HGETALL", cart_key),
            *refs.remember([session_key]),  # its actions address it by reference
        ],
    )[:6]
    if raw is None and seen is None and not cart:
        return None
    detail = SessionDetail(
        key=session_key,
        last_seen=score_time(seen),
        ttl=int(ttl) if int(ttl) >= 0 else None,
        user_id=None if user_id is None else text(user_id),
        expires_at=None if int(ttl) < 0 else score_time(time.time() + int(ttl)),
        viewed_items=[
            (item, t) for item, s in scored_pairs(viewed) if (t := score_time(s)) is not None
        ],
        cart=_quantities(cart),
    )
    detail.viewed = len(detail.viewed_items)
    detail.cart_lines = len(detail.cart)
    if raw is not None:
        detail.data, detail.undecodable = decoded_data(raw)
    if detail.user_id is None and raw is not None:
        detail.user_id = dict(detail.data).get(payload.AUTH_USER_ID)
    if detail.user_id is not None:
        detail.username = usernames([detail.user_id]).get(detail.user_id)
        user_cart = run(client, [("HGETALL", keys.user_cart(detail.user_id))])[0]
        detail.user_cart = _quantities(user_cart)
    shown = [item for item, _ in detail.viewed_items] + [*detail.cart, *detail.user_cart]
    detail.labels = item_labels(shown)
    return detail


def _quantities(reply: Any) -> dict[str, int]:
    return {text(k): int(v) for k, v in dict(reply or {}).items()}


def decoded_data(raw: bytes) -> tuple[list[tuple[str, str]], bool]:
    """``(sorted (name, shown value) pairs, undecodable)``; secret-looking values masked."""
    try:
        data = payload.decode(SessionStore().serializer(), raw)
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
    shown = value if isinstance(value, str) else repr(value)
    return shown if len(shown) <= VALUE_PREVIEW else shown[:VALUE_PREVIEW] + "…"


@inspection_view("view_sessions")
def session_detail_view(request: HttpRequest, ref: str) -> HttpResponse:
    session_key = refs.resolve(ref)
    detail = session_detail(session_key)
    if detail is None:
        raise Http404("No such session in Redis")
    context: dict[str, Any] = {
        "session": detail,
        "sessions_url": link(request, "sessions"),
        "is_own": session_key == request.session.session_key,
    }
    # A user id read from the session's data is linked only if it can be a user's.
    user_id = detail.user_id if detail.user_id and is_user_id(detail.user_id) else None
    if can(request, "manage_sessions"):
        context["end_url"] = link(request, "session_end", ref)
        if user_id is not None:
            context["end_user_url"] = link(request, "user_sessions_end", user_id)
    if can(request, "manage_carts"):
        if detail.cart:
            context["clear_cart_url"] = link(request, "cart_clear", "session", ref)
        if detail.user_cart and user_id is not None:
            context["clear_user_cart_url"] = link(request, "cart_clear", "user", user_id)
    if detail.user_id is not None:
        context["user_sessions_url"] = link(
            request, "sessions", query=urlencode({"user": detail.username or ""})
        )
    return page(request, "session_detail.html", f"Session {ref}", context)


@inspection_view("manage_sessions")
def session_end_view(request: HttpRequest, ref: str) -> HttpResponse:
    session_key = refs.resolve(ref)
    if request.method != "POST":
        return confirm(
            request,
            "End session",
            format_html("End session <code>{}</code>? Its visitor is signed out and its "
                        "data, viewed items and cart are deleted.", ref),
            link(request, "session_detail", ref),
            is_own=session_key == request.session.session_key,
        )  # fmt: skip
    SessionStore().delete(session_key)
    log(request, SessionRecord(key=ref), "deletion", "Ended the session in Redis.")
    messages.success(request, f"Session {ref} ended.")
    return HttpResponseRedirect(link(request, "sessions"))


@inspection_view("manage_sessions")
def user_sessions_end_view(request: HttpRequest, user_id: str) -> HttpResponse:
    found = user(user_id_or_404(user_id))
    session_keys = user_session_keys(user_id)
    if found is None and not session_keys:  # a deleted user's sessions can still be ended
        raise Http404("No such user, and no session of that user id")
    who = found.get_username() if found is not None else f"user {user_id}"
    own = request.session.session_key if str(request.user.pk) == user_id else None
    if request.method != "POST":
        count = len([k for k in session_keys if k != own])
        return confirm(
            request,
            "End all sessions of a user",
            format_html("End all {} session(s) of <strong>{}</strong>?", count, who),
            link(request, "sessions"),
            note="Your own current session is kept." if own else "",
        )
    ended = end_user_sessions(user_id, except_key=own)
    message = f"Ended {ended} Redis session(s)."
    log(request, found if found is not None else SessionRecord(key=f"user:{user_id}"),
        "change", message)  # fmt: skip
    messages.success(request, f"{message[:-1]} of {who}.")
    return HttpResponseRedirect(link(request, "sessions"))
