"""On a real ASGI server (uvicorn, and gunicorn with uvicorn's worker): the connections
Redis receives stay within the pool's size whatever the requests, and an async view
that reads and writes its session costs 2 round trips.

Django runs each request's sync code in a fresh thread under ASGI: a connection kept
per thread would be a new connection per request. The server is a subprocess on the
test's own Redis and key prefix (settings: ``tests.support.asgi_settings``).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from redis_sessions import connection

# The servers come with the bench extra (dev.py installs it; the nox cells do not).
pytest.importorskip("uvicorn", reason="uvicorn is not installed (the bench extra)")
pytest.importorskip("gunicorn", reason="gunicorn is not installed (the bench extra)")

pytestmark = [
    pytest.mark.single_server("one server's connection count"),
]

ROOT = Path(__file__).resolve().parents[2]
POOL_SIZE = 8  # REDIS_SESSIONS["MAX_CONNECTIONS"] of the server
CLIENTS, REQUESTS = 4, 100
SERVERS = {
    "uvicorn": ["-m", "uvicorn", "demo_project.asgi:application", "--lifespan", "off",
                "--log-level", "warning", "--host", "127.0.0.1", "--port"],
    "gunicorn": ["-m", "gunicorn", "demo_project.asgi:application", "-k",
                 "uvicorn.workers.UvicornWorker", "-w", "1", "--log-level", "warning", "-b",
                 "127.0.0.1:"],
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Visitor:
    """One browser: a keep-alive HTTP connection and a session cookie."""

    def __init__(self, port: int) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.cookie = ""

    def get(self, path: str) -> bytes:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        self.http.request("GET", path, headers=headers)
        response = self.http.getresponse()
        body = response.read()
        assert response.status == 200, (path, response.status, body[:500])
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("sessionid="):
                self.cookie = value.split(";", 1)[0]
        return body

    def round_trips(self) -> int:
        return int(json.loads(self.get("/trips/"))["round_trips"])


@pytest.fixture(params=sorted(SERVERS))
def server(request: pytest.FixtureRequest, redis_keyspace: str) -> Iterator[int]:
    port = free_port()
    args = SERVERS[request.param]
    address = [*args[:-1], f"{args[-1]}{port}"] if args[-1].endswith(":") else [*args, str(port)]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_TESTS_DIR"}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.support.asgi_settings",
        REDIS_KEY_PREFIX=redis_keyspace,
        REDIS_MAX_CONNECTIONS=str(POOL_SIZE),
        DATABASE_URL=f"sqlite:///{tempfile.mkdtemp()}/unused.sqlite3",
        PYTHONWARNINGS="ignore::DeprecationWarning",
    )
    process = subprocess.Popen([sys.executable, *address], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                Visitor(port).get("/trips/")
                break
            except (OSError, http.client.HTTPException):
                assert process.poll() is None, "the server did not start"
                assert time.monotonic() < deadline, "the server did not answer in 30 s"
                time.sleep(0.1)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def connections_received() -> int:
    return int(connection.get_redis().info("stats")["total_connections_received"])


def browse(port: int, n: int) -> None:
    """``n`` requests from one visitor: a sessioned page with the cart badge, a session
    write, a cart add, an async view that reads and writes the session."""
    visitor = Visitor(port)
    paths = ["/page/", "/write/", "/cart/add/{}/", "/async/write/"]
    for i in range(n):
        visitor.get(paths[i % len(paths)].format(i % 7))


def test_requests_open_no_more_connections_than_the_pool_holds(server: int) -> None:
    before = connections_received()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            browse(server, REQUESTS // CLIENTS)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    opened = connections_received() - before
    assert opened <= POOL_SIZE, f"{REQUESTS} requests opened {opened} connections"


def test_an_async_view_that_reads_and_writes_its_session_costs_two_round_trips(
    server: int,
) -> None:
    visitor = Visitor(server)
    visitor.get("/async/write/")  # creates the session
    for path in ("/async/write/", "/async/write-save/"):  # the second saves it itself
        before = visitor.round_trips()
        visitor.get(path)
        assert visitor.round_trips() - before == 2, path
    assert json.loads(visitor.get("/async/read/")) == {"n": 3}
