"""``manage.py rescale_viewed``: trim and halve the popularity table, every 300 s."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from redis_sessions.analytics.reports import rescale_viewed
from redis_sessions.conf import app_settings
from redis_sessions.exceptions import ConfigurationError, RedisUnavailable
from redis_sessions.loops import LoopRunner


class Command(BaseCommand):
    help = (
        "Keep the top VIEWED_MAX_ITEMS items of viewed: and halve their scores, every "
        "--interval seconds (RESCALE_INTERVAL) or once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")
        parser.add_argument(
            "--interval", type=float, default=None,
            help="Seconds between passes (default: RESCALE_INTERVAL).",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"] or app_settings.RESCALE_INTERVAL
        runner = LoopRunner(
            "rescale_viewed", once=options["once"], interval=interval, log=self._say
        )
        try:
            runner.run(self._one_pass)
        except (RedisUnavailable, ConfigurationError) as exc:
            raise CommandError(str(exc).splitlines()[0]) from exc

    def _one_pass(self, runner: LoopRunner) -> dict[str, Any]:
        summary: dict[str, Any] = rescale_viewed()
        self._say(f"rescale_viewed: kept {summary['kept']}, removed {summary['removed']}")
        return summary

    def _say(self, message: str) -> None:
        self.stdout.write(message)
