"""Cart building blocks shared by the sync and async API (``proxy.py``, ``reads.py``).

Input checks, the one command each operation sends, and the reading of replies live
here so that ``Cart.add`` and ``Cart.aadd`` differ only in how they send. Every check
that depends on what is already in the cart (per-line and per-cart limits, whether the
session still exists) runs inside Redis, in the Lua script that also writes, so that
concurrent requests can never overshoot a limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models import Model

from redis_sessions import keys
from redis_sessions.cart.owner import Target
from redis_sessions.cart.scripts import CART_LINE, CART_REMOVE
from redis_sessions.conf import app_settings
from redis_sessions.connection.scripts import Command
from redis_sessions.pks import in_key_range

OK, OVER_QUANTITY, FULL, SESSION_GONE = 1, -1, -2, -3


@dataclass(frozen=True)
class CartLine:
    """One line of a cart: the model instance, its quantity and (with a price) total."""

    item: Any
    quantity: int
    price: Decimal | None

    @property
    def total(self) -> Decimal | None:
        return None if self.price is None else self.price * self.quantity


def item_model() -> type[Model] | None:
    """The ``CART_MODEL`` class, or None when the setting is unset."""
    label = app_settings.CART_MODEL
    try:
        return None if label is None else apps.get_model(label)
    except (LookupError, ValueError) as exc:
        raise ImproperlyConfigured(f"REDIS_SESSIONS['CART_MODEL'] = {label!r}: {exc}") from exc


def require_model() -> type[Model]:
    model = item_model()
    if model is None:
        raise ImproperlyConfigured(
            "Set REDIS_SESSIONS['CART_MODEL'] (e.g. 'shop.Product') to read cart lines "
            "as model instances; quantities() works without it."
        )
    return model


def clean_quantity(value: object, *, minimum: int) -> int:
    """``value`` if it is a plain int in ``minimum..CART_MAX_QUANTITY``, else ValueError."""
    # bool is an int subclass; True units of an item is a bug, not a quantity.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"Quantity must be an int, not {type(value).__name__} ({value!r}).")
    if value < minimum:
        hint = "; use set() or remove() to lower a quantity" if minimum == 1 else ""
        raise ValueError(f"Quantity must be at least {minimum} (got {value}){hint}.")
    cap = app_settings.CART_MAX_QUANTITY
    if value > cap:
        raise ValueError(f"At most {cap} units of one item fit in a cart (asked for {value}).")
    return value


def clean_item(item: object) -> tuple[str, bool]:
    """``(item id as stored, whether its existence still needs checking)``.

    ``item`` is a model instance or a primary key. Ids are normalised through the
    model's primary key field (``"05"`` and ``5`` are the same line) and refused when
    they cannot be a key of that model; an instance loaded from the database needs no
    existence check.
    """
    model = item_model()
    if isinstance(item, Model):
        if model is not None and not isinstance(item, model):
            raise ValueError(f"This cart holds {model._meta.label} items, not {item._meta.label}.")
        if item.pk is None:
            raise ValueError("The item is not saved: its primary key is None.")
        return _checked_id(str(item.pk)), item._state.adding
    if isinstance(item, bool) or not isinstance(item, (str, int)):
        raise ValueError(f"Item id must be a str or int, not {type(item).__name__}.")
    if model is None:
        return _checked_id(str(item)), False
    pk_field = model._meta.pk
    assert pk_field is not None
    try:
        value = pk_field.to_python(item)
    except ValidationError:
        raise ValueError(f"{item!r} is not a valid {model._meta.label} id.") from None
    if isinstance(value, int) and not in_key_range(model, pk_field, value):
        # Before any query: Django 4.2 on SQLite raises OverflowError for such an id.
        raise ValueError(f"{item!r} is not a valid {model._meta.label} id.")
    return _checked_id(value if isinstance(value, str) else str(value)), True


def _checked_id(text: str) -> str:
    # The same rule as analytics.counting.clean_item_id.
    limit = app_settings.ITEM_ID_MAX_LENGTH
    if not text or len(text) > limit:
        raise ValueError(f"Item id must be 1 to {limit} characters long (got {len(text)}).")
    return text


def model_to_check(check: bool) -> type[Model] | None:
    """The model to look ``item_id`` up in before a write, or None: no query needed."""
    return item_model() if check and app_settings.CART_VALIDATE_ITEMS else None


def unknown_item(model: type[Model], item_id: str) -> ValueError:
    return ValueError(f"There is no {model._meta.label} with id {item_id!r}.")


def write_command(mode: str, target: Target, item_id: str, quantity: int) -> Command:
    """``cart_line`` for one line of ``target``: ``mode`` is ``"add"`` or ``"set"``."""
    return CART_LINE.command(
        [target.key, keys.carts(), target.guard or target.key],
        [
            item_id,
            quantity,
            app_settings.CART_MAX_QUANTITY,
            app_settings.CART_MAX_LINES,
            time.time(),
            target.ttl,
            "1" if target.guard else "0",
            mode,
        ],
    )


def remove_command(target: Target, item_ids: list[str] | None) -> Command:
    """Remove ``item_ids`` from ``target``, or every line when ``item_ids`` is None."""
    mode: list[Any] = ["all"] if item_ids is None else ["items", *item_ids]
    return CART_REMOVE.command([target.key, keys.carts()], [time.time(), *mode])


def read_command(target: Target) -> Command:
    return ("HGETALL", target.key)


def check_write(reply: list[Any], item_id: str, quantity: int, *, adding: bool) -> int:
    """The line's new quantity, or the ValueError the script's refusal calls for."""
    status, n = int(reply[0]), int(reply[1])
    if status == OK:
        return n
    if status == OVER_QUANTITY:
        cap = app_settings.CART_MAX_QUANTITY
        wanted = n + quantity if adding else quantity
        raise ValueError(
            f"At most {cap} units of one item fit in a cart; it holds {n} of {item_id!r}, "
            f"so this would make {wanted}."
        )
    if status == FULL:
        raise ValueError(
            f"The cart already holds its maximum of {n} different items; remove one first."
        )
    raise ValueError("The session of this cart has ended; reload the page and try again.")


def parse_quantities(raw: dict[bytes, bytes] | list[bytes]) -> dict[str, int]:
    """HGETALL's reply: a map (RESP3, or parsed by redis-py) or a flat list (raw RESP2)."""
    if isinstance(raw, list):
        return {raw[i].decode(): int(raw[i + 1]) for i in range(0, len(raw), 2)}
    return {k.decode(): int(v) for k, v in raw.items()}


def price_of(item: Model) -> Decimal | None:
    """The item's unit price from ``CART_PRICE_FIELD`` (None without one)."""
    name = app_settings.CART_PRICE_FIELD
    value = getattr(item, name, None) if name else None
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def lookup_ids(model: type[Model], item_ids: list[str]) -> tuple[dict[str, Any], list[str]]:
    """``({id as stored: pk value}, ids that can never be a key)`` for ``in_bulk``."""
    pk_field = model._meta.pk
    assert pk_field is not None
    usable: dict[str, Any] = {}
    junk: list[str] = []
    for item_id in item_ids:
        try:
            usable[item_id] = pk_field.to_python(item_id)
        except ValidationError:
            junk.append(item_id)
    return usable, junk


def build_lines(
    quantities: dict[str, int], usable: dict[str, Any], junk: list[str], found: dict[Any, Model]
) -> tuple[list[CartLine], list[str]]:
    """``(lines in primary key order, ids of items that are gone)``."""
    lines, gone = [], list(junk)
    for item_id, pk in usable.items():
        item = found.get(pk)
        if item is None:
            gone.append(item_id)
        else:
            lines.append(CartLine(item, quantities[item_id], price_of(item)))
    lines.sort(key=lambda line: line.item.pk)
    return lines, gone


def sum_totals(lines: list[CartLine]) -> Decimal | None:
    """Sum of the line totals; None when any line has no price."""
    total = Decimal(0)
    for line in lines:
        if line.total is None:
            return None
        total += line.total
    return total
