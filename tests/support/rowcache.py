"""Shared helpers of the row cache tests: demo rows and the cache's own keys."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from demo_project.shop.models import Product, StockMovement, Supplier
from redis_sessions import keys

_n = iter(range(1_000_000))


def supplier(name: str | None = None, **fields: Any) -> Supplier:
    return Supplier.objects.create(name=name or f"Supplier {next(_n)}", **fields)


def product(**fields: Any) -> Product:
    n = next(_n)
    values: dict[str, Any] = {
        "name": f"Thing {n}", "slug": f"thing-{n}", "price": Decimal("12.50"), "stock": 3,
    }  # fmt: skip
    values.update(fields)
    return Product.objects.create(**values)


def movement(item: Product, quantity: int, **fields: Any) -> StockMovement:
    return StockMovement.objects.create(product=item, quantity=quantity, **fields)


def entry(redis: Any, model: Any, pk: Any) -> bytes | None:
    return redis.get(keys.row(model._meta.label_lower, str(pk)))  # type: ignore[no-any-return]


def member(model: Any, pk: Any) -> str:
    return keys.row_member(model._meta.label_lower, str(pk))
