"""The top items page: the most viewed items of ``viewed:`` (scores are minus the view
counts) with a bar chart, their unique visitors today, and one item's 30-day trend.

Three round trips for the page whatever its length: the top items, every item's
unique visitors today (one pipeline of PFCOUNTs), and the 30 daily counts of the one
item whose trend is shown. The charts are SVG built here, server-side: no
JavaScript, and their colours are the admin's CSS variables so they follow the
admin's light/dark theme.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from redis_sessions.analytics import reports as analytics
from redis_sessions.inspection.guard import inspection_view, page, query
from redis_sessions.inspection.ids import item_labels

TOP_N = 100
TREND_DAYS = 30
NO_DATA = "—"


@dataclass
class TopItem:
    rank: int
    item: str
    views: int
    label: str
    unique_today: int | None = None
    sparkline: SafeString | None = None  # only on the item whose trend is shown
    trend_url: str = ""  # set by the view


@dataclass
class Trend:
    """Daily views of one item over the last ``TREND_DAYS`` UTC days, oldest first."""

    item: TopItem
    days: list[tuple[str, int]]
    svg: SafeString

    @property
    def total(self) -> int:
        return sum(n for _, n in self.days)


def top_items(n: int = TOP_N) -> list[TopItem]:
    """The ``n`` most viewed items, most viewed first, with their unique visitors today."""
    scored = analytics.top_items(n)
    labels = item_labels(item for item, _ in scored)
    items = [
        TopItem(rank, item, int(views), labels.get(item, item))
        for rank, (item, views) in enumerate(scored, start=1)
    ]
    analytics_columns(items)
    return items


def analytics_columns(items: list[TopItem]) -> None:
    """Unique visitors today of every item, in one round trip (not one per row)."""
    counts = analytics.unique_visitors_many([i.item for i in items])
    for item, count in zip(items, counts, strict=True):
        item.unique_today = count


def trend(items: list[TopItem], item_id: str | None = None) -> Trend | None:
    """The daily views of ``item_id`` (one of ``items``; the first by default), one
    round trip; its row gets the sparkline too."""
    chosen = next((i for i in items if i.item == item_id), items[0] if items else None)
    if chosen is None:
        return None
    days = analytics.views_per_day(chosen.item, TREND_DAYS)
    values = [n for _, n in days]
    chosen.sparkline = sparkline_svg(values)
    return Trend(chosen, days, sparkline_svg(values, width=600, height=60))


def bar_chart_svg(items: list[TopItem], *, width: int = 640, bar: int = 14) -> SafeString:
    """A horizontal bar chart of views, one bar per item, labels escaped."""
    if not items:
        return SafeString("")
    label_w, gap = 180, 4
    most = max(i.views for i in items) or 1
    height = len(items) * (bar + gap)
    rows = []
    for n, item in enumerate(items):
        y = n * (bar + gap)
        w = max(1, round((width - label_w - 60) * item.views / most))
        rows.append((item.label, item.views, y + bar - 3, _short(item.label), label_w, y, w,
                     bar, label_w + w + 4, y + bar - 3, item.views))  # fmt: skip
    body = format_html_join(
        "",
        '<g><title>{}: {} views</title><text x="0" y="{}" class="rs-label">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}" class="rs-bar"></rect>'
        '<text x="{}" y="{}" class="rs-value">{}</text></g>',
        rows,
    )
    return format_html(
        '<svg class="rs-chart" role="img" aria-label="Views of the top items" '
        'viewBox="0 0 {} {}" width="{}" height="{}">{}</svg>',
        width, height, width, height, body,
    )  # fmt: skip


def sparkline_svg(values: list[int], *, width: int = 120, height: int = 24) -> SafeString:
    """A line of daily values, scaled to the largest."""
    if len(values) < 2:
        return SafeString("")
    top = max(values) or 1
    step = width / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - 1 - (height - 2) * v / top:.1f}" for i, v in enumerate(values)
    )
    return format_html(
        '<svg class="rs-spark" viewBox="0 0 {} {}" width="{}" height="{}">'
        '<polyline points="{}" fill="none" class="rs-line"></polyline></svg>',
        width, height, width, height, points,
    )  # fmt: skip


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@inspection_view("view_redis")
def top_items_view(request: HttpRequest) -> HttpResponse:
    top = top_items()
    shown = trend(top, request.GET.get("item"))
    for item in top:
        item.trend_url = query({"item": item.item})
    context = {"items": top, "chart": bar_chart_svg(top), "trend": shown, "no_data": NO_DATA}
    return page(request, "top_items.html", "Top items", context)
