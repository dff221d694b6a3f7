"""The carts page and its action, clearing a cart.

The list is a page of the ``carts:`` index (cart key -> last change), never a scan of
sessions: two round trips per page (the index page, then every cart's lines). Values
are priced the way ``Cart.total()`` prices a cart (``cart.lines``: ``CART_MODEL`` items
and ``CART_PRICE_FIELD``), with one query for the whole page instead of one per cart.
Clearing a cart (from this page, or a session's cart from its page) is the cart's own
``Cart.clear()``: a confirmation page on GET, a CSRF-checked POST that clears it,
records a ``LogEntry`` and returns with a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html

from redis_sessions import keys
from redis_sessions.cart import lines as ops
from redis_sessions.cart.proxy import Cart
from redis_sessions.connection import get_redis, run
from redis_sessions.connection.replies import scored_pairs, text
from redis_sessions.inspection import refs
from redis_sessions.inspection.guard import can, confirm, inspection_view, link, log, page, query
from redis_sessions.inspection.ids import pk_values, user, user_id_or_404, usernames
from redis_sessions.inspection.paging import PAGE_SIZE, Cursor, next_cursor, page_command
from redis_sessions.models import CartRecord


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
    fetched = scored_pairs(reply)
    page = fetched[:n]
    sessions = [o[1] for k, _ in page if (o := keys.cart_owner(k)) and o[0] == "session"]
    commands = [("HGETALL", k) for k, _ in page]
    contents = run(client, [*commands, *refs.remember(sessions)])[: len(page)] if page else []
    rows = []
    for (cart_key, score), content in zip(page, contents, strict=True):
        owner = keys.cart_owner(cart_key) or ("", "")
        lines = {text(k): int(v) for k, v in dict(content or {}).items()}
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
    lines whose item is gone, or that no item can have, are left out, as the cart drops
    them), one query."""
    model = ops.item_model()
    if model is None or not rows:
        return
    usable = pk_values(model, {item for row in rows for item in row.lines})
    found = model._default_manager.in_bulk(list(set(usable.values()))) if usable else {}
    for row in rows:
        mine = {i: usable[i] for i in row.lines if i in usable}
        lines, _ = ops.build_lines(row.lines, mine, [], found)
        row.value = ops.sum_totals(lines) if lines else None


@inspection_view("view_sessions")
def carts_view(request: HttpRequest) -> HttpResponse:
    cursor = Cursor.decode(request.GET.get("after"))
    result = cart_page(cursor)
    can_clear = can(request, "manage_carts")
    for row in result.rows:
        if row.owner == "session":
            row.owner_url = link(request, "session_detail", row.ref)
        elif row.owner == "user" and row.username:
            row.owner_url = link(request, "sessions", query=urlencode({"user": row.username}))
        if can_clear and row.owner:
            row.clear_url = link(request, "cart_clear", row.owner, row.ref)
    next_url = query({}, after=result.next.encode()) if result.next else None
    context = {"page": result, "is_first": cursor is None, "next_url": next_url}
    return page(request, "carts.html", "Carts", context)


@inspection_view("manage_carts")
def cart_clear_view(request: HttpRequest, owner: str, owner_id: str) -> HttpResponse:
    """``owner_id``: a user id, or a session's reference (its cart key holds the
    session key, so a session cart is shown and logged by the reference)."""
    if owner == "session":
        cart = Cart.for_session_key(refs.resolve(owner_id))
        back = link(request, "session_detail", owner_id)
        shown = f"cart of session {owner_id}"
    elif owner == "user":
        cart = Cart.for_user(user_id_or_404(owner_id))
        if user(owner_id) is None and not cart.quantities():  # a deleted user's cart stays
            raise Http404("No such user, and no cart of that user id")
        back = link(request, "carts")
        shown = str(cart.key)
    else:
        raise Http404("Not a cart")
    if request.method != "POST":
        question = format_html("Remove every line of the cart <code>{}</code>?", shown)
        return confirm(request, "Clear cart", question, back)
    removed = cart.clear()
    log(request, CartRecord(key=shown), "deletion", f"Cleared the cart ({removed} lines).")
    messages.success(request, f"Cart cleared ({removed} lines removed).")
    return HttpResponseRedirect(back)
