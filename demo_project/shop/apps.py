from __future__ import annotations

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "demo_project.shop"
    # REDIS_SESSIONS["CART_MODEL"] names the model as "shop.Product".
    label = "shop"
    verbose_name = "Shop"
