"""The guard on every connection the app opens: the circuit breaker per server address
(``breaker``), the round-trip count, and whether a failed step may have run in Redis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import redis
import redis.asyncio as aredis

from redis_sessions.connection.breaker import BreakerOpen, breaker
from redis_sessions.exceptions import RedisUnavailable, UnknownOutcome

__all__ = ["MAY_HAVE_RUN", "BreakerOpen", "breaker", "round_trips", "unavailable"]


def _address(conn: Any) -> str:
    """The server a connection talks to: its socket path, or host:port (read each time:
    a Sentinel-managed connection moves to the new master)."""
    path = getattr(conn, "path", None)
    return str(path) if path else f"{getattr(conn, 'host', '')}:{getattr(conn, 'port', '')}"


_FAILURES = (redis.ConnectionError, redis.TimeoutError, OSError)


def round_trips() -> int:
    """Round trips sent by the app's own clients in this process so far."""
    return breaker.round_trips


class _watched:
    """Around one connection step: refuse while the breaker is open, trip it on a
    failure, close it on a reply, note whether the failed step may have run in Redis,
    count a round trip (not the handshake of a new connection).

    A class rather than a @contextmanager generator: it runs three times per round
    trip on the session hot path, and this costs a fraction of a generator's setup
    (with every breaker closed, a step costs one dict lookup and one truth test more).
    """

    __slots__ = ("conn", "handshake", "reading", "sending")

    def __init__(self, conn: Any, *, check: bool = True, handshake: bool = False,
                 count: bool = False) -> None:  # fmt: skip
        if check and breaker.open_until:
            address = _address(conn)
            if breaker.check(address, conn):
                conn._probing = address  # this connection probes: its reply closes it
        if count and not conn._handshaking:
            breaker.round_trips += 1
        if handshake:
            conn._handshaking = True
        self.conn, self.handshake, self.reading, self.sending = conn, handshake, not check, count

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> Literal[False]:
        if self.handshake:
            self.conn._handshaking = False
        if exc is None:
            if self.reading and breaker.open_until:
                replied(self.conn)
            return False
        if isinstance(exc, _FAILURES):
            _note_outcome(exc, handshake=self.handshake, reading=self.reading,
                          sending=self.sending)  # fmt: skip
            failed(self.conn, exc)
        elif self.reading and isinstance(exc, redis.ResponseError) and breaker.open_until:
            replied(self.conn)  # an error reply is a reply: the server answers
        return False


def replied(conn: Any) -> None:
    """``conn`` read a reply: its server's breaker closes, and the breaker of the
    address it probed (a Sentinel connection probes the old master's address and
    reaches the promoted replica)."""
    probing = getattr(conn, "_probing", None)
    address = _address(conn)
    if probing is None and address not in breaker.open_until:
        return  # another server's breaker is open (a dead node): nothing to close here
    conn._probing = None
    breaker.succeeded(address, *((probing,) if probing else ()))


def failed(conn: Any, exc: BaseException) -> None:
    """A step of ``conn`` failed: trip its server's breaker (not for a refusal by the
    breaker itself), and end the probe it was making, if any."""
    probing = getattr(conn, "_probing", None)
    conn._probing = None
    address = _address(conn)
    if not isinstance(exc, BreakerOpen):
        breaker.trip(exc, address)
    if probing and (probing != address or isinstance(exc, BreakerOpen)):
        breaker.reopen(probing)


#: Set on a redis-py error: True when the failed commands may have run in Redis.
MAY_HAVE_RUN = "redis_sessions_may_have_run"


def _note_outcome(exc: BaseException, *, handshake: bool, reading: bool, sending: bool) -> None:
    """Mark whether the commands of the failed step may have reached Redis.

    A failure while connecting (or in the handshake of a new connection, even when
    redis-py connects lazily from inside a send) means nothing of ours was sent. A
    failure while reading a reply, or a timeout while writing (a slow peer may hold
    part of the request), means Redis may have run the commands: the outcome is
    unknown. A connection error while writing means the peer is gone (refused,
    reset, broken pipe): nothing it could still run.
    """
    if handshake:
        setattr(exc, MAY_HAVE_RUN, False)  # the outermost step decides: connecting
    elif not hasattr(exc, MAY_HAVE_RUN):
        setattr(exc, MAY_HAVE_RUN, reading or (sending and isinstance(exc, redis.TimeoutError)))


class _SyncGuard:
    """Mixed into a redis-py connection class: breaker check, trip, round-trip count.

    The handshake a new connection sends (HELLO, CLIENT SETINFO) is not counted: the
    count is of the app's own round trips on warm connections. ``connect_check_health``
    is what redis-py 6+ calls from ``connect`` and from a lazy first send.
    """

    _handshaking = False
    _probing: str | None = None  # the address whose half-open breaker this one probes

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, handshake=True):
            return super().connect(*args, **kwargs)  # type: ignore[misc]

    def connect_check_health(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, handshake=True):
            return super().connect_check_health(*args, **kwargs)  # type: ignore[misc]

    def send_packed_command(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, count=True):
            return super().send_packed_command(*args, **kwargs)  # type: ignore[misc]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, check=False):
            return super().read_response(*args, **kwargs)  # type: ignore[misc]


class _AsyncGuard:
    """``_SyncGuard`` for redis.asyncio connections."""

    _handshaking = False
    _probing: str | None = None

    async def connect(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, handshake=True):
            return await super().connect(*args, **kwargs)  # type: ignore[misc]

    async def connect_check_health(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, handshake=True):
            return await super().connect_check_health(*args, **kwargs)  # type: ignore[misc]

    async def send_packed_command(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, count=True):
            return await super().send_packed_command(*args, **kwargs)  # type: ignore[misc]

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, check=False):
            return await super().read_response(*args, **kwargs)  # type: ignore[misc]


_ASYNC_CLASS = {
    redis.Connection: aredis.Connection,
    redis.SSLConnection: aredis.SSLConnection,
    redis.UnixDomainSocketConnection: aredis.UnixDomainSocketConnection,
}
_guarded: dict[type, type] = {}


def _guard(cls: type, mixin: type) -> type:
    if cls not in _guarded:
        _guarded[cls] = type(f"Guarded{cls.__name__}", (mixin, cls), {})
    return _guarded[cls]


def unavailable(exc: BaseException, commands: Sequence[Sequence[Any]] = ()) -> RedisUnavailable:
    """``UnknownOutcome`` when ``commands`` may have run (see ``_note_outcome``), else
    ``RedisUnavailable``: the commands certainly did not run."""
    if getattr(exc, MAY_HAVE_RUN, False):
        return UnknownOutcome(
            f"Redis did not answer after the commands were sent ({exc}); they may or may "
            "not have run, and they were not retried.",
            attempted=[tuple(command) for command in commands],
        )
    return RedisUnavailable(f"Redis is unavailable: {exc}")
