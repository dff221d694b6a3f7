"""Session engines through Django's full request path (WSGIHandler + stock SessionMiddleware).

For each engine: a view that writes the session and one that only reads it, with an
existing session cookie. Engines: this one, Django's cache engine on django-redis,
cached_db (SQLite) and signed_cookies. Rounds alternate the engines' order; the
figures are medians of per-round requests/s, plus Redis round trips per request
(counted at the socket: one packed send is one round trip).

    python bench/sessions.py [--requests 200] [--rounds 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import RequestFactory, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

ENGINES = {
    "redis_sessions": "redis_sessions.backends.redis",
    "django cache": "django.contrib.sessions.backends.cache",
    "cached_db": "django.contrib.sessions.backends.cached_db",
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
}
PEER = "django cache"


def write(request: HttpRequest) -> HttpResponse:
    request.session["n"] = request.session.get("n", 0) + 1
    return HttpResponse("w")


def read(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(request.session.get("n", 0)))


urlpatterns = [path("w", write), path("r", read)]


class Sends:
    """Counts packed sends on every redis-py connection (ours and django-redis's)."""

    count = 0

    @classmethod
    def install(cls) -> None:
        for klass in (redis.connection.Connection, redis.connection.UnixDomainSocketConnection):
            original = klass.send_packed_command

            def counted(self: Any, *args: Any, _original: Any = original, **kw: Any) -> Any:
                cls.count += 1
                return _original(self, *args, **kw)

            klass.send_packed_command = counted  # type: ignore[method-assign]


def start_response(status: str, headers: list[tuple[str, str]]) -> None:
    start_response.headers = headers  # type: ignore[attr-defined]


class Target:
    def __init__(self, engine: str) -> None:
        self.engine = engine
        with override_settings(SESSION_ENGINE=engine):
            self.handler = WSGIHandler()
        self.cookie = ""
        self.factory = RequestFactory()

    def call(self, path_info: str) -> None:
        # SessionMiddleware picked its engine when the handler was built.
        environ = self.factory._base_environ(PATH_INFO=path_info, HTTP_COOKIE=self.cookie)
        response = self.handler(environ, start_response)
        response.close()
        for name, value in start_response.headers:  # type: ignore[attr-defined]
            value = value.strip()
            if name == "Set-Cookie" and value.startswith("sessionid="):
                self.cookie = value.split(";", 1)[0]


def measure(target: Target, path_info: str, n: int) -> tuple[float, float]:
    sends = Sends.count
    started = time.perf_counter()
    for _ in range(n):
        target.call(path_info)
    elapsed = time.perf_counter() - started
    return n / elapsed, (Sends.count - sends) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per block")
    parser.add_argument("--rounds", type=int, default=40, help="blocks per engine and kind")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp()
    warnings.filterwarnings("ignore", "Overriding setting DATABASES")
    overrides = override_settings(
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                               "NAME": f"{tmp}/bench.sqlite3", "CONN_MAX_AGE": None}},
        REDIS_SESSIONS={**settings.REDIS_SESSIONS, "KEY_PREFIX": "bench"},
        DEBUG=False,
    )  # fmt: skip
    overrides.enable()
    call_command("migrate", "sessions", verbosity=0)
    Sends.install()
    targets = {name: Target(engine) for name, engine in ENGINES.items()}
    for target in targets.values():  # make the session, warm connections and scripts
        for _ in range(20):
            target.call("/w")
            target.call("/r")

    # Fine-grained interleaving: many short blocks, the engines' order rotating, so a
    # burst of load from elsewhere on this shared machine hits every engine alike.
    results: dict[tuple[str, str], list[float]] = {}
    trips: dict[tuple[str, str], float] = {}
    names = list(targets)
    for block in range(args.rounds):
        order = names[block % len(names) :] + names[: block % len(names)]
        for name in order:
            for kind, path_info in (("write", "/w"), ("read", "/r")):
                rate, rt = measure(targets[name], path_info, args.requests)
                results.setdefault((name, kind), []).append(rate)
                trips[(name, kind)] = rt

    versions = f"python {sys.version.split()[0]}, django {django.get_version()}"
    print(f"{versions}, redis-py {redis.__version__}, {args.rounds} x {args.requests} requests")
    print(f"{'engine':16} {'kind':6} {'median req/s':>12} {'vs ' + PEER:>16} {'round trips':>12}")
    for kind in ("write", "read"):
        peer = statistics.median(results[(PEER, kind)])
        for name in names:
            med = statistics.median(results[(name, kind)])
            print(f"{name:16} {kind:6} {med:12.0f} {med / peer:15.2f}x "
                  f"{trips[(name, kind)]:12.2f}")  # fmt: skip
    overrides.disable()


if __name__ == "__main__":
    main()
