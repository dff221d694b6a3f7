"""``manage.py clean_sessions``: keep the newest sessions, forget expired ones."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import CommandError, CommandParser

from redis_sessions.conf import app_settings
from redis_sessions.management.loop import LoopCommand
from redis_sessions.sessions.clean import clean_sessions
from redis_sessions.sessions.eviction import Evicted


class Command(LoopCommand):
    help = (
        "Keep the newest --limit sessions and remove every trace of expired ones, in "
        "atomic batches; runs until SIGINT/SIGTERM unless --once."
    )
    interval_help = "Seconds between passes (default 1)."

    def default_interval(self) -> float:
        return 1.0

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--limit", type=int, default=None,
                            help=f"Sessions to keep (default SESSION_LIMIT, "
                                 f"{app_settings.SESSION_LIMIT:,}).")  # fmt: skip
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help="Most sessions per atomic step (default CLEAN_BATCH_SIZE).",
        )
        parser.add_argument(
            "--batch-time",
            type=float,
            default=None,
            help="Seconds each step aims at; batches are sized by the time the last one "
            "took (default CLEAN_BATCH_TIME; 0: every batch has --batch-size).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what a pass would remove."
        )

    def loop(self, *, once: bool, interval: float, **options: Any) -> None:
        for name, least in (("limit", 0), ("batch_size", 1), ("batch_time", 0)):
            value = options[name]
            if value is not None and not value >= least:  # NaN too
                raise CommandError(f"--{name.replace('_', '-')} must be positive.")
        self.verbosity = int(options["verbosity"])
        self.progress = once and not options["dry_run"] and sys.stderr.isatty()
        self.removed, self.started = 0, time.monotonic()
        summaries = clean_sessions(
            once=once,
            interval=interval,
            limit=options["limit"],
            batch_size=options["batch_size"],
            batch_time=options["batch_time"],
            dry_run=options["dry_run"],
            on_batch=self.on_batch,
            log=self.stdout.write,
        )
        if self.progress:
            self.stderr.write("")
        self.summarize(summaries)

    def on_batch(self, evicted: Evicted, elapsed: float) -> None:
        self.removed += len(evicted.session_keys)
        if self.verbosity >= 2:
            self.stdout.write(
                f"batch ({evicted.reason}): picked {evicted.picked}, removed "
                f"{len(evicted.session_keys)}, kept {evicted.survivors}, "
                f"{elapsed * 1000:.1f} ms"
            )
        elif self.progress:
            rate = self.removed / max(time.monotonic() - self.started, 1e-9)
            self.stderr.write(f"\rremoved {self.removed:,} ({rate:,.0f}/s)", ending="")
            self.stderr.flush()

    def summarize(self, summaries: list[dict[str, Any]]) -> None:
        if not summaries:
            self.stdout.write("clean_sessions: no pass ran")
            return
        if summaries[-1].get("dry_run"):
            s = summaries[-1]
            self.stdout.write(
                f"dry run: {s['sessions']:,} sessions, {s['over_limit']:,} beyond the "
                f"limit, {s['expired_due']:,} idle past SESSION_COOKIE_AGE"
            )
            return
        removed = sum(s["removed"] for s in summaries)
        expired = sum(s["expired"] for s in summaries)
        seconds = time.monotonic() - self.started
        self.stdout.write(
            f"clean_sessions: {len(summaries)} pass(es), removed {removed:,} sessions "
            f"({expired:,} expired, {removed - expired:,} beyond the limit) "
            f"in {seconds:.1f} s"
        )
