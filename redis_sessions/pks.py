"""Primary keys a database can hold: the one rule the cart and the row cache share
(and the inspection pages, through them), so that an id too large for its column is
refused as a bad id before any query, never an ``OverflowError`` from the driver."""

from __future__ import annotations

from typing import Any

from django.db import connections, models, router

#: No database stores an integer key beyond 64 bits (signed).
_BIGINT = (-(2**63), 2**63 - 1)


def key_range(model: type[models.Model], field: Any) -> tuple[int, int]:
    """The lowest and highest value ``field`` of ``model`` can hold in its database.

    Some backends report no range (SQLite on Django 4.2: "SQLite doesn't enforce any
    integer constraints"), though their driver still refuses more than 64 bits.
    """
    ops = connections[router.db_for_read(model)].ops
    low, high = ops.integer_field_range(field.get_internal_type())
    return (_BIGINT[0] if low is None else low, _BIGINT[1] if high is None else high)


def in_key_range(model: type[models.Model], field: Any, value: int) -> bool:
    low, high = key_range(model, field)
    return low <= value <= high
