"""Reads and the one write for the carts page.

The list is a page of the ``carts:`` index (cart key -> last change), never a scan of
sessions: two round trips per page (the index page, then every cart's lines). Values
come from ``CART_MODEL`` prices in one query.

``clear_cart`` is a stop-gap until the cart module offers its own API: it empties the
hash and drops its index entry in one Lua script, so a line added in between cannot
leave a non-empty cart the index does not know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from django.apps import apps

from .. import keys, scripts
from ..conf import app_settings
from ..connection import get_redis, run
from .paging import PAGE_SIZE, Cursor, next_cursor, page_command, pairs
from .sessions import usernames


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
    def units(self) -> int:
        return sum(self.lines.values())


@dataclass
class CartPage:
    rows: list[CartRow]
    total: int
    next: Cursor | None


def cart_page(cursor: Cursor | None = None, *, n: int = PAGE_SIZE) -> CartPage:
    """Non-empty carts, most recently changed first."""
    index = keys.carts()
    client = get_redis()
    total, reply = run(client, [("ZCARD", index), page_command(index, cursor, n)])
    fetched = pairs(reply)
    page = fetched[:n]
    contents = run(client, [("HGETALL", k) for k, _ in page]) if page else []
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
    return CartPage(rows, int(total), next_cursor(fetched, cursor, n))


def prices(item_ids: set[str]) -> dict[str, Decimal]:
    """``{item id: unit price}`` from ``CART_MODEL`` in one query ({} when unset)."""
    label, price_field = app_settings.CART_MODEL, app_settings.CART_PRICE_FIELD
    if not label or not price_field or not item_ids:
        return {}
    model = apps.get_model(label)
    try:
        found = model._default_manager.filter(pk__in=list(item_ids)).values_list("pk", price_field)
        return {str(pk): Decimal(price) for pk, price in found}
    except (ValueError, TypeError):  # ids in Redis that are not valid pks
        return {}


def _price(rows: list[CartRow]) -> None:
    table = prices({item for row in rows for item in row.lines})
    if not table:
        return
    for row in rows:
        priced = [table[i] * q for i, q in row.lines.items() if i in table]
        row.value = sum(priced, Decimal(0)) if priced else None


def clear_cart(cart_key: str) -> int:
    """Empty the cart at ``cart_key`` and drop it from ``carts:``; returns lines removed.

    ``cart_key`` must be a cart key of this app (``keys.cart`` / ``keys.user_cart``).
    """
    if keys.cart_owner(cart_key) is None:
        raise ValueError(f"{cart_key!r} is not a cart key of this app.")
    command = scripts.get("cart_clear").command([cart_key, keys.carts()])
    return int(run(get_redis(), [command])[0])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
