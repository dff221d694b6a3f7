"""The sessions inspection page at scale: first vs last page, and the scan it avoids.

Fills N sessions (data key + ``recent:`` entry, distinct last-seen times), then, in
rounds that alternate the order, times ``inspection.sessions.session_page`` for the
first page, the last page (by cursor) and the oldest page, against the peer: listing
sessions without an index, i.e. a SCAN MATCH over every session key (what a listing
costs for engines that keep no ``recent:`` zset). Prints medians, ratios and round
trips (``connection.round_trips()``). Uses its own key prefix and deletes its keys.

    python bench/inspection.py [--sessions 100000] [--rounds 5] [--full]   # --full: 1,000,000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.test import override_settings  # noqa: E402

from redis_sessions import connection, keys  # noqa: E402
from redis_sessions.inspection.paging import Cursor  # noqa: E402
from redis_sessions.inspection.sessions import session_page  # noqa: E402

PAGE = 50


def fill(n: int) -> None:
    client = connection.get_redis()
    now = time.time()
    for start in range(0, n, 10_000):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(n, start + 10_000)):
            key = f"b{i:010d}abcdef"
            pipe.set(keys.session(key), b'{"n":1}', ex=3600)
            pipe.zadd(keys.recent(), {key: now - i * 0.001})
        pipe.execute()


def last_cursor(n: int) -> Cursor:
    # Scores are distinct, so the last page starts at its first row with nothing to skip.
    first_row = (n - 1) // PAGE * PAGE
    reply = connection.get_redis().zrevrange(keys.recent(), first_row, first_row, withscores=True)
    return Cursor(reply[0][1], 0)


def scan_all_sessions() -> int:
    client, found, cursor = connection.get_redis(), 0, 0
    pattern = keys.escape_glob(keys.session("")[:-2]) + "*"
    while True:
        command = ("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
        cursor, batch = connection.run(client, [command])[0]
        found += len(batch)
        if int(cursor) == 0:
            return found


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(ms per call, round trips per call)."""
    trips = connection.round_trips()
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    elapsed = time.perf_counter() - started
    return elapsed * 1000 / repeat, (connection.round_trips() - trips) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=100, help="page reads per round")
    parser.add_argument("--full", action="store_true", help="1,000,000 sessions")
    args = parser.parse_args()
    n = 1_000_000 if args.full else args.sessions

    user = {**getattr(settings, "REDIS_SESSIONS", {}), "KEY_PREFIX": f"bench-inspect-{os.getpid()}"}
    with override_settings(REDIS_SESSIONS=user):
        started = time.perf_counter()
        fill(n)
        print(f"filled {n:,} sessions in {time.perf_counter() - started:.1f} s")
        cursor = last_cursor(n)
        assert session_page(cursor).next is None
        ops: dict[str, tuple[Callable[[], Any], int]] = {
            "first page": (lambda: session_page(), args.repeat),
            "last page (cursor)": (lambda: session_page(cursor), args.repeat),
            "oldest page": (lambda: session_page(oldest=True), args.repeat),
            "peer: SCAN all sessions": (scan_all_sessions, 1),
        }
        results: dict[str, list[float]] = {name: [] for name in ops}
        trips: dict[str, float] = {}
        try:
            for r in range(args.rounds):
                order = list(ops) if r % 2 == 0 else list(reversed(ops))
                for name in order:
                    fn, repeat = ops[name]
                    ms, rt = timed(fn, repeat)
                    results[name].append(ms)
                    trips[name] = rt
        finally:
            client = connection.get_redis()
            batch = list(client.scan_iter(match=keys.scan_pattern(), count=10_000))
            for start in range(0, len(batch), 10_000):
                client.delete(*batch[start : start + 10_000])
    first = statistics.median(results["first page"])
    print(f"{n:,} sessions, {args.rounds} rounds, medians:")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"  {name:26} {med:9.3f} ms  x{med / first:8.2f} of first page"
              f"  {trips[name]:6.1f} round trips")  # fmt: skip


if __name__ == "__main__":
    main()
