"""One pass of ``clean_sessions``, and the loop around it (``clean_sessions()``).

A pass first unlinks the ``expires:`` zset of earlier releases (if any), forgets
sessions whose data Redis expired (picked from ``recent:``: those last seen more than
``SESSION_COOKIE_AGE`` ago; the step keeps any still alive, and the pass steps over
them, so each is checked once a pass), so they do not count against the limit, then
evicts the oldest sessions beyond ``limit``. Batches are sized by the time the last
one took (``sizing.BatchSizer``: ``batch_time`` of server time, at most
``batch_size``), and each is one atomic step, one round trip:

* expired sessions: ``eviction.evict_command``, whose script re-checks each picked
  session; the pick of the next batch travels in the same pipeline (not MULTI: the
  pick only reads);
* beyond the limit: ``eviction.evict_oldest_command``, whose script picks the oldest
  itself, so nothing it takes can have been used since. Two batches are in flight on
  one connection (``InFlight``): the next is sent before the current one's reply is
  read, so the cleaner's own work (the reply, the receivers) overlaps Redis running
  the previous script, and each takes the oldest left when it runs.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import redis

from redis_sessions import keys
from redis_sessions.conf import app_settings
from redis_sessions.connection import InFlight, get_redis, run
from redis_sessions.connection.nodes import is_cluster
from redis_sessions.loops import LoopRunner
from redis_sessions.sessions.eviction import (
    EXPIRED,
    Candidate,
    Evicted,
    evict_command,
    evict_oldest_command,
    evict_oldest_frame,
    expired_candidates,
    expired_cutoff,
    expired_pick_command,
    legacy_cleanup_command,
    notify,
    parse_evicted,
    parse_evicted_oldest,
    wants_carts,
)
from redis_sessions.sessions.scripts import SESSION_EVICT, SESSION_EVICT_OLDEST
from redis_sessions.sessions.sizing import BatchSizer, timed, untimed

LOOP_NAME = "clean_sessions"
#: Batches on the wire at once beyond the limit. Measured at 1,000,000 sessions
#: (bench/clean_sessions.py, the cleaner niced): one at a time, 80,700 sessions/s (1.46x
#: the book's loop) with the foreground GET's p50/p99 at 0.31/0.73 ms; two, 115,400/s
#: but 0.92/1.60 ms, as Redis then runs scripts back to back and a GET waits behind up
#: to two. The cleaner's job is to stay out of the requests' way: one.
IN_FLIGHT = 1
#: Called after each batch with what it removed and how long its round trip took.
OnBatch = Callable[[Evicted, float], None]


class _Pass:
    def __init__(self, limit: int, sizer: BatchSizer, keep_going: Callable[[], bool],
                 on_batch: OnBatch | None) -> None:  # fmt: skip
        self.limit, self.sizer = limit, sizer
        self.keep_going = keep_going
        self.on_batch = on_batch
        self.client = get_redis()
        # Batches are sized by the server's clock (TIME around each script), but on a
        # cluster a batch's steps may run on several nodes: there by the cleaner's.
        self.clocked = not is_cluster(self.client)
        self.last_read = 0.0
        self.stats: dict[str, Any] = {
            "removed": 0, "expired": 0, "over_limit": 0, "survivors": 0,
            "keys_deleted": 0, "batches": 0, "longest_batch": 0.0,
        }  # fmt: skip

    def _step(self, reason: str, picked: list[Candidate], then: list[Any]) -> list[Any]:
        """Evict ``picked`` and send ``then`` (the next pick) in the same round trip."""
        started = time.perf_counter()
        command = evict_command(reason, picked, wants_carts())
        replies = run(self.client, [*timed(command, self.clocked), *then])
        elapsed = time.perf_counter() - started
        reply, script, rest = untimed(replies, self.clocked)
        self._record(parse_evicted(reason, picked, reply), elapsed, script)
        return rest

    def _record(self, evicted: Evicted, elapsed: float, script: float | None) -> None:
        notify(evicted)
        reason, s = evicted.reason, self.stats
        removed = len(evicted.session_keys)
        s["removed"] += removed
        s["expired" if reason == EXPIRED else "over_limit"] += removed
        s["survivors"] += evicted.survivors
        s["keys_deleted"] += evicted.keys_deleted
        s["batches"] += 1
        s["longest_batch"] = max(s["longest_batch"], round(elapsed, 4))
        self.sizer.measured(evicted.picked, elapsed if script is None else script)
        if self.on_batch is not None:
            self.on_batch(evicted, elapsed)

    def expired(self) -> bool:
        offset = 0
        # The scripts are loaded with the first pick: were one missing at the first
        # eviction, run() would load it and send that alone again, AFTER the pick
        # pipelined behind it, and that pick would be stale (a wasted batch); and the
        # limit's batches would meet NOSCRIPT (two round trips more).
        load = [
            ("SCRIPT", "LOAD", script.source) for script in (SESSION_EVICT, SESSION_EVICT_OLDEST)
        ]
        pick = expired_pick_command(self.sizer.size, offset)
        picked = expired_candidates(run(self.client, [*load, legacy_cleanup_command(), pick])[-1])
        while picked:
            if not self.keep_going():
                return False
            # A batch picked before the last measure: no more than fits now (the rest
            # stays in the range, and the pick that follows finds it again).
            picked = picked[: self.sizer.size]
            before = self.stats["survivors"]
            reply = self._step(EXPIRED, picked, [expired_pick_command(self.sizer.size, offset)])
            if self.stats["survivors"] > before:
                # Some were still alive (a longer set_expiry) and stay in the range:
                # step over them and pick again, so the pass moves on and ends.
                offset += self.stats["survivors"] - before
                reply = [run(self.client, [expired_pick_command(self.sizer.size, offset)])[0]]
            picked = expired_candidates(reply[0])
        return True

    def over_limit(self) -> bool:
        """Evict the oldest sessions beyond the limit. Each batch picks inside its own
        atomic step (``session_evict_oldest``), so the next one could go before the
        previous one's reply is read: up to ``IN_FLIGHT`` on the wire, the cleaner's
        own work overlapping Redis's. The first goes alone (usually nothing is over)."""
        frames = {want: evict_oldest_frame(want) for want in (False, True)}
        sent: deque[float] = deque()  # when each batch on the wire was sent
        ahead, more, stopped = 1, True, False
        with InFlight(self.client) as flight:
            while sent or (more and not stopped):
                while more and not stopped and len(sent) < ahead:
                    if not self.keep_going():
                        stopped = True
                        break
                    report = wants_carts()
                    command = evict_oldest_command(self.limit, self.sizer.size, report,
                                                   frames[report])  # fmt: skip
                    flight.send(timed(command, self.clocked))
                    sent.append(time.perf_counter())
                if not sent:
                    break
                try:
                    left = self._finish(flight, sent.popleft())
                except redis.exceptions.NoScriptError:
                    # Not loaded yet, or flushed mid-pass: read what is on the wire
                    # (it ran nothing either), load it, go on.
                    self._drain(flight, sent)
                    run(self.client, [("SCRIPT", "LOAD", SESSION_EVICT_OLDEST.source)])
                    continue
                except BaseException:
                    self._drain(flight, sent)
                    raise
                more, ahead = left > self.limit, IN_FLIGHT
        return not stopped

    def _finish(self, flight: InFlight, started: float) -> int:
        """Read one batch's reply and record it; the sessions ``recent:`` holds after it."""
        reply, script, _ = untimed(_raised(flight.read()), self.clocked)
        now = time.perf_counter()
        # Its own time: from its send, or from the previous reply if that came later.
        elapsed, self.last_read = now - max(started, self.last_read), now
        evicted, left = parse_evicted_oldest(reply)
        if evicted.picked:  # a batch sent behind the last one may find nothing left
            self._record(evicted, elapsed, script)
        return left

    def _drain(self, flight: InFlight, sent: deque[float]) -> None:
        while sent:
            started = sent.popleft()
            with contextlib.suppress(redis.ResponseError):  # that batch ran nothing
                self._finish(flight, started)


def _raised(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


def clean_pass(
    *,
    limit: int | None = None,
    batch_size: int | None = None,
    batch_time: float | None = None,
    dry_run: bool = False,
    keep_going: Callable[[], bool] = lambda: True,
    on_batch: OnBatch | None = None,
) -> dict[str, Any]:
    """One pass: forget expired sessions, then keep the newest ``limit``.

    Each batch takes as many sessions as fit in ``batch_time`` seconds
    (``CLEAN_BATCH_TIME``) by the time the last one took, at most ``batch_size``
    (``CLEAN_BATCH_SIZE``); ``batch_time=0``: every batch takes ``batch_size``.

    Returns the pass summary (stored in the heartbeat). ``dry_run`` only counts, in
    one round trip: sessions beyond the limit and sessions idle for more than
    ``SESSION_COOKIE_AGE`` (expired, but for a longer ``set_expiry``; the two overlap
    when an expired session is also beyond the limit).
    """
    limit = app_settings.SESSION_LIMIT if limit is None else limit
    batch = batch_size or app_settings.CLEAN_BATCH_SIZE
    seconds = app_settings.CLEAN_BATCH_TIME if batch_time is None else batch_time
    if dry_run:
        idle = ("ZCOUNT", keys.recent(), "-inf", f"({expired_cutoff()!r}")
        size, due = run(get_redis(), [("ZCARD", keys.recent()), idle])
        return {"dry_run": True, "sessions": size, "over_limit": max(0, size - limit),
                "expired_due": due}  # fmt: skip
    one = _Pass(limit, BatchSizer(batch, seconds), keep_going, on_batch)
    one.stats["complete"] = one.expired() and one.over_limit()
    return one.stats


def clean_sessions(
    *,
    once: bool = False,
    interval: float = 1.0,
    limit: int | None = None,
    batch_size: int | None = None,
    batch_time: float | None = None,
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
        lambda r: clean_pass(limit=limit, batch_size=batch_size, batch_time=batch_time,
                             dry_run=dry_run, keep_going=r.keep_going, on_batch=on_batch)
    )  # fmt: skip
