"""Read-only pages: overview, sessions, one session, carts, top items (the cache
pages are in ``caches``)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse

from redis_sessions.inspection import carts, items, overview, refs, sessions
from redis_sessions.inspection.guard import inspection_view, link, page
from redis_sessions.inspection.paging import Cursor

USER_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # ints and UUIDs; nothing that shapes a key


def valid_user_id(user_id: str) -> str:
    """``user_id`` if it can be part of a key (no braces, colons, spaces), else 404."""
    if not USER_ID_RE.fullmatch(user_id):
        raise Http404("Not a user id")
    return user_id


def _can(request: HttpRequest, permission: str) -> bool:
    return request.user.has_perm(f"redis_sessions.{permission}")


@inspection_view("view_redis")
def overview_view(request: HttpRequest) -> HttpResponse:
    families = overview.key_families()
    return page(
        request,
        "overview.html",
        "Redis overview",
        {
            "overview": overview.overview(),
            "families": families,
            "cached": overview.cached_counts(families),
            "can_view_sessions": _can(request, "view_sessions"),
        },
    )


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
        user_id = sessions.find_user_id(username)
        unknown_user = user_id is None
        result = (
            sessions.SessionPage([], 0, None)
            if user_id is None
            else sessions.user_session_page(user_id, cursor)
        )
    elif with_cart:
        params["cart"] = "1"
        result = sessions.cart_session_page(cursor)
    else:
        result = sessions.session_page(cursor, oldest=oldest)
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
            "first_url": _query(params),
            "next_url": _query(params, after=result.next.encode()) if result.next else None,
            "oldest_url": None if params else _query({}, oldest="1"),
            "is_first": cursor is None and not oldest,
            "all_url": link(request, "sessions"),
            "cart_url": _query({"cart": "1"}),
        },
    )


def _query(params: dict[str, str], **more: str) -> str:
    return "?" + urlencode({**params, **more}) if params or more else "?"


@inspection_view("view_sessions")
def session_detail_view(request: HttpRequest, ref: str) -> HttpResponse:
    session_key = refs.resolve(ref)
    detail = sessions.session_detail(session_key)
    if detail is None:
        raise Http404("No such session in Redis")
    context: dict[str, Any] = {
        "session": detail,
        "sessions_url": link(request, "sessions"),
        "is_own": session_key == request.session.session_key,
    }
    if _can(request, "manage_sessions"):
        context["end_url"] = link(request, "session_end", ref)
        if detail.user_id is not None:
            context["end_user_url"] = link(request, "user_sessions_end", detail.user_id)
    if _can(request, "manage_carts"):
        if detail.cart:
            context["clear_cart_url"] = link(request, "cart_clear", "session", ref)
        if detail.user_cart and detail.user_id is not None:
            context["clear_user_cart_url"] = link(request, "cart_clear", "user", detail.user_id)
    if detail.user_id is not None:
        context["user_sessions_url"] = link(
            request, "sessions", query=urlencode({"user": detail.username or ""})
        )
    return page(request, "session_detail.html", f"Session {ref}", context)


@inspection_view("view_sessions")
def carts_view(request: HttpRequest) -> HttpResponse:
    cursor = Cursor.decode(request.GET.get("after"))
    result = carts.cart_page(cursor)
    can_clear = _can(request, "manage_carts")
    for row in result.rows:
        if row.owner == "session":
            row.owner_url = link(request, "session_detail", row.ref)
        elif row.owner == "user" and row.username:
            query = urlencode({"user": row.username})
            row.owner_url = link(request, "sessions", query=query)
        if can_clear and row.owner:
            row.clear_url = link(request, "cart_clear", row.owner, row.ref)
    return page(
        request,
        "carts.html",
        "Carts",
        {
            "page": result,
            "is_first": cursor is None,
            "next_url": _query({}, after=result.next.encode()) if result.next else None,
        },
    )


@inspection_view("view_redis")
def top_items_view(request: HttpRequest) -> HttpResponse:
    top = items.top_items()
    trend = items.trend(top, request.GET.get("item"))
    for item in top:
        item.trend_url = _query({"item": item.item})
    return page(
        request,
        "top_items.html",
        "Top items",
        {"items": top, "chart": items.bar_chart_svg(top), "trend": trend,
         "no_data": items.NO_DATA},
    )  # fmt: skip
