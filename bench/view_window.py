"""Redis memory of ``VIEW_WINDOW``'s seen keys (``P:seen:{VISITOR}:ITEM``).

One ``SET ... NX EX window`` key lives per visitor and item for ``window`` seconds
after a counted view. The bench starts a private ``redis-server`` (unix socket,
``--save '' --appendonly no``; never ``$REDIS_URL``), sends N views of N distinct
visitor-item pairs through ``record_view`` (outside a request: one round trip each,
pipelined here by the batch), once with the window on and once with ``VIEW_WINDOW``
0, and prints the difference of ``used_memory`` per view: what the seen keys cost,
dict and expires entries included. Cookieless visitors (the seen key names the keyed
hash of the client, 32 hex digits) and session visitors (the session key, 32
characters) give keys of the same length; the item id's length is the other term.

    .venv/bin/python bench/view_window.py [--views 100000] [--item-length 5]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

from redis_sessions import embedded

SERVER = embedded.start("--save", "", "--appendonly", "no")
os.environ["REDIS_URL"] = SERVER.url

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.test import RequestFactory, override_settings  # noqa: E402

from bench.redis_memory import settled_used_memory  # noqa: E402
from redis_sessions import connection, keys  # noqa: E402
from redis_sessions.analytics.counting import client_id, view_commands, visitor_id  # noqa: E402


def memory(client: redis.Redis) -> int:
    return settled_used_memory(client)


def views(n: int, item_length: int, window: int) -> tuple[int, str]:
    """Bytes the N views left in Redis, and one seen key's name (or "")."""
    admin = redis.Redis(unix_socket_path=str(SERVER.socket))
    admin.flushall()
    factory = RequestFactory()
    settings = {"VIEW_WINDOW": window, "KEY_PREFIX": "rs"}
    with override_settings(REDIS_SESSIONS=settings):
        client = connection.get_redis()
        before = memory(admin)
        batch: list[tuple[object, ...]] = []
        for i in range(n):
            request = factory.get("/", REMOTE_ADDR=f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
            item = str(i % 1000).zfill(item_length)
            batch += view_commands(None, [item], visitor_id(request), client_id(request))
            if len(batch) >= 5000:
                connection.run(client, batch)
                batch = []
        connection.run(client, batch)
        after = memory(admin)
        sample = next(admin.scan_iter(match=keys.escape_glob(keys.prefix()) + "seen:*"), b"")
    return after - before, sample.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", type=int, default=100_000)
    parser.add_argument("--item-length", type=int, default=5)
    options = parser.parse_args()
    n = options.views
    try:
        gated, sample = views(n, options.item_length, 600)
        plain, _ = views(n, options.item_length, 0)
        admin = redis.Redis(unix_socket_path=str(SERVER.socket))
        print(f"redis {admin.info('server')['redis_version']}, {n} views of distinct "
              f"visitor-item pairs, seen key {sample!r} ({len(sample)} bytes)")  # fmt: skip
        print(f"window 600: {gated / n:.1f} B per view; window 0: {plain / n:.1f} B per view")
        print(f"seen keys: {(gated - plain) / n:.1f} B per visitor-item pair in the window")
    finally:
        SERVER.stop()


if __name__ == "__main__":
    main()
