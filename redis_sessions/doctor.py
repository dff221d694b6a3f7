"""``redis_doctor``: is the configured Redis fit to hold sessions and carts?

``diagnose()`` talks to the server the app uses and returns one ``Finding`` per
concern, each with a verdict: ``OK``, ``WARN`` (works, but know the risk) or ``FAIL``
(unsafe for sessions: users will be logged out, carts lost or requests fail). The
management command prints them and exits 1 when any is ``FAIL``. On a Redis Cluster
the server checks run on every primary, a line per node.

Only reads: INFO, CONFIG GET (when allowed), COMMAND INFO, TYPE, SCAN and a few PINGs.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import redis

from redis_sessions import keys
from redis_sessions.conf import app_settings
from redis_sessions.connection import get_redis, nodes, primaries, run, sentinel
from redis_sessions.connection.replies import text
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.health import LOOPS, loop_status

OK, WARN, FAIL = "OK", "WARN", "FAIL"
MIN_VERSION = (6, 2)
#: Every command the app sends (scripts included); a renamed one breaks a feature.
NEEDED_COMMANDS = (
    "get", "set", "mget", "del", "exists", "rename", "pexpire", "pttl", "evalsha",
    "script", "zadd", "zincrby", "zrem", "zscore", "zrangebyscore", "zremrangebyrank",
    "hget", "hset", "hdel", "hincrby", "sadd", "srem", "scan", "ping",
)  # fmt: skip
#: Global keys (the ``keys`` function that names each) and the type the app expects.
INDEX_TYPES = {"login": "hash", "recent": "zset", "viewed_items": "zset", "carts": "zset"}


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    findings: list[Finding]

    @property
    def unsafe(self) -> bool:
        """True when any finding is FAIL (the command then exits 1)."""
        return any(f.verdict == FAIL for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"unsafe": self.unsafe, "findings": [asdict(f) for f in self.findings]}

    def as_text(self) -> str:
        width = max(len(f.check) for f in self.findings)
        return "\n".join(f"{f.verdict:<4}  {f.check:<{width}}  {f.detail}" for f in self.findings)


def diagnose(*, sample: int = 10_000, pings: int = 5) -> Report:
    """Check the configured server; ``sample`` caps the keys SCAN looks at.

    On a Redis Cluster the server checks (version, persistence, eviction, memory,
    latency) run on every primary, one line per node (``eviction 10.0.0.5:7000``):
    one unsafe node makes the report unsafe. The key checks cover the whole cluster.
    """
    try:
        client = get_redis()  # a cluster client discovers the topology here
        servers = primaries(client)
        infos = [run(node, [("PING",), ("INFO", "server"), ("INFO", "persistence"),
                            ("INFO", "memory")],
                     raise_errors=False)  # INFO is @dangerous: an ACL user may be refused it
                 for _, node in servers]  # fmt: skip
    except RedisUnavailable as exc:
        return Report([Finding("connection", FAIL, f"cannot talk to Redis: {exc}")])
    for (name, _), (pong, *_) in zip(servers, infos, strict=True):
        if isinstance(pong, Exception):
            where = f" ({name})" if name else ""
            return Report([Finding("connection", FAIL, f"cannot talk to Redis{where}: {pong}")])
    findings = [Finding("connection", OK, describe(client))]
    try:
        for (name, node), replies in zip(servers, infos, strict=True):
            findings += [_on(name, finding) for finding in _server_findings(node, replies, pings)]
        sizes: dict[str, list[str]] = {kind: [] for kind in PER_SESSION}
        counted = key_counts(client, sample, keep=sizes)
        findings += [*heartbeats(client), index_types(client), counted,
                     session_size(client, counted.data["kinds"], sizes, infos)]  # fmt: skip
    except (RedisUnavailable, redis.ConnectionError, redis.TimeoutError) as exc:
        findings.append(Finding("connection", FAIL, f"lost the connection: {exc}"))
    return Report(findings)


def _server_findings(node: redis.Redis, replies: list[Any], pings: int) -> list[Finding]:
    """The checks of one server (one primary of a cluster), from its PING and INFOs."""
    _, server, persistence, memory = replies
    return [
        _if_info("version", server, lambda info: version(node, info)),
        _if_info("persistence", persistence, lambda info: persistence_finding(node, info)),
        _if_info("eviction", memory, eviction),
        _if_info("memory", memory, memory_finding),
        latency(node, pings),
    ]


def _on(node: str, finding: Finding) -> Finding:
    """``finding`` named for its cluster node (unchanged on a single server)."""
    if not node:
        return finding
    return replace(finding, check=f"{finding.check} {node}", data={**finding.data, "node": node})


def _if_info(check: str, info: Any, judge: Callable[[dict[str, Any]], Finding]) -> Finding:
    if isinstance(info, Exception):
        return Finding(check, WARN, f"cannot tell: INFO refused ({info}); for the doctor, "
                       "allow this ACL user +info", {"error": str(info)})  # fmt: skip
    return judge(info)


def describe(client: redis.Redis) -> str:
    """Where the app's Redis is, without the password."""
    servers = primaries(client)
    pool = servers[0][1].connection_pool
    kw = pool.connection_kwargs
    where = kw.get("path") or f"{kw.get('host', '?')}:{kw.get('port', '?')}"
    if sentinel.is_sentinel(pool.connection_class):
        where = f"Sentinel service {kw['connection_pool'].service_name!r}"
    if nodes.is_cluster(client):
        where = f"Redis Cluster of {len(servers)} primaries ({', '.join(n for n, _ in servers)})"
    tls = " (TLS)" if issubclass(pool.connection_class, redis.SSLConnection) else ""
    user = f" as {kw['username']}" if kw.get("username") else ""
    return f"{where} db {kw.get('db', 0)}{tls}{user}, key prefix {keys.prefix()!r}"


def version(client: redis.Redis, server: dict[str, Any]) -> Finding:
    text = str(server.get("redis_version", "0"))
    parts = tuple(int(p) for p in text.split(".")[:2] if p.isdigit())
    data: dict[str, Any] = {"version": text}
    if parts < MIN_VERSION:
        return Finding("version", FAIL, f"Redis {text}; the app needs 6.2 or later", data)
    reply = run(client, [("COMMAND INFO", *NEEDED_COMMANDS)], raise_errors=False)[0]
    if isinstance(reply, Exception):
        return Finding("version", WARN, f"Redis {text}; cannot list commands: {reply}", data)
    missing = [name for name, info in zip(NEEDED_COMMANDS, reply, strict=True) if info is None]
    if missing:
        data["missing"] = missing
        return Finding("version", FAIL, f"Redis {text}; disabled or renamed: {missing}", data)
    return Finding("version", OK, f"Redis {text}, every command the app uses is there", data)


def persistence_finding(client: redis.Redis, info: dict[str, Any]) -> Finding:
    replies = run(client, [("CONFIG", "GET", "appendfsync"), ("CONFIG", "GET", "save")],
                  raise_errors=False)  # fmt: skip
    config: dict[str, str] = {}
    for reply in replies:
        # CONFIG may be denied (ACL) or renamed (managed Redis): an error reply is
        # skipped. RESP3 answers a map; redis-py 7's RESP2 leaves a flat list.
        if isinstance(reply, list):
            reply = dict(zip(reply[::2], reply[1::2], strict=True))
        if isinstance(reply, dict):
            config.update({text(k): text(v) for k, v in reply.items()})
    aof = bool(int(info.get("aof_enabled", 0)))
    fsync = config.get("appendfsync")
    save = config.get("save")
    data = {"aof": aof, "appendfsync": fsync, "save": save}
    if aof and fsync in ("everysec", "always"):
        return Finding("persistence", OK, f"AOF on, appendfsync {fsync}", data)
    if aof:
        detail = f"AOF on, appendfsync {fsync or 'unknown (CONFIG denied)'}"
        return Finding("persistence", WARN, f"{detail}; recommended: everysec", data)
    if save:
        return Finding("persistence", WARN,
                       f"RDB snapshots only (save {save!r}): a crash loses the sessions and "
                       "cart changes since the last snapshot; recommended: appendonly yes, "
                       "appendfsync everysec", data)  # fmt: skip
    return Finding("persistence", WARN,
                   "none: a restart logs everyone out and empties every cart; recommended: "
                   "appendonly yes, appendfsync everysec", data)  # fmt: skip


def eviction(memory: dict[str, Any]) -> Finding:
    policy = str(memory.get("maxmemory_policy", "?"))
    data = {"maxmemory_policy": policy}
    if policy == "noeviction":
        return Finding("eviction", OK, "noeviction: a full Redis refuses writes (503s), "
                       "loses nothing", data)  # fmt: skip
    if policy == "volatile-ttl":
        return Finding("eviction", OK, "volatile-ttl: evicts the keys nearest to expiry first "
                       "(cached pages and rows before sessions)", data)  # fmt: skip
    if policy.startswith("volatile-"):
        return Finding("eviction", WARN, f"{policy}: sessions and carts carry a TTL, so a full "
                       "Redis may evict them; safe only while maxmemory is never reached",
                       data)  # fmt: skip
    return Finding("eviction", FAIL, f"{policy}: a full Redis silently evicts sessions, carts "
                   "and the session indexes (users logged out, carts emptied); use "
                   "noeviction or volatile-ttl", data)  # fmt: skip


def memory_finding(memory: dict[str, Any]) -> Finding:
    used, limit = int(memory.get("used_memory", 0)), int(memory.get("maxmemory", 0))
    data = {"used": used, "maxmemory": limit}
    mib = f"{used / 2**20:.1f} MiB"
    if not limit:
        return Finding("memory", WARN, f"{mib} used, no maxmemory: sessions made without "
                       "bound (a flood of new visitors) grow Redis until the host runs out "
                       "of memory; set maxmemory with noeviction (docs/deployment.md)",
                       data)  # fmt: skip
    share = used / limit
    detail = f"{mib} of {limit / 2**20:.1f} MiB ({share:.0%})"
    if share >= 0.95:
        return Finding("memory", FAIL, f"{detail}: writes will be refused or evicted", data)
    if share >= 0.8:
        return Finding("memory", WARN, f"{detail}: close to maxmemory", data)
    return Finding("memory", OK, detail, data)


def latency(client: redis.Redis, pings: int) -> Finding:
    samples = []
    for _ in range(max(pings, 1)):
        started = time.perf_counter()
        run(client, [("PING",)])
        samples.append((time.perf_counter() - started) * 1000)
    median = statistics.median(samples)
    timeout_ms = (app_settings.SOCKET_TIMEOUT or 0.5) * 1000
    data = {"median_ms": round(median, 3), "pings": len(samples)}
    detail = f"median {median:.2f} ms over {len(samples)} PINGs"
    if median >= timeout_ms / 2:
        return Finding("latency", FAIL, f"{detail}: near SOCKET_TIMEOUT ({timeout_ms:.0f} ms)",
                       data)  # fmt: skip
    if median >= 5:
        return Finding("latency", WARN, f"{detail}: every request pays this at least once",
                       data)  # fmt: skip
    return Finding("latency", OK, detail, data)


def heartbeats(client: redis.Redis) -> list[Finding]:
    beats = run(client, [("MGET", *(keys.heartbeat(name) for name in LOOPS))])[0]
    now, findings = time.time(), []
    for name, raw in zip(LOOPS, beats, strict=True):
        status = loop_status(raw, now)
        stale_after = max(900.0, 3 * app_settings.RESCALE_INTERVAL)
        check = f"loop {name}"
        if status is None:
            findings.append(Finding(check, WARN, "no heartbeat: never ran (or not for 7 days)"))
        elif status.get("age") is None:
            findings.append(Finding(check, WARN, "heartbeat unreadable", status))
        elif status["age"] > stale_after:
            findings.append(Finding(check, WARN, f"last pass {status['age']:.0f} s ago: "
                                    "is the loop running?", status))  # fmt: skip
        else:
            findings.append(Finding(check, OK, f"last pass {status['age']:.0f} s ago", status))
    return findings


def index_types(client: redis.Redis) -> Finding:
    expected = {getattr(keys, name)(): kind for name, kind in INDEX_TYPES.items()}
    found = run(client, [("TYPE", key) for key in expected])
    wrong = {key: text(kind) for (key, want), kind in zip(expected.items(), found, strict=True)
             if text(kind) not in ("none", want)}  # fmt: skip
    if wrong:
        return Finding("key types", FAIL, f"wrong types (index updates are skipped): {wrong}; "
                       "delete these keys", {"wrong": wrong})  # fmt: skip
    return Finding("key types", OK, "global indexes hold the expected types")


#: The per-session key families whose size ``session_size`` samples.
PER_SESSION = ("session:", "viewed:", "cart:", "user-sessions:")
SIZE_SAMPLE = 100  # keys of each family measured with MEMORY USAGE


def key_counts(
    client: redis.Redis, sample: int, keep: dict[str, list[str]] | None = None
) -> Finding:
    """Keys under our prefix by kind (``session``, ``viewed``, ...), from a SCAN sample;
    ``keep`` collects up to ``SIZE_SAMPLE`` key names of the kinds it names (never put
    in the report: a session key is a bearer token)."""
    prefix = keys.prefix()
    counts: Counter[str] = Counter()
    sizes = keep if keep is not None else {}
    cursor, seen = 0, 0
    while True:  # every primary of a cluster, one after the other (nodes.scan)
        cursor, batch, _ = nodes.scan(client, cursor, match=keys.scan_pattern(), count=1000)
        for key in batch:
            name = text(key)
            kind = kind_of(name[len(prefix) :])
            counts[kind] += 1
            if kind in sizes and len(sizes[kind]) < SIZE_SAMPLE:
                sizes[kind].append(name)
        seen += len(batch)
        if not cursor or seen >= sample:
            break
    total = nodes.dbsize(client)
    shown = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "none"
    scope = "all" if not cursor else f"a sample of {seen}"
    return Finding("keys", OK, f"{scope} under {prefix!r}: {shown}; {total} in the database",
                   {"kinds": dict(counts), "sampled": seen, "complete": not cursor,
                    "dbsize": total})  # fmt: skip


def session_size(
    client: redis.Redis, kinds: dict[str, int], sizes: dict[str, list[str]], infos: list[Any]
) -> Finding:
    """Bytes of Redis memory per session, from samples (``MEMORY USAGE`` of up to
    ``SIZE_SAMPLE`` keys of each per-session family, and of the global indexes), never
    a scan of everything; a warning when ``maxmemory`` cannot hold ``SESSION_LIMIT``
    sessions at that size."""
    sessions = kinds.get("session:", 0)
    if not sessions:
        return Finding("session size", OK, "no session yet to measure")
    indexes = [keys.recent(), keys.login()]
    sampled = [k for kind in PER_SESSION for k in sizes[kind]]
    try:
        replies = run(client, [*[("MEMORY", "USAGE", k) for k in sampled],
                               *[("MEMORY", "USAGE", k) for k in indexes],
                               ("ZCARD", keys.recent())],
                      raise_errors=False)  # fmt: skip
    except (redis.RedisError, RedisUnavailable) as exc:
        return Finding("session size", WARN, f"cannot tell: {exc}")
    if any(isinstance(r, Exception) for r in replies):
        error = next(r for r in replies if isinstance(r, Exception))
        return Finding("session size", WARN, f"cannot tell: MEMORY USAGE refused ({error})")
    usage = dict(zip(sampled, replies, strict=False))
    index_bytes = sum(int(r or 0) for r in replies[len(sampled) : len(sampled) + len(indexes)])
    live = int(replies[-1] or 0) or sessions
    per_family = {}
    for kind in PER_SESSION:
        measured = [int(usage[k] or 0) for k in sizes[kind]]
        if measured:  # the family's mean size, times its keys per session
            per_family[kind] = statistics.mean(measured) * kinds.get(kind, 0) / sessions
    per_session = round(sum(per_family.values()) + index_bytes / live)
    limit = app_settings.SESSION_LIMIT
    needed = per_session * limit
    maxmemory = min((int(info[3].get("maxmemory", 0)) for info in infos
                     if isinstance(info[3], dict)), default=0) * len(infos)  # fmt: skip
    data = {"bytes_per_session": per_session, "session_limit": limit, "needed": needed,
            "maxmemory": maxmemory,
            "families": {k: round(v) for k, v in per_family.items()},
            "indexes_per_session": round(index_bytes / live)}  # fmt: skip
    detail = (f"about {per_session:,} B per session (sampled); SESSION_LIMIT {limit:,} "
              f"sessions need about {needed / 2**30:.1f} GiB")  # fmt: skip
    if maxmemory and needed > maxmemory:
        return Finding("session size", WARN, f"{detail}, more than maxmemory "
                       f"({maxmemory / 2**30:.1f} GiB): lower SESSION_LIMIT or raise "
                       "maxmemory", data)  # fmt: skip
    return Finding("session size", OK, detail, data)


def kind_of(rest: str) -> str:
    """``session:{abc}`` -> ``session:``; ``loop:heartbeat:x`` -> ``loop:heartbeat:``."""
    if "{" in rest:
        return rest[: rest.index("{")]
    return rest if rest.endswith(":") else rest[: rest.rfind(":") + 1] or rest
