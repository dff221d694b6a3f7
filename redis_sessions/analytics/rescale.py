"""The ``rescale_viewed`` loop: one ``reports.rescale_viewed`` pass every
``RESCALE_INTERVAL`` seconds, under the shared loop runner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis_sessions.analytics.reports import rescale_viewed
from redis_sessions.loops import LoopRunner

__all__ = ["rescale_loop"]


def rescale_loop(
    *, once: bool = False, interval: float = 300.0, log: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Run the loop (what ``manage.py rescale_viewed`` runs); the pass summaries."""
    runner = LoopRunner("rescale_viewed", once=once, interval=interval, log=log)

    def one_pass(r: LoopRunner) -> dict[str, Any]:
        summary: dict[str, Any] = rescale_viewed()
        r.log(f"rescale_viewed: kept {summary['kept']}, removed {summary['removed']}")
        return summary

    return runner.run(one_pass)
