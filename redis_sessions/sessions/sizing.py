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

The time is the one the cleaner sees per batch (its round trip, or with batches in
flight the time since the previous reply): the script plus the pick beside it plus
the transport, never less than the script alone, so the budget errs on the safe side.
``CLEAN_BATCH_TIME = 0`` turns the sizing off: every batch takes ``most``.
"""

from __future__ import annotations

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
        """Take ``picked`` sessions' batch took ``elapsed`` seconds into account;
        returns the next size."""
        if self.seconds <= 0 or picked <= 0:
            return self.size
        # (an elapsed time below the clock's resolution: as quick as can be)
        fit = int(picked * self.seconds / elapsed) if elapsed > 0 else self.most
        # Grow from the larger of the size asked and the size measured (a short last
        # batch of a part says little about the size that fits).
        grown = 2 * max(self.size, picked)
        self.size = max(min(LEAST, self.most), min(self.most, fit, grown))
        return self.size
