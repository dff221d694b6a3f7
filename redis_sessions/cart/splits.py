"""Cluster splits of the cart scripts: the cart's own step, then ``carts:``.

The limit checks and the write of a cart line stay one atomic script in the cart's
slot (the unchanged ``cart_line``/``cart_remove``/``cart_merge`` scripts,
with the index key pointed at a throwaway zset of that slot, ``scratch:{TAG}``);
``carts:`` is then brought in line with what the cart is after the step (present
and non-empty: ZADD; gone: ZREM). A crash between leaves ``carts:`` missing a cart
(its next change adds it back; its session's eviction deletes it by key) or naming a
gone one (``forget_expired_carts`` drops it).

The login merge moves units between two slots, so a failure between its steps
(``UnknownOutcome``) must be safe to retry: the units stay in the anonymous cart
until the user's cart has them, the merge is recorded under an id in the anonymous
cart's slot (``cart-merging:{KEY}``) and marked done in the user's slot
(``cart-merged:{UID}:ID``), so the next login of the same session finishes it
without applying it twice.
"""

from __future__ import annotations

from secrets import token_hex
from typing import Any

from redis_sessions import keys
from redis_sessions.cart.scripts import (
    CART_LINE,
    CART_MERGE,
    CART_MERGE_BEGIN,
    CART_MERGE_END,
    CART_REMOVE,
)
from redis_sessions.connection.replies import text
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
    pending, keep = keys.cart_merging(tag(anon)), a[4]  # kept as long as a user's cart
    total = [0, 0]
    while True:
        # 1. the lines and the merge id, in the anonymous cart's slot: a merge left
        # unfinished is taken up again as it was (cart_merge_begin.lua).
        (begun,) = yield [CART_MERGE_BEGIN.command([anon, pending], [token_hex(8), keep])]
        if isinstance(begun, Exception):
            return begun
        if not begun:
            return total
        resumed, merge_id, lines = begun[0] == 1, text(begun[1]), begun[2]
        # 2. the merge itself, atomic in the user's slot, from a copy of the lines
        # there; its done mark makes a second attempt at the same merge a no-op.
        copy, scratch = keys.cluster_merge(tag(user)), keys.cluster_scratch(tag(user))
        done = keys.cart_merged(tag(user), merge_id)
        merge = CART_MERGE.command([copy, user, scratch, done], [*a, keep])
        replies = yield [("DEL", copy), ("HSET", copy, *lines), ("PEXPIRE", copy, 60_000),
                         merge, ("DEL", scratch)]  # fmt: skip
        if isinstance(replies[3], Exception):
            return replies[3]
        # 3. the merged units leave the anonymous cart (cart_merge_end.lua).
        left, _ = yield [CART_MERGE_END.command([anon, pending], [merge_id]),
                         ("ZADD", carts, a[3], user)]  # fmt: skip
        if isinstance(left, Exception):
            return left
        # 4. the done mark goes (a crash before leaves it to its TTL: no merge
        # reuses an id); the index follows the anonymous cart.
        yield [("DEL", done), *([("ZREM", carts, anon)] if left == 0 else [])]
        total = [total[0] + int(replies[3][0]), total[1] + int(replies[3][1])]
        if not resumed:
            return total


def cart_forget(k: list[Any], a: list[Any]) -> Step:
    (carts,) = k
    exists = yield [("EXISTS", cart) for cart in a]
    gone = [cart for cart, found in zip(a, exists, strict=True) if found == 0]
    if not gone:
        return 0
    (dropped,) = yield [("ZREM", carts, *gone)]
    return dropped
