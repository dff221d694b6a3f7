"""A cart add whose reply never came is an unknown outcome, and is never applied twice.

A private ``redis-server`` is paused with SIGSTOP: the add is written to its socket
(the kernel buffers it), no reply comes, the client times out. When the server is
resumed it reads and runs the buffered command, exactly once: nothing retried it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from redis_sessions import connection, embedded, keys
from redis_sessions.cart import Cart
from redis_sessions.exceptions import CartWrite, RedisUnavailable, UnknownOutcome

USER = 41
ITEM = "7"  # CART_MODEL is the demo Product: ids are integers

pytestmark = pytest.mark.single_server("pauses a single Redis of its own")


@pytest.fixture
def paused_redis(settings: Any) -> Iterator[embedded.EmbeddedRedis]:
    server = embedded.start()
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS,
        "URL": server.url,
        "SOCKET_TIMEOUT": 0.2,
        "CIRCUIT_BREAKER_SECONDS": 0,  # the check after the resume must not wait for it
        "CART_VALIDATE_ITEMS": False,  # no database: the items are bare ids
    }
    yield server
    if server.process.poll() is None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def quantity_once_applied(cart: Cart) -> int:
    """The line's quantity once the resumed server has caught up with its socket."""
    for _ in range(200):  # the buffered add and this read race only in the server's loop
        quantity = cart.quantities().get(ITEM, 0)
        if quantity:
            return quantity
        time.sleep(0.01)
    return 0


def add_while_paused(
    server: embedded.EmbeddedRedis, steps: Callable[[Callable[[], None]], Any]
) -> BaseException:
    """Run ``steps(pause)`` in a thread, where ``pause()`` stops the server; resume it
    after the thread gave up; return what the thread raised.

    The steps warm their own connection before they pause: the app's hot path keeps
    one connection per thread, and a handshake that times out sent nothing of ours.
    """
    raised: list[BaseException] = []

    def pause() -> None:
        os.kill(server.process.pid, signal.SIGSTOP)

    def call() -> None:
        try:
            steps(pause)
        except BaseException as exc:  # reported to the test
            raised.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    try:
        worker.join(10)
        assert not worker.is_alive(), "the add hung instead of timing out"
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    assert len(raised) == 1, "the add returned although Redis never answered"
    return raised[0]


def test_a_timed_out_cart_add_is_an_unknown_outcome_applied_exactly_once(
    paused_redis: embedded.EmbeddedRedis,
) -> None:
    cart = Cart.for_user(USER)

    def steps(pause: Callable[[], None]) -> None:
        cart.add("1")  # a warm connection and a loaded script: the add is one EVALSHA
        pause()
        cart.add(ITEM, 3)

    exc = add_while_paused(paused_redis, steps)

    assert isinstance(exc, UnknownOutcome)
    assert isinstance(exc, RedisUnavailable)  # the 503 handling still applies
    assert exc.attempted == CartWrite("add", cart.key or "", ITEM, 3)
    assert "not retried" in str(exc)
    assert quantity_once_applied(cart) == 3  # the server ran it when resumed...
    cart.add("2")  # ...and later traffic on fresh connections replays nothing
    assert cart.quantities() == {"1": 1, ITEM: 3, "2": 1}


def test_a_timed_out_async_cart_add_is_an_unknown_outcome_applied_exactly_once(
    paused_redis: embedded.EmbeddedRedis,
) -> None:
    cart = Cart.for_user(USER)

    async def steps(pause: Callable[[], None]) -> None:
        await cart.aadd("1")  # this event loop's own client, warm
        pause()
        await cart.aadd(ITEM, 2)

    exc = add_while_paused(paused_redis, lambda pause: asyncio.run(steps(pause)))

    assert isinstance(exc, UnknownOutcome)
    assert exc.attempted == CartWrite("add", cart.key or "", ITEM, 2)
    assert quantity_once_applied(cart) == 2
    assert cart.quantities() == {"1": 1, ITEM: 2}


def test_a_timed_out_cart_set_is_an_unknown_outcome_too(
    paused_redis: embedded.EmbeddedRedis,
) -> None:
    cart = Cart.for_user(USER)

    def steps(pause: Callable[[], None]) -> None:
        cart.set(ITEM, 1)
        pause()
        cart.set(ITEM, 5)

    exc = add_while_paused(paused_redis, steps)

    assert isinstance(exc, UnknownOutcome)
    assert exc.attempted == CartWrite("set", cart.key or "", ITEM, 5)
    assert quantity_once_applied(cart) == 5


def test_an_add_refused_before_sending_is_a_plain_redis_unavailable(
    paused_redis: embedded.EmbeddedRedis,
) -> None:
    cart = Cart.for_user(USER)
    cart.add("1")
    paused_redis.stop()  # the socket is gone: nothing can be sent, nothing applied

    for _ in range(2):  # the warm connection (broken pipe), then a refused connect
        with pytest.raises(RedisUnavailable) as caught:
            cart.add(ITEM)
        assert not isinstance(caught.value, UnknownOutcome)


def test_a_read_timeout_of_a_lower_level_call_names_the_commands_sent(
    paused_redis: embedded.EmbeddedRedis,
) -> None:
    client = connection.get_redis()
    commands = [("INCR", keys.heartbeat("a")), ("INCR", keys.heartbeat("b"))]

    def steps(pause: Callable[[], None]) -> None:
        connection.run(client, [("PING",)])
        pause()
        connection.run(client, commands)

    exc = add_while_paused(paused_redis, steps)

    assert isinstance(exc, UnknownOutcome)
    assert exc.attempted == commands
