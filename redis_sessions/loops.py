"""One small runner for the background loops (``clean_sessions``, ``rescale_viewed``,
``cache_rows``): ``--once`` / ``--interval``, SIGINT/SIGTERM, a single-instance lock
and a heartbeat per pass.

A pass is a callable ``one_pass(runner) -> dict`` that does its work in batches and
calls ``runner.keep_going()`` between them: that renews the lock and returns False
once a stop was requested (the pass then returns what it did so far). The dict it
returns is the pass summary, stored in the heartbeat; the key ``next_in`` (seconds),
if present, shortens the sleep before the next pass.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from redis_sessions import keys
from redis_sessions.conf import app_settings
from redis_sessions.connection import get_redis, run
from redis_sessions.connection.outages import Outage
from redis_sessions.connection.scripts import LOCK_RELEASE, LOCK_RENEW
from redis_sessions.exceptions import RedisUnavailable

logger = logging.getLogger("redis_sessions.loops")
HEARTBEAT_TTL = 7 * 24 * 3600
MAX_BACKOFF = 30.0


class LockLost(Exception):
    """Another instance took the loop's lock (ours expired): stop at once."""


class LoopRunner:
    def __init__(
        self,
        name: str,
        *,
        once: bool = False,
        interval: float = 1.0,
        log: Callable[[str], None] | None = None,
        lock_timeout: int | None = None,
    ) -> None:
        self.name = name
        self.once = once
        self.interval = interval
        self.log = log or logger.info
        self.lock_timeout = lock_timeout or app_settings.LOCK_TIMEOUT
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = False
        self.passes = 0
        self._renewed_at = 0.0
        self._holding = False
        # One warning per outage (the retries' back-off lines are DEBUG), one INFO line
        # when a pass succeeds again.
        self._outage = Outage(logger)

    # -- stop requests -----------------------------------------------------------------
    def request_stop(self, *args: Any) -> None:
        if not self.stopping:
            self.log(f"{self.name}: stop requested; finishing the current batch")
        self.stopping = True

    @contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread may set signal handlers
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, self.request_stop)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def keep_going(self) -> bool:
        """Between batches: renew the lock; False once a stop was requested."""
        # Renewing after a third of the TTL (not every batch) saves a round trip per
        # batch and still notices a lost lock: it can only be lost after a full TTL.
        if time.monotonic() - self._renewed_at > self.lock_timeout / 3:
            self._renew()
        return not self.stopping

    def sleep(self, seconds: float) -> None:
        """Wait, keeping a held lock alive (renewed at most every third of its TTL).

        A failure to renew ends the wait early instead of the loop: an unreachable
        Redis or a lost lock sends ``run`` back to acquiring the lock.
        """
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.2))
            if self.stopping or not self._holding:
                continue
            try:
                self.keep_going()
            except (RedisUnavailable, LockLost) as exc:
                self._holding = False
                logger.warning("%s: %s while waiting; acquiring the lock again", self.name, exc)
                return

    # -- the lock ----------------------------------------------------------------------
    def _acquire(self) -> None:
        said = False
        while not self.stopping:
            key = keys.loop_lock(self.name)
            if run(get_redis(), [("SET", key, self.token, "NX", "EX", self.lock_timeout)])[0]:
                self._renewed_at = time.monotonic()
                self._holding = True
                return
            holder = run(get_redis(), [("GET", key)])[0]
            if holder == self.token.encode():  # ours from the previous pass
                self._renew()
                self._holding = True
                return
            if not said:
                self.log(
                    f"{self.name}: another instance holds the lock "
                    f"({(holder or b'?').decode()}); waiting"
                )
                said = True
            self.sleep(1.0)

    def _renew(self) -> None:
        renewed = run(
            get_redis(),
            [LOCK_RENEW.command(
                [keys.loop_lock(self.name)], [self.token, self.lock_timeout * 1000])],
        )[0]  # fmt: skip
        if not renewed:
            self._holding = False
            raise LockLost(f"{self.name}: lost the lock to another instance")
        self._renewed_at = time.monotonic()

    def _release(self) -> None:
        self._holding = False
        with contextlib.suppress(RedisUnavailable):  # it expires by itself
            run(get_redis(), [LOCK_RELEASE.command(
                [keys.loop_lock(self.name)], [self.token])])  # fmt: skip

    # -- heartbeat ---------------------------------------------------------------------
    def _heartbeat(self, summary: dict[str, Any], duration: float) -> None:
        beat = {"time": time.time(), "duration": round(duration, 4), "pass": self.passes,
                "holder": self.token, "summary": summary}  # fmt: skip
        run(get_redis(), [("SET", keys.heartbeat(self.name),
                           json.dumps(beat, default=str), "EX", HEARTBEAT_TTL)])  # fmt: skip

    # -- running -----------------------------------------------------------------------
    def run(self, one_pass: Callable[[LoopRunner], dict[str, Any]]) -> list[dict[str, Any]]:
        """Run passes until ``--once`` is done or a stop is requested.

        In ``--once`` mode an unreachable Redis raises ``RedisUnavailable``; in loop
        mode it is logged and retried with a growing back-off.
        """
        summaries: list[dict[str, Any]] = []
        backoff = 1.0
        with self._signals():
            try:
                while not self.stopping:
                    try:
                        self._acquire()
                        if self.stopping:
                            break
                        started = time.monotonic()
                        summary = one_pass(self)
                        self.passes += 1
                        self._heartbeat(summary, time.monotonic() - started)
                        summaries.append(summary)
                        backoff = 1.0
                        if self._outage.down:
                            logger.info("%s: Redis answers again; passes resumed", self.name)
                            self._outage.ok()
                    except LockLost as exc:
                        # Ours expired (a long stall) and another instance took it: stop
                        # this pass where it is and wait for the lock like a newcomer.
                        logger.warning("%s", exc)
                        continue
                    except RedisUnavailable as exc:
                        self._holding = False
                        if self.once:
                            raise
                        if not self._outage.failed(
                            logging.WARNING,
                            "%s: %s; retrying with a growing back-off (1 s to %.0f s) until "
                            "Redis answers",
                            self.name, exc, MAX_BACKOFF,
                        ):  # fmt: skip
                            logger.debug("%s: %s; retrying in %.0f s", self.name, exc, backoff)
                        self.sleep(backoff)
                        backoff = min(backoff * 2, MAX_BACKOFF)
                        continue
                    if self.once:
                        break
                    next_in = summary.get("next_in")
                    wait = self.interval if next_in is None else min(self.interval, next_in)
                    self.sleep(max(wait, 0.0))
            finally:
                self._release()
        return summaries


def read_heartbeat(name: str) -> dict[str, Any] | None:
    """The last heartbeat of loop ``name`` (for inspection views and doctors)."""
    raw = run(get_redis(), [("GET", keys.heartbeat(name))])[0]
    return json.loads(raw) if raw else None
