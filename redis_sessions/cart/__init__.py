"""The cart: a model proxy over a Redis hash, atomic under concurrency.

``proxy`` is ``Cart`` (``request.cart``) and its writes, ``reads`` its base with the
reads; ``lines`` the line operations and limits; ``owner`` which hash a cart is (a
session's or a user's); ``merge`` the merge on login and the ``carts:`` index. ``lua/``
holds the scripts and ``splits.py`` their Redis Cluster splits.
"""

from __future__ import annotations

from redis_sessions.cart.lines import CartLine
from redis_sessions.cart.merge import (
    MergeResult,
    amerge_carts,
    cart_count,
    forget_expired_carts,
    merge_carts,
    recent_carts,
)  # fmt: skip
from redis_sessions.cart.proxy import Cart

__all__ = [
    "Cart", "CartLine", "MergeResult", "amerge_carts", "cart_count", "forget_expired_carts",
    "merge_carts", "recent_carts",
]  # fmt: skip
