"""``manage.py cache_rows``: refresh the row cache's scheduled rows as they fall due."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from redis_sessions.management.loop import LoopCommand
from redis_sessions.rowcache import cache_rows, schedule_all
from redis_sessions.rowcache.refresh import DEFAULT_BATCH_SIZE
from redis_sessions.rowcache.writes import scheduled_count


class Command(LoopCommand):
    help = "Refresh the row cache's scheduled rows as they fall due (the book's cache_rows)."
    interval_help = "Longest sleep between passes in seconds (default 5)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
            help=f"Rows per batch (default {DEFAULT_BATCH_SIZE}).",
        )  # fmt: skip
        parser.add_argument(
            "--schedule-all", action="store_true",
            help="First schedule every row of every registered model with a delay "
                 "(rows already scheduled keep their time); registering a model "
                 "schedules no row by itself.",
        )  # fmt: skip

    def default_interval(self) -> float:
        return 5.0

    def loop(self, *, once: bool, interval: float, **options: Any) -> None:
        batch_size, verbosity = options["batch_size"], int(options["verbosity"])
        if batch_size < 1:
            raise CommandError("--batch-size must be above 0.")
        if options["schedule_all"]:
            for label, count in schedule_all(batch_size=batch_size).items():
                self.stdout.write(f"scheduled {count} rows of {label}")
        elif scheduled_count() == 0:
            self.stdout.write(
                "0 rows scheduled: registering a model schedules none; call "
                "schedule_row_cache(obj) for the rows to keep warm, or run "
                "cache_rows --schedule-all"
            )
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
