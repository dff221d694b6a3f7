"""Exceptions the app raises on purpose."""

from __future__ import annotations


class RedisUnavailable(Exception):
    """Redis could not be reached (or did not answer in time, or refused a write
    because it is full: ``maxmemory`` under ``noeviction``).

    Raised instead of pretending the session is empty: a request that needs its
    session must fail clearly (the middleware answers 503) rather than log the user
    out. The original redis-py error is chained as ``__cause__``.
    """


class ConfigurationError(Exception):
    """A setting has a value the app cannot work with; the message says which."""
