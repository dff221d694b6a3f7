"""The inspection pages in a real browser: Playwright driving Debian's Chromium
against pytest-django's live server (nothing is downloaded at run time).

Skipped, with the reason, where Chromium or the playwright package is missing;
``.ci/run`` installs both so CI runs these. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from redis_sessions import keys
from redis_sessions.analytics.counting import view_commands
from redis_sessions.connection import get_redis, run
from redis_sessions.inspection.refs import ref
from redis_sessions.rowcache import schedule_row_cache
from tests.support.inspection import ADMIN, put_cart, session, staff
from tests.support.rowcache import product

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).with_name("artifacts")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="playwright is not installed (pip install playwright; no browser download needed)",
    ),
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)",
    ),
]


@pytest.fixture
def open_page(live_server: Any) -> Iterator[Callable[[], Any]]:
    """Call it once the test's users exist: sync Playwright runs an event loop in this
    thread, after which Django refuses ORM calls here (the live server has its own)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with ExitStack() as stack:

        def start() -> Any:
            p = stack.enter_context(sync_playwright())
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            stack.callback(browser.close)
            page = browser.new_page(base_url=live_server.url)
            page.set_default_timeout(15_000)
            return page

        yield start


def go(page: Any, selector: str) -> None:
    """Click a link or button and wait for the page it leads to (no race with reads)."""
    with page.expect_navigation():
        page.click(selector)


def log_in(page: Any, username: str) -> None:
    page.goto(ADMIN)  # the admin login, then back here
    assert "/admin/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    go(page, "input[type=submit]")
    page.wait_for_url(f"**{ADMIN}")


@pytest.mark.django_db(transaction=True)
def test_staff_open_every_page_and_end_a_session_in_a_real_browser(
    open_page: Callable[[], Any], redis: Any
) -> None:
    operator = staff("ops", "view_redis", "view_sessions", "manage_sessions", "manage_carts",
                     "manage_cache")  # fmt: skip
    operator.is_superuser = False
    operator.save()
    alice = staff("alice")
    visitor = session(colour="blue")
    session(alice)
    put_cart(redis, keys.cart(visitor), {"1": 2})
    run(get_redis(), view_commands(visitor, ["1", "2", "1"]))
    redis.zincrby(keys.viewed_items(), -100, "a")
    assert Client().get("/pc/item/a/")["X-Cache"] == "miss"  # a cached page of item "a"
    schedule_row_cache(product(), delay=30)
    page = open_page()

    log_in(page, "ops")
    assert page.locator("#content h1").inner_text() == "Redis overview"
    assert "never run" in page.content()
    page.screenshot(path=ARTIFACTS / "overview.png", full_page=True)

    go(page, ".rs-nav >> text=Top items")
    assert page.locator("svg.rs-chart rect.rs-bar").count() == 3
    assert page.locator(".rs-trend svg.rs-spark").count() == 1
    page.screenshot(path=ARTIFACTS / "top-items.png", full_page=True)

    go(page, ".rs-nav >> text=Page cache")
    assert page.locator("tr.rs-cache-entry").count() == 1
    assert page.locator("#nav-sidebar .current-model").inner_text().strip() == "Page cache"
    page.screenshot(path=ARTIFACTS / "page-cache.png", full_page=True)
    go(page, "a.rs-purge-item")
    go(page, "input[type=submit][value^='Yes']")
    page.wait_for_url(f"**{ADMIN}page-cache/")
    assert "Purged 1 cached page(s) of item a." in page.locator("ul.messagelist").inner_text()
    assert page.locator("tr.rs-cache-entry").count() == 0

    go(page, ".rs-nav >> text=Row cache")
    assert page.locator("tr.rs-row").count() == 1
    page.screenshot(path=ARTIFACTS / "row-cache.png", full_page=True)
    go(page, "a.rs-refresh")
    go(page, "input[type=submit][value^='Yes']")
    page.wait_for_url(f"**{ADMIN}row-cache/")
    assert "refreshed" in page.locator("ul.messagelist").inner_text()

    go(page, ".rs-nav >> text=Carts")
    assert page.locator("tr.rs-cart-row").count() == 1
    page.screenshot(path=ARTIFACTS / "carts.png", full_page=True)

    go(page, ".rs-nav >> text=Sessions")
    assert page.locator("tr.rs-session").count() == 3  # visitor, alice, and ours
    page.screenshot(path=ARTIFACTS / "sessions.png", full_page=True)

    go(page, f"a[href$='/sessions/{ref(visitor)}/']")
    assert "blue" in page.content()
    page.screenshot(path=ARTIFACTS / "session-detail.png", full_page=True)

    go(page, "a.rs-end")
    page.screenshot(path=ARTIFACTS / "end-session-confirm.png", full_page=True)
    go(page, "input[type=submit][value^='Yes']")
    page.wait_for_url(f"**{ADMIN}sessions/")
    assert "ended" in page.locator("ul.messagelist").inner_text()
    assert page.locator("tr.rs-session").count() == 2
    assert page.locator(f"a[href$='/sessions/{ref(visitor)}/']").count() == 0
    page.screenshot(path=ARTIFACTS / "session-ended.png", full_page=True)
    assert not redis.exists(keys.session(visitor))


@pytest.mark.django_db(transaction=True)
def test_the_pages_follow_the_admins_dark_theme(open_page: Callable[[], Any]) -> None:
    staff("ops", "view_redis")
    page = open_page()
    page.emulate_media(color_scheme="dark")
    log_in(page, "ops")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)"
    page.screenshot(path=ARTIFACTS / "overview-dark.png", full_page=True)
