"""How many sessions the cleaner's next batch takes: sized by the time batches take.

A batch is one Lua script, and Redis runs nothing else while it runs: a request's
``GET`` that arrives meanwhile waits for the rest of it. So the cleaner aims at a
batch *time* (``CLEAN_BATCH_TIME``), not a count: after each batch it divides the
time that batch took by its size and takes as many sessions as fit in the budget,
between ``LEAST`` and ``most`` (``CLEAN_BATCH_SIZE``). The time per session varies
with the indexes' size (1,000,000 sessions cost more than 1,000), the sessions
themselves (a logged-in one, a full cart) and what else the server does, so the rule
follows the last measure: a slow batch makes the next one smaller at once, a quick one
lets it grow, at most doubling a step (one lucky measure cannot jump to the bound).

The time is the server's: ``TIME`` before and after the script, in the same
pipeline (``timed``), so Redis runs the three back to back and their difference is
the script's own time, not the cleaner's waits for a CPU (measured on a loaded 2-core
machine, the cleaner's clock saw 5-10 times the script's time and shrank the batches
for nothing). On a Redis Cluster the steps of one batch may run on several nodes,
whose clocks differ: there the cleaner's own clock is used (its round trip).
``CLEAN_BATCH_TIME = 0`` turns the sizing off: every batch takes ``most``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis_sessions.connection.scripts import Command

#: The smallest batch: below it the round trip, not the script, is the cost.
LEAST = 10
#: The first batch of a pass, before anything was measured (capped by ``most``).
FIRST = 50


class BatchSizer:
    """The size of the next batch, from the time the last one took."""

    def __init__(self, most: int, seconds: float) -> None:
        self.most, self.seconds = most, seconds
        self.size = min(most, FIRST) if seconds > 0 else most

    def measured(self, picked: int, elapsed: float) -> int:
        """Account for a batch of ``picked`` sessions that took ``elapsed`` seconds;
        returns the size of the next one."""
        if self.seconds <= 0 or picked <= 0:
            return self.size
        # (an elapsed time below the clock's resolution: as quick as can be)
        fit = int(picked * self.seconds / elapsed) if elapsed > 0 else self.most
        # Grow from the larger of the size asked and the size measured (a short last
        # batch of a part says little about the size that fits).
        grown = 2 * max(self.size, picked)
        self.size = max(min(LEAST, self.most), min(self.most, fit, grown))
        return self.size


_TIME: Command = ("TIME",)


def timed(command: Command, clocked: bool) -> list[Command]:
    """``command`` between two ``TIME`` (``clocked``), or alone."""
    return [_TIME, command, _TIME] if clocked else [command]


def untimed(replies: Sequence[Any], clocked: bool) -> tuple[Any, float | None, list[Any]]:
    """The replies of a ``timed`` command and what followed it: its reply, the seconds
    it ran on the server (None unless ``clocked``), and the later replies."""
    if not clocked:
        return replies[0], None, list(replies[1:])
    before, reply, after, *rest = replies
    seconds = int(after[0]) - int(before[0]) + (int(after[1]) - int(before[1])) / 1e6
    return reply, seconds, rest
