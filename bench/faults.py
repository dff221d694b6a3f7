"""Faults under load: the demo under gunicorn, Redis broken mid-run, every cart add checked.

Each fault runs in a fresh process: a private Redis topology on loopback (started
here), the demo migrated and seeded, gunicorn (2 sync workers) with the three loops
beside it, and bench/load.py's virtual users (browsing, logging in, adding to carts).
``--fault-at`` seconds into the run the fault is injected; the run goes on to
``--seconds``. Then every acknowledged add (a 302 from the add form) is looked up in
Redis. Printed per fault: requests, 503s, 500s, requests with no answer, acknowledged
adds, lost and applied twice, when Redis was usable again ("ready": the restart
answered, the replica was promoted, the process was continued, the memory limit
lifted) and when the last failed request ended, relative to that.

Faults:

* ``aof``: single Redis with AOF (everysec), ``kill -9``, restarted 3 s later;
* ``noaof``: the same without persistence (adds acknowledged before the kill are lost
  by design: the table counts them);
* ``sigstop``: the server paused 5 s (``SIGSTOP``, then ``SIGCONT``);
* ``oom``: ``maxmemory`` set to the memory in use with ``noeviction`` for 5 s;
* ``sentinel``: master, replica and sentinel (``down-after-milliseconds 1000``),
  the master ``kill -9``: ready when the sentinel names the replica;
* ``cluster``: 3 masters with a replica each (``cluster-node-timeout 1000``), the
  three masters listed in ``NODES``, master 1 ``kill -9``: ready when its replica
  answers ``ROLE`` as master;
* ``cluster-seed``: the same with master 0, the first seed, killed, and gunicorn
  reloaded (``SIGHUP``) at once, while it is down: the new workers start from the
  other seeds.

    .venv/bin/python bench/faults.py [--faults aof,noaof,sigstop,oom,sentinel,cluster]
        [--seconds 20] [--fault-at 6] [--users 16] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import check_carts, prepare, run_load, setup_django, start_site, stop_site
from redis_sessions import embedded
from tests.support import cluster_server

ROOT = Path(__file__).resolve().parent.parent
FAULTS = ("aof", "noaof", "sigstop", "oom", "sentinel", "cluster", "cluster-seed")
POLL = 0.01  # seconds between looks at a topology during a fault


def _until(check: Callable[[], bool], bound: float = 30.0) -> float:
    """Poll ``check`` until true; the time it first was (or raise after ``bound``)."""
    deadline = time.time() + bound
    while time.time() < deadline:
        try:
            if check():
                return time.time()
        except (redis.RedisError, OSError):
            pass
        time.sleep(POLL)
    raise RuntimeError("the topology did not come back within the bound")


class Single:
    """One redis-server on a loopback port (the fault's own arguments)."""

    def __init__(self, fault: str) -> None:
        self.fault = fault
        self.port = cluster_server._free_port()
        self.args = ["--port", str(self.port), "--bind", "127.0.0.1"]
        if fault == "aof":
            self.args += ["--appendonly", "yes", "--appendfsync", "everysec"]
        self.server = embedded.start(*self.args)

    def env(self) -> dict[str, str]:
        return {"REDIS_URL": f"redis://127.0.0.1:{self.port}/0"}

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)

    def inject(self, site: subprocess.Popen[bytes]) -> float:
        """Break it; return when it is usable again."""
        if self.fault in ("aof", "noaof"):
            self.server.process.send_signal(signal.SIGKILL)
            self.server.process.wait()
            time.sleep(3)
            self.server = embedded.start(*self.args, directory=self.server.directory)
            return time.time()
        if self.fault == "sigstop":
            self.server.process.send_signal(signal.SIGSTOP)
            time.sleep(5)
            self.server.process.send_signal(signal.SIGCONT)
            return time.time()
        admin = self.client()
        used = admin.info("memory")["used_memory"]
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", used)
        time.sleep(5)
        admin.config_set("maxmemory", 0)
        return time.time()

    def stop(self) -> None:
        self.server.process.send_signal(signal.SIGCONT)
        self.server.stop()


class Sentinel:
    """A master, its replica and one sentinel on loopback ports."""

    def __init__(self) -> None:
        ports = [cluster_server._free_port() for _ in range(3)]
        self.master_port, self.replica_port, self.sentinel_port = ports
        self.service = f"faults{self.sentinel_port}"
        loopback = ("--bind", "127.0.0.1")
        self.master = embedded.start("--port", str(self.master_port), *loopback)
        self.replica = embedded.start(
            "--port", str(self.replica_port), *loopback,
            "--replicaof", "127.0.0.1", str(self.master_port),
        )  # fmt: skip
        admin = redis.Redis(host="127.0.0.1", port=self.master_port, socket_timeout=1)
        _until(lambda: admin.info("replication").get("connected_slaves") == 1)
        self.directory = Path(tempfile.mkdtemp(prefix="faults-sentinel-"))
        conf = self.directory / "sentinel.conf"
        conf.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.directory}\n"
            f"sentinel monitor {self.service} 127.0.0.1 {self.master_port} 1\n"
            f"sentinel down-after-milliseconds {self.service} 1000\n"
            f"sentinel failover-timeout {self.service} 5000\n"
        )
        self.sentinel = subprocess.Popen(
            [embedded.find_redis_server(), str(conf), "--sentinel",
             "--logfile", str(self.directory / "sentinel.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=embedded._die_with_parent,
        )  # fmt: skip
        _until(lambda: bool(self._sentinel().sentinel_slaves(self.service)))

    def _sentinel(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.sentinel_port, socket_timeout=1)

    def env(self) -> dict[str, str]:
        return {
            "REDIS_URL": f"redis://127.0.0.1:{self.master_port}/0",
            "FAULTS_SENTINEL": f"{self.service}@127.0.0.1:{self.sentinel_port}",
        }

    def client(self) -> redis.Redis:
        host, port = self._sentinel().sentinel_get_master_addr_by_name(self.service)
        return redis.Redis(host=host, port=int(port), socket_timeout=1)

    def inject(self, site: subprocess.Popen[bytes]) -> float:
        self.master.process.send_signal(signal.SIGKILL)
        self.master.process.wait()

        def promoted() -> bool:
            address = self._sentinel().sentinel_get_master_addr_by_name(self.service)
            return int(address[1]) == self.replica_port

        return _until(promoted)

    def stop(self) -> None:
        self.sentinel.terminate()
        self.sentinel.wait(timeout=5)
        self.replica.stop()
        self.master.stop()


class Cluster:
    """3 masters, a replica each, the masters listed as seeds; the victim is master 1,
    or master 0 (the first seed) with a reload of the site during the outage."""

    def __init__(self, seed: bool) -> None:
        self.cluster = cluster_server.start(3, replicas=1, node_timeout_ms=1000)
        self.seed = seed
        self.victim = 0 if seed else 1
        self.heir = self.cluster.ports[3 + self.victim]
        self.survivor = self.cluster.ports[2]

    def env(self) -> dict[str, str]:
        nodes = ",".join(f"redis://127.0.0.1:{port}/0" for port in self.cluster.ports[:3])
        return {"REDIS_URL": self.cluster.url, "FAULTS_CLUSTER": nodes}

    def client(self) -> redis.RedisCluster:
        return redis.RedisCluster(host="127.0.0.1", port=self.survivor)

    def inject(self, site: subprocess.Popen[bytes]) -> float:
        victim = self.cluster.processes[self.victim]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        if self.seed:
            site.send_signal(signal.SIGHUP)  # new workers, started while the seed is down
        heir = redis.Redis(host="127.0.0.1", port=self.heir, socket_timeout=1)
        promoted = _until(lambda: heir.execute_command("ROLE")[0] in (b"master", "master"))
        other = redis.Redis(host="127.0.0.1", port=self.survivor, socket_timeout=1)
        self.ok = _until(lambda: other.execute_command("CLUSTER INFO")["cluster_state"] == "ok")
        return promoted

    def stop(self) -> None:
        self.cluster.stop()


def topology(fault: str) -> Single | Sentinel | Cluster:
    if fault == "sentinel":
        return Sentinel()
    if fault in ("cluster", "cluster-seed"):
        return Cluster(seed=fault == "cluster-seed")
    return Single(fault)


def one(fault: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one fault in this process (fresh Django settings for its topology)."""
    topo = topology(fault)
    try:
        os.environ.update(topo.env())
        setup_django("bench.faults_settings")
        user_ids, slugs = prepare(args.products, args.users)
        procs, base = start_site(args.workers)
        try:
            results: list[Any] = []
            load = threading.Thread(
                target=lambda: results.extend(run_load(base, args.users, slugs, args.seconds))
            )
            began = time.time()
            load.start()
            time.sleep(args.fault_at)
            injected = time.time()
            # Servers are started by this (main) thread: they die with their parent
            # thread (PDEATHSIG), so the restart of the aof fault happens here too.
            ready = topo.inject(procs[0])
            load.join()
        finally:
            stop_site(procs)
        from redis_sessions import connection

        connection.reset()
        acked, lost, twice = check_carts(results, user_ids)
    finally:
        topo.stop()
    statuses: Counter[int] = Counter()
    failed_at = []
    for r in results:
        for when, status in r["events"]:
            statuses[status] += 1
            if (status == 0 or status >= 500) and when >= injected:
                failed_at.append(when)
    last_failure = max(failed_at, default=ready)
    report = {
        "fault": fault,
        "requests": sum(statuses.values()),
        "503": statuses[503],
        "500": statuses[500],
        "no answer": statuses[0],
        "other 5xx": sum(n for s, n in statuses.items() if s > 500 and s != 503),
        "acked": acked,
        "lost": lost,
        "twice": twice,
        "ready after injection (s)": round(ready - injected, 2),
        "last failure after ready (s)": round(max(0.0, last_failure - ready), 2),
        "run (s)": round(time.time() - began, 1),
    }
    if isinstance(topo, Cluster):
        report["cluster ok after injection (s)"] = round(topo.ok - injected, 2)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fault-at", type=float, default=6.0)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child runs one fault
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args)))
        return
    faults = [f for f in args.faults.split(",") if f]
    unknown = set(faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown fault(s): {', '.join(sorted(unknown))}; known: {', '.join(FAULTS)}")
    print(f"{args.users} virtual users, gunicorn -w {args.workers}, loops running, "
          f"{args.seconds:g} s a run, fault at {args.fault_at:g} s")  # fmt: skip
    print("| fault | requests | 503 | 500 | no answer | acked adds | lost | twice "
          "| ready after fault | last failure after ready |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for fault in faults:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
        child = subprocess.run(
            [sys.executable, __file__, "--one", fault, "--seconds", str(args.seconds),
             "--fault-at", str(args.fault_at), "--users", str(args.users),
             "--workers", str(args.workers), "--products", str(args.products)],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )  # fmt: skip
        lines = child.stdout.strip().splitlines()
        if child.returncode or not lines:
            print(f"| {fault} | failed: {child.stderr.strip().splitlines()[-1:]} |")
            continue
        r = json.loads(lines[-1])
        extra = (f" (cluster ok at {r['cluster ok after injection (s)']} s)"
                 if "cluster ok after injection (s)" in r else "")  # fmt: skip
        print(f"| {fault} | {r['requests']} | {r['503']} | {r['500'] + r['other 5xx']} "
              f"| {r['no answer']} | {r['acked']} | {r['lost']} | {r['twice']} "
              f"| {r['ready after injection (s)']} s{extra} "
              f"| {r['last failure after ready (s)']} s |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
