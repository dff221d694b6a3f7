"""Exceptions the app raises on purpose."""

from __future__ import annotations

from dataclasses import dataclass


class RedisUnavailable(Exception):
    """Redis could not be reached (or did not answer in time, or refused a write
    because it is full: ``maxmemory`` under ``noeviction``).

    Raised instead of pretending the session is empty: a request that needs its
    session must fail clearly (the middleware answers 503) rather than log the user
    out. The original redis-py error is chained as ``__cause__``.
    """


class ConfigurationError(Exception):
    """A setting has a value the app cannot work with; the message says which."""


class UnknownOutcome(RedisUnavailable):
    """The request reached Redis but no reply came back (a timeout, or the connection
    dropped while waiting): Redis may or may not have applied it.

    A subclass of ``RedisUnavailable``, so a view that lets it through still answers
    503. It is never retried automatically (a retried increment could apply twice);
    read the state before trying again, e.g. ``cart.quantities()`` after a failed
    ``cart.add``. A failure before anything was sent (connection refused, breaker
    open) is a plain ``RedisUnavailable``: then nothing was applied.

    ``attempted`` says what was sent: a ``CartWrite`` for a cart write, the command
    tuples for a lower-level call.
    """

    def __init__(self, message: str, *, attempted: object) -> None:
        super().__init__(message)
        self.attempted = attempted


@dataclass(frozen=True)
class CartWrite:
    """What a cart write whose outcome is unknown tried to do (``UnknownOutcome``)."""

    operation: str  # "add" or "set"
    cart: str  # the cart's Redis key
    item: str  # the item id as stored
    quantity: int  # units added, or the quantity set
