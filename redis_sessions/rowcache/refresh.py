"""The ``cache_rows`` daemon: refresh every due row, a batch at a time.

Per batch: one round trip takes the due rows with their versions
(lua/rowcache_due.lua), one query per model (plus its prefetches) loads them, and one
round trip stores the documents and the next refresh times (lua/rowcache_store.lua),
whatever the batch size. The book's loop pays a round trip (and a query) per row.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from redis_sessions import keys
from redis_sessions.connection import get_redis, run
from redis_sessions.loops import LoopRunner
from redis_sessions.rowcache import documents
from redis_sessions.rowcache.registry import table
from redis_sessions.rowcache.scripts import ROWCACHE_DUE, ROWCACHE_STORE

logger = logging.getLogger("redis_sessions.rowcache")
DEFAULT_BATCH_SIZE = 1000


def _load_batch(members: list[str]) -> dict[str, tuple[str, int]]:
    """member -> (document, entry TTL) for the rows that exist and are registered."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for member in members:
        label, _, pk = member.partition(":")
        by_label[label].append(pk)
    registered = table()
    found: dict[str, tuple[str, int]] = {}
    for label, pks in by_label.items():
        if label not in registered:
            logger.warning("cache_rows: %s is not row-cached any more; unscheduling", label)
            continue
        model, options = registered[label]
        valid = []
        for pk in pks:
            try:
                documents.clean_pk(model, pk)
                valid.append(pk)
            except ValueError:
                logger.warning("cache_rows: %r is not a %s pk; unscheduling", pk, label)
        for pk, doc in documents.load(model, options, valid).items():
            found[keys.row_member(label, pk)] = (doc, options.timeout)
    return found


def refresh_due_rows(
    runner: LoopRunner | None = None, batch_size: int | None = None, now: float | None = None
) -> dict[str, Any]:
    """One pass: refresh every row due now, in batches; the pass summary.

    ``next_in`` is the time until the next row is due (None if none is scheduled), so
    the loop sleeps no longer than needed. Between batches it calls
    ``runner.keep_going()`` (lock renewal, stop requests). ``now`` (tests) is the time
    the pass considers current.
    """
    batch = batch_size or DEFAULT_BATCH_SIZE
    entry_head, version_head, tail = keys.row_templates()
    schedule, delay = keys.row_schedule(), keys.row_delay()
    client = get_redis()
    # Rows due at the pass's start: a row made due again during the pass waits for
    # the next pass, so a pass always ends.
    now = time.time() if now is None else now
    summary: dict[str, Any] = {"refreshed": 0, "stale": 0, "removed": 0, "batches": 0}
    next_due: float | None = None
    while True:
        due_cmd = ROWCACHE_DUE.command(
            [schedule, delay], [repr(now), batch, entry_head, version_head, tail]
        )
        reply = run(client, [due_cmd])[0]
        taken, removed, flat = int(reply[0]), int(reply[1]), reply[2:]
        summary["removed"] += removed
        members = [m.decode() for m in flat[0::2]]
        versions = [v.decode() for v in flat[1::2]]
        args: list[Any] = [entry_head, version_head, tail, repr(now)]
        found = _load_batch(members)
        for member, version in zip(members, versions, strict=True):
            doc, ttl = found.get(member, ("", 1))
            args += [member, version, doc, ttl]
        store = ROWCACHE_STORE.command([schedule, delay], args)
        stored, stale, gone, first = run(client, [store])[0]
        summary["refreshed"] += stored
        summary["stale"] += stale
        summary["removed"] += gone
        summary["batches"] += 1
        next_due = float(first) if first else None
        if taken < batch or (runner is not None and not runner.keep_going()):
            break
    summary["next_in"] = None if next_due is None else max(0.0, next_due - time.time())
    return summary


def cache_rows(
    *,
    once: bool = False,
    interval: float = 5.0,
    batch_size: int | None = None,
    log: Callable[[str], None] | None = None,
    verbose: bool = False,
) -> list[dict[str, Any]]:
    """Run the daemon (what ``manage.py cache_rows`` runs); the pass summaries.

    It sleeps until the next row is due, at most ``interval`` seconds; an unreachable
    Redis is retried with back-off (``--once``: raised).
    """
    runner = LoopRunner("cache_rows", once=once, interval=interval, log=log)

    def one_pass(r: LoopRunner) -> dict[str, Any]:
        summary = refresh_due_rows(r, batch_size)
        if verbose and r.log is not None:
            r.log(f"cache_rows: {summary}")
        return summary

    return runner.run(one_pass)
