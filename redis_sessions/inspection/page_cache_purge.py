"""The page cache's purges: one cached page, every page of an item, the whole cache.

Each needs ``manage_cache`` and is, like every action of these pages, a confirmation
page on GET and a CSRF-checked POST that acts, records a ``LogEntry`` and returns to
the page-cache page with a message. The item of a purge is an item id as the page
cache stores it (``clean_item_id``: any text up to ``ITEM_ID_MAX_LENGTH``), not checked
against ``CART_MODEL``: a purge only names Redis keys, and any item the page lists,
even one that names no row, must stay purgeable.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html

from redis_sessions import keys
from redis_sessions.analytics.counting import clean_item_id
from redis_sessions.connection import get_redis, nodes, run
from redis_sessions.inspection.guard import confirm, inspection_view, link, log
from redis_sessions.models import PageCacheEntry
from redis_sessions.pagecache.decorator import invalidate_item

PURGE_COUNT = 1000  # SCAN COUNT of "purge all"
PURGE_BATCH = 500  # keys per UNLINK
DIGEST_RE = re.compile(r"[0-9a-f]{64}")


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


def _item(request: HttpRequest) -> str:
    """The ``item`` query parameter, if it can be an item id; else 404."""
    try:
        return clean_item_id(request.GET.get("item", ""))
    except ValueError:
        raise Http404("Not an item id") from None


@inspection_view("manage_cache")
def page_cache_purge_view(request: HttpRequest, digest: str) -> HttpResponse:
    item = _item(request)
    if not DIGEST_RE.fullmatch(digest):
        raise Http404("Not a page digest")
    back = link(request, "page_cache")
    if request.method != "POST":
        question = format_html("Purge the cached page <code>{}</code> of item <code>{}</code>?",
                               digest[:12] + "…", item)  # fmt: skip
        return confirm(request, "Purge a cached page", question, back)
    found = purge_entry(item, digest)
    log(request, PageCacheEntry(key=keys.page(digest)), "deletion",
        f"Purged a cached page of item {item}.")  # fmt: skip
    messages.success(request, "Cached page purged." if found else "The page had expired already.")
    return HttpResponseRedirect(back)


@inspection_view("manage_cache")
def page_cache_purge_item_view(request: HttpRequest) -> HttpResponse:
    item = _item(request)
    back = link(request, "page_cache")
    if request.method != "POST":
        question = format_html("Purge every cached page of item <code>{}</code>?", item)
        return confirm(request, "Purge an item's pages", question, back)
    purged = purge_item(item)
    message = f"Purged {purged} cached page(s) of item {item}."
    log(request, PageCacheEntry(key=keys.item_pages(item)), "deletion", message)
    messages.success(request, message)
    return HttpResponseRedirect(back)


@inspection_view("manage_cache")
def page_cache_purge_all_view(request: HttpRequest) -> HttpResponse:
    back = link(request, "page_cache")
    if request.method != "POST":
        question = format_html(
            "Purge every cached page and fragment of this app (keys under <code>{}</code>)? "
            "Nothing else in Redis is touched.", keys.prefix())  # fmt: skip
        return confirm(request, "Purge the page cache", question, back)
    purged = purge_all()
    message = f"Purged the page cache ({purged} keys)."
    log(request, PageCacheEntry(key="all"), "deletion", message)
    messages.success(request, message)
    return HttpResponseRedirect(back)
