"""``Pending``: a page the view is rendering on a miss, stored when the view is done;
or a bypass (no target), which says why the page is served uncached.

Shared by the sync lookup (``lookup``) and the async one (``alookup``): ``finish`` and
``afinish`` store the same command, on the sync or the asyncio client.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from redis_sessions import keys
from redis_sessions.conf import app_settings
from redis_sessions.connection import arun, get_async_redis, get_redis, run
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.pagecache import engine as caching
from redis_sessions.pagecache import entry as pageentry
from redis_sessions.pagecache.bypass import mark

outage = caching.OutageLog("page cache")


class Pending:
    """A page being rendered on a miss: stores the response when the view is done.
    Without a ``target`` it is a bypass: ``reason`` says why, and ``uncounted`` names
    an item whose view no lookup counted (``before`` counts it)."""

    def __init__(
        self, target: caching.Target | None, digest: str, timeout: int, token: str,
        reason: str = "", uncounted: str = "",
    ) -> None:  # fmt: skip
        self.target, self.digest, self.timeout, self.token = target, digest, timeout, token
        self.reason, self.uncounted = reason, uncounted

    def finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if self.target is None:
            return mark(response, "bypass", self.reason)
        reason, command = self._command(request, response)
        try:
            if command is not None and not run(get_redis(), [command])[0] and not reason:
                reason = "variants"  # the item has PAGE_CACHE_MAX_VARIANTS pages
        except RedisUnavailable as exc:
            outage.failed(exc)
            reason = "unavailable"
        return mark(response, "bypass", reason) if reason else mark(response, "miss")

    async def afinish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if self.target is None:
            return mark(response, "bypass", self.reason)
        reason, command = self._command(request, response)
        try:
            if command is not None:
                stored = (await arun(get_async_redis(), [command]))[0]
                if not stored and not reason:
                    reason = "variants"
        except RedisUnavailable as exc:
            outage.failed(exc)
            reason = "unavailable"
        return mark(response, "bypass", reason) if reason else mark(response, "miss")

    def _command(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> tuple[str, tuple[Any, ...] | None]:
        """Why the response is not stored (``""``: it is), and the command to send:
        the store, our lock's release, or none."""
        assert self.target is not None
        reason, encoded = _encoded(request, response, self.target.item)
        if encoded is not None:
            return "", self._store(encoded)
        if self.token:
            return reason, caching.release_command(self.target, self.token)
        return reason, None

    def _store(self, encoded: tuple[bytes, bytes]) -> tuple[Any, ...]:
        assert self.target is not None
        if not self.target.item:  # an item-less page: no set, no cap
            return caching.store_command(self.target, *encoded, self.timeout, self.token)
        return caching.store_command(
            self.target, *encoded, self.timeout, self.token, [keys.item_pages(self.target.item)],
            self.digest, app_settings.PAGE_CACHE_MAX_VARIANTS, keys.page(""),
        )  # fmt: skip

    def abandon(self) -> None:
        if self.target is not None and self.token:
            with contextlib.suppress(RedisUnavailable):  # else it expires by itself
                run(get_redis(), [caching.release_command(self.target, self.token)])

    async def aabandon(self) -> None:
        if self.target is not None and self.token:
            with contextlib.suppress(RedisUnavailable):
                await arun(get_async_redis(), [caching.release_command(self.target, self.token)])


def _encoded(
    request: HttpRequest, response: HttpResponseBase, item: str
) -> tuple[str, tuple[bytes, bytes] | None]:
    """``("", (meta, body))`` to store, or ``(reason, None)`` when it must not be."""
    reason = pageentry.refusal(request, response)
    if reason is not None:
        return reason, None
    if not isinstance(response, HttpResponse):
        return "status", None
    encoded = pageentry.encode(request, response, item)
    return ("csrf", None) if encoded is None else ("", encoded)


def bypass(reason: str, uncounted: str = "") -> Pending:
    """A page served uncached, for ``reason`` (``bypass.REASONS``)."""
    return Pending(None, "", 0, "", reason, uncounted)
