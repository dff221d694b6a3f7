"""PARTITIONS on a real 3-master Redis Cluster: each node's share of the load.

Starts a 3-master cluster (``tests/support/cluster_server.py``), then for
``PARTITIONS`` = 1 and 3 (``--values``), alternating, ``--rounds`` rounds each, with a fresh key
prefix and a fresh SQLite database per round: runs the demo under gunicorn with the
three loops beside it (as ``bench/load.py`` does, with ``REDIS_SESSIONS`` pointing at
the cluster: ``bench/partitions_settings.py``), drives it with bench/load.py's virtual
users, and measures on every node:

* ``INFO commandstats`` after ``CONFIG RESETSTAT`` (before the load): all calls, and
  the calls of the command types the indexes use (ZADD, HGET, EVALSHA...; other keys
  use them too, so this is only an upper bound of the index traffic);
* a ``MONITOR`` window of ``--monitor`` seconds in the middle of the load: every
  command a node ran (commands run by Lua scripts included), attributed to the global
  index key it names (``recent:``, ``recent:1``..., ``expires:``, ``login:``,
  ``viewed:``) or to "other". This separates the index traffic exactly.

It prints where each index partition key lands (``CLUSTER KEYSLOT`` and ``CLUSTER
SLOTS``), a per-node table per round and a summary: the busiest node's share of all
calls and of the index-key calls, and the load's req/s, p50/p99, errors and lost cart
adds. Command shares are robust to other jobs sharing the machine; req/s are not.

    python bench/partitions.py [--seconds 20] [--users 8] [--rounds 2] [--monitor 5]
                               [--values 1,3] [--tag part] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from redis.crc import key_slot  # noqa: E402

from bench.load import drive, free_port  # noqa: E402

FAMILIES = ("recent", "expires", "login", "viewed")
# Command types the global indexes are read and written with (commandstats names).
INDEX_COMMANDS = frozenset(
    {"zadd", "zrem", "zincrby", "zrange", "zrangebyscore", "zrevrange", "zrevrangebyscore",
     "zrangestore", "zscore", "zmscore", "zcard", "zcount", "zremrangebyrank",
     "zremrangebyscore", "zunionstore", "zinterstore", "zpopmin", "zscan", "hset", "hdel",
     "hget", "hmget", "hlen", "hscan", "hgetall", "evalsha", "eval"}
)  # fmt: skip
# Our own probes, left out of the totals.
OURS = frozenset({"info", "config|resetstat", "monitor", "cluster|keyslot", "cluster|slots"})
ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"')


# -- the per-round demo: prepared and checked in a child with the round's settings ------
def prepare(products: int, users: int) -> None:
    """In a child with the round's environment: migrate, seed, create the load users;
    print the slugs and user ids as JSON."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from demo_project.shop.models import Product

    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--products", str(products), verbosity=0)
    model = get_user_model()
    password = make_password("load")
    model.objects.bulk_create(
        [model(username=f"load{vu}", password=password) for vu in range(users)],
        ignore_conflicts=True,
    )
    ids = dict(model.objects.filter(username__startswith="load").values_list("username", "pk"))
    slugs = list(Product.objects.order_by("pk").values_list("slug", "pk")[:100])
    print(json.dumps({"user_ids": ids, "slugs": slugs}))


def check() -> None:
    """In a child with the round's environment: read the virtual users' results from
    stdin, print how many acknowledged cart adds are missing from Redis."""
    import django

    django.setup()
    from redis_sessions.cart import Cart

    data = json.load(sys.stdin)
    lost = acked = 0
    for r in data["results"]:
        if r["logged_in"]:
            cart = Cart.for_user(data["user_ids"][f"load{r['vu']}"])
        elif r["session"]:
            cart = Cart.for_session_key(r["session"])
        else:
            cart = None
        quantities = cart.quantities() if cart is not None else {}
        for pk, n in r["acked"].items():
            acked += n
            lost += max(0, n - quantities.get(str(pk), 0))
    print(json.dumps({"acked": acked, "lost": lost}))


def child(mode: str, env: dict[str, str], args: list[str], stdin: str = "") -> Any:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        sys.exit(f"{mode} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the cluster side -------------------------------------------------------------------
@dataclass
class Node:
    label: str
    port: int
    first: int
    last: int
    client: redis.Redis = field(repr=False)


def nodes_of(ports: list[int]) -> list[Node]:
    probe = redis.Redis(port=ports[0])
    reply = probe.execute_command("CLUSTER SLOTS")  # type: ignore[no-untyped-call]
    slots = sorted(reply, key=lambda s: int(s[0]))
    probe.close()
    out = []
    for i, (first, last, primary, *_) in enumerate(slots):
        port = int(primary[1])
        out.append(Node(f"node {i + 1}", port, int(first), int(last), redis.Redis(port=port)))
    return out


def index_keys(prefix: str, partitions: int) -> dict[str, str]:
    """Key name -> its label (``recent:``, ``recent:2``...), as keys.py builds them."""
    out = {}
    for family in FAMILIES:
        for p in range(partitions):
            label = f"{family}:{p if p else ''}"
            out[f"{prefix}:1:{label}"] = label
    return out


def placement(nodes: list[Node], keys: dict[str, str]) -> dict[str, tuple[int, str]]:
    """Index key label -> (slot, node label); slots from CLUSTER KEYSLOT, checked
    against redis-py's own CRC16."""
    out = {}
    for key, label in keys.items():
        reply = nodes[0].client.execute_command("CLUSTER KEYSLOT", key)  # type: ignore[no-untyped-call]
        slot = int(reply)
        assert slot == key_slot(key.encode()), (key, slot)
        node = next(n for n in nodes if n.first <= slot <= n.last)
        out[label] = (slot, node.label)
    return out


def commandstats(node: Node) -> tuple[int, int, Counter[str]]:
    """(all calls, index-type calls, calls per command) since the last RESETSTAT."""
    stats = node.client.info("commandstats")
    calls: Counter[str] = Counter()
    for name, value in stats.items():
        command = name.removeprefix("cmdstat_")
        if command not in OURS:
            calls[command] = int(value["calls"])
    index = sum(n for c, n in calls.items() if c in INDEX_COMMANDS)
    return sum(calls.values()), index, calls


def monitor(port: int, seconds: float, out: dict[int, bytes]) -> None:
    """Everything MONITOR shows on one node for ``seconds`` (parsed afterwards)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"MONITOR\r\n")
    sock.settimeout(0.2)
    buf = bytearray()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            continue
        if not chunk:
            break
        buf += chunk
    sock.close()
    out[port] = bytes(buf)


def attribute(
    raw: bytes, keys: dict[str, str], prefix: str
) -> tuple[int, Counter[str], Counter[str]]:
    """(commands seen, commands per index key label, key arguments per key family) of
    a MONITOR capture. A command counts for an index key when one of its arguments is
    that key's name. A family is a global key's name after the prefix (``views:20261206``)
    or, for keys with a hash tag, the part before it (``session:{…}``)."""
    names = {k.encode(): label for k, label in keys.items()}
    head = f"{prefix}:1:".encode()
    total = 0
    hits: Counter[str] = Counter()
    families: Counter[str] = Counter()
    for line in raw.split(b"\r\n")[:-1]:  # the last piece may be cut
        if not line.startswith(b"+") or b"] " not in line:
            continue
        args = ARG.findall(line.split(b"] ", 1)[1])
        if not args or args[0].lower() in (b"monitor", b"info", b"config"):
            continue
        total += 1
        label = next((names[a] for a in args[1:] if a in names), None)
        if label is not None:
            hits[label] += 1
        for arg in args[1:]:
            if arg.startswith(head):
                rest = arg[len(head) :].decode(errors="replace")
                families[rest[: rest.index("{")] + "{…}" if "{" in rest else rest] += 1
    return total, hits, families


# -- one round --------------------------------------------------------------------------
def run_round(
    n: int, partitions: int, cluster_url: str, nodes: list[Node], args: argparse.Namespace
) -> dict[str, Any]:
    prefix = f"{args.tag}{n}p{partitions}"
    tmp = Path(tempfile.mkdtemp(prefix="partitions-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.partitions_settings",
        "DATABASE_URL": f"sqlite:///{tmp / 'load.sqlite3'}",
        "REDIS_URL": cluster_url,
        "REDIS_KEY_PREFIX": prefix,
        "REDIS_PARTITIONS": str(partitions),
        "PYTHONPATH": str(ROOT),
    }
    seeded = child("prepare", env, [str(args.products), str(args.users)])
    slugs = [tuple(s) for s in seeded["slugs"]]
    keys = index_keys(prefix, partitions)
    where = placement(nodes, keys)

    port = free_port()
    gunicorn = ["-w", str(args.workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "demo_project.wsgi", *gunicorn],
            cwd=ROOT,
            env=env,
        )
    ]
    for command in ("clean_sessions", "rescale_viewed", "cache_rows"):
        procs.append(
            subprocess.Popen(
                [sys.executable, "manage.py", command, "--interval", "1"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )
    base = f"http://127.0.0.1:{port}"
    load_before = os.getloadavg()[0]
    captures: dict[int, bytes] = {}
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        for node in nodes:
            node.client.config_resetstat()
        queue: Any = multiprocessing.Queue()
        driver = multiprocessing.Process(
            target=drive, args=(base, args.users, slugs, args.seconds, queue)
        )
        started = time.perf_counter()
        driver.start()
        window = min(args.monitor, args.seconds / 2)
        time.sleep((args.seconds - window) / 2)
        watchers = [
            threading.Thread(target=monitor, args=(node.port, window, captures)) for node in nodes
        ]
        for watcher in watchers:
            watcher.start()
        for watcher in watchers:
            watcher.join()
        results = [queue.get(timeout=args.seconds + 60) for _ in range(args.users)]
        driver.join()
        elapsed = time.perf_counter() - started
        stats = {node.label: commandstats(node) for node in nodes}
        by_label = {node.label: node for node in nodes}
        sessions = sum(
            int(by_label[where[label][1]].client.zcard(key))
            for key, label in keys.items()
            if label.startswith("recent:")
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    load_after = os.getloadavg()[0]
    carts = child(
        "check", env, [], json.dumps({"results": results, "user_ids": seeded["user_ids"]})
    )
    shutil.rmtree(tmp, ignore_errors=True)

    latencies = sorted(x for r in results for x in r["latencies"])
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r["errors"])
    p = statistics.quantiles(latencies, n=100) if len(latencies) > 100 else [0.0] * 99
    seen = {node.label: attribute(captures.get(node.port, b""), keys, prefix) for node in nodes}
    return {
        "round": n,
        "partitions": partitions,
        "placement": where,
        "stats": stats,
        "seen": seen,
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": p[49] * 1000,
        "p99": p[98] * 1000,
        "errors": dict(errors),
        "acked": carts["acked"],
        "lost": carts["lost"],
        "load": (load_before, load_after),
        "sessions": sessions,
        "prefix": prefix,
    }


# -- report -----------------------------------------------------------------------------
def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def summary(r: dict[str, Any], labels: list[str]) -> dict[str, float]:
    calls = {label: r["stats"][label][0] for label in labels}
    index_seen = {label: sum(r["seen"][label][1].values()) for label in labels}
    seen = {label: r["seen"][label][0] for label in labels}
    return {
        "busiest_all": max(calls.values()) / max(1, sum(calls.values())),
        "busiest_index": max(index_seen.values()) / max(1, sum(index_seen.values())),
        "busiest_seen": max(seen.values()) / max(1, sum(seen.values())),
        "index_fraction": sum(index_seen.values()) / max(1, sum(seen.values())),
    }


def hot_keys(r: dict[str, Any], nodes: list[Node], top: int = 10) -> str:
    """The ``top`` key families by MONITOR key arguments, with the node of a global key
    (a family of hash-tagged keys is spread over every node)."""
    families: Counter[str] = Counter()
    for label in r["seen"]:
        families.update(r["seen"][label][2])
    total = sum(families.values())
    out = []
    for family, count in families.most_common(top):
        if "{" in family:
            where = "all nodes"
        else:
            slot = key_slot(f"{r['prefix']}:1:{family}".encode())
            where = next(n.label for n in nodes if n.first <= slot <= n.last)
        out.append(f"`{family}` {pct(count, total)} ({where})")
    return ", ".join(out)


def report(rounds: list[dict[str, Any]], nodes: list[Node], args: argparse.Namespace) -> None:
    labels = [n.label for n in nodes]
    print()
    print(
        f"3-master cluster ({', '.join(f'{n.label}: slots {n.first}-{n.last}' for n in nodes)}); "
        f"{args.seconds:g} s x {args.users} virtual users, gunicorn -w {args.workers}, loops "
        f"running; MONITOR window {min(args.monitor, args.seconds / 2):g} s mid-load"
    )
    for r in rounds:
        print()
        print(f"### Round {r['round']}: PARTITIONS={r['partitions']}")
        print()
        by_node: dict[str, list[str]] = {label: [] for label in labels}
        for key, (slot, label) in r["placement"].items():
            by_node[label].append(f"`{key}` ({slot})")
        for label in labels:
            print(f"- {label}: {', '.join(by_node[label]) or 'no index key'}")
        empty = [label for label in labels if not by_node[label]]
        for family in FAMILIES:
            held = Counter(
                label for key, (_, label) in r["placement"].items() if key.startswith(family)
            )
            if r["partitions"] > 1 and len(held) < len(labels):
                shared = ", ".join(f"{lab} holds {c}" for lab, c in sorted(held.items()))
                print(f"  - the {r['partitions']} `{family}:` partitions share nodes: {shared}")
        if empty:
            print(f"  - {', '.join(empty)} hold(s) no index key")
        print()
        print(
            "| node | all calls (commandstats) | share | index-type commands | share "
            "| MONITOR: commands | index-key commands | share of index-key | per index key |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        total_calls = sum(r["stats"][lab][0] for lab in labels)
        total_type = sum(r["stats"][lab][1] for lab in labels)
        total_index = sum(sum(r["seen"][lab][1].values()) for lab in labels)
        for label in labels:
            calls, typed, _ = r["stats"][label]
            seen, hits, _ = r["seen"][label]
            index = sum(hits.values())
            per_key = ", ".join(f"{k} {v}" for k, v in sorted(hits.items())) or "-"
            print(
                f"| {label} | {calls:,} | {pct(calls, total_calls)} | {typed:,} | "
                f"{pct(typed, total_type)} | {seen:,} | {index:,} | {pct(index, total_index)} "
                f"| {per_key} |"
            )
        s = summary(r, labels)
        print()
        print(
            f"{r['requests']:,} requests, {r['rps']:.0f} req/s, p50 {r['p50']:.1f} ms, "
            f"p99 {r['p99']:.1f} ms, errors {sum(r['errors'].values())}"
            f"{' ' + str(r['errors']) if r['errors'] else ''}, cart adds acknowledged "
            f"{r['acked']}, lost {r['lost']}; {r['sessions']} sessions in `recent:`; "
            f"index-key commands are {100 * s['index_fraction']:.1f}% of all seen; "
            f"load average {r['load'][0]:.1f} before, {r['load'][1]:.1f} after"
        )
        every: Counter[str] = Counter()
        for label in labels:
            every.update(r["seen"][label][1])
        if r["partitions"] > 1:
            spread = "; ".join(
                f"`{family}:` "
                + " / ".join(
                    str(every[f"{family}:{p if p else ''}"]) for p in range(r["partitions"])
                )
                for family in FAMILIES
            )
            print(f"MONITOR commands per partition (0 / 1 / 2...): {spread}")
        print()
        print(f"Hottest key families (MONITOR key arguments, all nodes): {hot_keys(r, nodes)}")
    print()
    print("### Summary")
    print()
    print(
        "| round | PARTITIONS | busiest node: share of all calls | share of index-key "
        "commands | share of MONITOR commands | index-key / all | req/s | p50 | p99 | errors "
        "| lost |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rounds:
        s = summary(r, labels)
        print(
            f"| {r['round']} | {r['partitions']} | {100 * s['busiest_all']:.1f}% | "
            f"{100 * s['busiest_index']:.1f}% | {100 * s['busiest_seen']:.1f}% | "
            f"{100 * s['index_fraction']:.1f}% | {r['rps']:.0f} | {r['p50']:.1f} ms | "
            f"{r['p99']:.1f} ms | {sum(r['errors'].values())} | {r['lost']} |"
        )
    for partitions in sorted({r["partitions"] for r in rounds}):
        mine = [summary(r, labels) for r in rounds if r["partitions"] == partitions]
        rps = [r["rps"] for r in rounds if r["partitions"] == partitions]
        print(
            f"| mean | {partitions} | {100 * statistics.mean(m['busiest_all'] for m in mine):.1f}%"
            f" | {100 * statistics.mean(m['busiest_index'] for m in mine):.1f}% | "
            f"{100 * statistics.mean(m['busiest_seen'] for m in mine):.1f}% | "
            f"{100 * statistics.mean(m['index_fraction'] for m in mine):.1f}% | "
            f"{statistics.mean(rps):.0f} | | | | |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="load per round")
    parser.add_argument("--users", type=int, default=8, help="virtual users (threads)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each PARTITIONS")
    parser.add_argument("--monitor", type=float, default=5.0, help="MONITOR window, seconds")
    parser.add_argument(
        "--values", default="1,3", help="PARTITIONS values, alternated in each round (1,3)"
    )
    parser.add_argument(
        "--tag",
        default="part",
        help="key prefix head (round N of PARTITIONS=P uses TAGNpP): where the index keys "
        "land depends on it; the same tag gives the same placement, another tag another",
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        if mode == "prepare":
            prepare(int(rest[0]), int(rest[1]))
        else:
            check()
        return

    from tests.support import cluster_server

    cluster = cluster_server.start(masters=3)
    try:
        nodes = nodes_of(cluster.ports)
        versions = nodes[0].client.info("server")
        print(
            f"Redis {versions['redis_version']} cluster, 3 masters; Python "
            f"{sys.version.split()[0]}, redis-py {redis.__version__}, {os.cpu_count()} cores"
        )
        rounds = []
        n = 0
        for _ in range(args.rounds):
            for partitions in [int(v) for v in args.values.split(",")]:
                n += 1
                print(f"round {n}: PARTITIONS={partitions} ...", flush=True)
                rounds.append(run_round(n, partitions, cluster.url, nodes, args))
        report(rounds, nodes, args)
        if args.json:
            args.json.write_text(json.dumps(rounds, indent=1, default=list))
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
