"""Reads for the carts page.

The list is a page of the ``carts:`` index (cart key -> last change), never a scan of
sessions: two round trips per page (the index page, then every cart's lines). Values
are priced the way ``Cart.total()`` prices a cart (``cart_ops``: ``CART_MODEL`` items
and ``CART_PRICE_FIELD``), with one query for the whole page instead of one per cart.
Clearing a cart is the cart's own ``Cart.clear()`` (see ``actions``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from redis_sessions import keys
from redis_sessions.cart import lines as ops
from redis_sessions.connection import get_redis, run
from redis_sessions.inspection import refs
from redis_sessions.inspection.paging import PAGE_SIZE, Cursor, next_cursor, page_command, pairs
from redis_sessions.inspection.sessions import usernames


@dataclass
class CartRow:
    key: str
    owner: str  # "session" or "user" ("" for a member that is not a cart key of ours)
    owner_id: str
    changed: datetime
    lines: dict[str, int] = field(default_factory=dict)
    value: Decimal | None = None  # None when CART_MODEL is unset or no item is priced
    username: str | None = None
    owner_url: str = ""  # set by the view
    clear_url: str = ""

    @property
    def ref(self) -> str:
        """A session cart's owner as the pages name it (``refs``): never the key."""
        return refs.ref(self.owner_id) if self.owner == "session" else self.owner_id

    @property
    def label(self) -> str:
        """What the page shows for the cart: a user cart's key, or the reference of the
        session whose key a session cart's key contains."""
        return f"cart of session {self.ref}" if self.owner == "session" else self.key

    @property
    def units(self) -> int:
        return sum(self.lines.values())


@dataclass
class AbandonedCart:
    """A cart that left with an evicted session, as a ``sessions_evicted`` receiver
    recorded it in ``keys.abandoned_carts()`` (the demo shop's does)."""

    time: datetime
    reason: str
    user: str | None
    items: dict[str, int]

    @property
    def units(self) -> int:
        return sum(self.items.values())


@dataclass
class CartPage:
    rows: list[CartRow]
    total: int
    next: Cursor | None
    abandoned: list[AbandonedCart] = field(default_factory=list)


ABANDONED_SHOWN = 20


def _abandoned(entries: list[Any]) -> list[AbandonedCart]:
    out = []
    for entry in entries:
        try:
            data = json.loads(entry)
            out.append(AbandonedCart(
                datetime.fromtimestamp(float(data["time"]), tz=timezone.utc),
                str(data.get("reason", "")), data.get("user"),
                {str(k): int(v) for k, v in dict(data.get("items") or {}).items()},
            ))  # fmt: skip
        except (ValueError, TypeError, KeyError):
            continue  # not written by a receiver we understand: not shown
    return out


def cart_page(cursor: Cursor | None = None, *, n: int = PAGE_SIZE) -> CartPage:
    """Non-empty carts, most recently changed first."""
    index = keys.carts()
    client = get_redis()
    # The newest abandoned carts ride along with the index page (same round trip).
    total, reply, abandoned = run(client, [
        ("ZCARD", index), page_command(index, cursor, n),
        ("LRANGE", keys.abandoned_carts(), 0, ABANDONED_SHOWN - 1),
    ])  # fmt: skip
    fetched = pairs(reply)
    page = fetched[:n]
    sessions = [o[1] for k, _ in page if (o := keys.cart_owner(k)) and o[0] == "session"]
    commands = [("HGETALL", k) for k, _ in page]
    contents = run(client, [*commands, *refs.remember(sessions)])[: len(page)] if page else []
    rows = []
    for (cart_key, score), content in zip(page, contents, strict=True):
        owner = keys.cart_owner(cart_key) or ("", "")
        lines = {_text(k): int(v) for k, v in dict(content or {}).items()}
        changed = datetime.fromtimestamp(score, tz=timezone.utc)
        rows.append(CartRow(cart_key, owner[0], owner[1], changed, lines))
    _price(rows)
    names = usernames(r.owner_id for r in rows if r.owner == "user")
    for row in rows:
        row.username = names.get(row.owner_id) if row.owner == "user" else None
    shown = _abandoned(abandoned) if cursor is None else []
    return CartPage(rows, int(total), next_cursor(fetched, cursor, n), shown)


def _price(rows: list[CartRow]) -> None:
    """Each row's value as ``Cart.total()`` computes it (None when an item has no price;
    lines whose item is gone are left out, as the cart drops them), one query."""
    model = ops.item_model()
    if model is None or not rows:
        return
    usable, _ = ops.lookup_ids(model, list({item for row in rows for item in row.lines}))
    found = model._default_manager.in_bulk(list(set(usable.values()))) if usable else {}
    for row in rows:
        mine = {i: usable[i] for i in row.lines if i in usable}
        lines, _ = ops.build_lines(row.lines, mine, [], found)
        row.value = ops.sum_totals(lines) if lines else None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
