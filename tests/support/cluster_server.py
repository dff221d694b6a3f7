"""A real 3-master Redis Cluster on loopback ports, for ``pytest --redis-cluster``.

Three ``redis-server`` processes with ``cluster-enabled yes`` in a temp dir; the slots
are split in three with ``CLUSTER ADDSLOTSRANGE`` and the nodes joined with
``CLUSTER MEET`` (no ``redis-cli --cluster create``: nothing to answer, and it works
with the bundled server too). Each process dies with the test run (PDEATHSIG).
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from redis_sessions.embedded import _die_with_parent, find_redis_server

SLOTS = 16384


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    """A free port below 55536 whose cluster bus port (port + 10000) is free too
    (an ephemeral port from ``bind(0)`` is often too high for a bus port)."""
    while True:
        port = random.randrange(20000, 40000)
        if _free(port) and _free(port + 10000):
            return port


@dataclass
class Cluster:
    processes: list[subprocess.Popen[bytes]]
    ports: list[int]
    directory: Path
    commands: list[list[str]] = field(default_factory=list)  # each node's command line

    @property
    def url(self) -> str:
        """The URL of one node (any node lets a cluster client discover the rest)."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def urls(self) -> list[str]:
        return [f"redis://127.0.0.1:{port}" for port in self.ports]

    def kill(self, index: int) -> None:
        """``kill -9`` one node (its directory and ``nodes.conf`` stay)."""
        self.processes[index].kill()
        self.processes[index].wait()

    def restart(self, index: int, timeout: float = 10.0) -> None:
        """Start a killed node again on its port, from its ``nodes.conf`` (the same node
        id and slots; no data: the test nodes keep none), and wait until it answers."""
        self.processes[index] = subprocess.Popen(self.commands[index],
                                                 preexec_fn=_die_with_parent)  # fmt: skip
        client = redis.Redis(host="127.0.0.1", port=self.ports[index], socket_timeout=2)
        try:
            _wait_up(client, time.monotonic() + timeout)
        finally:
            client.close()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _node(
    binary: str, directory: Path, node_timeout_ms: int
) -> tuple[subprocess.Popen[bytes], int, list[str]]:
    port = _free_port()
    node_dir = directory / str(port)
    node_dir.mkdir()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(node_dir),
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(node_timeout_ms), "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--logfile", str(node_dir / "redis.log"),
            # a replica syncs at once (Redis 7 waits 5 s for more replicas by default)
            "--repl-diskless-sync-delay", "0"]  # fmt: skip
    return subprocess.Popen(args, preexec_fn=_die_with_parent), port, args


def _wait_up(client: redis.Redis, deadline: float) -> None:
    """Until a freshly started node answers PING (or the deadline passes)."""
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start(masters: int = 3, timeout: float = 20.0, *, replicas: int = 0,
          node_timeout_ms: int = 5000) -> Cluster:  # fmt: skip
    """Start ``masters`` nodes, give each a third of the slots, wait for
    ``cluster_state:ok``; then ``replicas`` replicas of each master (``ports`` lists the
    masters first, then the replicas in master order)."""
    binary = find_redis_server()
    directory = Path(tempfile.mkdtemp(prefix="redis-anatomy-cluster-"))
    processes, ports, commands = [], [], []
    for _ in range(masters):
        process, port, command = _node(binary, directory, node_timeout_ms)
        processes.append(process)
        ports.append(port)
        commands.append(command)
    cluster = Cluster(processes, ports, directory, commands)
    try:
        clients = [redis.Redis(host="127.0.0.1", port=port, socket_timeout=2) for port in ports]
        deadline = time.monotonic() + timeout
        for client in clients:
            _wait_up(client, deadline)
        share = SLOTS // masters
        for i, client in enumerate(clients):
            # Distinct epochs up front, as redis-cli does: no epoch collision to settle.
            client.execute_command("CLUSTER SET-CONFIG-EPOCH", i + 1)
            last = SLOTS - 1 if i == masters - 1 else (i + 1) * share - 1
            try:
                client.execute_command("CLUSTER ADDSLOTSRANGE", i * share, last)
            except redis.ResponseError:  # before Redis 7: every slot named
                client.execute_command("CLUSTER ADDSLOTS", *range(i * share, last + 1))
        for port in ports[1:]:
            clients[0].execute_command("CLUSTER MEET", "127.0.0.1", port)
        for client in clients:
            while client.execute_command("CLUSTER INFO").get("cluster_state") != "ok":
                if time.monotonic() > deadline:
                    raise RuntimeError("the test cluster did not reach cluster_state:ok")
                time.sleep(0.05)
        for client in clients:  # every node must know every other before tests route
            while len(client.execute_command("CLUSTER SLOTS")) < masters:
                if time.monotonic() > deadline:
                    raise RuntimeError("the test cluster nodes did not all meet")
                time.sleep(0.05)
            client.close()
        if replicas:
            _add_replicas(cluster, binary, replicas, node_timeout_ms, deadline)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def node_id(port: int) -> str:
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
    try:
        return str(client.execute_command("CLUSTER MYID").decode())
    finally:
        client.close()


def _add_replicas(cluster: Cluster, binary: str, per_master: int, node_timeout_ms: int,
                  deadline: float) -> None:  # fmt: skip
    """Start ``per_master`` replicas of each master, join them, wait for their links."""
    masters = list(cluster.ports)
    seed = redis.Redis(host="127.0.0.1", port=masters[0], socket_timeout=2)
    for master in masters:
        master_id = node_id(master)
        for _ in range(per_master):
            process, port, command = _node(binary, cluster.directory, node_timeout_ms)
            cluster.processes.append(process)
            cluster.ports.append(port)
            cluster.commands.append(command)
            replica = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
            _wait_up(replica, deadline)
            seed.execute_command("CLUSTER MEET", "127.0.0.1", port)
            # It must know its master before it can replicate it.
            while True:
                try:
                    replica.execute_command("CLUSTER REPLICATE", master_id)
                    break
                except redis.ResponseError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            while replica.info("replication").get("master_link_status") != "up":
                if time.monotonic() > deadline:
                    raise RuntimeError("a test cluster replica did not sync")
                time.sleep(0.05)
            replica.close()
    seed.close()
    _wait_known(cluster, len(masters), deadline)


def _wait_known(cluster: Cluster, masters: int, deadline: float) -> None:
    """Until every node knows every other, each replica as the replica of its master.

    A master that still takes a replica for a master (what gossip has not yet told it)
    denies that replica its vote: a failover right after start would wait for the
    election to be tried again, or fail.
    """
    replicas = {node_id(port) for port in cluster.ports[masters:]}
    for port in cluster.ports:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
        try:
            while True:
                seen = client.execute_command("CLUSTER NODES")
                known = {node["node_id"] for node in seen.values()
                         if "slave" in node["flags"] and node["master_id"] != "-"}  # fmt: skip
                if len(seen) == len(cluster.ports) and replicas <= known:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("the test cluster's nodes did not learn its replicas")
                time.sleep(0.05)
        finally:
            client.close()
