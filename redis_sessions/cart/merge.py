"""Carts as a whole: the login merge and the ``carts:`` index.

On login (``user_logged_in``, connected in ``apps.py``) the anonymous cart merges into
the user's cart by ``CART_MERGE_STRATEGY`` in one Lua script, and the user is told
when lines were merged. It merges from the key Redis holds the session under
(``stored_key``): the session engine moves a session to its new key only when the
login's response saves it, so until the merge is done the cart stays where the
browser's cookie finds it, and a login that fails part-way loses nothing.
Logout needs nothing: the flushed session has no cart, and ``request.cart`` resolves
its owner on each use, so it shows an empty anonymous cart.

``carts:`` holds every non-empty cart (cart key -> last change), kept in step by the
same scripts that write carts, so counting and listing carts never scans sessions.
A user's cart that reaches its TTL leaves its entry behind until
``forget_expired_carts`` (run it from a periodic job) drops it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.template.loader import render_to_string

from redis_sessions import keys
from redis_sessions.cart.owner import session_target, user_target
from redis_sessions.cart.scripts import CART_FORGET, CART_MERGE
from redis_sessions.conf import app_settings
from redis_sessions.connection import arun, get_async_redis, get_redis, run
from redis_sessions.connection.replies import scored_pairs
from redis_sessions.connection.scripts import Command

#: The login-merge message; override the template to change the words.
MERGED_MESSAGE_TEMPLATE = "redis_sessions/cart_merged.txt"


@dataclass(frozen=True)
class MergeResult:
    merged: int  # lines of the anonymous cart now in the user's cart
    dropped: int  # lines left out because the user's cart was full


def _merge_command(session_key: str, user_id: object, strategy: str | None) -> Command:
    strategy = strategy or app_settings.CART_MERGE_STRATEGY
    if strategy not in ("add", "replace", "keep_higher"):
        raise ValueError(f"Unknown merge strategy {strategy!r}: use add, replace or keep_higher.")
    return CART_MERGE.command(
        [session_target(session_key).key, user_target(user_id).key, keys.carts()],
        [
            strategy,
            app_settings.CART_MAX_QUANTITY,
            app_settings.CART_MAX_LINES,
            time.time(),
            app_settings.CART_USER_TTL,
        ],
    )


def merge_carts(session_key: str, user: Any, strategy: str | None = None) -> MergeResult:
    """Merge the anonymous cart of ``session_key`` into ``user``'s cart (one round trip)."""
    reply = run(get_redis(), [_merge_command(session_key, getattr(user, "pk", user), strategy)])
    return MergeResult(int(reply[0][0]), int(reply[0][1]))


async def amerge_carts(session_key: str, user: Any, strategy: str | None = None) -> MergeResult:
    command = _merge_command(session_key, getattr(user, "pk", user), strategy)
    reply = await arun(get_async_redis(), [command])
    return MergeResult(int(reply[0][0]), int(reply[0][1]))


def on_user_logged_in(sender: type, request: Any, user: Any, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: merge the anonymous cart and say so."""
    session = getattr(request, "session", None)
    session_key = getattr(session, "stored_key", getattr(session, "session_key", None))
    if session_key is None or user is None or getattr(user, "pk", None) is None:
        return
    result = merge_carts(session_key, user)
    cart = getattr(request, "cart", None)
    if cart is not None and hasattr(cart, "refresh"):
        cart.refresh()
    if result.merged:
        # The words are a template, so a site can say it its own way (or say nothing:
        # an empty template sends no message).
        context = {"merged": result.merged, "dropped": result.dropped}
        text = render_to_string(MERGED_MESSAGE_TEMPLATE, context, request=request).strip()
        if text:
            messages.info(request, text, fail_silently=True)


# -- the carts: index -------------------------------------------------------------------
def cart_count() -> int:
    """Number of non-empty carts (anonymous and users'); one ZCARD."""
    return int(run(get_redis(), [("ZCARD", keys.carts())])[0])


def recent_carts(limit: int = 100) -> list[tuple[str, float]]:
    """``(cart key, last change time)`` of the most recently changed carts."""
    reply = run(get_redis(), [("ZREVRANGE", keys.carts(), 0, limit - 1, "WITHSCORES")])[0]
    return scored_pairs(reply)


def forget_expired_carts(batch: int = 1000) -> int:
    """Drop index entries of carts that expired (TTL); returns how many.

    Only entries unchanged for ``CART_USER_TTL`` can belong to an expired cart, so
    only those are looked at, ``batch`` at a time.
    """
    client, total, offset = get_redis(), 0, 0
    horizon = time.time() - app_settings.CART_USER_TTL
    while True:
        old = run(
            client, [("ZRANGEBYSCORE", keys.carts(), "-inf", horizon, "LIMIT", offset, batch)]
        )[0]
        if not old:
            return total
        dropped = run(client, [CART_FORGET.command([keys.carts()], old)])[0]
        total += dropped
        # Entries still alive stay where they were; step over them.
        offset += len(old) - dropped
