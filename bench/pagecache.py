"""Page cache benchmark: the demo product page, uncached vs our cache hit vs Django's
own ``cache_page`` on django-redis, through the Django test client, in one run.

    /work/main/.venv/bin/python bench/pagecache.py          # short run (~1 minute)
    /work/main/.venv/bin/python bench/pagecache.py --full   # more rounds and requests

What is measured: the whole request through the test client and the demo's
``MIDDLEWARE``. Ours is served as the demo serves it: ``PageHitMiddleware`` answers
the hit before the session, CSRF and auth middleware, puts the visitor's own masked
CSRF token in the page and renews their CSRF cookie, and counts the view in the same
round trip. The uncached page and Django's ``cache_page`` run on the same stack
without ``PageHitMiddleware`` (what a site without our cache runs: they do not even
pay its URL lookup). Each peer is one visitor without a session cookie (the test
client keeps the CSRF cookie it is given).

Rounds alternate the three peers (A/B/C, order rotated each round) so the noise of
a shared machine hits them alike; we print medians of the per-request time of each
round, the ratios, and the Redis cost of one hit (round trips counted by
``connection.round_trips()`` for ours; commands counted by the server's INFO for
django-redis, whose client sends each command as its own round trip).

Uses the embedded Redis unless REDIS_URL is set, an in-memory SQLite database and a
key prefix of its own (deleted at the end).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from collections.abc import Callable
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ["DATABASE_URL"] = "sqlite://:memory:"
os.environ["REDIS_KEY_PREFIX"] = f"bench-pagecache-{os.getpid()}"

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.views.decorators.cache import cache_page  # noqa: E402

from demo_project.shop import views  # noqa: E402
from demo_project.shop.models import Product  # noqa: E402
from redis_sessions import connection, keys  # noqa: E402

PAGE_HIT = "redis_sessions.pagecache.PageHitMiddleware"

plain = views.product_detail.__wrapped__  # type: ignore[attr-defined]
urls = types.ModuleType("bench_pagecache_urls")
urls.urlpatterns = [  # type: ignore[attr-defined]
    path("plain/<slug:slug>/", plain),
    path("ours/<slug:slug>/", views.product_detail),
    path("django/<slug:slug>/", cache_page(300)(plain)),
    path("", include("demo_project.urls")),  # the shop: namespace for {% url %}
]
sys.modules[urls.__name__] = urls


def commands_processed() -> int:
    info = connection.get_redis().info("stats")
    return int(info["total_commands_processed"])


def cost(client: Client, url: str, n: int = 50) -> tuple[float, float]:
    """(our round trips, server commands) per request, averaged over ``n`` requests."""
    trips, commands = connection.round_trips(), commands_processed()
    for _ in range(n):
        client.get(url)
    # The second INFO is one command of our own (the first is counted before it).
    return (connection.round_trips() - trips - 1) / n, (commands_processed() - commands - 1) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="30 rounds of 1000 requests")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--requests", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (30 if args.full else 12)
    per_round = args.requests or (1000 if args.full else 200)

    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--products", "200", stdout=StringIO())
    product = Product.objects.order_by("pk").first()
    assert product is not None
    # Visitors without a session cookie (the one-round-trip case). A test client loads
    # the middleware on its first request: the peers' client does it without ours.
    ours, others = Client(), Client()
    peers: dict[str, tuple[Client, str]] = {
        "uncached": (others, f"/plain/{product.slug}/"),
        "ours (hit)": (ours, f"/ours/{product.slug}/"),
        "django cache_page (hit)": (others, f"/django/{product.slug}/"),
    }
    without_ours = [m for m in settings.MIDDLEWARE if m != PAGE_HIT]
    assert without_ours != settings.MIDDLEWARE, "the demo serves its hits by PageHitMiddleware"
    with override_settings(MIDDLEWARE=without_ours):
        others.get(peers["uncached"][1])
    for client, url in peers.values():  # warm up: rank the item, fill both caches
        for _ in range(3):
            client.get(url)
    hit = ours.get(peers["ours (hit)"][1])
    assert hit["X-Cache"] == "hit" and not hasattr(hit.wsgi_request, "session")

    times: dict[str, list[float]] = {name: [] for name in peers}
    names = list(peers)
    for r in range(rounds):
        order = names[r % 3 :] + names[: r % 3]
        for name in order:
            client, url = peers[name]
            get: Callable[[str], object] = client.get
            start = time.perf_counter()
            for _ in range(per_round):
                get(url)
            times[name].append((time.perf_counter() - start) / per_round * 1e6)

    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"page cache benchmark: {rounds} rounds x {per_round} requests per peer, "
          f"Django test client, Redis at {settings.CACHES['default']['LOCATION']}")  # fmt: skip
    for name, median in medians.items():
        print(f"  {name:<26} median {median:8.1f} us/request")
    ours = medians["ours (hit)"]
    print(f"  ratio uncached / ours            {medians['uncached'] / ours:6.2f}x  (target >= 5)")
    print(f"  ratio django cache_page / ours   "
          f"{medians['django cache_page (hit)'] / ours:6.2f}x  (target >= 1.3)")  # fmt: skip
    our_trips, our_commands = cost(*peers["ours (hit)"])
    _, django_commands = cost(*peers["django cache_page (hit)"])
    print(
        f"  ours: {our_trips:.2f} round trips per hit "
        f"(EVALSHA + HMGET; {our_commands:.2f} server commands counting those inside the script)"
    )
    print(f"  django cache_page: {django_commands:.2f} commands per hit "
          "(each its own round trip: the header-list GET, then the page GET)")  # fmt: skip

    redis = connection.get_redis()
    pattern = keys.escape_glob(os.environ["REDIS_KEY_PREFIX"]) + "*"
    doomed = list(redis.scan_iter(match=pattern))
    for start in range(0, len(doomed), 1000):
        redis.delete(*doomed[start : start + 1000])


if __name__ == "__main__":
    with override_settings(ROOT_URLCONF=urls.__name__):
        main()
