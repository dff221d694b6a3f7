"""The overview page: counts, server facts, keys per family, loop state.

Cached pages and fragments have no index to count (a set per item names only the
pages of items), so their counts are the ``page:…`` and ``fragment:…`` families of
the same sample, exact or estimated with it.

Counts, server facts and heartbeats are one round trip. Keys per family come from a
SCAN sample of the whole database (never KEYS): up to ``SCAN_CALLS`` calls of
``SCAN_COUNT``; if the scan finishes, the counts are exact, otherwise each family's
share of the sample is scaled to DBSIZE and shown as an estimate. The sample is taken
without MATCH on purpose: the share of the app's keys among all keys is what makes the
scaling honest on a server shared with other applications.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from django.http import HttpRequest, HttpResponse

from redis_sessions import keys
from redis_sessions.connection import get_redis, nodes, run
from redis_sessions.health import LOOPS
from redis_sessions.inspection.guard import can, inspection_view, page

SCAN_CALLS = 5
SCAN_COUNT = 1000
OTHER = "(other applications)"


@dataclass
class LoopState:
    name: str
    last_pass: datetime | None = None  # None: never run (or its heartbeat expired)
    duration: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class Overview:
    counts: dict[str, int]
    version: str
    memory: str
    dbsize: int
    loops: list[LoopState]


@dataclass
class KeyFamilies:
    counts: list[tuple[str, int]]  # most keys first
    sampled: int
    exact: bool


def overview() -> Overview:
    """Counts of the indexes, Redis version and memory, and the loops' heartbeats."""
    commands: list[tuple[Any, ...]] = [
        ("ZCARD", keys.recent()),
        ("HLEN", keys.login()),
        ("ZCARD", keys.viewed_items()),
        ("ZCARD", keys.carts()),
        ("ZCARD", keys.row_schedule()),
        ("INFO", "server"),
        ("INFO", "memory"),
        ("DBSIZE",),
        *(("GET", keys.heartbeat(name)) for name in LOOPS),
    ]
    client = get_redis()
    replies = run(client, commands)
    sessions, logged_in, items, carts, rows, server, memory, dbsize = replies[:8]
    if nodes.is_cluster(client):
        server, memory, dbsize = _cluster_facts(client)
    counts = {
        "sessions": int(sessions),
        "logged-in sessions": int(logged_in),
        "non-empty carts": int(carts),
        "viewed items": int(items),
        "scheduled rows": int(rows),
    }
    return Overview(
        counts=counts,
        version=str(server.get("redis_version", "?")),
        memory=str(memory.get("used_memory_human", "?")),
        dbsize=int(dbsize),
        loops=[_loop(name, raw) for name, raw in zip(LOOPS, replies[8:], strict=True)],
    )


def _cluster_facts(client: Any) -> tuple[dict[str, Any], dict[str, Any], int]:
    """INFO and DBSIZE of a cluster: every primary's version, memory summed, keys summed
    (the pipeline's INFO and DBSIZE above came from one node only)."""
    replies = [r for _, r in nodes.each_primary(client, [("INFO", "server"), ("INFO", "memory"),
                                                         ("DBSIZE",)])]  # fmt: skip
    versions = sorted({str(server.get("redis_version", "?")) for server, _, _ in replies})
    used = sum(int(memory.get("used_memory", 0)) for _, memory, _ in replies)
    memory = {"used_memory_human": f"{used / 2**20:.2f}M over {len(replies)} primaries"}
    return {"redis_version": ", ".join(versions)}, memory, sum(int(n) for _, _, n in replies)


def _loop(name: str, raw: bytes | None) -> LoopState:
    if not raw:
        return LoopState(name)
    beat = json.loads(raw)  # as written by loops.LoopRunner._heartbeat
    return LoopState(
        name,
        last_pass=datetime.fromtimestamp(float(beat["time"]), tz=timezone.utc),
        duration=beat.get("duration"),
        summary=dict(beat.get("summary") or {}),
    )


def key_families(calls: int = SCAN_CALLS, count: int = SCAN_COUNT) -> KeyFamilies:
    """Keys per family of this app (``session:{…}``, ``recent:``, ...), from a SCAN sample.

    One round trip per SCAN call (each needs the previous cursor), plus DBSIZE. On a
    cluster the calls walk the primaries one after the other and DBSIZE is their sum.
    """
    client = get_redis()
    seen: Counter[str] = Counter()
    cursor, sampled, exact = 0, 0, False
    for _ in range(calls):
        cursor, batch, _ = nodes.scan(client, cursor, count=count)
        for raw in batch:
            key = raw.decode(errors="replace")
            seen[keys.kind(key) or OTHER] += 1
        sampled += len(batch)
        if cursor == 0:
            exact = True
            break
    if exact or not sampled:
        return KeyFamilies(seen.most_common(), sampled, exact=True)
    dbsize = nodes.dbsize(client)
    scale = dbsize / sampled
    estimated = Counter({k: round(v * scale) for k, v in seen.items()})
    return KeyFamilies(estimated.most_common(), sampled, exact=False)


def cached_counts(families: KeyFamilies) -> dict[str, int]:
    """Cached pages and fragments, from the keys-per-family sample."""
    counts = dict(families.counts)
    return {"cached pages": counts.get("page:…", 0),
            "cached fragments": counts.get("fragment:…", 0)}  # fmt: skip


@inspection_view("view_redis")
def overview_view(request: HttpRequest) -> HttpResponse:
    families = key_families()
    return page(
        request,
        "overview.html",
        "Redis overview",
        {
            "overview": overview(),
            "families": families,
            "cached": cached_counts(families),
            "can_view_sessions": can(request, "view_sessions"),
        },
    )
