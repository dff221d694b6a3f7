"""``manage.py cache_rows``: refresh the row cache's scheduled rows as they fall due."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from redis_sessions.management.loop import LoopCommand
from redis_sessions.rowcache import cache_rows
from redis_sessions.rowcache.refresh import DEFAULT_BATCH_SIZE


class Command(LoopCommand):
    help = "Refresh the row cache's scheduled rows as they fall due (the book's cache_rows)."
    interval_help = "Longest sleep between passes in seconds (default 5)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
            help=f"Rows per batch (default {DEFAULT_BATCH_SIZE}).",
        )  # fmt: skip

    def default_interval(self) -> float:
        return 5.0

    def loop(self, *, once: bool, interval: float, **options: Any) -> None:
        batch_size, verbosity = options["batch_size"], int(options["verbosity"])
        if batch_size < 1:
            raise CommandError("--batch-size must be above 0.")
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
