"""The circuit breaker per server address: closed, open, half-open (one probe).

``guard`` checks it around every connection step and tells it of failures and replies;
``docs/reliability.md`` ("The circuit breaker") says what each state does and why.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from redis_sessions.conf import app_settings

__all__ = ["BreakerOpen", "breaker"]

logger = logging.getLogger("redis_sessions")


class BreakerOpen(redis.ConnectionError):
    """A call refused by an open breaker: nothing was sent, and no new failure to
    record (tripping again on it would keep the breaker open for as long as calls keep
    coming, e.g. through Sentinel, whose new connections check the master's address
    only inside their connect)."""


_TIMEOUTS = (redis.TimeoutError, TimeoutError)


def _probe_timeout() -> float:
    """How long a probe may stay unanswered before another call may probe instead
    (a probe that ends without a verdict: a cancelled task, a non-Redis error)."""
    connect = app_settings.SOCKET_CONNECT_TIMEOUT or 1.0
    read = app_settings.SOCKET_TIMEOUT or 1.0
    return min(connect + read, 5.0)


def _open_period(exc: BaseException) -> float:
    """How long the breaker stays open after ``exc``: ``CIRCUIT_BREAKER_SECONDS``, but
    after a timeout on a Redis Cluster at least four socket timeouts (2 s by default).

    redis-py's cluster pipeline sends a command again, within the same call, after its
    reply timed out (once it has asked the other nodes for the topology: a socket
    timeout or two); only an open breaker refuses that second send. A probe let
    through by then would be it, and a node that was only slow would apply the write
    twice. A refused connect or a dead node (a failover) delivered nothing: the short
    period applies, and recovery follows the promotion.
    """
    period = app_settings.CIRCUIT_BREAKER_SECONDS
    if period > 0 and app_settings.CLUSTER and isinstance(exc, _TIMEOUTS):
        period = max(period, 4 * (app_settings.SOCKET_TIMEOUT or 0.5))
    return period


class _Breaker:
    """Circuit breaker per server address, shared by the sync and async clients of the
    process (one address, so one breaker, on a single server or through Sentinel).

    Three states. *Closed* (no entry): calls go through. *Open*: after a failure,
    calls fail at once (``BreakerOpen``, nothing sent) for ``CIRCUIT_BREAKER_SECONDS``;
    more failures meanwhile (calls made before it opened) change nothing. *Half-open*:
    once that period is over, one call, the probe, goes through while the others
    are still refused; a reply closes the breaker at once, a failure opens it for
    another period. So requests come back one period (plus a round trip) after the
    server, the promoted replica or the new slot owner answers, however long the
    outage lasted, and an outage costs one connect or timeout per period, not one
    per request.
    """

    def __init__(self) -> None:
        self.open_until: dict[str, float] = {}  # address -> end of its open period
        self.probes: dict[str, tuple[object, float]] = {}  # address -> (owner, deadline)
        self.round_trips = 0  # every packed send is one round trip (tests count them)
        self._lock = threading.Lock()

    def check(self, address: str, owner: object = None) -> bool:
        """Raise ``BreakerOpen`` unless a call to ``address`` may go; True when this
        call is the probe of a half-open breaker (``owner`` owns it: its later steps
        pass, and its first reply closes the breaker)."""
        until = self.open_until.get(address)
        if until is None:
            return False
        now = time.monotonic()
        if now < until:
            raise BreakerOpen(
                "Redis circuit breaker is open after a recent failure; not trying again yet"
            )
        with self._lock:
            if address not in self.open_until:
                return False  # closed meanwhile
            probe = self.probes.get(address)
            if probe is not None and probe[0] is not owner and now < probe[1]:
                raise BreakerOpen(
                    "Redis circuit breaker is half-open: another call is probing the server"
                )
            self.probes[address] = (owner if owner is not None else object(),
                                    now + _probe_timeout())  # fmt: skip
        return True

    def trip(self, exc: BaseException, address: str) -> None:
        """A call to ``address`` failed: open the breaker (logged once per outage), or
        open it again for another period when the call was the half-open probe."""
        period = _open_period(exc)
        now = time.monotonic()
        with self._lock:
            until = self.open_until.get(address)
            if until is not None and now < until:
                return  # already open: a call made before it opened, nothing new
            if period > 0:
                self.open_until[address] = now + period
                self.probes.pop(address, None)
        if until is None:
            # Logged once per outage (a failed probe is the same outage), no session contents.
            logger.error(
                "Redis unreachable (key prefix %r): %s; failing fast, probing every %.2f s",
                app_settings.KEY_PREFIX,
                exc,
                period,
            )

    def reopen(self, address: str) -> None:
        """A probe ended without a verdict (refused on another address): another period
        before the next probe, with no log line (the outage is already logged)."""
        with self._lock:
            if address in self.open_until and address in self.probes:
                self.open_until[address] = time.monotonic() + app_settings.CIRCUIT_BREAKER_SECONDS
                del self.probes[address]

    def succeeded(self, *addresses: str) -> None:
        """A server answered: close its breaker (the probe's reply ends the outage)."""
        closed = []
        with self._lock:
            for address in addresses:
                if self.open_until.pop(address, None) is not None:
                    closed.append(address)
                self.probes.pop(address, None)
        for address in closed:
            logger.info("Redis reachable again at %s (key prefix %r)", address,
                        app_settings.KEY_PREFIX)  # fmt: skip

    def close(self) -> None:
        with self._lock:
            self.open_until.clear()
            self.probes.clear()


breaker = _Breaker()
