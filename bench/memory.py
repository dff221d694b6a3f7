"""Redis memory per session: this engine vs Django's cache engine (django-redis).

For each scenario and engine the bench starts from an empty private Redis (its own
``redis-server`` on a unix socket in a temporary directory, ``--save ''
--appendonly no``; never ``$REDIS_URL``), reads ``INFO memory`` before and after
creating N sessions through the engine's real save path (``SessionStore().save()``,
one session at a time, as a site pays it) and prints bytes per session and the
projection to 10,000,000 sessions. Scenarios:

1. anonymous: ``{"n": 1}``;
2. logged in: Django's three auth keys, about 4 sessions per user (seeded random,
   7-digit user ids);
3. logged in with 25 viewed items: ours through the app's view tracking (views queued
   on the store, sent with its save, as ``record_view`` does during a request);
   Django's engine has none, so the 25 item ids go in the session data;
4. anonymous with a 3-line cart: ours the ``cart_line`` script per line, as
   ``Cart.for_session_key(key).add()`` sends it (the three in one round trip after the
   save); Django's engine, the cart as a dict in the session data.

Ours leaves out the view tracking's global counters (``viewed:``, ``views:{DAY}``,
``visitors:``; they grow with the catalog, not with the sessions) unless
``--with-counters``, which reports their memory apart (approximately: the main dict's
bucket array stays at the size they made it).

For this engine it also prints the breakdown by key family (``MEMORY USAGE ... SAMPLES
0`` on sampled keys, the big shared zsets and hashes divided by their members) with
each family's ``OBJECT ENCODING``; "rest" is what no key reports (the main and expires
dicts' entries and buckets). Memory is ``used_memory`` minus ``mem_clients_normal``
(client buffers are connections, not sessions), read once it is steady (the keyspace
dicts rehash incrementally).

    .venv/bin/python bench/memory.py [--sessions 100000] [--items 10000]
        [--only SCENARIO ...] [--with-counters]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

from redis_sessions import embedded

# The bench's own server, whatever $REDIS_URL says: it flushes it between scenarios.
SERVER = embedded.start("--save", "", "--appendonly", "no")
os.environ["REDIS_URL"] = SERVER.url

import django  # noqa: E402

django.setup()

import django_redis  # noqa: E402
import redis  # noqa: E402
from django.contrib.sessions.backends.cache import SessionStore as CacheStore  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.test import override_settings  # noqa: E402

from bench.redis_memory import settled_used_memory  # noqa: E402
from redis_sessions import keys  # noqa: E402
from redis_sessions.analytics import counting  # noqa: E402
from redis_sessions.analytics.scripts import SESSION_VIEWED  # noqa: E402
from redis_sessions.backends.redis import SessionStore as OurStore  # noqa: E402
from redis_sessions.cart import lines as cart_lines  # noqa: E402
from redis_sessions.cart.owner import session_target  # noqa: E402
from redis_sessions.conf import app_settings  # noqa: E402
from redis_sessions.connection import get_redis, run_raw  # noqa: E402
from redis_sessions.connection.scripts import Command  # noqa: E402
from redis_sessions.sessions import commands as session_commands  # noqa: E402

PROJECTED = 10_000_000
SAMPLE = 1000
VIEWED = 25
SESSIONS_PER_USER = 4
# 7-digit user ids whatever --sessions is, as at 10,000,000 sessions (2,500,000 users):
# the id's length moves the data key across allocator size classes.
FIRST_UID = 1_000_000
BACKEND = "django.contrib.auth.backends.ModelBackend"
SETTINGS = {
    # Both engines as a site gets them by default: our KEY_PREFIX "rs", the cache's "".
    "CACHES": {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": SERVER.url}},
    "REDIS_SESSIONS": {},
    "SESSION_ENGINE": "redis_sessions.backends.redis",
}


@dataclass
class Population:
    """What the sessions of one run hold (the same for both engines)."""

    n: int
    items: int
    seed: int = 19
    uids: list[int] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)
    viewed: list[list[int]] = field(default_factory=list)
    carts: list[dict[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        users = max(1, self.n // SESSIONS_PER_USER)
        self.uids = [FIRST_UID + rng.randrange(users) for _ in range(self.n)]
        # _auth_user_hash: an HMAC-SHA256 hexdigest (64 characters), one per user.
        self.hashes = {u: f"{rng.getrandbits(256):064x}" for u in set(self.uids)}
        self.viewed = [rng.sample(range(1, self.items + 1), VIEWED) for _ in range(self.n)]
        self.carts = [
            {str(rng.randrange(1, self.items + 1)): rng.randint(1, 3) for _ in range(3)}
            for _ in range(self.n)
        ]

    def auth(self, i: int) -> dict[str, str]:
        uid = self.uids[i]
        return {"_auth_user_id": str(uid), "_auth_user_backend": BACKEND,
                "_auth_user_hash": self.hashes[uid]}  # fmt: skip


# -- creating sessions through each engine's save path --------------------------------
def ours(scenario: str, pop: Population, i: int) -> str:
    store = OurStore()
    if scenario in ("anonymous", "cart"):
        store["n"] = 1
    else:
        store.update(pop.auth(i))
    if scenario == "viewed":
        # What record_view does during a request: queued, sent with the save.
        for viewed in pop.viewed[i]:
            store.queue_view(str(viewed))
    store.save()
    key = store.session_key
    assert key is not None
    if scenario == "cart":
        # Cart.for_session_key(key).add(item, quantity) for each line, its three
        # cart_line scripts in one round trip instead of three (the same writes).
        target = session_target(key)
        lines = list(pop.carts[i].items())
        commands = [cart_lines.write_command("add", target, it, q) for it, q in lines]
        for reply, (item, quantity) in zip(run_raw(get_redis(), commands), lines, strict=True):
            cart_lines.check_write(reply, item, quantity, adding=True)
    return key


def session_views_only(
    session_key: str | None,
    item_ids: Iterable[str],
    visitor: str | None = None,
    client: str | None = None,
    *,
    new_session: bool = False,
) -> list[Command]:
    """The first command of ``counting.view_commands``: the session's own
    ``viewed:{KEY}`` script, without the global counters (``viewed:``,
    ``views:{DAY}``, ``visitors:``; ``--with-counters`` keeps them). Built here rather
    than cut from ``view_commands``' list, whose other ~100 commands would cost more
    Python time than the whole save (``check_views_only`` keeps the two in step)."""
    if session_key is None:
        return []
    now = time.time()
    pairs = [x for i, item in enumerate(item_ids) for x in (now + i * 1e-6, item)]
    data_key, viewed_key, _ = keys.session_keys(session_key)
    script = SESSION_VIEWED
    return [script.command([data_key, viewed_key], [app_settings.VIEWED_LIMIT, *pairs])]


def check_views_only() -> None:
    """``session_views_only`` sends what ``view_commands`` does for the session, but
    for the view times (every other argument after the limit)."""
    items = ["1", "22", "333"]
    mine = session_views_only("k" * 32, items)[0]
    theirs = counting.view_commands("k" * 32, items)[0]
    assert [*mine[:6], *mine[7::2]] == [*theirs[:6], *theirs[7::2]], (mine, theirs)


def djangos(scenario: str, pop: Population, i: int) -> str:
    store = CacheStore()
    if scenario in ("anonymous", "cart"):
        store["n"] = 1
    else:
        store.update(pop.auth(i))
    if scenario == "viewed":
        store["viewed"] = pop.viewed[i]
    if scenario == "cart":
        store["cart"] = pop.carts[i]
    store.save()
    return store.cache_key


ENGINES: dict[str, Callable[[str, Population, int], str]] = {"ours": ours, "django": djangos}
SCENARIOS = {
    "anonymous": 'anonymous {"n": 1}',
    "login": "logged in (3 auth keys)",
    "viewed": "logged in + 25 viewed",
    "cart": "anonymous + 3-line cart",
}


# -- measuring ---------------------------------------------------------------------
def admin() -> redis.Redis:
    return redis.Redis(unix_socket_path=str(SERVER.socket))


def memory(client: redis.Redis) -> int:
    return settled_used_memory(client)


@dataclass
class Family:
    name: str
    encoding: str
    keys: int
    per_session: float


def usage(client: redis.Redis, names: list[Any]) -> tuple[list[int], str]:
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.memory_usage(name, samples=0)
    sizes = pipe.execute()
    encoding = client.object("encoding", names[0])
    return sizes, encoding.decode() if isinstance(encoding, bytes) else str(encoding)


def per_key(client: redis.Redis, name: str, names: list[str]) -> Family | None:
    """A family with one key per session: the mean of its sampled keys."""
    present = [k for k in names if client.exists(k)]
    if not present:
        return None
    sizes, encoding = usage(client, present)
    return Family(name, encoding, len(present), sum(sizes) / len(sizes))


def per_member(client: redis.Redis, name: str, key: str, n: int) -> Family | None:
    """A shared key with one member per session: its size over its members."""
    if not client.exists(key):
        return None
    sizes, encoding = usage(client, [key])
    return Family(name, encoding, 1, sizes[0] / n)


def user_sets(client: redis.Redis, uids: list[int]) -> Family:
    """``user-sessions:{UID}`` per session: sampled sets' size over their members."""
    names = [keys.user_sessions(u) for u in uids]
    sizes, encoding = usage(client, names)
    pipe = client.pipeline(transaction=False)
    for name in names:  # a zset since issue 19, a set before
        pipe.zcard(name) if client.type(name) == b"zset" else pipe.scard(name)
    members = sum(pipe.execute())
    return Family("user-sessions:{UID}", encoding, len(names), sum(sizes) / members)


def breakdown(client: redis.Redis, scenario: str, pop: Population, made: list[str]) -> list[Family]:
    sample = random.Random(1).sample(made, min(SAMPLE, len(made)))
    n = len(made)
    found = [
        per_key(client, "session:{KEY}", [keys.session(k) for k in sample]),
        per_member(client, "recent:", keys.recent(), n),
        per_member(client, "login:", keys.login(), n),
    ]
    if scenario in ("login", "viewed"):
        uids = sorted(set(pop.uids))
        found.append(user_sets(client, random.Random(2).sample(uids, min(SAMPLE, len(uids)))))
    found += [
        per_key(client, "viewed:{KEY}", [keys.viewed(k) for k in sample]),
        per_key(client, "cart:{KEY}", [keys.cart(k) for k in sample]),
        per_member(client, "carts:", keys.carts(), n),
    ]
    return [f for f in found if f is not None]


def drop_counters(client: redis.Redis) -> int:
    """Delete the global view counters (``viewed:``, ``views:{DAY}``, ``visitors:``;
    they grow with the catalog, not with the sessions); how many keys went."""
    names: list[Any] = [keys.viewed_items()]
    for family in ("views:", "visitors:"):
        names += client.scan_iter(match=keys.escape_glob(keys.prefix()) + family + "*",
                                  count=10_000)  # fmt: skip
    return sum(client.delete(*names[i : i + 1000]) for i in range(0, len(names), 1000))


@dataclass
class Result:
    per_session: float
    fixed: int
    seconds: float
    families: list[Family]
    sample_key: Family | None


def run(engine: str, scenario: str, pop: Population, client: redis.Redis) -> Result:
    make = ENGINES[engine]
    # Warm up: connections open, scripts loaded (SCRIPT LOAD survives FLUSHALL).
    for i in range(10):
        make(scenario, pop, i)
    client.flushall(asynchronous=False)
    before = memory(client)
    started = time.perf_counter()
    made = [make(scenario, pop, i) for i in range(pop.n)]
    seconds = time.perf_counter() - started
    after = memory(client)
    fixed, families, sample_key = 0, [], None
    if engine == "ours":
        if drop_counters(client):
            without = memory(client)
            fixed, after = after - without, without
        families = breakdown(client, scenario, pop, made)
    else:
        sample = random.Random(1).sample(made, min(SAMPLE, len(made)))
        sample_key = per_key(client, "data key", [cache.make_key(k) for k in sample])
    client.flushall(asynchronous=False)
    return Result((after - before) / pop.n, fixed, seconds, families, sample_key)


# -- report ----------------------------------------------------------------------------
def gb(per_session: float, fixed: int = 0) -> float:
    return (per_session * PROJECTED + fixed) / 1e9


def header(client: redis.Redis, args: argparse.Namespace) -> None:
    server = client.info("server")
    mem = client.info("memory")
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor())  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}")
    print(f"python {platform.python_version()}, django {django.get_version()}, "
          f"redis-py {redis.__version__}, django-redis {django_redis.__version__}, "
          f"redis {server['redis_version']} ({mem['mem_allocator']}), "
          f"{args.sessions:,} sessions per run, catalog of {args.items:,} items")  # fmt: skip


def report(results: dict[tuple[str, str], Result], n: int, scenarios: list[str]) -> None:
    print()
    print(f"{'scenario':26} {'ours B/s':>9} {'django B/s':>10} {'ratio':>6} "
          f"{'ours GB@10M':>11} {'django GB@10M':>13} {'ours s':>7} {'django s':>8}")  # fmt: skip
    for scenario in scenarios:
        title = SCENARIOS[scenario]
        a, b = results[("ours", scenario)], results[("django", scenario)]
        print(f"{title:26} {a.per_session:9.1f} {b.per_session:10.1f} "
              f"{a.per_session / b.per_session:5.2f}x {gb(a.per_session, a.fixed):11.2f} "
              f"{gb(b.per_session):13.2f} {a.seconds:7.1f} {b.seconds:8.1f}")  # fmt: skip
    for scenario in scenarios:
        title = SCENARIOS[scenario]
        a, b = results[("ours", scenario)], results[("django", scenario)]
        print(f"\nours, {title}: bytes per session by key family (MEMORY USAGE)")
        print(f"  {'family':22} {'encoding':10} {'keys':>6} {'B/session':>10}")
        for f in a.families:
            print(f"  {f.name:22} {f.encoding:10} {f.keys:6} {f.per_session:10.1f}")
        rest = a.per_session - sum(f.per_session for f in a.families)
        print(f"  {'rest (dicts)':22} {'':10} {'':6} {rest:10.1f}")
        if a.fixed:
            print(f"  + global view counters (viewed:, views:, visitors:): "
                  f"{a.fixed / 1e6:.1f} MB for the catalog, outside B/session "
                  f"({a.fixed / n:.1f} B/session at this size)")  # fmt: skip
        if b.sample_key:
            s = b.sample_key
            print(f"  django's data key: {s.encoding}, {s.per_session:.1f} B "
                  f"(rest {b.per_session - s.per_session:.1f} B)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000, help="sessions per run")
    parser.add_argument("--items", type=int, default=10_000, help="catalog size (viewed, cart)")
    parser.add_argument("--with-counters", action="store_true",
                        help="views also update the global counters (slow: ~100 commands "
                        "a session); their memory is reported apart")  # fmt: skip
    parser.add_argument("--only", choices=list(SCENARIOS), action="append",
                        help="run only these scenarios (repeatable)")  # fmt: skip
    args = parser.parse_args()
    if not args.with_counters:
        check_views_only()
        session_commands.view_commands = session_views_only  # type: ignore[attr-defined]
    client = admin()
    header(client, args)
    pop = Population(args.sessions, args.items)
    scenarios = args.only or list(SCENARIOS)
    try:
        results = measure_all(scenarios, pop, client)
    finally:
        SERVER.stop()
    report(results, args.sessions, scenarios)


def measure_all(
    scenarios: list[str], pop: Population, client: redis.Redis
) -> dict[tuple[str, str], Result]:
    results = {}
    with override_settings(**SETTINGS):
        for scenario in scenarios:
            for engine in ENGINES:
                r = results[(engine, scenario)] = run(engine, scenario, pop, client)
                print(f"{scenario:10} {engine:7} {r.per_session:8.1f} B/session "
                      f"({r.seconds:.1f} s)", flush=True)  # fmt: skip
    return results


if __name__ == "__main__":
    main()
