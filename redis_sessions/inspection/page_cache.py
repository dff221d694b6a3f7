"""The page-cache page: items with cached pages and their entries (size, TTL, fresh or
stale), each with its purge link (the purges are in ``page_cache_purge``).

Reading needs ``view_redis`` (what is cached, no personal data); the purge links show
to staff with ``manage_cache``.

The cache keeps one set per item (``item-pages:{ITEM}``, the digests of its pages) but
no index of those sets, so the list pages through them with SCAN MATCH (escaped
prefix, never KEYS): a page of the list is at most ``SCAN_CALLS`` SCAN calls, stopping
once ``ITEMS_PER_PAGE`` sets are found, and the SCAN cursor is the page cursor. Then
one round trip reads every set's members and one every entry's fields, so a page
costs the same wherever it is. On a Redis Cluster the cursor walks every primary in
turn (``nodes.scan``). Pages stored without an item (``itemless``) are in no
set: the overview counts them and "purge all" drops them, this list does not show them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse

from redis_sessions import keys
from redis_sessions.connection import get_redis, nodes, run
from redis_sessions.connection.replies import text
from redis_sessions.inspection.guard import can, inspection_view, link, page
from redis_sessions.inspection.ids import item_labels

ITEMS_PER_PAGE = 50
SCAN_CALLS = 25
SCAN_COUNT = 200


@dataclass
class Entry:
    """One cached page of an item."""

    digest: str
    size: int  # bytes of the stored body
    ttl: float  # seconds the copy is kept (fresh time plus grace)
    fresh: bool  # False: stale, served while one worker re-renders
    status: int | None
    content_type: str
    purge_url: str = ""  # set by the view


@dataclass
class ItemPages:
    item: str
    label: str
    entries: list[Entry] = field(default_factory=list)
    expired: int = 0  # digests still in the set whose page has expired
    purge_url: str = ""  # set by the view

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)


@dataclass
class PageCachePage:
    items: list[ItemPages]
    next: int | None  # SCAN cursor of the next page; None after the last


def item_pages(
    cursor: int = 0, *, n: int = ITEMS_PER_PAGE, calls: int = SCAN_CALLS, count: int = SCAN_COUNT
) -> PageCachePage:
    """Items that have cached pages, from SCAN cursor ``cursor`` (0: the first page).

    A SCAN step cannot be split, so a page may hold a few more than ``n`` items; an
    item whose set was created during the walk may be missed, one found twice on two
    pages is shown twice (SCAN's own guarantees).
    """
    client = get_redis()
    pattern = keys.item_pages_pattern()
    found: dict[str, None] = {}
    for _ in range(calls):
        cursor, batch, _ = nodes.scan(client, cursor, match=pattern, count=count)
        found.update(dict.fromkeys(text(k) for k in batch))
        if cursor == 0 or len(found) >= n:
            break
    next_cursor = cursor or None
    if not found:
        return PageCachePage([], next_cursor)
    set_keys = list(found)
    members = run(client, [("SMEMBERS", k) for k in set_keys])
    items = [keys.item_of_pages_key(k) for k in set_keys]
    digests = [sorted(text(d) for d in m) for m in members]
    labels = item_labels(items)
    rows = [ItemPages(item, labels.get(item, item)) for item in items]
    _entries(rows, digests)
    return PageCachePage(rows, next_cursor)


def scan_cursor(text: str) -> int:
    """The SCAN cursor a "More" link carries; 0 (the first page) for text that is not
    one SCAN could take: digits only (``"²".isdigit()`` is true), below 2**64 per node."""
    if not (text.isascii() and text.isdigit()) or len(text) > 30:
        return 0
    bits = 64 + (nodes.NODE_BITS if nodes.is_cluster(get_redis()) else 0)
    return int(text) if int(text) < 1 << bits else 0


def _entries(rows: list[ItemPages], digests: list[list[str]]) -> None:
    """Fill each row's entries: one round trip for all of them (3 commands an entry)."""
    commands: list[tuple[Any, ...]] = []
    for names in digests:
        for digest in names:
            page = keys.page(digest)
            commands += [("HMGET", page, "fresh", "meta"), ("HSTRLEN", page, "body"),
                         ("PTTL", page)]  # fmt: skip
    replies = run(get_redis(), commands) if commands else []
    now, i = time.time(), 0
    for row, names in zip(rows, digests, strict=True):
        for digest in names:
            (fresh, meta), size, pttl = replies[i : i + 3]
            i += 3
            if int(pttl) < 0:  # expired (-2), or not a page of ours (-1: no TTL)
                row.expired += 1
                continue
            status, content_type = _meta(meta)
            is_fresh = fresh is not None and float(fresh) > now
            row.entries.append(Entry(digest, int(size), int(pttl) / 1000, is_fresh, status,
                                     content_type))  # fmt: skip
        row.entries.sort(key=lambda e: -e.size)


def _meta(raw: bytes | None) -> tuple[int | None, str]:
    """Status and Content-Type from an entry's ``meta`` (as ``pagecache.entry.encode`` wrote)."""
    try:
        meta = json.loads(raw or b"")
        headers = {str(k).lower(): str(v) for k, v in meta.get("h", [])}
        return int(meta["s"]), headers.get("content-type", "")
    except (ValueError, TypeError, KeyError, AttributeError):
        return None, ""


@inspection_view("view_redis")
def page_cache_view(request: HttpRequest) -> HttpResponse:
    after = request.GET.get("after", "")
    result = item_pages(scan_cursor(after))
    context: dict[str, Any] = {
        "page": result,
        "is_first": not after,
        "next_url": f"?after={result.next}" if result.next else None,
    }
    if can(request, "manage_cache"):
        for row in result.items:
            query = urlencode({"item": row.item})
            row.purge_url = link(request, "page_cache_purge_item", query=query)
            for entry in row.entries:
                entry.purge_url = link(request, "page_cache_purge", entry.digest, query=query)
        context["purge_all_url"] = link(request, "page_cache_purge_all")
    return page(request, "page_cache.html", "Page cache", context)
