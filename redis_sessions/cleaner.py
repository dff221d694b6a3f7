"""One pass of ``clean_sessions``, and the loop around it (``clean_sessions()``).

A pass first forgets sessions whose data Redis expired (so they do not count against
the limit), then evicts the oldest sessions beyond ``limit``, in batches of
``batch_size``. Each batch is one atomic step (``cleaning.evict_command``); the pick
of the next batch travels in the same round trip as the eviction of the current one
(a pipeline, not MULTI: the pick only reads, and the script re-checks whatever it
picked), so a batch costs one round trip.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from . import keys, scripts
from .cleaning import (
    EXPIRED,
    LIMIT,
    Candidate,
    Evicted,
    evict_command,
    expired_candidates,
    expired_pick_command,
    notify,
    over_limit_candidates,
    over_limit_pick_commands,
    parse_evicted,
    wants_carts,
)
from .conf import app_settings
from .connection import get_redis, run
from .loops import LoopRunner

LOOP_NAME = "clean_sessions"
#: Called after each batch with what it removed and how long its round trip took.
OnBatch = Callable[[Evicted, float], None]


class _Pass:
    def __init__(self, limit: int, batch: int, keep_going: Callable[[], bool],
                 on_batch: OnBatch | None) -> None:  # fmt: skip
        self.limit, self.batch = limit, batch
        self.keep_going = keep_going
        self.on_batch = on_batch
        self.client = get_redis()
        self.stats: dict[str, Any] = {
            "removed": 0, "expired": 0, "over_limit": 0, "survivors": 0,
            "keys_deleted": 0, "batches": 0, "longest_batch": 0.0,
        }  # fmt: skip

    def _step(self, reason: str, picked: list[Candidate], then: list[Any]) -> list[Any]:
        """Evict ``picked`` and send ``then`` (the next pick) in the same round trip."""
        started = time.perf_counter()
        replies = run(self.client, [evict_command(reason, picked, wants_carts()), *then])
        elapsed = time.perf_counter() - started
        evicted = parse_evicted(reason, len(picked), replies[0])
        notify(evicted)
        s = self.stats
        removed = len(evicted.session_keys)
        s["removed"] += removed
        s["expired" if reason == EXPIRED else "over_limit"] += removed
        s["survivors"] += evicted.survivors
        s["keys_deleted"] += evicted.keys_deleted
        s["batches"] += 1
        s["longest_batch"] = max(s["longest_batch"], round(elapsed, 4))
        if self.on_batch is not None:
            self.on_batch(evicted, elapsed)
        return replies[1:]

    def expired(self) -> bool:
        offset = 0
        # The script is loaded with the first pick: were it missing at the first
        # eviction, run() would load it and send that alone again, AFTER the pick
        # pipelined behind it, and that pick would be stale (a wasted batch).
        load = ("SCRIPT", "LOAD", scripts.get("session_evict").source)
        picked = expired_candidates(
            run(self.client, [load, expired_pick_command(self.batch, offset)])[1]
        )
        while picked:
            if not self.keep_going():
                return False
            before = self.stats["survivors"]
            reply = self._step(EXPIRED, picked, [expired_pick_command(self.batch, offset)])
            if self.stats["survivors"] > before:
                # Some were still alive and stay due: step over them and pick again.
                offset += self.stats["survivors"] - before
                reply = [run(self.client, [expired_pick_command(self.batch, offset)])[0]]
            picked = expired_candidates(reply[0])
        return True

    def over_limit(self) -> bool:
        picks = over_limit_pick_commands(self.batch)
        picked = over_limit_candidates(run(self.client, picks), self.limit, self.batch)
        while picked:
            if not self.keep_going():
                return False
            replies = self._step(LIMIT, picked, picks)
            picked = over_limit_candidates(replies, self.limit, self.batch)
        return True


def clean_pass(
    *,
    limit: int | None = None,
    batch_size: int | None = None,
    dry_run: bool = False,
    keep_going: Callable[[], bool] = lambda: True,
    on_batch: OnBatch | None = None,
) -> dict[str, Any]:
    """One pass: forget expired sessions, then keep the newest ``limit``.

    Returns the pass summary (stored in the heartbeat). ``dry_run`` only counts, in
    one round trip: sessions beyond the limit and entries due in ``expires:`` (the
    two overlap when an expired session is also beyond the limit).
    """
    limit = app_settings.SESSION_LIMIT if limit is None else limit
    batch = batch_size or app_settings.CLEAN_BATCH_SIZE
    if dry_run:
        size, due = run(get_redis(), [("ZCARD", keys.recent()),
                                      ("ZCOUNT", keys.expires(), "-inf", time.time())])  # fmt: skip
        return {"dry_run": True, "sessions": size, "over_limit": max(0, size - limit),
                "expired_due": due}  # fmt: skip
    one = _Pass(limit, batch, keep_going, on_batch)
    one.stats["complete"] = one.expired() and one.over_limit()
    return one.stats


def clean_sessions(
    *,
    once: bool = False,
    interval: float = 1.0,
    limit: int | None = None,
    batch_size: int | None = None,
    dry_run: bool = False,
    on_batch: OnBatch | None = None,
    log: Callable[[str], None] | None = None,
    runner: LoopRunner | None = None,
) -> list[dict[str, Any]]:
    """Run ``clean_pass`` under the shared loop runner (lock, heartbeat, signals).

    ``once`` runs one pass; otherwise passes run ``interval`` seconds apart until
    SIGINT/SIGTERM (the current batch finishes first). Returns the pass summaries.
    """
    runner = runner or LoopRunner(LOOP_NAME, once=once, interval=interval, log=log)
    return runner.run(
        lambda r: clean_pass(limit=limit, batch_size=batch_size, dry_run=dry_run,
                             keep_going=r.keep_going, on_batch=on_batch)
    )  # fmt: skip
