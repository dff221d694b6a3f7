"""Whose cart: where a cart lives (``Target``) and how a request finds its own.

A logged-in user's cart is ``cart:user:{UID}`` with a TTL of its own
(``CART_USER_TTL``, renewed by every change), so it outlives any one session. An
anonymous visitor's cart is ``cart:{SESSION_KEY}``: it has no TTL because it goes with
its session (the save after ``cycle_key`` moves it, ``flush`` and the cleaning loops
delete it), and the write scripts refuse to create it for a session Redis does not
hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis_sessions import keys
from redis_sessions.conf import app_settings
from redis_sessions.exceptions import ConfigurationError


@dataclass(frozen=True)
class Target:
    """Where a cart lives and what a write must check and refresh."""

    key: str
    #: Session data key that must exist for a write (anonymous carts), else None.
    guard: str | None
    #: Seconds the cart lives after a change; 0: as long as its session.
    ttl: int


def session_target(session_key: str) -> Target:
    data_key, _, cart_key = keys.session_keys(session_key)
    return Target(cart_key, data_key, 0)


def user_target(user_id: object) -> Target:
    return Target(keys.user_cart(str(user_id)), None, app_settings.CART_USER_TTL)


def _session(request: Any) -> Any:
    session = getattr(request, "session", None)
    if session is None:
        raise ConfigurationError("Cart(request) needs SessionMiddleware (request.session).")
    return session


def request_target(request: Any, *, create: bool) -> Target | None:
    """The cart of this request's visitor; None for a visitor without a session,
    unless ``create``, which gives them one (a first add needs a session to own it)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user_target(user.pk)
    session = _session(request)
    # Loading the session (when nothing has yet) forgets a key Redis does not hold,
    # so a stale cookie never names a cart.
    session.keys()
    if session.session_key is None:
        if not create:
            return None
        session.save()
    return session_target(_stored_key(session))


def _stored_key(session: Any) -> str:
    # Between cycle_key() and the save that commits it, Redis holds the session (and
    # its cart) under the previous key: this app's engine says which.
    return str(getattr(session, "stored_key", None) or session.session_key)


async def arequest_target(request: Any, *, create: bool) -> Target | None:
    """``request_target`` for async views (``request.auser()``, ``session.asave()``)."""
    auser = getattr(request, "auser", None)
    user = await auser() if auser is not None else None
    if user is not None and user.is_authenticated:
        return user_target(user.pk)
    session = _session(request)
    await session.akeys()
    if session.session_key is None:
        if not create:
            return None
        await session.asave()
    return session_target(_stored_key(session))
