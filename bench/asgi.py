"""Session engines under a real ASGI server: async views, one cookie, ``wrk`` as the load.

Two servers run side by side (uvicorn, one worker each; ``--server gunicorn``: gunicorn
with uvicorn's worker), each with only the session middleware in ``MIDDLEWARE``
(``bench/asgi_settings.py``):

* ours: this engine with ``redis_sessions.sessions.SessionMiddleware`` (the session
  loaded and saved with redis.asyncio on the event loop);
* Django's cache engine on django-redis with Django's ``SessionMiddleware`` (loaded
  by the view through ``sync_to_async``, saved in a worker thread).

Views: ``/w`` reads and writes the session (``aget`` + ``aset``), ``/r`` only reads it,
``/n`` does not touch it (the floor: Django's ASGI path with the middleware alone).
Runs alternate the two sides; the figures are medians of requests/s, p50 and p99, the
ratio ours / Django's, the server's CPU time per request (user + system, all threads:
the steadier figure on a shared machine, where a server's share of the cores varies)
and the new Redis connections per request after warm-up (``INFO stats``
``total_connections_received``; the largest of the runs).

    python bench/asgi.py [--rounds 5] [--seconds 5] [--connections 16] [--server uvicorn]
                         [--pin]

Needs ``wrk`` (``apt-get install wrk``). Uses the embedded Redis unless ``REDIS_URL``
is set; keys go under a prefix of its own and are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

ROOT = Path(__file__).resolve().parent.parent


# -- the views (this module is the servers' URLconf) ---------------------------------
async def write(request: HttpRequest) -> HttpResponse:
    await request.session.aset("n", await request.session.aget("n", 0) + 1)
    return HttpResponse("w")


async def read(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(await request.session.aget("n", 0)))


async def nothing(request: HttpRequest) -> HttpResponse:
    return HttpResponse("n")  # the session is never touched: no round trip


urlpatterns = [path("w", write), path("r", read), path("n", nothing)]


# -- the bench -------------------------------------------------------------------------
SIDES = ("ours", "django")
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    side: str, server: str, port: int, env: dict[str, str], cpu: str | None
) -> subprocess.Popen[bytes]:
    app = "demo_project.asgi:application"
    if server == "uvicorn":
        args = ["-m", "uvicorn", app, "--lifespan", "off", "--log-level", "warning",
                "--no-access-log", "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    else:
        args = ["-m", "gunicorn", app, "-k", "uvicorn.workers.UvicornWorker", "-w", "1",
                "--log-level", "warning", "-b", f"127.0.0.1:{port}"]  # fmt: skip
    pin = ["taskset", "-c", cpu] if cpu else []
    return subprocess.Popen([*pin, sys.executable, *args], cwd=ROOT,
                            env={**env, "BENCH_SESSIONS": side})  # fmt: skip


def session_cookie(base: str) -> str:
    """A new session on that side (one write), as a Cookie header."""
    for _ in range(300):
        try:
            with urllib.request.urlopen(base + "/w", timeout=2) as response:
                cookie = response.headers["Set-Cookie"]
                return str(cookie).split(";", 1)[0]
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{base} did not answer")


def wrk(
    url: str, cookie: str, seconds: float, connections: int, cpu: str | None = None
) -> dict[str, float]:
    pin = ["taskset", "-c", cpu] if cpu else []
    out = subprocess.run(
        [*pin, "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-H",
         f"Cookie: {cookie}", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found: dict[str, float] = {}
    for label, key in (("50%", "p50"), ("99%", "p99")):
        value = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert value, out
        found[key] = float(value.group(1)) * UNITS[value.group(2)]
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert rate and total, out
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{out}")
    found["rate"], found["requests"] = float(rate.group(1)), float(total.group(1))
    return found


def cpu_ticks(pid: int) -> int:
    """User + system CPU clock ticks of a process and its descendants (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(child) for child in f.read().split()]
    except OSError:
        children = []
    return int(fields[11]) + int(fields[12]) + sum(cpu_ticks(child) for child in children)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs per side and view")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one run")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")
    parser.add_argument("--server", choices=("uvicorn", "gunicorn"), default="uvicorn")
    parser.add_argument("--pin", action="store_true",
                        help="servers on CPU 1, wrk on CPU 0 (taskset): one core per worker, "
                        "as in a deployment with a worker per core")  # fmt: skip
    args = parser.parse_args()
    server_cpu, wrk_cpu = ("1", "0") if args.pin else (None, None)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")

    sys.path.insert(0, str(ROOT))
    prefix = f"bench-asgi-{os.getpid()}"
    os.environ["REDIS_KEY_PREFIX"] = prefix
    # The views use no database; a throwaway one keeps the project's demo.sqlite3 out.
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.asgi_settings"
    import django

    django.setup()  # starts the embedded Redis unless REDIS_URL is set (exported)
    import redis
    import uvicorn
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    tick = 1e6 / os.sysconf("SC_CLK_TCK")  # microseconds
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_TESTS_DIR"}
    ports = {side: free_port() for side in SIDES}
    servers = {side: start(side, args.server, ports[side], env, server_cpu) for side in SIDES}
    views = ("w", "r", "n")
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    try:
        bases = {side: f"http://127.0.0.1:{ports[side]}" for side in SIDES}
        cookies = {side: session_cookie(bases[side]) for side in SIDES}
        for side in SIDES:  # warm-up: connections, scripts, code paths
            for view in views:
                wrk(f"{bases[side]}/{view}", cookies[side], 2, args.connections, wrk_cpu)
        for r in range(args.rounds):
            for side in SIDES if r % 2 == 0 else SIDES[::-1]:
                for view in views:
                    connections = int(client.info("stats")["total_connections_received"])
                    ticks = cpu_ticks(servers[side].pid)
                    run = wrk(f"{bases[side]}/{view}", cookies[side], args.seconds,
                              args.connections, wrk_cpu)  # fmt: skip
                    run["cpu"] = (cpu_ticks(servers[side].pid) - ticks) * tick / run["requests"]
                    connections = (
                        int(client.info("stats")["total_connections_received"]) - connections
                    )
                    run["new"] = connections / run["requests"]
                    runs.setdefault((side, view), []).append(run)
    finally:
        for server in servers.values():
            server.send_signal(signal.SIGTERM)
        for server in servers.values():
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start_at in range(0, len(keys), 1000):
            client.delete(*keys[start_at : start_at + 1000])

    pinned = ", pinned: servers on CPU 1, wrk on CPU 0" if args.pin else ""
    print(f"bench/asgi.py: {args.server} (1 worker per side{pinned}), "
          f"wrk -t1 -c{args.connections}, {args.rounds} alternating runs x {args.seconds:g} s, "
          "one cookie; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"python {sys.version.split()[0]}, django {django.get_version()}, redis-py "
          f"{redis.__version__}, uvicorn {uvicorn.__version__}, "
          f"redis-server {client.info('server')['redis_version']}")  # fmt: skip
    print(f"{'view':14} {'side':7} {'req/s':>7} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'server CPU us/req':>18} {'ratio':>6} {'new conn/req':>13}")  # fmt: skip
    names = {"w": "read+write", "r": "read", "n": "floor (none)"}
    for view in views:
        med = {
            side: {k: statistics.median(run[k] for run in runs[(side, view)])
                   for k in ("rate", "p50", "p99", "cpu")}
            for side in SIDES
        }  # fmt: skip
        for side in SIDES:
            rate = med[side]["rate"] / med["django"]["rate"]
            cpu = med["django"]["cpu"] / med[side]["cpu"]
            new = max(run["new"] for run in runs[(side, view)])
            print(f"{names[view]:14} {side:7} {med[side]['rate']:7.0f} {rate:5.2f}x "
                  f"{med[side]['p50']:7.2f} {med[side]['p99']:7.2f} {med[side]['cpu']:18.0f} "
                  f"{cpu:5.2f}x {new:13.4f}")  # fmt: skip
    rates: Any = {f"{side} {view}": [round(run["rate"]) for run in v]
                  for (side, view), v in runs.items()}  # fmt: skip
    print(f"runs (req/s): {rates}")
    news: Any = {f"{side} {view}": [round(run["new"] * run["requests"]) for run in v]
                 for (side, view), v in runs.items()}  # fmt: skip
    print(f"new connections per run: {news}")


if __name__ == "__main__":
    main()
