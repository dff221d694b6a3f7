"""The top items of ``viewed:`` (scores are minus the view counts) and their chart.

One round trip. The chart is an SVG built here, server-side: no JavaScript, and its
colours are the admin's CSS variables so it follows the admin's light/dark theme.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .. import keys
from ..conf import app_settings
from ..connection import get_redis, run
from .paging import pairs

TOP_N = 100
NO_DATA = "—"


@dataclass
class TopItem:
    rank: int
    item: str
    views: int
    label: str
    # Filled by the analytics module once it exists (see ``analytics_columns``).
    unique_today: int | None = None
    sparkline: SafeString | None = None


def top_items(n: int = TOP_N) -> list[TopItem]:
    """The ``n`` most viewed items, most viewed first."""
    reply = run(get_redis(), [("ZRANGE", keys.viewed_items(), 0, n - 1, "WITHSCORES")])[0]
    scored = pairs(reply)
    labels = item_labels({item for item, _ in scored})
    items = [
        TopItem(rank, item, int(-score), labels.get(item, item))
        for rank, (item, score) in enumerate(scored, start=1)
    ]
    analytics_columns(items)
    return items


def analytics_columns(items: list[TopItem]) -> None:
    """HOOK(analytics): unique visitors today and a 30-day sparkline per item.

    They come from the analytics module, which is not merged yet; until then the
    columns show "—". Once it lands, fill ``unique_today`` from its daily unique
    counts (one pipeline for the page) and ``sparkline`` with ``sparkline_svg`` of
    the item's ``DAILY_VIEWS_DAYS`` daily views.
    """
    return None


def item_labels(item_ids: set[str]) -> dict[str, str]:
    """``{item id: str(object)}`` from ``CART_MODEL`` (the shop's item model), one query."""
    label = app_settings.CART_MODEL
    if not label or not item_ids:
        return {}
    model = apps.get_model(label)
    try:
        found = model._default_manager.in_bulk(list(item_ids))
    except (ValueError, TypeError):
        return {}
    return {str(pk): str(obj) for pk, obj in found.items()}


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
    """A tiny line of daily values (for the analytics hook)."""
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
