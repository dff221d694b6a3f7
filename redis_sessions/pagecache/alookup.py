"""The page cache's lookup for async views (``cache_request`` on an ``async def``
view): ``lookup``'s rules and round trips on the asyncio client, so no Redis call
hops to a thread.

The item function may be ``async def`` (awaited) or plain (called in the event loop:
it must not query the database then). Whether the visitor is logged in is asked with
``request.auser()``; a session not loaded yet loads in the lookup's round trip.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase

from redis_sessions.analytics.counting import arecord_view, mark_counted
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.pagecache import engine as caching
from redis_sessions.pagecache import entry as pageentry
from redis_sessions.pagecache.lookup import (
    EARLY_ATTR,
    Options,
    counted,
    early_fits,
    plan,
    serve,
    target,
)
from redis_sessions.pagecache.pending import Pending, bypass, outage

__all__ = ["abefore", "alook_up"]


async def _apersonal(request: HttpRequest) -> bool:
    """``lookup._personal`` without sync I/O: ``auser()`` and ``akeys()``."""
    session = getattr(request, "session", None)
    if session is not None and session.session_key is None and not session.modified:
        return False
    auser = getattr(request, "auser", None)
    if auser is not None and (await auser()).is_authenticated:
        return True
    if session is None:
        return False
    akeys = getattr(session, "akeys", None)
    if akeys is None:  # Django 4.2's SessionBase has no async API: its load, in a thread
        return bool(list(await sync_to_async(session.keys)()))
    return bool(list(await akeys()))


async def abefore(
    request: HttpRequest, options: Options, args: Any, kwargs: Any
) -> HttpResponseBase | Pending:
    """``lookup.before`` for async views."""
    early: Pending | None = request.__dict__.pop(EARLY_ATTR, None)
    if early is not None and early.target is not None:
        if early_fits(request, early, options, await _apersonal(request)):
            return early
        await early.aabandon()
        early = None
    result = early or serve(request, await alook_up(request, options, args, kwargs))
    if isinstance(result, Pending) and result.uncounted:
        await acount_view(request, result.uncounted)
        result.uncounted = ""
    return result


async def acount_view(request: HttpRequest, item: str) -> None:
    """``lookup.count_view`` for async views."""
    try:
        await arecord_view(request, item)
    except RedisUnavailable as exc:
        outage.failed(exc)
        return
    mark_counted(request, item)


async def alook_up(
    request: HttpRequest, options: Options, args: Any, kwargs: Any, *, anonymous: bool = False
) -> Pending | tuple[Pending, caching.Found]:
    """``lookup.look_up`` for async views: the same rules, the same round trips."""
    if request.method not in ("GET", "HEAD"):
        return bypass("method")
    item_fn = options.item
    raw = None if item_fn is None else item_fn(request, *args, **kwargs)
    if item_fn is not None and iscoroutinefunction(item_fn):
        raw = await raw  # type: ignore[misc]
    planned = plan(request, options, raw, anonymous=anonymous)
    if isinstance(planned, Pending):
        return planned
    item = planned.item
    try:
        if planned.ask_first and await _apersonal(request):
            return bypass("session", item)
        digest = pageentry.request_digest(request)
        looked = target(request, digest, item, options.public)
        if planned.together:
            # _loads_with: this app's store, whose aload_with sends both at once
            found = await caching.apeek(looked, request.session.aload_with)  # type: ignore[attr-defined]
            counted(request, looked)
            if await _apersonal(request):
                return bypass("session")
            if found.state == caching.MISS:
                found = await caching.alookup(caching.uncounted(looked))
        else:
            found = await caching.alookup(looked)
            counted(request, looked)
        outage.ok()
    except RedisUnavailable as exc:
        outage.failed(exc)
        return bypass("unavailable")
    return Pending(looked, digest, planned.timeout, found.token), found
