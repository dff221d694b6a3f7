"""The recommended durable setup (AOF, ``appendfsync everysec``) keeps acknowledged writes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from redis_sessions import connection, embedded
from redis_sessions.backends.redis import SessionStore
from redis_sessions.cart import Cart

pytestmark = pytest.mark.single_server("starts its own single Redis")

DURABLE = ("--appendonly", "yes", "--appendfsync", "everysec")
WRITES = 5_000
USER = 5


@pytest.fixture
def durable_redis(settings: Any) -> Iterator[embedded.EmbeddedRedis]:
    server = embedded.start(*DURABLE)
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS,
        "URL": server.url,
        "CART_VALIDATE_ITEMS": False,  # bare ids: no database rows needed
        "CART_MAX_QUANTITY": WRITES,  # 5,000 adds over 37 lines exceed the default 99
        # Durability, not latency: on a busy machine an AOF write behind a slow disk
        # may take longer than the default 0.5 s, and a timed-out write would fail the
        # test for a reason it does not test (it failed so once under load).
        "SOCKET_TIMEOUT": 10.0,
        "SOCKET_CONNECT_TIMEOUT": 10.0,
    }
    yield server
    server.stop()


@pytest.mark.slow
def test_every_acknowledged_session_save_and_cart_add_survives_kill_9_and_a_restart_from_the_aof(
    durable_redis: embedded.EmbeddedRedis,
) -> None:
    """Save 5,000 sessions and make 10,000 cart adds, ``kill -9`` the server,
    restart it from the same directory: every write Redis acknowledged is there.

    This proves that a restart replays the AOF, and that Redis writes a command to the
    AOF before it acknowledges it. It does not prove ``fsync``: a process kill leaves
    the file in the OS page cache, so only a power cut or kernel crash could lose the
    last second of writes that ``everysec`` allows; no test on one machine can.

    The cart increments are ``Cart.add`` calls: to a user's cart, and one to each
    session's own anonymous cart.
    """
    sessions: dict[str, int] = {}
    cart_adds: Counter[str] = Counter()
    user_cart = Cart.for_user(USER)
    for i in range(WRITES):
        store = SessionStore()
        store["i"] = i
        store.save()  # returned: Redis acknowledged the write
        assert store.session_key is not None
        sessions[store.session_key] = i
        item = str(i % 37 + 1)
        cart_adds[item] += 1
        assert user_cart.add(item) == cart_adds[item]  # acknowledged, with its new total
        Cart.for_session_key(store.session_key).add(item, 2)

    durable_redis.process.kill()  # SIGKILL: no shutdown save, no AOF rewrite
    durable_redis.process.wait()
    connection.reset()
    restarted = embedded.start(*DURABLE, directory=durable_redis.directory)
    try:
        assert restarted.socket == durable_redis.socket  # the app's URL is unchanged
        for key, i in sessions.items():
            assert SessionStore(key).load() == {"i": i}, key
            assert Cart.for_session_key(key).quantities() == {str(i % 37 + 1): 2}, key
        stored = user_cart.quantities()
        assert stored == dict(cart_adds)
        assert sum(stored.values()) == WRITES
    finally:
        restarted.stop(keep_directory=True)
