"""The row-cache page and its actions: scheduled rows, refresh now, unschedule.

A page is a page of ``schedule:`` (member -> time of the next refresh), the next
refresh first, with a cursor on the scores (``paging``), 50 a page: two round trips
wherever it is (the page with the total, then every row's delay and entry TTL in one
pipeline), so it stays as fast with a million scheduled rows as with ten.

Reading needs ``view_redis``; the actions need ``manage_cache`` and are a confirmation
page on GET and a CSRF-checked POST that acts, records a ``LogEntry`` and returns with
a message. They go through the row cache's own API, so they keep its guarantees (the
version bump that refuses stale fills, the schedule's invariants), and only for a
member whose pk the model can have (``ids``): any other is a 404 before Redis or the
database is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from django.apps import apps
from django.contrib import messages
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html

from redis_sessions import keys
from redis_sessions.connection import get_redis, run
from redis_sessions.connection.replies import scored_pairs
from redis_sessions.inspection.guard import can, confirm, inspection_view, link, log, page
from redis_sessions.inspection.ids import pk_value
from redis_sessions.inspection.paging import PAGE_SIZE, Cursor, ascending_page_command, next_cursor
from redis_sessions.models import CachedRow
from redis_sessions.rowcache import get_row, invalidate, schedule_row_cache
from redis_sessions.rowcache.registry import NotRegistered, lookup, table


@dataclass
class ScheduledRow:
    member: str
    label: str
    pk: str
    next_refresh: datetime
    delay: float | None  # None: not in delay: (cache_rows removes such a row)
    entry_ttl: int | None  # seconds; None: no entry cached now
    registered: bool  # False: the model is not row-cached any more
    refresh_url: str = ""  # set by the view
    unschedule_url: str = ""

    @property
    def due_in(self) -> float:
        """Seconds until the next refresh (negative: overdue)."""
        return self.next_refresh.timestamp() - datetime.now(timezone.utc).timestamp()


@dataclass
class RowPage:
    rows: list[ScheduledRow]
    total: int
    next: Cursor | None


def split(member: str) -> tuple[str, str]:
    """``(label, pk)`` of a ``schedule:`` member (``app.model:pk``; a pk may hold ``:``)."""
    label, _, pk = member.partition(":")
    return label, pk


def row_page(cursor: Cursor | None = None, *, n: int = PAGE_SIZE) -> RowPage:
    """Scheduled rows, the next refresh first."""
    schedule = keys.row_schedule()
    client = get_redis()
    total, reply = run(client, [("ZCARD", schedule), ascending_page_command(schedule, cursor, n)])
    fetched = scored_pairs(reply)
    page = fetched[:n]
    rows: list[ScheduledRow] = []
    if page:
        members = [m for m, _ in page]
        replies = run(client, [("ZMSCORE", keys.row_delay(), *members),
                               *(("PTTL", keys.row(*split(m))) for m in members)])  # fmt: skip
        registered = table()
        for (member, score), delay, pttl in zip(page, replies[0], replies[1:], strict=True):
            label, pk = split(member)
            rows.append(ScheduledRow(
                member, label, pk, datetime.fromtimestamp(score, tz=timezone.utc),
                None if delay is None else float(delay),
                # PTTL is -2 for no entry; -1 (no TTL) cannot happen for an entry we wrote
                max(0, int(pttl) // 1000) if int(pttl) >= 0 else None,
                label in registered,
            ))  # fmt: skip
    return RowPage(rows, int(total), next_cursor(fetched, cursor, n))


def resolve(member: str) -> tuple[type[Model], Any]:
    """The model and primary key a member names; ``LookupError`` when the model does
    not exist or is not row-cached, ``ValueError`` for a pk the model cannot have
    (``ids.pk_value``: malformed, out of its database's range, or not as written)."""
    label, pk = split(member)
    try:
        model = apps.get_model(label)
    except ValueError:  # not "app.model"
        raise LookupError(f"{label!r} is not a model label.") from None
    try:
        lookup(model)
    except NotRegistered as exc:
        raise LookupError(str(exc)) from None
    return model, pk_value(model, pk)


def refresh_row(model: type[Model], pk: Any) -> bool:
    """Rebuild the row's entry from the database now; False if the row is gone (it is
    then unscheduled and its entry dropped).

    The row cache's invalidation (version bumped, entry dropped, a scheduled row made
    due) then its read-through fill (compare-and-set on the version), exactly what a
    write followed by a read does: 2 round trips for the invalidation and the read,
    one more for the fill, plus the query. Being due, the row is refreshed again by
    the next ``cache_rows`` pass, which puts it back on its delay.
    """
    invalidate(model, pk)
    try:
        get_row(model, pk)
    except model.DoesNotExist:  # type: ignore[attr-defined]
        invalidate(model, pk, deleted=True)
        return False
    return True


def unschedule_row(model: type[Model], pk: Any) -> None:
    """Stop refreshing the row and drop its entry (``schedule_row_cache(delay=0)``)."""
    schedule_row_cache(model, pk, delay=0)


@inspection_view("view_redis")
def row_cache_view(request: HttpRequest) -> HttpResponse:
    cursor = Cursor.decode(request.GET.get("after"))
    result = row_page(cursor)
    if can(request, "manage_cache"):
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


def _row(member: str) -> tuple[type[Model], Any]:
    """The scheduled row ``member`` names (the page lists no other), else 404."""
    try:
        model, pk = resolve(member)
    except (LookupError, ValueError):
        raise Http404("Not a row of a row-cached model") from None
    if run(get_redis(), [("ZSCORE", keys.row_schedule(), member)])[0] is None:
        raise Http404("Not a scheduled row (unscheduled meanwhile?)")
    return model, pk


@inspection_view("manage_cache")
def row_refresh_view(request: HttpRequest, member: str) -> HttpResponse:
    model, pk = _row(member)
    back = link(request, "row_cache")
    if request.method != "POST":
        question = format_html("Rebuild the cached row <code>{}</code> from the database now?",
                               member)  # fmt: skip
        return confirm(request, "Refresh a cached row", question, back)
    if refresh_row(model, pk):
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
    unschedule_row(model, pk)
    log(request, CachedRow(key=member), "deletion", "Unscheduled the row and dropped its entry.")
    messages.success(request, f"Row {member} unscheduled.")
    return HttpResponseRedirect(back)
