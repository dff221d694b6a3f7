"""The top-items and row-cache inspection pages at scale, each against its peer.

* Top items: ``top_items.top_items()`` + ``top_items.trend()`` for the top 100 (3 round trips:
  unique visitors of all rows in one pipeline) against the same page reading each
  row's unique visitors with ``analytics.unique_visitors`` (one round trip per row).
* Row cache: ``row_cache.row_page`` first and last page over N scheduled rows (cursor on
  the schedule) against the peer that has no cursor: reading the whole ``schedule:``
  zset with its delays to show one page.

Rounds alternate the order; prints medians, ratios and round trips per call. Uses
its own key prefix and deletes its keys.

    python bench/inspection_caches.py [--rows 100000] [--rounds 5] [--full]   # --full: 1,000,000
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

from bench.inspection import timed  # noqa: E402
from redis_sessions import analytics, connection, keys  # noqa: E402
from redis_sessions.analytics.counting import view_commands  # noqa: E402
from redis_sessions.inspection import row_cache, top_items  # noqa: E402
from redis_sessions.inspection.paging import PAGE_SIZE, Cursor  # noqa: E402


def fill(n_rows: int) -> None:
    client = connection.get_redis()
    now = time.time()
    for start in range(0, n_rows, 10_000):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(n_rows, start + 10_000)):
            member = f"shop.product:{i}"
            pipe.zadd(keys.row_schedule(), {member: now + i * 0.001})
            pipe.zadd(keys.row_delay(), {member: 30})
        pipe.execute()
    for item in range(100):  # 100 items, each viewed by a few visitors
        connection.run(client, view_commands(None, [str(item)] * 3, visitor=f"v{item % 7}"))


def top_items_pipelined() -> None:
    top_items.trend(top_items.top_items())


def top_items_per_row() -> None:
    """The same page, with a round trip per row for its unique visitors."""
    scored = analytics.top_items(top_items.TOP_N)
    top = [top_items.TopItem(rank, item, int(views), item)
           for rank, (item, views) in enumerate(scored, start=1)]  # fmt: skip
    for item in top:
        item.unique_today = analytics.unique_visitors(item.item)
    top_items.trend(top)


def last_cursor(n: int) -> Cursor:
    first_row = (n - 1) // PAGE_SIZE * PAGE_SIZE
    client = connection.get_redis()
    reply = client.zrange(keys.row_schedule(), first_row, first_row, withscores=True)
    return Cursor(reply[0][1], 0)


def whole_schedule_page() -> None:
    """The peer: no cursor, so read everything and cut one page out of it."""
    client = connection.get_redis()
    everything = client.zrange(keys.row_schedule(), 0, -1, withscores=True)
    page = everything[-PAGE_SIZE:]
    client.zmscore(keys.row_delay(), [m for m, _ in page])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=50, help="page reads per round")
    parser.add_argument("--full", action="store_true", help="1,000,000 scheduled rows")
    args = parser.parse_args()
    n = 1_000_000 if args.full else args.rows

    prefix = f"bench-caches-{os.getpid()}"
    # No CART_MODEL: item labels would need the demo database; Redis is what is measured.
    user = {**getattr(settings, "REDIS_SESSIONS", {}), "KEY_PREFIX": prefix, "CART_MODEL": None}
    with override_settings(REDIS_SESSIONS=user):
        fill(n)
        cursor = last_cursor(n)
        assert row_cache.row_page(cursor).next is None
        ops: dict[str, tuple[Callable[[], Any], int]] = {
            "top items (pipelined)": (top_items_pipelined, args.repeat),
            "peer: top items, 1 read/row": (top_items_per_row, args.repeat),
            "row cache first page": (lambda: row_cache.row_page(), args.repeat),
            "row cache last page": (lambda: row_cache.row_page(cursor), args.repeat),
            "peer: whole schedule": (whole_schedule_page, 1),
        }
        results: dict[str, list[float]] = {name: [] for name in ops}
        trips: dict[str, float] = {}
        try:
            for r in range(args.rounds):
                for name in list(ops) if r % 2 == 0 else list(reversed(ops)):
                    fn, repeat = ops[name]
                    ms, rt = timed(fn, repeat)
                    results[name].append(ms)
                    trips[name] = rt
        finally:
            client = connection.get_redis()
            batch = list(client.scan_iter(match=keys.scan_pattern(), count=10_000))
            for start in range(0, len(batch), 10_000):
                client.delete(*batch[start : start + 10_000])
    med = {name: statistics.median(values) for name, values in results.items()}
    print(f"{n:,} scheduled rows, 100 top items, {args.rounds} rounds, medians:")
    for name, value in med.items():
        print(f"  {name:30} {value:9.3f} ms  {trips[name]:7.1f} round trips")
    ratios = [
        ("per-row / pipelined top items", "peer: top items, 1 read/row", "top items (pipelined)"),
        ("last / first row-cache page", "row cache last page", "row cache first page"),
        ("whole schedule / first row-cache page", "peer: whole schedule", "row cache first page"),
    ]
    for label, a, b in ratios:
        print(f"  {label:40} x{med[a] / med[b]:.2f}")


if __name__ == "__main__":
    main()
