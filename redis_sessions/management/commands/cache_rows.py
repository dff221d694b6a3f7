from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from redis_sessions.rowcache import cache_rows
from redis_sessions.rowcache.refresh import DEFAULT_BATCH_SIZE


class Command(BaseCommand):
    help = "Refresh the row cache's scheduled rows as they fall due (the book's cache_rows)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="run one pass and exit")
        parser.add_argument(
            "--interval", type=float, default=5.0,
            help="longest sleep between passes in seconds (default 5)",
        )  # fmt: skip
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
            help=f"rows per batch (default {DEFAULT_BATCH_SIZE})",
        )  # fmt: skip

    def handle(self, *args: Any, once: bool, interval: float, batch_size: int,
               verbosity: int, **options: Any) -> None:  # fmt: skip
        if batch_size < 1 or interval <= 0:
            raise CommandError("--batch-size and --interval must be above 0")
        summaries = cache_rows(
            once=once, interval=interval, batch_size=batch_size,
            log=self.stdout.write, verbose=verbosity >= 2,
        )  # fmt: skip
        if verbosity >= 1:
            refreshed = sum(s["refreshed"] for s in summaries)
            removed = sum(s["removed"] for s in summaries)
            self.stdout.write(
                f"{len(summaries)} pass(es): {refreshed} rows refreshed, {removed} removed"
            )
