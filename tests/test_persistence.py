"""The recommended durable setup (AOF, ``appendfsync everysec``) keeps acknowledged writes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from redis_sessions import connection, embedded, keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.connection import get_redis, run

pytestmark = pytest.mark.single_server("starts its own single Redis")

DURABLE = ("--appendonly", "yes", "--appendfsync", "everysec")
WRITES = 5_000


@pytest.fixture
def durable_redis(settings: Any) -> Iterator[embedded.EmbeddedRedis]:
    server = embedded.start(*DURABLE)
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "URL": server.url}
    yield server
    settings.REDIS_SESSIONS = {k: v for k, v in settings.REDIS_SESSIONS.items() if k != "URL"}
    server.stop()


@pytest.mark.slow
def test_every_acknowledged_write_survives_kill_9_and_a_restart_from_the_aof(
    durable_redis: embedded.EmbeddedRedis,
) -> None:
    """Save 5,000 sessions and make 5,000 cart-line increments, ``kill -9`` the server,
    restart it from the same directory: every write Redis acknowledged is there.

    This proves that a restart replays the AOF, and that Redis writes a command to the
    AOF before it acknowledges it. It does not prove ``fsync``: a process kill leaves
    the file in the OS page cache, so only a power cut or kernel crash could lose the
    last second of writes that ``everysec`` allows; no test on one machine can.

    The cart increments are ``HINCRBY`` on ``keys.cart(...)`` through the app's client,
    a stand-in for ``Cart.add`` (the cart lives on another branch; switch to it once
    merged).
    """
    sessions: dict[str, int] = {}
    cart_adds: Counter[str] = Counter()
    cart_key = keys.cart("durabletest0000")
    for i in range(WRITES):
        store = SessionStore()
        store["i"] = i
        store.save()  # returned: Redis acknowledged the write
        assert store.session_key is not None
        sessions[store.session_key] = i
        item = f"item-{i % 37}"
        run(get_redis(), [("HINCRBY", cart_key, item, 1)])
        cart_adds[item] += 1

    durable_redis.process.kill()  # SIGKILL: no shutdown save, no AOF rewrite
    durable_redis.process.wait()
    connection.reset()
    restarted = embedded.start(*DURABLE, directory=durable_redis.directory)
    try:
        assert restarted.socket == durable_redis.socket  # the app's URL is unchanged
        for key, i in sessions.items():
            assert SessionStore(key).load() == {"i": i}, key
        stored = {k.decode(): int(v) for k, v in get_redis().hgetall(cart_key).items()}
        assert stored == dict(cart_adds)
        assert sum(stored.values()) == WRITES
    finally:
        restarted.stop(keep_directory=True)
