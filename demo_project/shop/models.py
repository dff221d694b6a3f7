from __future__ import annotations

from django.db import models
from django.urls import reverse


class Product(models.Model):
    """An item for sale; its primary key (as a string) is the item id in Redis."""

    name = models.CharField(max_length=200, db_index=True)  # the list page orders by name
    slug = models.SlugField(max_length=200, unique=True)
    category = models.CharField(max_length=100, blank=True, db_index=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    description = models.TextField(blank=True)
    stock = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:product_detail", kwargs={"slug": self.slug})

    @property
    def in_stock(self) -> bool:
        return self.stock > 0
