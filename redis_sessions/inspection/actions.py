"""Actions on sessions and carts: end a session, end a user's sessions, clear a cart
(the cache actions are in ``cache_actions``).

Each is a GET that shows a confirmation page and a POST (CSRF-checked) that acts,
records the action in the admin's ``LogEntry`` history and returns to the list with
a message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html

from redis_sessions.cart.proxy import Cart
from redis_sessions.inspection import refs
from redis_sessions.inspection.guard import inspection_view, link, log, page
from redis_sessions.inspection.views import valid_user_id
from redis_sessions.models import CartRecord, SessionRecord
from redis_sessions.sessions.store import SessionStore
from redis_sessions.sessions.users import end_user_sessions, user_session_keys


def confirm(
    request: HttpRequest, title: str, question: Any, cancel_url: str, **extra: Any
) -> HttpResponse:
    return page(
        request,
        "confirm.html",
        title,
        {"question": question, "cancel_url": cancel_url, **extra},
    )


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


def _user(user_id: str) -> Any:
    try:
        return get_user_model()._default_manager.filter(pk=user_id).first()
    except (ValueError, ValidationError):  # not a pk of this user model
        return None


@inspection_view("manage_sessions")
def user_sessions_end_view(request: HttpRequest, user_id: str) -> HttpResponse:
    user = _user(valid_user_id(user_id))
    who = user.get_username() if user is not None else f"user {user_id}"
    own = request.session.session_key if str(request.user.pk) == user_id else None
    if request.method != "POST":
        count = len([k for k in user_session_keys(user_id) if k != own])
        return confirm(
            request,
            "End all sessions of a user",
            format_html("End all {} session(s) of <strong>{}</strong>?", count, who),
            link(request, "sessions"),
            note="Your own current session is kept." if own else "",
        )
    ended = end_user_sessions(user_id, except_key=own)
    message = f"Ended {ended} Redis session(s)."
    log(request, user if user is not None else SessionRecord(key=f"user:{user_id}"),
        "change", message)  # fmt: skip
    messages.success(request, f"{message[:-1]} of {who}.")
    return HttpResponseRedirect(link(request, "sessions"))


@inspection_view("manage_carts")
def cart_clear_view(request: HttpRequest, owner: str, owner_id: str) -> HttpResponse:
    """``owner_id``: a user id, or a session's reference (its cart key holds the
    session key, so a session cart is shown and logged by the reference)."""
    if owner == "session":
        cart = Cart.for_session_key(refs.resolve(owner_id))
        back = link(request, "session_detail", owner_id)
        shown = f"cart of session {owner_id}"
    elif owner == "user":
        cart = Cart.for_user(valid_user_id(owner_id))
        back = link(request, "carts")
        shown = str(cart.key)
    else:
        raise Http404("Not a cart")
    if request.method != "POST":
        return confirm(
            request,
            "Clear cart",
            format_html("Remove every line of the cart <code>{}</code>?", shown),
            back,
        )
    removed = cart.clear()
    log(request, CartRecord(key=shown), "deletion", f"Cleared the cart ({removed} lines).")
    messages.success(request, f"Cart cleared ({removed} lines removed).")
    return HttpResponseRedirect(back)
