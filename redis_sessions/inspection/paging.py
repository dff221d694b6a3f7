"""Newest-first keyset pagination over a sorted set, with a cursor on scores.

A cursor is ``(score, skip)``: the next page starts at ``score`` (inclusive) after
skipping the ``skip`` members with exactly that score already shown. One
``ZREVRANGEBYSCORE max -inf LIMIT skip n+1`` serves any page at O(log N + n), so the
first and the last page cost the same, and a session touched while someone pages
moves to the top instead of shifting every later page by one (as an offset would).
Members with equal scores come in reverse byte order in Redis and here alike. The
replies are read with ``connection.replies.scored_pairs``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

PAGE_SIZE = 50


@dataclass(frozen=True)
class Cursor:
    score: float
    skip: int = 0

    def encode(self) -> str:
        return f"{self.score!r}_{self.skip}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """The cursor in ``text``, or None (the first page) for a missing or bad one."""
        if not text:
            return None
        score, _, skip = text.partition("_")
        try:
            cursor = cls(float(score), int(skip or 0))
        except ValueError:
            return None
        if cursor.score != cursor.score or cursor.skip < 0:  # NaN or negative
            return None
        return cursor


def page_command(zset: str, cursor: Cursor | None, n: int) -> tuple[Any, ...]:
    """One command: ``n + 1`` members from ``cursor`` (the extra one says "more")."""
    top: Any = "+inf" if cursor is None else repr(cursor.score)
    skip = 0 if cursor is None else cursor.skip
    return ("ZREVRANGEBYSCORE", zset, top, "-inf", "WITHSCORES", "LIMIT", skip, n + 1)


def ascending_page_command(zset: str, cursor: Cursor | None, n: int) -> tuple[Any, ...]:
    """``page_command`` lowest score first (``schedule:``: the next refresh first); the
    same cursors and ``next_cursor`` serve it."""
    low: Any = "-inf" if cursor is None else repr(cursor.score)
    skip = 0 if cursor is None else cursor.skip
    return ("ZRANGEBYSCORE", zset, low, "+inf", "WITHSCORES", "LIMIT", skip, n + 1)


def oldest_command(zset: str, n: int) -> tuple[Any, ...]:
    return ("ZRANGE", zset, 0, n - 1, "WITHSCORES")


def score_time(score: Any) -> datetime | None:
    """A score that is a Unix time (last seen, next refresh...) as a UTC datetime."""
    return None if score is None else datetime.fromtimestamp(float(score), tz=timezone.utc)


def in_memory_page(
    scored: Iterable[tuple[str, float]], cursor: Cursor | None, n: int
) -> list[tuple[str, float]]:
    """The same page as ``page_command`` would give, over pairs already fetched."""
    ordered = sorted(scored, key=lambda p: (p[1], p[0].encode()), reverse=True)
    if cursor is not None:
        ordered = [p for p in ordered if p[1] <= cursor.score][cursor.skip :]
    return ordered[: n + 1]


def next_cursor(fetched: list[tuple[str, float]], cursor: Cursor | None, n: int) -> Cursor | None:
    """The cursor of the page after ``fetched[:n]``, or None when that was the last."""
    if len(fetched) <= n:
        return None
    page = fetched[:n]
    last = page[-1][1]
    skip = sum(1 for _, score in page if score == last)
    if cursor is not None and last == cursor.score:
        skip += cursor.skip  # the whole page sat in the tie group we were skipping into
    return Cursor(last, skip)
