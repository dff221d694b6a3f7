from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.urls import reverse
from django.utils import timezone

from redis_sessions.rowcache import row_cached

LOW_STOCK = 5


@row_cached(delay=30, prefetch_related=("products__movements",))
class Supplier(models.Model):
    """Who ships a product; its cached row is the inventory summary (``to_cache``)."""

    name = models.CharField(max_length=200, unique=True)
    country = models.CharField(max_length=100, blank=True)
    lead_time_days = models.PositiveIntegerField(default=7)
    if TYPE_CHECKING:
        from django.db.models.fields.related_descriptors import RelatedManager

        products: RelatedManager[Product]

    def __str__(self) -> str:
        return self.name

    def to_cache(self) -> dict[str, Any]:
        """The book's "inventory" row: a summary over products and their movements
        (everything read here is prefetched: no query per supplier)."""
        since = timezone.now() - timedelta(days=30)
        products = list(self.products.all())
        movements = [m for p in products for m in p.movements.all()]
        recent = [m for m in movements if m.created_at >= since]
        deliveries = [m.created_at for m in movements if m.quantity > 0]
        return {
            "products": len(products),
            "units_in_stock": sum(p.stock for p in products),
            "stock_value": sum((p.price * p.stock for p in products), Decimal("0.00")),
            "low_stock": sorted(p.name for p in products if p.stock < LOW_STOCK),
            "received_30d": sum(m.quantity for m in recent if m.quantity > 0),
            "sold_30d": -sum(m.quantity for m in recent if m.quantity < 0),
            "last_delivery": max(deliveries, default=None),
        }


class Product(models.Model):
    """An item for sale; its primary key (as a string) is the item id in Redis."""

    name = models.CharField(max_length=200, db_index=True)  # the list page orders by name
    slug = models.SlugField(max_length=200, unique=True)
    category = models.CharField(max_length=100, blank=True, db_index=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    description = models.TextField(blank=True)
    stock = models.PositiveIntegerField(default=0)
    supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    if TYPE_CHECKING:
        from django.db.models.fields.related_descriptors import RelatedManager

        movements: RelatedManager[StockMovement]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:product_detail", kwargs={"slug": self.slug})

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    def to_cache(self) -> dict[str, Any]:
        """Computed fields of the cached row; ``supplier`` comes from select_related
        (``ROW_CACHE_MODELS`` in settings)."""
        supplier = self.supplier
        return {
            "supplier_name": supplier.name if supplier else None,
            "lead_time_days": supplier.lead_time_days if supplier else None,
        }


class StockMovement(models.Model):
    """Units in (delivery, positive) or out (sale, negative) of one product."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="movements")
    quantity = models.IntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    if TYPE_CHECKING:
        product_id: int

    def __str__(self) -> str:
        return f"{self.quantity:+d} {self.product_id}"
