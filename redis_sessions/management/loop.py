"""The base of the loop commands (``clean_sessions``, ``rescale_viewed``,
``cache_rows``): the shared ``--once`` and ``--interval`` options, and a one-line
error, not a traceback, when Redis is unreachable or the configuration is wrong."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from redis_sessions.exceptions import ConfigurationError, RedisUnavailable


class LoopCommand(BaseCommand):
    """Subclasses set ``interval_help`` and implement ``loop()``, which calls the
    library function that tests call directly; ``default_interval()`` is the interval
    when ``--interval`` is not given."""

    interval_help = "Seconds between passes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one pass, then exit.")
        parser.add_argument("--interval", type=float, default=None, help=self.interval_help)

    def default_interval(self) -> float:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options.pop("interval")
        if interval is None:
            interval = self.default_interval()
        if interval <= 0:
            raise CommandError("--interval must be above 0.")
        try:
            self.loop(once=options.pop("once"), interval=interval, **options)
        except (RedisUnavailable, ConfigurationError) as exc:
            raise CommandError(str(exc).splitlines()[0]) from exc

    def loop(self, *, once: bool, interval: float, **options: Any) -> None:
        raise NotImplementedError
