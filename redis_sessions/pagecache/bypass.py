"""``X-Cache`` and why a page was not cached: every ``bypass`` names its reason.

``X-Cache: hit``, ``miss`` (rendered and stored) or ``bypass; reason=REASON`` (served
uncached). The first bypass of each reason in a process is logged at DEBUG on the
``redis_sessions.pagecache`` logger, with what the reason means: enough to tell why a
page is never cached without a log line per request.
"""

from __future__ import annotations

import logging

from django.http import HttpResponseBase

from redis_sessions.conf import app_settings

logger = logging.getLogger("redis_sessions.pagecache")

#: Every reason, and what it means (the DEBUG line, and docs/caching.md's table).
REASONS = {
    "method": "not a GET or HEAD request",
    "authorization": "the request has an Authorization header",
    "query": "the query string has a parameter the view does not allow (query=...)",
    "no-item": "the view's item function returned None and the view is not itemless",
    "session": "the visitor is logged in or their session holds data (not public)",
    "cart": "the visitor has a non-empty cart (not public)",
    "cold": "the item does not rank in the top CACHE_TOP_N of viewed: yet",
    "unavailable": "Redis is unreachable or refused the command",
    "status": "the response is not a 200 or is streaming",
    "cookie": "the response sets a cookie",
    "cache-control": "the response says Cache-Control: private or no-store",
    "vary": "the response says Vary: *",
    "session-changed": "the view changed the session",
    "messages": "the page shows the visitor's messages",
    "csrf": "the page holds the visitor's unmasked CSRF secret",
    "variants": "the item has PAGE_CACHE_MAX_VARIANTS cached pages already",
}
_logged: set[str] = set()


def mark(response: HttpResponseBase, state: str, reason: str = "") -> HttpResponseBase:
    """Set ``X-Cache`` (unless ``X_CACHE_HEADER`` is off); a bypass names its reason."""
    if reason:
        said(reason)
    if app_settings.X_CACHE_HEADER:
        response["X-Cache"] = f"{state}; reason={reason}" if reason else state
    return response


def said(reason: str) -> None:
    """Log the first bypass of ``reason`` in this process (a set: no lock needed)."""
    if reason not in _logged:
        _logged.add(reason)
        logger.debug(
            "page cache bypass (reason=%s): %s; said once per process",
            reason, REASONS.get(reason, reason),
        )  # fmt: skip


def forget_logged() -> None:
    """Log every reason again (for tests)."""
    _logged.clear()
