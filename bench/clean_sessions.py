"""Benchmark: ``clean_sessions --once`` against the book's ``clean_full_sessions`` loop.

Run from the repository root::

    python bench/clean_sessions.py                   # 200,000 sessions, 2 rounds
    python bench/clean_sessions.py --sessions 1000000 --rounds 1   # the issue's size
    python bench/clean_sessions.py --sessions 1000000 --rounds 1 --variants book,ours,fixed
    python bench/clean_sessions.py --sweep-time 0.25,0.5,1,2      # choose CLEAN_BATCH_TIME
    python bench/clean_sessions.py --sweep 100,250                 # fixed sizes (sizing off)

Each variant gets an identical population (every session with data, 5 viewed items,
a 2-line cart; half logged in), written straight in the key layout, and cleans it down
to ``--limit`` sessions. Variants alternate within each round:

* ``book``: the book's loop, batches of 100: ZCARD, ZRANGE, DEL viewed+cart, HDEL
  login:, ZREM recent: (5 round trips per batch; leaves data, carts: and
  user-sessions behind, as the book's layout has none of them); its keys are built
  as the book builds them, a constant head plus the token;
* ``ours``: ``clean_pass`` with no ``sessions_evicted`` receiver, batches sized by
  time (``--batch-time``, ``--batch-size``: the settings' values by default);
* ``fixed``: the same with every batch 100 sessions (the sizing off: how ours ran
  before batches were sized by time);
* ``overlap``: ``ours`` with two batches in flight instead of one (not in the
  default list: ``--variants ours,overlap``);
* ``ours+recv``: ``clean_pass`` with a receiver that gets the carts (read inside the
  atomic step) and keeps them in a list in memory: the cleaner's own cost of
  delivering the carts, which is what the issue's "no slower than the book with a
  receiver that gets the carts" target measures;
* ``ours+demo``: ``clean_pass`` with the demo's receiver, which also JSON-encodes each
  cart and records it in a capped Redis list (its own round trip per batch): what a
  project that stores the carts pays on top.

Beside each run a separate process sends ``GET`` every millisecond and records its
latency (p50 and p99 printed); SLOWLOG gives the longest single command (a batch, for
ours); ``INFO cpu`` before and after gives the server's CPU time (user + system) per
evicted session; for ours, each batch's round trip as the cleaner timed it (what the
sizing sees) and the mean batch size.
Uses the embedded Redis unless ``REDIS_URL`` is set (never flushes: own key prefix).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test import override_settings  # noqa: E402

from demo_project.shop.abandoned import record_abandoned_carts  # noqa: E402
from redis_sessions import connection, keys  # noqa: E402
from redis_sessions.conf import app_settings  # noqa: E402
from redis_sessions.sessions import clean  # noqa: E402
from redis_sessions.sessions.clean import clean_pass  # noqa: E402
from redis_sessions.signals import sessions_evicted  # noqa: E402
from tests.support.populate import populate  # noqa: E402


# -- the GET probe, in its own process (no GIL shared with the cleaner) ------------------
def _probe(url: str, key: str, stop: Any, out: Any) -> None:
    if os.nice(0) > 0:  # --nice is for the cleaner: the probe is a request
        with contextlib.suppress(PermissionError):
            os.nice(-os.nice(0))
    client = redis.Redis.from_url(url)
    client.ping()
    samples: list[float] = []
    while not stop.is_set():
        t = time.perf_counter()
        client.get(key)
        samples.append(time.perf_counter() - t)
        time.sleep(0.001)
    out.send(samples)


class Probe:
    def __enter__(self) -> Probe:
        self.stop = mp.Event()
        self.receive, send = mp.Pipe(duplex=False)
        url = os.environ["REDIS_URL"]
        # A session load's GET: a data key that no variant removes.
        key = keys.session("probe0000")
        connection.get_redis().set(key, b"{}")
        self.process = mp.Process(target=_probe, args=(url, key, self.stop, send))
        self.process.start()
        time.sleep(0.3)  # connected and sampling before the run starts
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.samples: list[float] = self.receive.recv()
        self.process.join()

    def percentile_ms(self, q: float) -> float:
        return _percentile(self.samples, q) * 1000


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


def server_cpu(client: redis.Redis) -> float:
    """Seconds of CPU the Redis server has used (user + system, all its threads)."""
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


# -- the book's loop (Redis in Action, listing 2.3, clean_full_sessions) -----------------
def book_clean(limit: int) -> int:
    client, removed = connection.get_redis(), 0
    recent, login = keys.recent(), keys.login()
    # The book concatenates a constant head and the token ('viewed:' + sess): the
    # heads are built once here too, not by a keys.* call (a settings read) per key.
    viewed_head, cart_head = keys.viewed("")[:-1], keys.cart("")[:-1]
    while True:
        size = client.zcard(recent)
        if size <= limit:
            return removed
        end_index = min(size - limit, 100)
        sessions = [s.decode() for s in client.zrange(recent, 0, end_index - 1)]
        session_keys = []
        for sess in sessions:
            session_keys += [viewed_head + sess + "}", cart_head + sess + "}"]
        client.delete(*session_keys)
        client.hdel(login, *sessions)
        client.zrem(recent, *sessions)
        removed += len(sessions)


received: list[tuple[str, dict[str, int]]] = []


def keep_carts(sender: Any, *, carts: dict[str, dict[str, int]], **kwargs: Any) -> None:
    """A receiver that gets the carts and keeps them (in memory)."""
    received.extend(carts.items())


RECEIVERS = {"ours+recv": keep_carts, "ours+demo": record_abandoned_carts}


#: Each batch of ours: (sessions picked, seconds of its round trip as the cleaner saw it).
batches: list[tuple[int, float]] = []


#: ``fixed``: ours as it was before batches were sized by time (100 sessions each).
FIXED = 100


def ours_clean(variant: str, limit: int, batch: int, seconds: float) -> int:
    if variant == "fixed":
        batch, seconds = FIXED, 0.0
    # ``overlap``: two batches in flight, not one (the cleaner's own work overlaps
    # Redis's: more throughput, a longer wait for the requests meanwhile)
    in_flight, clean.IN_FLIGHT = clean.IN_FLIGHT, 2 if variant == "overlap" else 1
    summary = clean_pass(limit=limit, batch_size=batch, batch_time=seconds,
                         on_batch=lambda e, s: batches.append((e.picked, s)))  # fmt: skip
    clean.IN_FLIGHT = in_flight
    return int(summary["removed"])


# -- one measured run ----------------------------------------------------------------
def slowlog_max_ms(client: redis.Redis) -> tuple[float, str, int, int]:
    """The longest command (ms, name), and how many commands took over 1 and 2 ms."""
    # The bench's own SLOWLOG/CONFIG/INFO calls are not part of what is measured.
    entries = [
        e for e in client.slowlog_get(100_000)
        if not e["command"].upper().startswith((b"SLOWLOG", b"CONFIG", b"INFO"))
    ]  # fmt: skip
    if not entries:
        return 0.0, "-", 0, 0
    top = max(entries, key=lambda e: e["duration"])
    name = top["command"].split(b" ")[0].decode() if top.get("command") else "?"
    over = [sum(e["duration"] > ms * 1000 for e in entries) for ms in (1, 2)]
    return top["duration"] / 1000, name, over[0], over[1]


def measure(variant: str, sessions: int, limit: int, batch: int, seconds: float) -> dict[str, Any]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    config = {**getattr(settings, "REDIS_SESSIONS", {}), "KEY_PREFIX": prefix}
    with override_settings(REDIS_SESSIONS=config):
        admin = connection.get_redis()
        populate(sessions)
        receiver = RECEIVERS.get(variant)
        if receiver is not None:
            sessions_evicted.connect(receiver, dispatch_uid="bench.receiver")
        admin.slowlog_reset()
        batches.clear()
        trips = connection.round_trips()
        with Probe() as probe:
            # The probe's GETs (one a millisecond) are in the CPU figure too: about
            # 1,000 cheap commands a second, next to tens of thousands of sessions.
            cpu = server_cpu(admin)
            started = time.perf_counter()
            if variant == "book":
                removed = book_clean(limit)
            else:
                removed = ours_clean(variant, limit, batch, seconds)
            seconds = time.perf_counter() - started
            cpu = server_cpu(admin) - cpu
        trips = connection.round_trips() - trips
        if receiver is not None:
            sessions_evicted.disconnect(dispatch_uid="bench.receiver")
        got = len(received)
        received.clear()
        longest, command, over1, over2 = slowlog_max_ms(admin)
        left = admin.zcard(keys.recent())
        _drop(admin)
    sizes = [n for n, _ in batches]
    return {"variant": variant, "removed": removed, "seconds": seconds,
            "rate": removed / seconds, "trips": trips, "p50": probe.percentile_ms(0.5),
            "p99": probe.percentile_ms(0.99), "slowlog": longest, "slow_cmd": command,
            "over1": over1, "over2": over2,
            "cpu_us": cpu / max(1, removed) * 1e6, "left": left, "carts": got,
            "batch_max": max((t for _, t in batches), default=0.0) * 1000,
            "batch_p99": _percentile([t for _, t in batches], 0.99) * 1000,
            "batch_mean": statistics.mean(sizes) if sizes else 0.0}  # fmt: skip


def _drop(client: redis.Redis) -> None:
    batch: list[bytes] = []
    for key in client.scan_iter(match=keys.scan_pattern(), count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)


def show(r: dict[str, Any]) -> None:
    print(f"  {r['variant']:<10} removed {r['removed']:>9,} in {r['seconds']:6.2f} s = "
          f"{r['rate']:>9,.0f}/s  round trips {r['trips']:>7,}  GET p50/p99 "
          f"{r['p50']:4.2f}/{r['p99']:5.2f} ms  SLOWLOG max {r['slowlog']:5.2f} ms "
          f"({r['slow_cmd']}), {r['over1']} over 1 ms, {r['over2']} over 2 ms  "
          f"server CPU {r['cpu_us']:4.2f} us/session"
          + (f"  batches: mean {r['batch_mean']:.0f} sessions, round trip p99/max "
             f"{r['batch_p99']:4.2f}/{r['batch_max']:5.2f} ms" if r["batch_mean"] else "")
          + (f"  carts received {r['carts']:,}" if r["carts"] else ""), flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sessions",
        type=int,
        default=200_000,
        help="population (the issue's full size is 1000000)",
    )
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="ours: sessions per atomic step (default CLEAN_BATCH_SIZE)",
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--variants",
        default="book,ours,fixed,ours+recv,ours+demo",
        help="comma-separated, run in this order (reversed every other round)",
    )
    parser.add_argument(
        "--sweep", default="", help="comma-separated batch sizes: run only 'ours' with each"
    )
    parser.add_argument(
        "--batch-time",
        type=float,
        default=None,
        help="ours: milliseconds a batch aims at (default CLEAN_BATCH_TIME; 0: fixed size)",
    )
    parser.add_argument(
        "--sweep-time", default="", help="comma-separated --batch-time values: only 'ours'"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="lower the cleaning process's priority (os.nice) so that Redis and the probe "
        "get a CPU first on a small machine, as a niced cleaner or one on another host",
    )
    args = parser.parse_args()  # fmt: skip

    # The demo app (installed by tests.settings) connects its receiver at start-up;
    # only the ours+recv variant runs with it.
    sessions_evicted.disconnect(dispatch_uid="shop.abandoned_carts")
    client = connection.get_redis()
    if args.nice:
        # After django.setup(): the embedded Redis, started as our child, keeps its nice.
        os.nice(args.nice)
    print(f"Redis {client.info('server')['redis_version']}, {args.sessions:,} sessions "
          f"down to {args.limit:,}", flush=True)  # fmt: skip
    old = client.config_get("slowlog-*")
    client.config_set("slowlog-log-slower-than", 100)  # µs: every batch-sized command
    client.config_set("slowlog-max-len", 100_000)
    try:
        batch = args.batch_size or app_settings.CLEAN_BATCH_SIZE
        if args.batch_time is None:
            seconds = app_settings.CLEAN_BATCH_TIME
        else:
            seconds = args.batch_time / 1000
        if args.sweep or args.sweep_time:
            for size in [int(s) for s in args.sweep.split(",") if s]:
                print(f"batch size {size} (fixed):")
                show(measure("ours", args.sessions, args.limit, size, 0.0))
            for ms in [float(s) for s in args.sweep_time.split(",") if s]:
                print(f"batch time {ms} ms (at most {batch} sessions):")
                show(measure("ours", args.sessions, args.limit, batch, ms / 1000))
            return
        variants = args.variants.split(",")
        results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        for n in range(args.rounds):
            print(f"round {n + 1} (ours: at most {batch} sessions a batch, aiming at "
                  f"{seconds * 1000:g} ms; fixed: {FIXED} sessions a batch)")  # fmt: skip
            # Alternate the order between rounds so drift favours no variant.
            for variant in variants if n % 2 == 0 else variants[::-1]:
                r = measure(variant, args.sessions, args.limit, batch, seconds)
                results[variant].append(r)
                show(r)
        print("medians (SLOWLOG and batch max: the largest over the rounds):")
        med = {v: statistics.median(r["rate"] for r in rs) for v, rs in results.items()}
        for v, rs in results.items():
            print(f"  {v:<10} {med[v]:>9,.0f} sessions/s  round trips "
                  f"{statistics.median(r['trips'] for r in rs):>7,.0f}  GET p50/p99 "
                  f"{statistics.median(r['p50'] for r in rs):4.2f}/"
                  f"{statistics.median(r['p99'] for r in rs):5.2f} ms  SLOWLOG max "
                  f"{max(r['slowlog'] for r in rs):5.2f} ms  server CPU "
                  f"{statistics.median(r['cpu_us'] for r in rs):4.2f} us/session"
                  + (f"  batch max {max(r['batch_max'] for r in rs):5.2f} ms"
                     if v != "book" else ""))  # fmt: skip
        if "book" in med:
            for v in med:
                if v != "book":
                    print(f"ratio {v}/book: {med[v] / med['book']:.2f}x")
    finally:
        client.config_set("slowlog-log-slower-than", old["slowlog-log-slower-than"])
        client.config_set("slowlog-max-len", old["slowlog-max-len"])


if __name__ == "__main__":
    main()
