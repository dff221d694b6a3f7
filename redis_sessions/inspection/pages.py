"""Reads and writes for the page-cache page: items with cached pages and their entries
(size, TTL, fresh or stale), and purging one entry, one item or the whole cache.

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
import re
import time
from dataclasses import dataclass, field
from typing import Any

from redis_sessions import keys
from redis_sessions.connection import get_redis, nodes, run
from redis_sessions.inspection.items import item_labels
from redis_sessions.pagecache.decorator import invalidate_item

ITEMS_PER_PAGE = 50
SCAN_CALLS = 25
SCAN_COUNT = 200
PURGE_COUNT = 1000  # SCAN COUNT of "purge all"
PURGE_BATCH = 500  # keys per UNLINK
DIGEST_RE = re.compile(r"[0-9a-f]{64}")


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


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


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
        found.update(dict.fromkeys(_text(k) for k in batch))
        if cursor == 0 or len(found) >= n:
            break
    next_cursor = cursor or None
    if not found:
        return PageCachePage([], next_cursor)
    set_keys = list(found)
    members = run(client, [("SMEMBERS", k) for k in set_keys])
    items = [keys.item_of_pages_key(k) for k in set_keys]
    digests = [sorted(_text(d) for d in m) for m in members]
    labels = item_labels(set(items))
    rows = [ItemPages(item, labels.get(item, item)) for item in items]
    _entries(rows, digests)
    return PageCachePage(rows, next_cursor)


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
    """Status and Content-Type from an entry's ``meta`` (as ``pageentry.encode`` wrote)."""
    try:
        meta = json.loads(raw or b"")
        headers = {str(k).lower(): str(v) for k, v in meta.get("h", [])}
        return int(meta["s"]), headers.get("content-type", "")
    except (ValueError, TypeError, KeyError, AttributeError):
        return None, ""


def purge_entry(item: str, digest: str) -> bool:
    """Drop one cached page of ``item``; True if it was there. One round trip.

    No MULTI: both commands are idempotent, and a digest left in the set without its
    page is what an expired page leaves too (``invalidate_item`` copes).
    """
    if not DIGEST_RE.fullmatch(digest):
        raise ValueError(f"{digest!r} is not a page digest.")
    commands = [("DEL", keys.page(digest)), ("SREM", keys.item_pages(item), digest)]
    return bool(run(get_redis(), commands)[0])


def purge_item(item: str) -> int:
    """Drop every cached page of ``item`` (``pagecache.invalidate_item``); how many."""
    return invalidate_item(item)


def purge_all(*, count: int = PURGE_COUNT, batch: int = PURGE_BATCH) -> int:
    """Delete every page-cache and fragment-cache key of this app (entries, render
    locks, item sets), never another key and never FLUSHDB; returns how many.

    One SCAN pass with one pattern (``keys.page_cache_pattern``) over every primary,
    keeping only the cache's key heads. The UNLINKs of one step ride in the next SCAN's
    round trip, at most ``batch`` keys each (on a cluster they follow it, split by
    slot: a multi-key command must stay within one slot); UNLINK, not DEL, so large
    page bodies are freed off the server's main thread. A page being rendered during
    the purge may be stored just after it (its render started before): the purge is a
    snapshot, like FLUSHDB is.
    """
    client = get_redis()
    heads = tuple(h.encode() for h in keys.page_cache_heads())
    pattern = keys.page_cache_pattern()
    cursor, deleted = 0, 0
    pending: list[bytes] = []
    while True:
        unlinks = [("UNLINK", *pending[i : i + batch]) for i in range(0, len(pending), batch)]
        cursor, found, replies = nodes.scan(client, cursor, match=pattern, count=count,
                                            then=unlinks)  # fmt: skip
        deleted += sum(int(r) for r in replies)
        pending = [k for k in found if bytes(k).startswith(heads)]
        if cursor == 0:
            break
    if pending:
        replies = run(client, [("UNLINK", *pending[i : i + batch])
                               for i in range(0, len(pending), batch)])  # fmt: skip
        deleted += sum(int(r) for r in replies)
    return deleted
