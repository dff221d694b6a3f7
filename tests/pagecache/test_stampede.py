"""The stampede lock, proved: every request arrives before the first render ends."""

from __future__ import annotations

import threading
from typing import Any

from django.test import Client

from tests.support.pagecache import popular
from tests.support.pagecache_urls import BARRIER, calls

STAMPEDE = 20


def test_twenty_requests_that_all_arrive_during_the_first_render_render_once(
    redis: Any,
) -> None:
    popular(redis, "st")
    calls.clear()
    BARRIER["arrivals"] = STAMPEDE
    start = threading.Barrier(STAMPEDE)
    results: list[tuple[str, bytes]] = []

    def fetch(n: int) -> None:
        client = Client(REMOTE_ADDR=f"10.0.0.{n}")  # twenty visitors, each counted
        start.wait()
        response = client.get("/pc/barrier/st/")
        results.append((response["X-Cache"], response.content))

    threads = [threading.Thread(target=fetch, args=(n,)) for n in range(STAMPEDE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The render waited for all twenty first lookups (each counts one view), so every
    # request looked the page up while it was being rendered: one render, twenty
    # identical pages (one rendered, the others served once it was stored).
    assert redis.zscore(f"{_views_key()}", "st") == STAMPEDE
    assert calls["barrier"] == 1
    assert sorted(x for x, _ in results) == ["hit"] * (STAMPEDE - 1) + ["miss"]
    assert {body for _, body in results} == {b"barrier st #1"}


def _views_key() -> str:
    from redis_sessions import keys
    from redis_sessions.analytics.counting import today

    return keys.daily_views(today())
