"""Where the time of one page-cache hit goes under gunicorn: py-spy samples the one
sync worker of bench/http_load.py's servers while wrk loads it.

    .venv/bin/pip install py-spy
    .venv/bin/python bench/http_profile.py [--seconds 20] [--rate 250] [--peer early ...]
                                           [--cpu]

Peers (by default the first four): ``early`` (ours, served by PageHitMiddleware),
``stack`` (ours through ``cache_request`` on the full stack), ``django`` (Django's
``cache_page`` hit), ``floor`` (one plain GET), ``early-cookie`` and ``django-cookie``
(the two hits to a returning visitor, who sends a CSRF cookie), and any other peer of
bench/http_load.py's ``--peers`` (``write-ours``, ``read-django``, ...); the same
servers and checks as bench/http_load.py, one peer at a time. py-spy records with
``--nonblocking`` (the worker is never paused) and, by default, ``--idle``: time
blocked in a system call counts (the Redis round trip is mostly that), and the table
gives each category's share of the samples and that share of the wall time per
request at the rate wrk measured meanwhile. With
``--cpu``, only samples of the worker running or waiting for a core count, and the
shares are of its CPU time per request (from /proc). Each sample goes to the category
of its innermost frame that matches one (so a settings read inside the CSRF code
counts as a settings read). The sampler takes CPU itself: rates are lower than
bench/http_load.py's. Prints Markdown; writes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http_load.py would hide the standard library's http package: not on the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

from bench import http_load as http  # noqa: E402

PEERS = http.PEER_KEYS
# (category, substrings of a py-spy frame "function (file)"), matched from the innermost
# frame outwards; the first category that matches a frame takes the sample.
CATEGORIES = [
    ("settings reads (django.conf, redis_sessions.conf)",
     ["LazySettings.__getattr__", "LazyObject.__getattribute__", "(redis_sessions/conf.py)"]),
    ("CSRF: new secret, masked token, cookie",
     ["(django/middleware/csrf.py)", "masked_token (redis_sessions/pagecache/entry.py)",
      "(redis_sessions/pagecache/csrf.py)",
      "HttpResponseBase.set_cookie", "Morsel.", "get_random_string", "(http/cookies.py)"]),
    ("Redis: packing the command", ["pack_commands", "RespSerializer.pack", "Encoder.encode"]),
    ("Redis: the round trip, waiting for and reading the reply",
     ["read_response", "read_from_socket", "(redis/_parsers/"]),
    ("Redis: the round trip, sending (a system call that wakes Redis)",
     ["send_packed_command"]),
    ("Redis: client Python around it", ["(redis_sessions/connection/", "(redis/", "(django_redis/",
                                        "(django/core/cache/"]),
    ("URL resolve", ["_resolve (redis_sessions/pagecache/middleware.py)", "(django/urls/"]),
    ("page key, visitor id, view-count arguments",
     ["target (redis_sessions/pagecache/lookup.py)", "request_digest", "visitor_id", "today (",
      "digest (redis_sessions",
      "page_language", "analytics_ttl", "clean_item_id", "(redis_sessions/keys.py)",
      "product_id", "(redis_sessions/analytics/counting.py)"]),
    ("decode the copy, build the response",
     ["serve (redis_sessions/pagecache/lookup.py)", "(redis_sessions/pagecache/entry.py)",
      "HttpResponse.__init__", "(pickle)"]),
    ("lookup and early-hit middleware, other",
     ["(redis_sessions/pagecache/", "PageHitMiddleware", "FloorMiddleware"]),
    ("Django cache_page middleware", ["(django/middleware/cache.py)", "(django/utils/cache.py)"]),
    ("session, auth, messages, cart middleware",
     ["(django/contrib/", "(redis_sessions/middleware.py)", "(redis_sessions/backends/",
      "(redis_sessions/sessions/"]),
    ("other middleware and the middleware chain",
     ["(django/middleware/", "(django/utils/deprecation.py)", "(django/core/handlers/exception",
      "BaseHandler._get_response"]),
    ("Django's WSGI handler: request object, signals, response close", ["(django/"]),
    ("gunicorn: closing the connection (lingers until wrk closes it)", ["close_graceful"]),
    ("gunicorn: parsing the request", ["(gunicorn/http/message.py)", "(gunicorn/http/parser.py)",
                                       "(gunicorn/http/unreader.py)", "(gunicorn/http/body.py)"]),
    ("gunicorn: environ, headers, writing the response",
     ["(gunicorn/http/wsgi.py)", "write_chunk", "write (gunicorn/util.py)", "(email/utils.py)",
      "(gunicorn/glogging.py)"]),
    ("gunicorn: idle, waiting for the next connection", ["SyncWorker.wait"]),
    ("gunicorn: accept and the worker loop", ["(gunicorn/"]),
]  # fmt: skip
LINE = re.compile(r":\d+\)$")


def categorize(raw: str) -> Counter[str]:
    """Samples per category from py-spy's raw (collapsed stacks) output."""
    found: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [LINE.sub(")", frame) for frame in stack.split(";")]
        name = next(
            (name for frame in reversed(frames) for name, marks in CATEGORIES
             if any(mark in frame for mark in marks)),
            "other",
        )  # fmt: skip
        found[name] += int(count)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="wrk and py-spy per peer")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument(
        "--peer",
        choices=PEERS,
        action="append",
        help="repeatable; default: early, stack, django, floor",
    )
    parser.add_argument("--cpu", action="store_true", help="on-CPU samples, CPU time per request")
    args = parser.parse_args()
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        raise SystemExit(f"no {spy}: {Path(sys.executable).parent / 'pip'} install py-spy")
    wrk = http.ensure_wrk()

    columns: list[tuple[str, float, float, Counter[str]]] = []
    chosen = args.peer or ["early", "stack", "django", "floor"]
    with http.running(("gunicorn",), chosen) as site, tempfile.TemporaryDirectory() as tmp:
        for key in chosen:
            peer = next(p for p in site.peers if p.name == PEERS[key])
            out = Path(tmp) / f"{key}.txt"
            pid = http.worker_pid(site, peer)
            recorder = subprocess.Popen(
                [str(spy), "record", "--pid", str(pid), *([] if args.cpu else ["--idle"]),
                 "--nonblocking", "--rate", str(args.rate), "--duration", str(args.seconds + 2),
                 "--format", "raw", "--output", str(out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1)  # py-spy attached
            port = site.ports[(peer.server, peer.variant)]
            cpu = http.cpu_seconds(pid)
            result = http.run_wrk(wrk, port, peer, args.seconds)
            cpu = (http.cpu_seconds(pid) - cpu) / max(result["requests"], 1) * 1e6
            recorder.wait(timeout=args.seconds + 60)
            problem = http.verify(peer, port)
            if recorder.returncode != 0 or problem or result["non_2xx_3xx"]:
                raise SystemExit(f"{peer.name}: py-spy {recorder.returncode}, then {problem}")
            per_request = cpu if args.cpu else 1e6 / result["rps"]
            columns.append((peer.name, result["rps"], per_request, categorize(out.read_text())))
            http.log(f"{peer.name}: {result['rps']:.0f} req/s, {cpu:.0f} us CPU per request")

    what = "CPU time (running or waiting for a core)" if args.cpu else "wall time"
    print(f"py-spy {args.rate} Hz{'' if args.cpu else ' --idle'}, {args.seconds} s of "
          "`wrk -t1 -c8` per peer, gunicorn, one sync worker: share of the samples, and "
          f"that share of the {what} per request")  # fmt: skip
    print()
    print("| where | " + " | ".join(f"{name} ({rps:,.0f} req/s)" for name, rps, _, _ in columns)
          + " |")  # fmt: skip
    print("| --- |" + " --- |" * len(columns))
    for name in [c for c, _ in CATEGORIES] + ["other"]:
        if not any(found[name] for *_, found in columns):
            continue
        cells = []
        for _, _, per_request, found in columns:
            share = found[name] / max(sum(found.values()), 1)
            cells.append(f"{share:.1%}, {share * per_request:.0f} us")
        print(f"| {name} | " + " | ".join(cells) + " |")
    totals = " | ".join(f"{per_request:.0f} us" for _, _, per_request, _ in columns)
    print(f"| whole request ({'CPU' if args.cpu else '1 / rate'}) | {totals} |")


if __name__ == "__main__":
    main()
