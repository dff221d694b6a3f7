"""One pass of ``clean_sessions``, and the loop around it (``clean_sessions()``).

A pass first unlinks the ``expires:`` zset of earlier releases (if any), forgets
sessions whose data Redis expired (picked from ``recent:``: those last seen more than
``SESSION_COOKIE_AGE`` ago; the step keeps any still alive, and the pass steps over
them, so each is checked once a pass), so they do not count against the limit, then
evicts the oldest sessions beyond ``limit``, in batches sized by the time the last
one took (``sizing.BatchSizer``: ``batch_time`` of server time, at most
``batch_size``). Each batch is one atomic step (``eviction.evict_command``); the pick
of a later batch travels in the same round trip as the eviction of the current one
(a pipeline, not MULTI: the pick only reads, and the script re-checks whatever it
picked), so a batch costs one round trip.

Beyond the limit, two batches are in flight on one connection (``InFlight``): the
next batch's pipeline is sent before the current one's reply is read, so the
cleaner's own work (parsing a pick, building the next command, the receivers)
overlaps Redis running the previous script. Each pick therefore skips the batches
still ahead of it (known, or being picked by a pipeline on the wire); a pick that
lands on a batch already claimed drops those sessions, and a pass that ran out of
picks while ``recent:`` may still be over the limit picks again from the oldest.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

import redis

from redis_sessions import keys
from redis_sessions.conf import app_settings
from redis_sessions.connection import InFlight, get_redis, run
from redis_sessions.connection.nodes import is_cluster
from redis_sessions.connection.replies import pairs
from redis_sessions.loops import LoopRunner
from redis_sessions.sessions.eviction import (
    EXPIRED,
    LIMIT,
    Candidate,
    Evicted,
    evict_command,
    evict_frame,
    expired_candidates,
    expired_cutoff,
    expired_pick_command,
    legacy_cleanup_command,
    notify,
    over_limit_pick_commands,
    parse_evicted,
    wants_carts,
)
from redis_sessions.sessions.scripts import SESSION_EVICT
from redis_sessions.sessions.sizing import BatchSizer, timed, untimed

LOOP_NAME = "clean_sessions"
#: Pipelines on the wire at once beyond the limit (each one batch and the next pick).
#: Measured 2, 3 and 4: the server is saturated at 2, and more only adds picks that
#: land on batches already claimed.
IN_FLIGHT = 2
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
        # The script is loaded with the first pick: were it missing at the first
        # eviction, run() would load it and send that alone again, AFTER the pick
        # pipelined behind it, and that pick would be stale (a wasted batch).
        load = ("SCRIPT", "LOAD", SESSION_EVICT.source)
        pick = expired_pick_command(self.sizer.size, offset)
        picked = expired_candidates(run(self.client, [load, legacy_cleanup_command(), pick])[2])
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
        with InFlight(self.client) as flight:
            while True:
                # The IN_FLIGHT oldest batches beyond the limit: the later ones'
                # pipelines go out before the first one's reply is back.
                batch = self.sizer.size
                flight.send(over_limit_pick_commands(IN_FLIGHT * batch))
                size, flat = _raised(flight.read())
                picked = pairs(flat)[: max(0, int(size) - self.limit)]
                queue = [b for b in (picked[i : i + batch]
                                     for i in range(0, len(picked), batch)) if b]  # fmt: skip
                if not queue:
                    return True
                ended = self._overlapped(flight, deque(queue))
                if ended is None:
                    return False
                # The last pick skipped batches that turned out not to come (shorter
                # picks, or a change meanwhile): look again from the oldest.
                offset, size = ended
                if offset == 0 or size <= self.limit:
                    return True

    def _overlapped(
        self, flight: InFlight, queue: deque[list[Candidate]]
    ) -> tuple[int, int] | None:
        """Evict ``queue`` and what later picks find, two pipelines in flight; the
        offset and ZCARD of the last pick, or None when told to stop (the batches
        already sent are finished and reported first)."""
        frames = {want: evict_frame(LIMIT, want) for want in (False, True)}
        recent = keys.recent()
        sent: deque[_Sent] = deque()
        claimed = {key for picked in queue for key, _ in picked}
        last, stopped = (0, 0), False
        while sent or (queue and not stopped):
            while queue and len(sent) < IN_FLIGHT and not stopped:
                if not self.keep_going():
                    stopped = True
                    break
                picked = queue.popleft()
                if len(picked) > self.sizer.size:
                    # Picked before the last measure: no more than fits now (a slow
                    # batch makes the very next one smaller); the rest goes next.
                    queue.appendleft(picked[self.sizer.size :])
                    picked = picked[: self.sizer.size]
                # What the pick must skip is still ahead of it then: the batches known
                # but not sent yet, and what each pick still on the wire takes.
                offset = sum(map(len, queue)) + sum(s.takes for s in sent)
                # Sized by the batches read so far (the last one or two are in flight).
                report, takes = wants_carts(), self.sizer.size
                pick = ("ZRANGE", recent, offset, offset + takes - 1, "WITHSCORES")
                evict = evict_command(LIMIT, picked, report, frames[report])
                flight.send([*timed(evict, self.clocked), ("ZCARD", recent), pick])
                sent.append(_Sent(picked, offset, takes, time.perf_counter()))
            if not sent:
                break
            step = sent.popleft()
            try:
                size, flat = self._finish(flight, step)
            except redis.exceptions.NoScriptError:
                # Flushed mid-pass: finish what is on the wire, load it, pick afresh.
                self._drain(flight, sent)
                run(self.client, [("SCRIPT", "LOAD", SESSION_EVICT.source)])
                return 1, self.limit + 1
            except BaseException:
                self._drain(flight, sent)
                raise
            claimed.difference_update(key for key, _ in step.picked)
            more = pairs(flat)[: max(0, min(step.takes, size - self.limit - step.offset))]
            more = [pair for pair in more if pair[0] not in claimed]
            if more:
                queue.append(more)
                claimed.update(key for key, _ in more)
            last = (step.offset, size)
        return None if stopped else last

    def _finish(self, flight: InFlight, step: _Sent) -> tuple[int, Any]:
        """Read one pipeline: record its step; the ZCARD and pick that followed it."""
        reply, script, (size, flat) = untimed(_raised(flight.read()), self.clocked)
        now = time.perf_counter()
        # Its own time: from its send, or from the previous reply if that came later.
        elapsed, self.last_read = now - max(step.started, self.last_read), now
        self._record(parse_evicted(LIMIT, step.picked, reply), elapsed, script)
        return int(size), flat

    def _drain(self, flight: InFlight, sent: deque[_Sent]) -> None:
        while sent:
            step = sent.popleft()
            with contextlib.suppress(redis.ResponseError):  # that step ran nothing
                self._finish(flight, step)


class _Sent(NamedTuple):
    """A pipeline on the wire: its batch, and the pick behind it (offset, size)."""

    picked: list[Candidate]
    offset: int
    takes: int
    started: float


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
