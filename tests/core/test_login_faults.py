"""A login that fails part-way never loses a cart, and never counts a unit twice.

A visitor with an anonymous cart logs in; Redis fails at one round trip of the login
request (each in turn: the session load, each step of the cart merge, of the session
move, of the save); the browser keeps whichever cookie it got (the old one, after a
503) and logs in again until it is let in, as a visitor would. Afterwards the user's
cart holds every unit of the anonymous cart exactly once, and no anonymous cart or
unfinished merge is left behind. One more login loses only its response (the cookie
never reaches the browser).

Two failures of a real server, injected at the connection just before the chosen
send: *paused* (the node holding that connection is stopped with SIGSTOP: the
command sits in its socket, the app times out, and the node runs it when resumed:
an outcome the app cannot know) and *refused* (the app's own circuit breaker for
that node is open: the command is never sent, nor any later one to that node).
Runs on a private single server and, with ``--redis-cluster``, on the test cluster
(the node paused is the one that owns the slot of that step; it is resumed well
within the cluster's node timeout, so no failover happens).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from redis_sessions import connection, embedded, keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.cart import Cart
from redis_sessions.connection import guard, scripts

pytestmark = pytest.mark.django_db
LINES = {"1": 2, "2": 1}  # the anonymous cart
OWN = {"9": 1}  # what the user's cart held before
LOGIN = {"username": "shopper", "password": "pw"}


class Servers:
    """The Redis processes of this run, and which one a connection talks to."""

    def __init__(self, processes: dict[str, Any]) -> None:
        self.processes = processes  # address (socket path or port) -> process

    def of(self, conn: Any) -> Any:
        path = getattr(conn, "path", None)
        return self.processes[str(path) if path else str(conn.port)]

    def resume_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)


@pytest.fixture
def servers(redis_cluster: Any, settings: Any) -> Iterator[Servers]:
    faster = {"SOCKET_TIMEOUT": 0.2, "CIRCUIT_BREAKER_SECONDS": 5.0,
              "CART_VALIDATE_ITEMS": False}  # fmt: skip
    if redis_cluster is not None:
        settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, **faster}
        nodes = zip(redis_cluster.ports, redis_cluster.processes, strict=True)
        found = Servers({str(port): process for port, process in nodes})
        yield found
        found.resume_all()
        return
    server = embedded.start()
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "URL": server.url, **faster}
    for script in scripts.registered():  # the steady state: no NOSCRIPT resends
        connection.get_redis().script_load(script.source)
    found = Servers({str(server.socket): server.process})
    yield found
    found.resume_all()
    server.stop()


class Fault:
    """Fails the ``at``-th send of the app's clients (1 is the first after ``arm()``)."""

    def __init__(self, servers: Servers, mode: str) -> None:
        self.servers, self.mode = servers, mode
        self.at = 0
        self.sent = 0
        self.paused: list[Any] = []

    def arm(self, at: int) -> None:
        self.at, self.sent = at, 0

    def before_send(self, conn: Any) -> None:
        self.sent += 1
        if self.sent != self.at:
            return
        if self.mode == "paused":
            process = self.servers.of(conn)
            os.kill(process.pid, signal.SIGSTOP)
            self.paused.append(process)
        else:
            guard.breaker.open_until[guard._address(conn)] = time.monotonic() + 60

    def heal(self) -> None:
        self.at = 0
        for process in self.paused:
            os.kill(process.pid, signal.SIGCONT)
        self.paused.clear()
        time.sleep(0.05)  # a resumed node runs what waited in its sockets
        guard.breaker.close()


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Servers, str], Fault]]:
    made: list[Fault] = []
    send = guard._SyncGuard.send_packed_command

    def watched(conn: Any, *args: Any, **kwargs: Any) -> Any:
        for fault in made:
            fault.before_send(conn)
        return send(conn, *args, **kwargs)

    monkeypatch.setattr(guard._SyncGuard, "send_packed_command", watched)

    def make(servers: Servers, mode: str) -> Fault:
        made.append(Fault(servers, mode))
        return made[-1]

    yield make
    for fault in made:
        fault.heal()


def anonymous_visitor() -> Client:
    store = SessionStore()
    store["visits"] = 1
    store.save()
    assert store.session_key is not None
    cart = Cart.for_session_key(store.session_key)
    for item, units in LINES.items():
        cart.add(item, units)
    client = Client(raise_request_exception=False)  # a failure is a status, as a browser sees it
    client.cookies["sessionid"] = store.session_key
    return client


def log_in_until_let_in(client: Client) -> list[int]:
    statuses = []
    for _ in range(5):
        statuses.append(client.post("/accounts/login/", LOGIN).status_code)
        if statuses[-1] == 302:
            return statuses
    raise AssertionError(f"never let in: {statuses}")


def anonymous_carts(redis: Any) -> dict[str, dict[bytes, bytes]]:
    """Every non-empty anonymous cart, and every merge left unfinished."""
    found = {}
    for pattern in (keys.cart("*"), keys.cart_merging("*")):
        for key in redis.scan_iter(match=pattern):
            if b":user:" not in key and redis.hlen(key):
                found[key.decode()] = redis.hgetall(key)
    return found


def check(user: Any, redis: Any, what: str) -> None:
    expected = {**OWN, **LINES}
    assert Cart.for_user(user.pk).quantities() == expected, what
    assert anonymous_carts(redis) == {}, what


def login_sends() -> int:
    """How many sends a login takes when nothing fails (this topology)."""
    client = anonymous_visitor()
    before = connection.round_trips()
    assert client.post("/accounts/login/", LOGIN).status_code == 302
    return connection.round_trips() - before


@pytest.mark.parametrize("mode", ["paused", "refused"])
def test_a_login_failing_at_any_round_trip_then_retried_keeps_every_unit_once(
    servers: Servers, faults: Callable[[Servers, str], Fault], mode: str
) -> None:
    user = get_user_model().objects.create_user(LOGIN["username"], password=LOGIN["password"])
    redis = connection.get_redis()
    sends = login_sends()
    assert sends >= 4  # the session load, the merge, the move, the save
    fault = faults(servers, mode)
    seen = set()
    for at in range(1, sends + 1):
        Cart.for_user(user.pk).clear()
        Cart.for_user(user.pk).add("9")
        client = anonymous_visitor()
        fault.arm(at)
        status = client.post("/accounts/login/", LOGIN).status_code
        fault.heal()
        seen.add(status)
        retries = log_in_until_let_in(client) if status != 302 else []
        check(user, redis, f"{mode} at send {at} of {sends}: {status}, then {retries}")
    assert 503 in seen  # the faults did fail logins


def test_a_login_whose_response_is_lost_keeps_every_unit_once(
    servers: Servers, faults: Callable[[Servers, str], Fault]
) -> None:
    user = get_user_model().objects.create_user(LOGIN["username"], password=LOGIN["password"])
    Cart.for_user(user.pk).add("9")
    client = anonymous_visitor()
    old = client.cookies["sessionid"].value
    assert client.post("/accounts/login/", LOGIN).status_code == 302
    client.cookies["sessionid"] = old  # the response never reached the browser
    assert log_in_until_let_in(client) == [302]
    check(user, connection.get_redis(), "response lost")
