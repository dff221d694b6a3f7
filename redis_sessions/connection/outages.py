"""Logging a Redis failure once, not once per request.

An outage (Redis down or full, a key of the wrong type) affects every request; a log
line per request would flood the log and bury the first, useful one. ``Outage`` is
the app's one log-once helper:

* ``failed()`` logs the first failure of an outage and stays quiet while it lasts; the
  caller says when it has ended (``ok()``). A Redis that flaps (a full Redis answers
  reads and refuses writes) still logs at most once per ``every`` seconds.
* ``throttled()`` is for failures with no "it works again" signal (a key of the wrong
  type): at most one line per ``every`` seconds.

Both hold per process whatever the number of threads: the threads of a worker that
fail together log one line between them (a lock around the decision to log).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

__all__ = ["Outage"]


class Outage:
    """One kind of failure of one part of the app, logged once per outage."""

    def __init__(self, logger: logging.Logger, every: float = 10.0) -> None:
        self.logger = logger
        self.every = every
        self.down = False
        self.logged_at = -float("inf")
        self._lock = threading.Lock()

    def failed(self, level: int, message: str, *args: Any) -> bool:
        """Log ``message`` if this is a new outage; True if it logged."""
        if self.down:  # the outage's later failures: no lock taken
            return False
        with self._lock:
            if self.down:
                return False
            self.down = True
            return self._log_unless_recent(level, message, args)

    def throttled(self, level: int, message: str, *args: Any) -> bool:
        """Log ``message`` unless a line was logged less than ``every`` seconds ago."""
        if time.monotonic() - self.logged_at < self.every:
            return False
        with self._lock:
            return self._log_unless_recent(level, message, args)

    def _log_unless_recent(self, level: int, message: str, args: tuple[Any, ...]) -> bool:
        now = time.monotonic()
        if now - self.logged_at < self.every:
            return False
        self.logged_at = now
        self.logger.log(level, message, *args)
        return True

    def ok(self) -> None:
        """The part works again: the next failure is a new outage."""
        self.down = False
