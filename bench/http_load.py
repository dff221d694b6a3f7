"""Over real HTTP: the demo's page cache and session engine under gunicorn (and uvicorn),
driven by wrk, against their peers.

    .venv/bin/python bench/http_load.py [--seconds 6] [--runs 3] [--server gunicorn|uvicorn|both]
                                   [--peers PEER ...] [--json FILE]

Set-up: a private Redis (the embedded one on a unix socket, or $REDIS_URL; keys under
a prefix of this run's own, deleted at the end), a SQLite file in a temporary
directory (``migrate`` and ``seed_demo --products 200``), and ``wrk`` (installed with
apt-get when missing). Every server runs with one worker: gunicorn with one sync
worker (``demo_project.wsgi``), uvicorn with one process (``demo_project.asgi``).

All servers start at once, each on a free port of 127.0.0.1, one per variant of
``bench/http_settings.py`` (and per server kind); they sit idle except the one under
load. Each run sends ``wrk -t1 -c8 -d<seconds>s --latency`` to every peer in turn, the
order rotated from run to run (round robin), so the noise of a shared machine hits
every peer alike. We print, per peer, the median over runs of requests/s and of wrk's
p50 and p99 latency, and the ratios between peers taken within each run (their
median, and each run's). Beside them, the CPU time per request of the serving process
(``/proc``) and of Redis (``INFO cpu``), and each ratio from those: on a busy shared
machine the rates also hold the waits for a core, the CPU times much less.

Page-cache peers, the demo product page of one item to a visitor without cookies (a
first visit; the page gets a CSRF token, ours a fresh one per visitor):

* uncached: the view without ``cache_request``, on the demo's middleware without
  ``PageHitMiddleware`` (what a site without our cache runs);
* ours, early hit: the demo as configured, the hit served by ``PageHitMiddleware``
  before the session, CSRF, auth and message middleware (one round trip, the
  visitor's CSRF cookie set, the view counted);
* Django ``cache_page`` hit: the same view under ``cache_page(300)`` on django-redis
  (the same Redis), through the full stack without ``PageHitMiddleware`` (two
  round trips; the cached page keeps its first visitor's CSRF token and sets no
  cookie);
* ours, same stack: our hit through ``cache_request`` in the view, on that same stack
  (so early hit vs same stack is the early hit's gain, and same stack vs ``cache_page``
  is one round trip against two);
* floor: a middleware where ``PageHitMiddleware`` sits that answers with the bytes of
  one plain redis-py ``GET`` of a stored copy of the page.

The same two hits to a returning visitor, who sends the CSRF cookie a first visit got
(``-H 'Cookie: csrftoken=...'``): ours needs only a fresh mask for its token,
``cache_page``'s sets no cookie either way.

Before measuring, each hit peer must show a hit (``X-Cache: hit``; ``Age`` for
``cache_page``) and every peer a 200; after each run, again. A non-2xx/3xx answer
under load stops the bench.

Session peers, with a session cookie made beforehand (sent by ``-H``): a view that
writes the session (a counter) and one that reads it, behind only the session and
common middleware; ours (``redis_sessions.backends.redis``) against Django's cache
engine on django-redis (the same Redis).

``--peers`` measures only the named peers (``uncached early django stack floor
early-cookie django-cookie write-ours write-django read-ours read-django``), and prints
the ratios between those.

Output: Markdown tables on stdout (progress on stderr); ``--json FILE`` also writes
every run's figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is named http.py: its own directory must not be on the path, or it would
# hide the standard library's http package (which urllib and http.client are).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import http.client  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from io import StringIO  # noqa: E402
from typing import Any  # noqa: E402

SERVERS = ("gunicorn", "uvicorn")
VARIANTS = ("early", "stack", "floor", "sessions-ours", "sessions-django")
UNCACHED, EARLY, DJANGO, STACK, FLOOR = (
    "uncached", "ours, early hit", "Django cache_page hit", "ours, same stack",
    "floor: one GET",
)  # fmt: skip
# The same pages to a returning visitor: a CSRF cookie (made by a first visit) is sent.
EARLY_C, DJANGO_C = "ours, early hit, CSRF cookie", "Django cache_page hit, CSRF cookie"
OURS_W, DJANGO_W, OURS_R, DJANGO_R = (
    "ours, write", "Django cache engine, write", "ours, read", "Django cache engine, read",
)  # fmt: skip
# (numerator, denominator, what the ratio says); requests/s of the two peers.
RATIOS = [
    (EARLY, UNCACHED, "a hit vs rendering the page"),
    (EARLY, DJANGO, "ours as the demo serves it vs Django's cache_page"),
    (STACK, DJANGO, "same stack: one round trip vs two"),
    (EARLY, STACK, "the early hit's gain (the stack skipped)"),
    (EARLY, FLOOR, "first visit: ours vs one GET answered early (target >= 0.8x)"),
    (EARLY_C, DJANGO_C, "returning visitor: ours vs Django's cache_page"),
    (EARLY_C, FLOOR, "returning visitor: ours vs one GET answered early"),
    (OURS_W, DJANGO_W, "session write: 2 round trips vs 3"),
    (OURS_R, DJANGO_R, "session read: 1 round trip vs 1"),
]


@dataclass
class Peer:
    server: str
    name: str
    variant: str
    path: str
    check: str  # what a good answer shows: hit, age, ok, floor, session
    headers: dict[str, str] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    floor_body: bytes = b""  # the stored copy the floor answers with


@dataclass
class Site:
    ports: dict[tuple[str, str], int]  # (server, variant) -> port
    procs: dict[tuple[str, str], subprocess.Popen[bytes]]
    peers: list[Peer]


def log(message: str) -> None:
    print(f"bench/http_load.py: {message}", file=sys.stderr, flush=True)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        log("wrk is missing: apt-get install wrk")
        subprocess.run("apt-get update -qq && apt-get install -y -qq wrk", shell=True,
                       check=True, timeout=600, stdout=subprocess.DEVNULL)  # fmt: skip
        found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed and apt-get did not install it")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.msg, response.read()
    finally:
        conn.close()


def start_server(
    kind: str, variant: str, port: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    bind = ["127.0.0.1", str(port)]
    if kind == "gunicorn":
        command = ["-m", "gunicorn", "demo_project.wsgi", "-w", "1", "-k", "sync",
                   "-b", ":".join(bind), "--log-level", "warning"]  # fmt: skip
    else:
        command = ["-m", "uvicorn", "demo_project.asgi:application", "--workers", "1",
                   "--host", bind[0], "--port", bind[1], "--log-level", "warning",
                   "--no-access-log"]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, *command], cwd=ROOT, env={**env, "BENCH_HTTP_VARIANT": variant}
    )


def wait_until_up(ports: list[int], procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 60
    for port, proc in zip(ports, procs, strict=True):
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"a server on port {port} exited with {proc.returncode}")
            try:
                fetch(port, "/health/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"no server answered on port {port} within 60 s") from None
                time.sleep(0.2)


def verify(peer: Peer, port: int) -> str:
    """Why one request to ``peer`` is not what its measurement needs, or ''."""
    status, headers, body = fetch(port, peer.path, peer.headers)
    if status != 200:
        return f"status {status}"
    if peer.check == "hit" and headers.get("X-Cache") != "hit":
        return f"X-Cache: {headers.get('X-Cache')}"
    if peer.check == "age" and headers.get("Age") is None:
        return "no Age header (not a cache_page hit)"
    if peer.check == "floor" and body != peer.floor_body:
        return "not the stored body"
    if peer.check == "ok" and headers.get("X-Cache") is not None:
        return f"X-Cache: {headers.get('X-Cache')} on the uncached view"
    return ""


def warm(peer: Peer, port: int) -> None:
    """A few requests (the item becomes popular, the copies are stored), then a hit."""
    problem = "no request"
    for _ in range(10):
        problem = verify(peer, port)
        if not problem:
            return
    raise SystemExit(f"{peer.server} {peer.name} {peer.path}: {problem} after 10 requests")


def session_cookie(port: int) -> dict[str, str]:
    status, headers, _ = fetch(port, "/w/")
    cookies = [c.split(";", 1)[0] for c in headers.get_all("Set-Cookie") or []]
    session = [c for c in cookies if c.startswith("sessionid=")]
    if status != 200 or not session:
        raise SystemExit(f"no session made on port {port}: status {status}, cookies {cookies}")
    cookie = {"Cookie": session[0]}
    status, _, body = fetch(port, "/r/", cookie)
    if status != 200 or body != b"1":
        raise SystemExit(f"the session on port {port} did not read back: {status} {body!r}")
    return cookie


DURATION = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def parse_wrk(output: str) -> dict[str, Any]:
    def number(pattern: str) -> float:
        found = re.search(pattern, output, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    latency = {
        q: float(v) * DURATION[unit]
        for q, v, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    }
    if "50" not in latency or "99" not in latency or "Requests/sec" not in output:
        raise SystemExit(f"cannot read wrk's output:\n{output}")
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": number(r"^Requests/sec:\s+([\d.]+)"),
        "requests": int(number(r"^\s+(\d+) requests in")),
        "p50_ms": latency["50"],
        "p99_ms": latency["99"],
        "non_2xx_3xx": int(number(r"^\s+Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def run_wrk(wrk: str, port: int, peer: Peer, seconds: int) -> dict[str, Any]:
    command = [wrk, "-t1", "-c8", f"-d{seconds}s", "--latency"]
    for name, value in peer.headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, f"http://127.0.0.1:{port}{peer.path}"],
                          capture_output=True, text=True, timeout=seconds + 60)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    return parse_wrk(done.stdout)


def versions(wrk: str) -> dict[str, str]:
    from django.conf import settings

    from redis_sessions.connection import get_redis

    found = {"python": platform.python_version()}
    for name in ("django", "redis", "hiredis", "django-redis", "gunicorn", "uvicorn"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "-"
    found["redis-server"] = str(get_redis().info("server")["redis_version"])
    found["redis-url"] = settings.REDIS_URL.split("://", 1)[0]  # unix or redis: no secrets
    banner = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout
    found["wrk"] = banner.split()[1] if banner.startswith("wrk ") else "?"
    return found


def delete_keys() -> None:
    from redis_sessions import keys
    from redis_sessions.connection import get_redis

    redis = get_redis()
    pattern = keys.escape_glob(os.environ["REDIS_KEY_PREFIX"]) + "*"
    doomed = list(redis.scan_iter(match=pattern))
    for start in range(0, len(doomed), 1000):
        redis.delete(*doomed[start : start + 1000])


def cpu_cost(run: dict[str, Any]) -> float:
    return float(run["worker_cpu_us"] + run["redis_cpu_us"])


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(peers: list[Peer], meta: dict[str, Any]) -> list[dict[str, Any]]:
    v = meta["versions"]
    print(f"bench/http_load.py, {meta['date']}: `wrk -t1 -c8 -d{meta['seconds']}s`, "
          f"{meta['runs']} runs (peers alternating round robin), one worker per server; "
          f"Python {v['python']}, Django {v['django']}, redis-py {v['redis']} "
          f"(hiredis {v['hiredis']}), django-redis {v['django-redis']}, "
          f"Redis {v['redis-server']} ({v['redis-url']} socket), gunicorn {v['gunicorn']}, "
          f"uvicorn {v['uvicorn']}, wrk {v['wrk']}; {meta['cpus']} CPUs, load average "
          f"{meta['load_before']} before, {meta['load_after']} after.")  # fmt: skip
    print()
    print(
        "| server | peer | path | req/s (median) | req/s per run | p50 | p99 "
        "| CPU/request: worker, Redis | errors |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for p in peers:
        rates = [r["rps"] for r in p.runs]
        errors = sum(r["socket_errors"] + r["non_2xx_3xx"] for r in p.runs)
        cookie = p.headers.get("Cookie", "").split("=", 1)[0]
        path = p.path + (f" ({cookie} cookie)" if cookie else "")
        print(f"| {p.server} | {p.name} | `{path}` | {median(rates):,.0f} | "
              f"{' / '.join(f'{x:,.0f}' for x in rates)} | "
              f"{median([r['p50_ms'] for r in p.runs]):.2f} ms | "
              f"{median([r['p99_ms'] for r in p.runs]):.2f} ms | "
              f"{median([r['worker_cpu_us'] for r in p.runs]):.0f} us, "
              f"{median([r['redis_cpu_us'] for r in p.runs]):.0f} us | {errors} |")  # fmt: skip
    print()
    print(
        "| server | ratio of requests/s | median | per run | from CPU time per request "
        "| what it says |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    by_name = {(p.server, p.name): p for p in peers}
    ratios = []
    for server in dict.fromkeys(p.server for p in peers):
        for top, bottom, meaning in RATIOS:
            if (server, top) not in by_name or (server, bottom) not in by_name:
                continue  # a peer left out (--peers)
            pairs = list(zip(by_name[(server, top)].runs, by_name[(server, bottom)].runs,
                             strict=True))  # fmt: skip
            each = [x["rps"] / y["rps"] for x, y in pairs if y["rps"]]
            # The inverse ratio of the CPU (worker + Redis) each spent per request: what
            # the rates' ratio would be if CPU alone set them, without waits for a core.
            cpu = [cpu_cost(y) / cpu_cost(x) for x, y in pairs if cpu_cost(x)]
            ratios.append({"server": server, "ratio": f"{top} / {bottom}", "per_run": each,
                           "cpu_per_run": cpu})  # fmt: skip
            print(f"| {server} | {top} / {bottom} | {median(each):.2f}x | "
                  f"{' / '.join(f'{x:.2f}' for x in each)} | {median(cpu):.2f}x | "
                  f"{meaning} |")  # fmt: skip
    return ratios


@contextlib.contextmanager
def running(servers: tuple[str, ...], only: list[str] | None = None) -> Iterator[Site]:
    """Redis, the database and every server, warmed up. Everything is stopped and our
    keys and files deleted on exit."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'http.sqlite3'}"
    os.environ["REDIS_KEY_PREFIX"] = f"http{os.getpid()}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.http_settings"
    os.environ["BENCH_HTTP_VARIANT"] = "early"
    procs: dict[tuple[str, str], subprocess.Popen[bytes]] = {}
    try:
        import django

        django.setup()  # starts the embedded Redis unless REDIS_URL is set; exported
        from django.core.management import call_command

        from demo_project.shop.models import Product
        from redis_sessions import keys
        from redis_sessions.connection import get_redis

        call_command("migrate", verbosity=0)
        call_command("seed_demo", "--products", "200", stdout=StringIO())
        product = Product.objects.order_by("pk").first()
        assert product is not None
        os.environ["BENCH_HTTP_FLOOR_KEY"] = floor_key = keys.prefix() + "bench-http-floor"

        ports: dict[tuple[str, str], int] = {}
        for kind in servers:
            for variant in VARIANTS:
                ports[(kind, variant)] = port = free_port()
                procs[(kind, variant)] = start_server(kind, variant, port, dict(os.environ))
        wait_until_up(list(ports.values()), list(procs.values()))

        # The floor's copy: the page as rendered for a visitor without cookies.
        status, _, floor_body = fetch(ports[(servers[0], "stack")], f"/plain/{product.slug}/")
        if status != 200:
            raise SystemExit(f"the uncached page answered {status}")
        get_redis().set(floor_key, floor_body)
        peers = [peer for kind in servers for peer in make_peers(kind, ports, product.slug)]
        if only:
            names = {PEER_KEYS[key] for key in only}
            peers = [peer for peer in peers if peer.name in names]
        for peer in peers:
            peer.floor_body = floor_body
            warm(peer, ports[(peer.server, peer.variant)])
        yield Site(ports, procs, peers)
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if procs:  # Django is set up: delete our keys (a $REDIS_URL server keeps them)
            delete_keys()
        shutil.rmtree(tmp, ignore_errors=True)


def csrf_cookie(port: int, path: str) -> dict[str, str]:
    """The CSRF cookie a first visit to ``path`` gets, as a returning visitor sends it."""
    status, headers, _ = fetch(port, path)
    cookies = [c.split(";", 1)[0] for c in headers.get_all("Set-Cookie") or []]
    csrf = [c for c in cookies if c.startswith("csrftoken=")]
    if status != 200 or not csrf:
        raise SystemExit(f"no CSRF cookie from {path} on port {port}: {status}, {cookies}")
    return {"Cookie": csrf[0]}


#: --peers names: short name -> peer name.
PEER_KEYS = {
    "uncached": UNCACHED, "early": EARLY, "django": DJANGO, "stack": STACK, "floor": FLOOR,
    "early-cookie": EARLY_C, "django-cookie": DJANGO_C, "write-ours": OURS_W,
    "write-django": DJANGO_W, "read-ours": OURS_R, "read-django": DJANGO_R,
}  # fmt: skip


def make_peers(kind: str, ports: dict[tuple[str, str], int], slug: str) -> list[Peer]:
    page = f"/p/{slug}/"
    ours, theirs = (session_cookie(ports[(kind, v)]) for v in VARIANTS[3:])
    returning = csrf_cookie(ports[(kind, "stack")], f"/plain/{slug}/")
    return [
        Peer(kind, UNCACHED, "stack", f"/plain/{slug}/", "ok"),
        Peer(kind, EARLY, "early", page, "hit"),
        Peer(kind, DJANGO, "stack", f"/django/{slug}/", "age"),
        Peer(kind, STACK, "stack", page, "hit"),
        Peer(kind, FLOOR, "floor", page, "floor"),
        Peer(kind, EARLY_C, "early", page, "hit", returning),
        Peer(kind, DJANGO_C, "stack", f"/django/{slug}/", "age", returning),
        Peer(kind, OURS_W, "sessions-ours", "/w/", "session", ours),
        Peer(kind, DJANGO_W, "sessions-django", "/w/", "session", theirs),
        Peer(kind, OURS_R, "sessions-ours", "/r/", "session", ours),
        Peer(kind, DJANGO_R, "sessions-django", "/r/", "session", theirs),
    ]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_pid(site: Site, peer: Peer) -> int:
    """The process that serves: gunicorn's one worker (the arbiter's child), or uvicorn."""
    pid = site.procs[(peer.server, peer.variant)].pid
    if peer.server == "gunicorn":
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if len(children) != 1:
            raise SystemExit(f"gunicorn {pid} has {len(children)} workers, not 1")
        pid = int(children[0])
    return pid


def redis_cpu_seconds() -> float:
    from redis_sessions.connection import get_redis

    info = get_redis().info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def measure(site: Site, wrk: str, seconds: int, runs: int) -> None:
    """``runs`` rounds of wrk over every peer, the order rotated each round. Beside
    wrk's figures, the CPU time per request of the serving process and of Redis (wall
    time on a busy 2-core machine also holds the waits for a core)."""
    peers = site.peers
    for run in range(runs):
        shift = run % len(peers)
        for peer in peers[shift:] + peers[:shift]:
            port, pid = site.ports[(peer.server, peer.variant)], worker_pid(site, peer)
            cpu, redis_cpu = cpu_seconds(pid), redis_cpu_seconds()
            result = run_wrk(wrk, port, peer, seconds)
            n = max(result["requests"], 1)
            result["worker_cpu_us"] = (cpu_seconds(pid) - cpu) / n * 1e6
            result["redis_cpu_us"] = (redis_cpu_seconds() - redis_cpu) / n * 1e6
            problem = verify(peer, port)
            if result["non_2xx_3xx"] or problem:
                raise SystemExit(f"{peer.server} {peer.name}: {result['non_2xx_3xx']} "
                                 f"non-2xx/3xx under load; then: {problem or 'ok'}")  # fmt: skip
            peer.runs.append(result)
            log(f"run {run + 1}/{runs} {peer.server:8} {peer.name:28} "
                f"{result['rps']:8.0f} req/s  p50 {result['p50_ms']:.2f} ms  "
                f"p99 {result['p99_ms']:.2f} ms  CPU/request {result['worker_cpu_us']:.0f} us "
                f"+ Redis {result['redis_cpu_us']:.0f} us")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=6, help="wrk duration per peer and run")
    parser.add_argument("--runs", type=int, default=3, help="rounds over every peer")
    parser.add_argument("--server", choices=[*SERVERS, "both"], default="gunicorn")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures here")
    parser.add_argument(
        "--peers",
        nargs="+",
        choices=PEER_KEYS,
        metavar="PEER",
        help=f"only these peers ({', '.join(PEER_KEYS)}); default: all",
    )
    args = parser.parse_args()
    servers = SERVERS if args.server == "both" else (args.server,)
    wrk = ensure_wrk()

    with running(servers, args.peers) as site:
        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        measure(site, wrk, args.seconds, args.runs)
        meta = {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "seconds": args.seconds,
            "runs": args.runs,
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "versions": versions(wrk),
        }
    peers = site.peers
    ratios = report(peers, meta)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "meta": meta,
            "peers": [{"server": p.server, "peer": p.name, "path": p.path,
                       "runs": p.runs} for p in peers],
            "ratios": ratios,
        }, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
