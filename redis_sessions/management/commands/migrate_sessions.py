from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from redis_sessions.sessions.migrate import MigrationResult, migrate_from_cache


class Command(BaseCommand):
    help = (
        "Copy live sessions from Django's cache session engine "
        "(django.contrib.sessions.backends.cache on django-redis) into redis_sessions, "
        "keeping their keys and remaining lifetimes. Run it once after switching "
        "SESSION_ENGINE; sessions already present are left alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--cache",
            default=None,
            help="cache alias the old engine used (default: SESSION_CACHE_ALIAS)",
        )
        parser.add_argument("--batch-size", type=int, default=500, help="keys per round trip")
        parser.add_argument("--dry-run", action="store_true", help="count, copy nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        tty = self.stdout.isatty()

        def progress(result: MigrationResult) -> None:
            if tty:
                self.stdout.write(f"\r{result.seen} seen, {result.copied} copied", ending="")

        result = migrate_from_cache(
            options["cache"], options["batch_size"], options["dry_run"], progress
        )
        if tty:
            self.stdout.write("")
        verb = "would copy" if options["dry_run"] else "copied"
        self.stdout.write(
            f"{result.seen} sessions seen, {verb} {result.copied}, skipped {result.skipped}"
        )
