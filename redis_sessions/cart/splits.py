"""Cluster splits of the cart scripts: the cart's own step, then ``carts:``.

The limit checks and the write of a cart line stay one atomic script in the cart's
slot (the unchanged ``cart_line``/``cart_remove``/``cart_merge`` scripts,
with the index key pointed at a throwaway zset of that slot, ``scratch:{TAG}``);
``carts:`` is then brought in line with what the cart is after the step (present
and non-empty: ZADD; gone: ZREM). A crash between leaves ``carts:`` missing a cart
(its next change adds it back; its session's eviction deletes it by key) or naming a
gone one (``forget_expired_carts`` drops it).
"""

from __future__ import annotations

from typing import Any

from redis_sessions import keys
from redis_sessions.cart.scripts import CART_LINE, CART_MERGE, CART_REMOVE
from redis_sessions.connection.replies import flat, text
from redis_sessions.connection.scripts import Step


def tag(key: Any) -> str:
    """The hash tag of one of our per-session or per-user keys (``...{TAG}``)."""
    name = text(key)
    return name[name.rindex("{") + 1 : -1]


def _index(carts: Any, cart: Any, now: Any, exists: Any, changed: bool) -> list[Any]:
    if exists == 0:
        return [("ZREM", carts, cart)]
    return [("ZADD", carts, now, cart)] if changed else []


def cart_line(k: list[Any], a: list[Any]) -> Step:
    cart, carts, owner = k
    scratch = keys.cluster_scratch(tag(cart))
    reply, _, exists = yield [CART_LINE.command([cart, scratch, owner], a),
                              ("DEL", scratch), ("EXISTS", cart)]  # fmt: skip
    if isinstance(reply, list) and int(reply[0]) == 1:
        yield _index(carts, cart, a[4], exists, True)
    return reply


def cart_remove(k: list[Any], a: list[Any]) -> Step:
    cart, carts = k
    scratch = keys.cluster_scratch(tag(cart))
    script = CART_REMOVE
    reply, _, exists = yield [script.command([cart, scratch], a), ("DEL", scratch),
                              ("EXISTS", cart)]  # fmt: skip
    if isinstance(reply, int):
        commands = _index(carts, cart, a[0], exists, reply > 0)
        if commands:
            yield commands
    return reply


def cart_merge(k: list[Any], a: list[Any]) -> Step:
    anon, user, carts = k
    # 1. the anonymous cart's lines.
    (lines,) = yield [("HGETALL", anon)]
    if isinstance(lines, Exception):
        return lines
    pairs = flat(lines)
    if not pairs:
        return [0, 0]
    # 2. the merge itself, atomic in the user's slot, from a copy of the lines there.
    copy = keys.cluster_merge(tag(user))
    scratch = keys.cluster_scratch(tag(user))
    merge = CART_MERGE.command([copy, user, scratch], a)
    replies = yield [("DEL", copy), ("HSET", copy, *pairs), ("PEXPIRE", copy, 60_000), merge,
                     ("DEL", scratch)]  # fmt: skip
    if isinstance(replies[3], Exception):
        return replies[3]
    # 3. the anonymous cart goes; the index follows.
    yield [("DEL", anon), ("ZREM", carts, anon), ("ZADD", carts, a[3], user)]
    return replies[3]


def cart_forget(k: list[Any], a: list[Any]) -> Step:
    (carts,) = k
    exists = yield [("EXISTS", cart) for cart in a]
    gone = [cart for cart, found in zip(a, exists, strict=True) if found == 0]
    if not gone:
        return 0
    (dropped,) = yield [("ZREM", carts, *gone)]
    return dropped
