"""The page cache's lookup, shared by ``cache_request`` and ``PageCacheMiddleware``
(``pagecache``) and by ``PageHitMiddleware`` (``pagehit``): the rules that say whether a
request may get a cached page, the one-round-trip lookup, the hit's response, and the
``Pending`` page that a miss renders and stores.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, NamedTuple

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from redis_sessions import keys
from redis_sessions.analytics.counting import (
    COUNTED_ATTR,
    analytics_ttl,
    clean_item_id,
    today,
    visitor_id,
)
from redis_sessions.conf import app_settings
from redis_sessions.connection import get_redis, run
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.pagecache import engine as caching
from redis_sessions.pagecache import entry as pageentry

ItemFunc = Callable[..., object]
ITEM_ATTR = "redis_sessions_page_item"  # set by page_item, read by the middleware
CACHED_ATTR = "redis_sessions_cached"  # cache_request's Options: the middleware skips it
EARLY_ATTR = "_redis_sessions_early"  # PageHitMiddleware's lookup that found no hit
_outage = caching.OutageLog("page cache")


class Options(NamedTuple):
    """How a view's pages are cached (``cache_request``'s arguments, and the view it
    returned: a decorator put around that view copies the attribute, but its work,
    such as ``never_cache``'s headers, is then part of every hit)."""

    item: ItemFunc | None
    timeout: int | None
    public: bool
    itemless: bool
    view: Any = None


def _personal(request: HttpRequest) -> bool:
    """Whether the page may depend on who the visitor is: logged in, or a session that
    holds data (a view may show it, and the copy would then be someone's page)."""
    session = getattr(request, "session", None)
    if session is not None and session.session_key is None and not session.modified:
        return False  # no session cookie and no login in this request: anonymous
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:  # loads the session when there is one
        return True
    return session is not None and bool(list(session.keys()))


def _target(request: HttpRequest, digest: str, item: str, public: bool) -> caching.Target:
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None) or ""
    day = today()
    count_keys = [keys.daily_views(day), keys.item_visitors(item, day)]
    if session_key:
        count_keys += keys.session_keys(session_key)
    visitor = session_key or visitor_id(request, day)
    count_args = [1, visitor, analytics_ttl(), app_settings.VIEWED_LIMIT, session_key,
                  0 if public else 1]  # fmt: skip
    viewed, others = caching.popularity_keys(item)
    return caching.Target(keys.page(digest), keys.page_lock(digest), viewed, item, True,
                          count_keys, count_args, others)  # fmt: skip


def mark(response: HttpResponseBase, state: str) -> HttpResponseBase:
    if app_settings.X_CACHE_HEADER:
        response["X-Cache"] = state
    return response


class Pending:
    """A page being rendered on a miss: stores the response when the view is done."""

    def __init__(self, target: caching.Target | None, digest: str, timeout: int, token: str):
        self.target, self.digest, self.timeout, self.token = target, digest, timeout, token

    def finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if self.target is None:
            return mark(response, "bypass")
        encoded = None
        if pageentry.refusal(request, response) is None and isinstance(response, HttpResponse):
            encoded = pageentry.encode(request, response, self.target.item)
        try:
            if encoded is not None:
                item_set = keys.item_pages(self.target.item) if self.target.item else None
                store = caching.store_command(
                    self.target, *encoded, self.timeout, self.token, item_set, self.digest
                )
                run(get_redis(), [store])
            elif self.token:
                run(get_redis(), [caching.release_command(self.target, self.token)])
        except RedisUnavailable as exc:
            _outage.failed(exc)
        return mark(response, "miss" if encoded is not None else "bypass")

    def abandon(self) -> None:
        if self.target is not None and self.token:
            with contextlib.suppress(RedisUnavailable):  # else it expires by itself
                run(get_redis(), [caching.release_command(self.target, self.token)])


BYPASS = Pending(None, "", 0, "")


def before(
    request: HttpRequest, item_fn: ItemFunc | None, args: Any, kwargs: Any, *,
    timeout: int | None, public: bool, itemless: bool,
) -> HttpResponseBase | Pending:  # fmt: skip
    """A cached response, or the ``Pending`` that stores what the view renders."""
    early: Pending | None = request.__dict__.pop(EARLY_ATTR, None)
    if early is not None:  # PageHitMiddleware looked it up already (no hit)
        if early.target is None:
            return early
        if (public or not _personal(request)) and early.digest == pageentry.request_digest(request):
            return early
        early.abandon()  # something between changed the page or the visitor: afresh
    return serve(request, look_up(request, item_fn, args, kwargs, timeout=timeout,
                                  public=public, itemless=itemless))  # fmt: skip


def look_up(
    request: HttpRequest, item_fn: ItemFunc | None, args: Any, kwargs: Any, *,
    timeout: int | None, public: bool, itemless: bool, anonymous: bool = False,
) -> Pending | tuple[Pending, caching.Found]:  # fmt: skip
    """The lookup of a page (one round trip): ``BYPASS`` when the page is not
    cacheable, else ``(pending, found)``. ``anonymous``: the visitor is known to have
    no session (``PageHitMiddleware``, before the session is loaded)."""
    if request.method not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in request.META:
        return BYPASS
    raw = item_fn(request, *args, **kwargs) if item_fn is not None else None
    if raw is None and not itemless:
        return BYPASS
    item = "" if raw is None else clean_item_id(raw)
    timeout = app_settings.PAGE_CACHE_TIMEOUT if timeout is None else timeout
    session = getattr(request, "session", None)
    # A session not loaded yet is loaded in the lookup's round trip (the view would
    # load it anyway when it is not served from the cache).
    together = not (public or anonymous) and _loads_with(session)
    try:
        if not (public or anonymous or together) and _personal(request):
            return BYPASS
        digest = pageentry.request_digest(request)
        target = _target(request, digest, item, public)
        if together:
            # A peek: no lock for a visitor who may turn out not to be allowed the page.
            found = caching.peek(target, send=session.load_with)  # type: ignore[union-attr]
            if _personal(request):  # no round trip now: the session is loaded
                if target.item and (found.servable or found.state == caching.GONE):
                    # counted already: the fresh page's record_view must not count it
                    setattr(request, COUNTED_ATTR, {target.item})
                return BYPASS
            if found.state == caching.MISS:  # anonymous after all: look up to render
                found = caching.lookup(target)
        else:
            found = caching.lookup(target)
        _outage.ok()
    except RedisUnavailable as exc:
        _outage.failed(exc)
        return BYPASS
    return Pending(target, digest, timeout, found.token), found


def _loads_with(session: Any) -> bool:
    """A session of this app's engine, with a key, whose data is not loaded yet."""
    return (
        getattr(session, "load_with", None) is not None
        and session.session_key is not None
        and not session.is_loaded
    )


def serve(
    request: HttpRequest, looked: Pending | tuple[Pending, caching.Found]
) -> HttpResponseBase | Pending:
    """The hit's response, or what renders and stores the page (or bypasses it)."""
    if not isinstance(looked, tuple):
        return looked
    pending, found = looked
    if found.state in (caching.COLD, caching.BYPASS):
        return BYPASS
    if found.servable:
        assert found.meta is not None and found.body is not None
        response = pageentry.decode(request, found.meta, found.body)
        if response is not None:
            return mark(response, "hit")
    item = pending.target.item if pending.target else ""
    if item and (found.servable or found.state == caching.GONE):
        # a Vary mismatch, or the copy went: counted already, so record_view must not
        setattr(request, COUNTED_ATTR, {item})
    return pending
