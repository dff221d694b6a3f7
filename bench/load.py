"""Load test: the demo shop under gunicorn with the background loops running.

The demo runs under gunicorn (2 sync workers by default) against the embedded Redis (or
$REDIS_URL) and a SQLite file (or $DATABASE_URL), with ``clean_sessions``,
``rescale_viewed`` and ``cache_rows`` looping beside it. A second process drives a mix
of anonymous browsing, logins, cart adds and cart page views from N virtual users for
``--seconds``, all on 127.0.0.1, then prints requests/s, p50/p99 latency and errors,
and checks that every acknowledged cart add (a 302 from the add form) is in Redis.

    python bench/load.py [--seconds 60] [--users 16] [--workers 2]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import multiprocessing
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 302 is an answer here (the add was acknowledged), not a hop


def virtual_user(
    base: str, vu: int, slugs: list[tuple[str, int]], deadline: float, out: Any
) -> None:
    rng = random.Random(vu)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    latencies: list[float] = []
    events: list[tuple[float, int]] = []  # (when the answer came, status; 0: no answer)
    errors: Counter[str] = Counter()
    acked: Counter[int] = Counter()
    unacked: Counter[int] = Counter()  # adds sent without a 302: applied or not
    logged_in = False
    login_at = deadline - rng.uniform(0.3, 0.7) * (deadline - time.time())

    def call(path: str, data: dict[str, Any] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(base + path, data=body, headers={"Referer": base + path})
        started = time.perf_counter()
        try:
            with opener.open(request, timeout=10) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode(errors="replace")
        except OSError as exc:
            errors[type(exc).__name__] += 1
            events.append((time.time(), 0))
            return 0, ""
        latencies.append(time.perf_counter() - started)
        events.append((time.time(), status))
        if status >= 500:
            errors[f"HTTP {status}"] += 1
        return status, text

    while time.time() < deadline:
        roll = rng.random()
        if not logged_in and time.time() > login_at:
            _, page = call("/accounts/login/")
            token = TOKEN.search(page)
            if token:
                status, _ = call(
                    "/accounts/login/",
                    {
                        "username": f"load{vu}",
                        "password": "load",
                        "csrfmiddlewaretoken": token.group(1),
                    },
                )
                logged_in = status == 302
        elif roll < 0.45:
            call(f"/?page={rng.randint(1, 8)}")
        elif roll < 0.80:
            call(f"/p/{rng.choice(slugs[:40])[0]}/")
        elif roll < 0.93:
            slug, pk = rng.choice(slugs[:60])
            _, page = call(f"/p/{slug}/")
            token = TOKEN.search(page)
            if token:
                status, _ = call(
                    f"/p/{slug}/add-to-cart/",
                    {"quantity": 1, "csrfmiddlewaretoken": token.group(1)},
                )
                if status == 302:
                    acked[pk] += 1
                else:
                    unacked[pk] += 1
        else:
            call("/cart/")
    session = next((c.value for c in jar if c.name == "sessionid"), None)
    out.put(
        {
            "vu": vu,
            "latencies": latencies,
            "events": events,
            "errors": dict(errors),
            "acked": dict(acked),
            "unacked": dict(unacked),
            "logged_in": logged_in,
            "session": session,
        }
    )


def drive(base: str, users: int, slugs: list[tuple[str, int]], seconds: float, out: Any) -> None:
    """The load process: one thread per virtual user."""
    import threading

    deadline = time.time() + seconds
    threads = [
        threading.Thread(target=virtual_user, args=(base, vu, slugs, deadline, out))
        for vu in range(users)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(products: int, users: int) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Migrate, seed the demo and create the virtual users' accounts (in this process,
    whose Django settings must be the site's); returns (user ids by name, product slugs)."""
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
    user_ids = dict(model.objects.filter(username__startswith="load").values_list("username", "pk"))
    slugs = list(Product.objects.order_by("pk").values_list("slug", "pk")[:100])
    return user_ids, slugs


def start_site(workers: int, loops: bool = True) -> tuple[list[subprocess.Popen[bytes]], str]:
    """gunicorn (and the three loops) with this process's environment; waits for "/"."""
    env = dict(os.environ)
    port = free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "demo_project.wsgi", "-w", str(workers),
             "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=ROOT, env=env,
        )
    ]  # fmt: skip
    for command in ("clean_sessions", "rescale_viewed", "cache_rows") if loops else ():
        procs.append(
            subprocess.Popen(
                [sys.executable, "manage.py", command, "--interval", "1"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            )
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/", timeout=2).read()
            break
        except OSError:
            time.sleep(0.1)
    return procs, base


def stop_site(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_load(base: str, users: int, slugs: list[tuple[str, int]], seconds: float) -> list[Any]:
    """Drive the site from a second process; every virtual user's results."""
    queue: Any = multiprocessing.Queue()
    driver = multiprocessing.Process(target=drive, args=(base, users, slugs, seconds, queue))
    driver.start()
    results = [queue.get(timeout=seconds + 60) for _ in range(users)]
    driver.join()
    return results


def check_carts(results: list[Any], user_ids: dict[str, int]) -> tuple[int, int, int]:
    """(acknowledged adds, lost, applied twice), read back from Redis."""
    from redis_sessions.cart import Cart

    lost = twice = acked_total = 0
    for r in results:
        if r["logged_in"]:
            cart = Cart.for_user(user_ids[f"load{r['vu']}"])
        elif r["session"]:
            cart = Cart.for_session_key(r["session"])
        else:
            cart = None
        quantities = cart.quantities() if cart is not None else {}
        for pk, n in r["acked"].items():
            acked_total += n
            lost += max(0, n - quantities.get(str(pk), 0))
        # Applied twice: more units than adds sent (acknowledged, or sent and answered
        # otherwise: a timeout or a 503 may have applied once, never twice).
        sent = Counter({str(k): v for k, v in r["acked"].items()})
        sent.update({str(k): v for k, v in r["unacked"].items()})
        twice += sum(max(0, q - sent.get(pk, 0)) for pk, q in quantities.items())
    return acked_total, lost, twice


def setup_django(settings_module: str = "bench.load_settings") -> None:
    tmp = Path(tempfile.mkdtemp(prefix="load-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'load.sqlite3'}")
    os.environ["REDIS_KEY_PREFIX"] = f"load{os.getpid()}"
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()  # starts the embedded Redis unless REDIS_URL is set; exported below


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--users", type=int, default=16, help="virtual users (threads)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--products", type=int, default=200)
    args = parser.parse_args()

    setup_django()
    user_ids, slugs = prepare(args.products, args.users)
    procs, base = start_site(args.workers)
    try:
        started = time.perf_counter()
        results = run_load(base, args.users, slugs, args.seconds)
        elapsed = time.perf_counter() - started
    finally:
        stop_site(procs)

    latencies = sorted(x for r in results for x in r["latencies"])
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r["errors"])
    acked_total, lost, twice = check_carts(results, user_ids)
    p = statistics.quantiles(latencies, n=100) if len(latencies) > 100 else [0.0] * 99
    print(
        f"{len(latencies)} requests in {elapsed:.1f} s from {args.users} virtual users, "
        f"gunicorn -w {args.workers}, loops running: {len(latencies) / elapsed:.0f} req/s"
    )
    print(f"latency p50 {p[49] * 1000:.1f} ms, p99 {p[98] * 1000:.1f} ms")
    print(f"errors: {sum(errors.values())} {dict(errors) if errors else ''}")
    print(f"cart adds acknowledged: {acked_total}, lost: {lost}, applied twice: {twice}")


if __name__ == "__main__":
    main()
