from __future__ import annotations

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "demo_project.shop"
    # REDIS_SESSIONS["CART_MODEL"] names the model as "shop.Product".
    label = "shop"
    verbose_name = "Shop"

    def ready(self) -> None:
        from redis_sessions.signals import sessions_evicted

        from .abandoned import record_abandoned_carts

        sessions_evicted.connect(record_abandoned_carts, dispatch_uid="shop.abandoned_carts")
