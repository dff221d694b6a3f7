"""The partition layout a key prefix's indexes were written with.

``PARTITIONS`` decides which key of ``recent:``, ``expires:``, ``login:`` and ``viewed:``
holds an entry. Entries written under one value stay where they are when it changes
(a session load only refreshes an entry that exists, in its new partition), so
``clean_sessions`` would count a partition's share against sessions that belong
elsewhere and evict live ones. The loops therefore record the value the first time
they run (``P:partitions:``) and refuse to run under another one; ``redis_doctor``
reports a mismatch.
"""

from __future__ import annotations

from typing import Any

from redis_sessions import keys
from redis_sessions.connection import get_redis, run
from redis_sessions.exceptions import ConfigurationError


def recorded(client: Any = None) -> int | None:
    """The ``PARTITIONS`` this key prefix's indexes were written with, if recorded."""
    value = run(client or get_redis(), [("GET", keys.partitions_record())])[0]
    return None if value is None else int(value)


def mismatch(stored: int | None) -> str | None:
    """What is wrong when ``stored`` differs from the setting, else None."""
    n = keys.partitions()
    if stored is None or stored == n:
        return None
    return (
        f"REDIS_SESSIONS['PARTITIONS'] is {n}, but the indexes under this key prefix were "
        f"written with {stored}: their entries would be read in the wrong partitions (and "
        "clean_sessions would evict live sessions). Set PARTITIONS back to "
        f"{stored}, or start on a new KEY_PREFIX (see docs/upgrading.md)."
    )


def check(client: Any = None) -> None:
    """Record ``PARTITIONS`` for this key prefix (first run), or raise
    ``ConfigurationError`` when the recorded value differs. One round trip."""
    record = keys.partitions_record()
    stored = run(client or get_redis(), [("SETNX", record, keys.partitions()), ("GET", record)])[1]
    problem = mismatch(int(stored))
    if problem:
        raise ConfigurationError(problem)
