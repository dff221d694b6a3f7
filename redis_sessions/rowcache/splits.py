"""Cluster splits of the row-cache scripts (``lua/rowcache_*.lua`` beside this module).

``schedule:`` and ``delay:`` are two slots and every row has its own. Each row's
compare-and-set stays atomic (``rowcache_fill`` on the row's slot); the schedule moves
after the row's write, so a crash leaves a row due again (refreshed once more, never
lost).
"""

from __future__ import annotations

from typing import Any

from redis_sessions.connection.replies import first_error, text
from redis_sessions.connection.scripts import Command, Step
from redis_sessions.rowcache.scripts import ROWCACHE_FILL


def _row_keys(a: list[Any], member: str) -> tuple[str, str]:
    head, version_head, tail = (text(v) for v in a[:3])
    return f"{head}{member}{tail}", f"{version_head}{member}{tail}"


def rowcache_due(k: list[Any], a: list[Any]) -> Step:
    schedule, delay = k
    now, batch, heads = a[0], a[1], [a[2], a[3], a[4]]
    (due,) = yield [("ZRANGEBYSCORE", schedule, "-inf", now, "LIMIT", 0, batch)]
    members = [text(m) for m in due]
    if not members:
        return [0, 0]
    replies = yield [*[("ZSCORE", delay, m) for m in members],
                     *[("GET", _row_keys(heads, m)[1]) for m in members]]  # fmt: skip
    delays, versions = replies[: len(members)], replies[len(members) :]
    out: list[Any] = [len(members), 0]
    drop: list[Command] = []
    for member, d, version in zip(members, delays, versions, strict=True):
        if d is None or float(d) <= 0:
            drop += [("ZREM", schedule, member), ("ZREM", delay, member),
                     ("DEL", _row_keys(heads, member)[0])]  # fmt: skip
            out[1] += 1
        else:
            out += [member.encode(), version if version is not None else b""]
    if drop:
        yield drop
    return out


def rowcache_store(k: list[Any], a: list[Any]) -> Step:
    schedule, delay = k
    heads, now = a[:3], float(a[3])
    rows = [a[i : i + 4] for i in range(4, len(a), 4)]
    members = [text(r[0]) for r in rows]
    delays = yield [("ZSCORE", delay, m) for m in members]
    stored = stale = removed = 0
    writes: list[Command] = []
    kept: list[tuple[str, float]] = []
    fill = ROWCACHE_FILL
    for (member, expected, doc, ttl), d in zip(rows, delays, strict=True):
        member = text(member)
        entry, version = _row_keys(heads, member)
        if text(doc) == "" or d is None or float(d) <= 0:
            writes += [("ZREM", schedule, member), ("ZREM", delay, member), ("DEL", entry)]
            removed += 1
        else:
            writes.append(fill.command([entry, version], [ttl, expected, doc]))
            kept.append((member, float(d)))
    # 1. the rows (each compare-and-set atomic in its slot), 2. the schedule.
    replies = yield writes
    results = [r[0] for r in replies if isinstance(r, list)]
    moves: list[Command] = []
    for (member, d), ok in zip(kept, results, strict=False):
        if ok == 1:
            stored += 1
            moves.append(("ZADD", schedule, "XX", now + d, member))
        else:
            stale += 1
            moves.append(("ZADD", schedule, "XX", now + 0.001, member))
    replies = yield [*moves, ("ZRANGE", schedule, 0, 0, "WITHSCORES")]
    first = replies[-1]
    return [stored, stale, removed, repr(first[0][1]).encode() if first else b""]


def rowcache_fill(k: list[Any], a: list[Any]) -> Step:
    """One script per row: a row's entry and version share a slot, rows do not."""
    fill = ROWCACHE_FILL
    replies = yield [fill.command(k[i : i + 2], [a[0], a[i + 1], a[i + 2]])
                     for i in range(0, len(k), 2)]  # fmt: skip
    error = first_error(replies)
    return error or [r[0] for r in replies]
