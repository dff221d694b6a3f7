"""Row cache benchmark: get_row vs the ORM, and a cache_rows pass vs the book's loop.

    /work/main/.venv/bin/python bench/rowcache.py           # short run (~1.5 minutes)
    /work/main/.venv/bin/python bench/rowcache.py --full    # the issue's sizes

Runs once on SQLite (a temporary file) and, when DATABASE_URL names PostgreSQL, once
more on it (a database of its own, dropped afterwards), each in a child process.
Redis is the embedded server unless REDIS_URL is set; keys use a prefix of their own.
A and B alternate round by round; medians and ratios are printed.

* reads: ``get_row(Product, pk)`` (cache hit, one round trip) vs
  ``Product.objects.select_related("supplier").get(pk=pk)`` (one join).
* refresh: one ``refresh_due_rows()`` pass over N due Product rows vs the book's
  ``cache_rows`` loop (per row: ZRANGE, ZSCORE, one query, ZADD, SET).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ["REDIS_KEY_PREFIX"] = f"bench-rowcache-{os.getpid()}"
    import django
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        db["TEST"] = {"NAME": str(Path(tempfile.mkdtemp()) / "bench.sqlite3")}
    else:  # never the test database another run may be using
        db["TEST"] = {"NAME": f"bench_rowcache_{os.getpid()}"}
    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    state = setup_databases(verbosity=0, interactive=False)
    try:
        run_benchmarks(args, db["ENGINE"].rsplit(".", 1)[-1])
    finally:
        cleanup_keys()
        teardown_databases(state, verbosity=0)


def cleanup_keys() -> None:
    from redis_sessions import connection, keys

    client = connection.get_redis()
    batch = list(client.scan_iter(match=keys.scan_pattern(), count=1000))
    for i in range(0, len(batch), 1000):
        client.delete(*batch[i : i + 1000])


def book_cache_rows(client: Any, delay_key: str, schedule_key: str) -> int:
    """The book's cache_rows (Listing 2.7), one row per iteration, until none is due."""
    from demo_project.shop.models import Product
    from redis_sessions import keys
    from redis_sessions.rowcache import documents, registry

    _, options = registry.lookup(Product)
    done = 0
    while True:
        first = client.zrange(schedule_key, 0, 0, withscores=True)
        now = time.time()
        if not first or first[0][1] > now:
            return done
        member = first[0][0].decode()
        delay = client.zscore(delay_key, member)
        label, _, pk = member.partition(":")
        if delay is None or delay <= 0:  # the book crashes on None here
            client.zrem(delay_key, member)
            client.zrem(schedule_key, member)
            client.delete(keys.row(label, pk))
            continue
        doc = documents.load(Product, options, [pk])[pk]  # Inventory.get(row_id)
        client.zadd(schedule_key, {member: now + delay})
        client.set(keys.row(label, pk), doc)
        done += 1


def run_benchmarks(args: argparse.Namespace, engine: str) -> None:
    from demo_project.shop.models import Product
    from demo_project.shop.seeding import seed
    from redis_sessions import connection, keys
    from redis_sessions.rowcache import get_row, refresh_due_rows

    rows = args.rows
    seed(rows)
    pks = list(Product.objects.values_list("pk", flat=True))
    client = connection.get_redis()
    rng = random.Random(1)
    sample = [rng.choice(pks) for _ in range(args.reads)]
    for pk in set(sample):
        get_row(Product, pk)

    def reads_cache() -> tuple[float, int]:
        before = connection.round_trips()
        start = time.perf_counter()
        for pk in sample:
            get_row(Product, pk)
        return len(sample) / (time.perf_counter() - start), connection.round_trips() - before

    def reads_orm() -> tuple[float, int]:
        manager = Product.objects.select_related("supplier")
        start = time.perf_counter()
        for pk in sample:
            manager.get(pk=pk)
        return len(sample) / (time.perf_counter() - start), 0

    label = Product._meta.label_lower
    members = {keys.row_member(label, str(pk)): 0 for pk in pks}
    delays = {m: 60 for m in members}

    def due_all() -> None:
        client.zadd(keys.row_delay(), delays)
        client.zadd(keys.row_schedule(), members)

    def pass_ours() -> tuple[float, int]:
        due_all()
        before = connection.round_trips()
        start = time.perf_counter()
        summary = refresh_due_rows(batch_size=args.batch)
        elapsed = time.perf_counter() - start
        assert summary["refreshed"] == len(pks), summary
        return len(pks) / elapsed, connection.round_trips() - before

    def pass_book() -> tuple[float, int]:
        due_all()
        before = connection.round_trips()
        start = time.perf_counter()
        done = book_cache_rows(client, keys.row_delay(), keys.row_schedule())
        elapsed = time.perf_counter() - start
        assert done == len(pks), done
        return done / elapsed, connection.round_trips() - before

    report(engine, "reads/s", "get_row", reads_cache, "ORM get+join", reads_orm, args.rounds)
    report(engine, "rows/s", "cache_rows pass", pass_ours, "book loop", pass_book, args.rounds)


def report(engine: str, unit: str, a_name: str, a: Any, b_name: str, b: Any, rounds: int) -> None:
    a_rates, b_rates, a_trips, b_trips = [], [], [], []
    for i in range(rounds):
        for fn, rates, trips in ((a, a_rates, a_trips), (b, b_rates, b_trips))[:: 1 - 2 * (i % 2)]:
            rate, n = fn()
            rates.append(rate)
            trips.append(n)
    ma, mb = statistics.median(a_rates), statistics.median(b_rates)
    print(json.dumps({
        "db": engine, "unit": unit,
        a_name: round(ma), b_name: round(mb), "ratio": round(ma / mb, 2),
        f"{a_name} round trips": statistics.median(a_trips),
        f"{b_name} round trips": statistics.median(b_trips), "rounds": rounds,
    }), flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="20,000 rows, 20,000 reads")
    parser.add_argument("--rows", type=int, help="Product rows (default 2,000; --full 20,000)")
    parser.add_argument("--reads", type=int, help="reads per round (default 3,000)")
    parser.add_argument("--rounds", type=int, help="A/B rounds (default 5; --full 3)")
    parser.add_argument("--batch", type=int, default=1000, help="cache_rows batch size")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.rows = args.rows or (20_000 if args.full else 2_000)
    args.reads = args.reads or (20_000 if args.full else 3_000)
    args.rounds = args.rounds or (3 if args.full else 5)
    if args.child:
        child(args)
        return
    argv = [sys.executable, __file__, "--child", "--rows", str(args.rows), "--reads",
            str(args.reads), "--rounds", str(args.rounds), "--batch", str(args.batch)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    print(f"# rows={args.rows} reads/round={args.reads} rounds={args.rounds}", flush=True)
    subprocess.run(argv, env=env, check=True, cwd=ROOT)
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        subprocess.run(argv, env=dict(os.environ), check=True, cwd=ROOT)
    else:
        print("# DATABASE_URL is not PostgreSQL: PostgreSQL skipped", flush=True)


if __name__ == "__main__":
    main()
