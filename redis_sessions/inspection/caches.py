"""The page-cache and row-cache pages and their actions.

Reading needs ``view_redis`` (what is cached, no personal data); every action needs
``manage_cache`` and is, like the session actions, a confirmation page on GET and a
CSRF-checked POST that acts, records a ``LogEntry`` and returns with a message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html

from redis_sessions import keys
from redis_sessions.analytics.counting import clean_item_id
from redis_sessions.inspection import pages, rows
from redis_sessions.inspection.actions import confirm
from redis_sessions.inspection.guard import inspection_view, link, log, page
from redis_sessions.inspection.paging import Cursor
from redis_sessions.models import CachedRow, PageCacheEntry


def _can_manage(request: HttpRequest) -> bool:
    return request.user.has_perm("redis_sessions.manage_cache")


def _item(request: HttpRequest) -> str:
    """The ``item`` query parameter, if it can be an item id; else 404."""
    try:
        return clean_item_id(request.GET.get("item", ""))
    except ValueError:
        raise Http404("Not an item id") from None


# -- page cache -------------------------------------------------------------------------
@inspection_view("view_redis")
def page_cache_view(request: HttpRequest) -> HttpResponse:
    after = request.GET.get("after", "")
    result = pages.item_pages(int(after) if after.isdigit() else 0)
    if _can_manage(request):
        for row in result.items:
            query = urlencode({"item": row.item})
            row.purge_url = link(request, "page_cache_purge_item", query=query)
            for entry in row.entries:
                entry.purge_url = link(request, "page_cache_purge", entry.digest, query=query)
    context: dict[str, Any] = {
        "page": result,
        "is_first": not after,
        "next_url": f"?after={result.next}" if result.next else None,
    }
    if _can_manage(request):
        context["purge_all_url"] = link(request, "page_cache_purge_all")
    return page(request, "page_cache.html", "Page cache", context)


@inspection_view("manage_cache")
def page_cache_purge_view(request: HttpRequest, digest: str) -> HttpResponse:
    item = _item(request)
    if not pages.DIGEST_RE.fullmatch(digest):
        raise Http404("Not a page digest")
    back = link(request, "page_cache")
    if request.method != "POST":
        question = format_html("Purge the cached page <code>{}</code> of item <code>{}</code>?",
                               digest[:12] + "…", item)  # fmt: skip
        return confirm(request, "Purge a cached page", question, back)
    found = pages.purge_entry(item, digest)
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
    purged = pages.purge_item(item)
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
    purged = pages.purge_all()
    message = f"Purged the page cache ({purged} keys)."
    log(request, PageCacheEntry(key="all"), "deletion", message)
    messages.success(request, message)
    return HttpResponseRedirect(back)


# -- row cache --------------------------------------------------------------------------
@inspection_view("view_redis")
def row_cache_view(request: HttpRequest) -> HttpResponse:
    cursor = Cursor.decode(request.GET.get("after"))
    result = rows.row_page(cursor)
    if _can_manage(request):
        for row in result.rows:
            if row.registered:
                row.refresh_url = link(request, "row_refresh", row.member)
                row.unschedule_url = link(request, "row_unschedule", row.member)
    return page(
        request,
        "row_cache.html",
        "Row cache",
        {
            "page": result,
            "is_first": cursor is None,
            "next_url": f"?after={result.next.encode()}" if result.next else None,
        },
    )


def _row(member: str) -> tuple[Any, Any]:
    try:
        return rows.resolve(member)
    except (LookupError, ValueError):
        raise Http404("Not a row of a row-cached model") from None


@inspection_view("manage_cache")
def row_refresh_view(request: HttpRequest, member: str) -> HttpResponse:
    model, pk = _row(member)
    back = link(request, "row_cache")
    if request.method != "POST":
        question = format_html("Rebuild the cached row <code>{}</code> from the database now?",
                               member)  # fmt: skip
        return confirm(request, "Refresh a cached row", question, back)
    if rows.refresh_row(model, pk):
        log(request, CachedRow(key=member), "change", "Refreshed the row from the database.")
        messages.success(request, f"Row {member} refreshed.")
    else:
        log(request, CachedRow(key=member), "deletion", "The row is gone: unscheduled it.")
        messages.warning(request, f"Row {member} no longer exists; it was unscheduled.")
    return HttpResponseRedirect(back)


@inspection_view("manage_cache")
def row_unschedule_view(request: HttpRequest, member: str) -> HttpResponse:
    model, pk = _row(member)
    back = link(request, "row_cache")
    if request.method != "POST":
        question = format_html("Stop refreshing the row <code>{}</code> and drop its cached "
                               "entry?", member)  # fmt: skip
        return confirm(request, "Unschedule a cached row", question, back)
    rows.unschedule_row(model, pk)
    log(request, CachedRow(key=member), "deletion", "Unscheduled the row and dropped its entry.")
    messages.success(request, f"Row {member} unscheduled.")
    return HttpResponseRedirect(back)
