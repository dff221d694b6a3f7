"""Benchmark: ``Cart.add`` and ``Cart.quantities`` against raw redis-py, same run.

    /work/main/.venv/bin/python bench/cart.py          # short: 7 rounds x 2000 calls
    /work/main/.venv/bin/python bench/cart.py --full   # 15 rounds x 10000 calls

Peers: ``HINCRBY`` and ``HGETALL`` in a loop on a plain ``redis.Redis`` of the same
server. Rounds alternate A/B so that noise on a shared machine hits both sides; the
figures printed are medians of calls per second, their ratio (cart / raw; the goal is
>= 0.8) and round trips per call. ``add`` with ``CART_VALIDATE_ITEMS`` on (one
``exists()`` query per call, SQLite in memory) is printed for reference.

Uses the embedded Redis unless ``REDIS_URL`` is set; keys go under a prefix of their
own and are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")

import django

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402

from demo_project.shop.models import Product  # noqa: E402
from redis_sessions import connection, keys  # noqa: E402
from redis_sessions.backends.redis import SessionStore  # noqa: E402
from redis_sessions.cart import Cart  # noqa: E402
from redis_sessions.cart import lines as ops  # noqa: E402
from redis_sessions.cart.owner import session_target  # noqa: E402
from redis_sessions.cart.scripts import CART_LINE  # noqa: E402

LINES = 10  # lines in the cart that quantities() / HGETALL read


def rate(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return calls / (time.perf_counter() - start)


def configure(validate: bool) -> None:
    # Through override_settings, so setting_changed resets what the cart caches.
    global _override
    if _override is not None:
        _override.disable()
    _override = override_settings(
        REDIS_SESSIONS={
            **BASE,
            "CART_VALIDATE_ITEMS": validate,
            "CART_MAX_QUANTITY": 10**12,  # the benchmark adds to one line many times
        }
    )
    _override.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="15 rounds x 10000 calls")
    args = parser.parse_args()
    rounds, calls = (15, 10_000) if args.full else (7, 2_000)

    call_command("migrate", verbosity=0)
    products = [
        Product.objects.create(name=f"Bench {i}", slug=f"bench-{i}", price="9.99")
        for i in range(LINES)
    ]
    configure(validate=False)
    store = SessionStore()
    store.save()
    assert store.session_key is not None
    cart = Cart.for_session_key(store.session_key)
    for p in products:
        cart.add(p)
    raw = redis.Redis.from_url(settings.REDIS_URL)
    raw_key = keys.prefix() + "raw-cart"
    raw.hset(raw_key, mapping={str(p.pk): 1 for p in products})
    item = products[0].pk

    # The same Lua script the cart sends, sent by raw redis-py: the cart's own Python
    # overhead is the gap between this and cart.add.
    script = CART_LINE
    raw.script_load(script.source)
    script_args = ops.write_command("add", session_target(store.session_key), "x", 1)[2:]

    names = ("raw add", "raw lua", "cart add", "cart add v", "raw read", "cart read")
    results: dict[str, list[float]] = {k: [] for k in names}
    trips: dict[str, float] = {}
    for r in range(rounds):
        # Alternate which side goes first in each pair.
        pairs = [("raw add", lambda: raw.hincrby(raw_key, str(item), 1)),
                 ("raw lua", lambda: raw.evalsha(script.sha, *script_args)),
                 ("cart add", lambda: cart.add(item))]  # fmt: skip
        reads = [("raw read", lambda: raw.hgetall(raw_key)), ("cart read", cart.quantities)]
        for group in (pairs, reads):
            for name, fn in group if r % 2 == 0 else group[::-1]:
                before = connection.round_trips()
                results[name].append(rate(fn, calls))
                trips[name] = (connection.round_trips() - before) / calls
        configure(validate=True)
        cart.add(item)  # warm-up: the settings change reconnected the pool
        before = connection.round_trips()
        results["cart add v"].append(rate(lambda: cart.add(item), max(calls // 4, 1)))
        trips["cart add v"] = (connection.round_trips() - before) / max(calls // 4, 1)
        configure(validate=False)
        cart.add(item)

    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"bench/cart.py: {rounds} alternating rounds x {calls} calls, {LINES}-line cart")
    print(f"  add         raw HINCRBY {med['raw add']:9.0f}/s   cart.add (validate off) "
          f"{med['cart add']:9.0f}/s   ratio {med['cart add'] / med['raw add']:.2f}   "
          f"round trips/call {trips['cart add']:.2f}")  # fmt: skip
    print(f"  add         raw EVALSHA {med['raw lua']:9.0f}/s   (cart_line.lua itself)   "
          f"{'':9s}    cart.add / raw EVALSHA {med['cart add'] / med['raw lua']:.2f}")  # fmt: skip
    print(f"  quantities  raw HGETALL {med['raw read']:9.0f}/s   cart.quantities()       "
          f"{med['cart read']:9.0f}/s   ratio {med['cart read'] / med['raw read']:.2f}   "
          f"round trips/call {trips['cart read']:.2f}")  # fmt: skip
    print(f"  add, validate on (1 query/call): {med['cart add v']:9.0f}/s   "
          f"ratio to raw HINCRBY {med['cart add v'] / med['raw add']:.2f}   "
          f"round trips/call {trips['cart add v']:.2f}")  # fmt: skip

    client = connection.get_redis()
    for batch in [list(client.scan_iter(match=keys.scan_pattern(), count=1000))]:
        if batch:
            client.delete(*batch)


_override: override_settings | None = None
BASE = {**getattr(settings, "REDIS_SESSIONS", {}), "KEY_PREFIX": f"bench-cart-{os.getpid()}"}

if __name__ == "__main__":
    main()
