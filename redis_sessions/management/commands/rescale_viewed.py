"""``manage.py rescale_viewed``: trim and halve the popularity table, every 300 s."""

from __future__ import annotations

from typing import Any

from redis_sessions.analytics.rescale import rescale_loop
from redis_sessions.conf import app_settings
from redis_sessions.management.loop import LoopCommand


class Command(LoopCommand):
    help = (
        "Keep the top VIEWED_MAX_ITEMS items of viewed: and halve their scores, every "
        "--interval seconds (RESCALE_INTERVAL) or once."
    )
    interval_help = "Seconds between passes (default: RESCALE_INTERVAL)."

    def default_interval(self) -> float:
        return app_settings.RESCALE_INTERVAL

    def loop(self, *, once: bool, interval: float, **options: Any) -> None:
        rescale_loop(once=once, interval=interval, log=self.stdout.write)
