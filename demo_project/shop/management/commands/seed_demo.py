from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from demo_project.shop.models import Supplier
from demo_project.shop.seeding import DEMO_USERS, seed
from redis_sessions.rowcache import schedule_row_cache


class Command(BaseCommand):
    help = "Create the demo products and the admin/customer users; safe to run again."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--products", type=int, default=1000, help="number of products (default 1000)"
        )

    def handle(self, *args: Any, products: int, **options: Any) -> None:
        if products < 0:
            raise CommandError("--products must be 0 or more")
        result = seed(products)
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.products_created} products created, {result.products_total} in total"
            )
        )
        # The inventory rows are refreshed by `manage.py cache_rows` (the book's loop).
        for pk in Supplier.objects.values_list("pk", flat=True):
            schedule_row_cache(Supplier, pk)
        for username, password, _ in DEMO_USERS:
            if username in result.users_created:
                self.stdout.write(f"user {username!r} created, password {password!r}")
