"""Caching generated pages of popular items: ``cache_request`` (a view decorator),
``PageCacheMiddleware`` (whole site), ``invalidate_page`` and ``invalidate_item``.

The book's ``cache_request``/``can_cache`` with its bugs fixed: a stable key
(``pageentry.digest``), an empty body is a hit, and one worker renders an expired
page while the others serve the stale copy (``caching``).

A page is looked up only for GET/HEAD without ``Authorization`` from a visitor who is
not logged in and has no cart (unless the view is ``public``), and only when its item
ranks in the top ``CACHE_TOP_N`` of ``viewed:`` (an item-less page only with
``itemless=True``). A hit also counts the view (the view does not run), in the same
round trip: one round trip for a visitor without a session cookie, two with one (the
session load that tells whether they are logged in, then the lookup). Redis down: the
page is served uncached and the outage logged once; never a 500 because of the cache.
``pagehit.PageHitMiddleware`` serves the hits of visitors without a session cookie
before the rest of the middleware, and hands its lookup on a miss to ``_before``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import wraps
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

from . import caching, keys, pageentry, scripts
from .conf import app_settings
from .connection import get_redis, run
from .exceptions import RedisUnavailable
from .tracking import COUNTED_ATTR, analytics_ttl, clean_item_id, today, visitor_id

__all__ = [
    "PageCacheMiddleware", "cache_request", "invalidate_item", "invalidate_page", "page_item",
]  # fmt: skip

ItemFunc = Callable[..., object]
ITEM_ATTR = "redis_sessions_page_item"  # set by page_item, read by the middleware
CACHED_ATTR = "redis_sessions_cached"  # cache_request's Options: the middleware skips it
PENDING_ATTR = "_redis_sessions_page"
EARLY_ATTR = "_redis_sessions_early"  # PageHitMiddleware's lookup that found no hit
_outage = caching.OutageLog("page cache")


class Options(NamedTuple):
    """How a view's pages are cached (``cache_request``'s arguments)."""

    item: ItemFunc | None
    timeout: int | None
    public: bool
    itemless: bool


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
    return caching.Target(keys.page(digest), keys.page_lock(digest), keys.viewed_items(),
                          item, True, count_keys, count_args)  # fmt: skip


def _mark(response: HttpResponseBase, state: str) -> HttpResponseBase:
    if app_settings.X_CACHE_HEADER:
        response["X-Cache"] = state
    return response


class _Pending:
    """A page being rendered on a miss: stores the response when the view is done."""

    def __init__(self, target: caching.Target | None, digest: str, timeout: int, token: str):
        self.target, self.digest, self.timeout, self.token = target, digest, timeout, token

    def finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if self.target is None:
            return _mark(response, "bypass")
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
        return _mark(response, "miss" if encoded is not None else "bypass")

    def abandon(self) -> None:
        if self.target is not None and self.token:
            with contextlib.suppress(RedisUnavailable):  # else it expires by itself
                run(get_redis(), [caching.release_command(self.target, self.token)])


_BYPASS = _Pending(None, "", 0, "")


def _before(
    request: HttpRequest, item_fn: ItemFunc | None, args: Any, kwargs: Any, *,
    timeout: int | None, public: bool, itemless: bool,
) -> HttpResponseBase | _Pending:  # fmt: skip
    """A cached response, or the ``_Pending`` that stores what the view renders."""
    early: _Pending | None = request.__dict__.pop(EARLY_ATTR, None)
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
) -> _Pending | tuple[_Pending, caching.Found]:  # fmt: skip
    """The lookup of a page (one round trip): ``_BYPASS`` when the page is not
    cacheable, else ``(pending, found)``. ``anonymous``: the visitor is known to have
    no session (``PageHitMiddleware``, before the session is loaded)."""
    if request.method not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in request.META:
        return _BYPASS
    raw = item_fn(request, *args, **kwargs) if item_fn is not None else None
    if raw is None and not itemless:
        return _BYPASS
    item = "" if raw is None else clean_item_id(raw)
    timeout = app_settings.PAGE_CACHE_TIMEOUT if timeout is None else timeout
    try:
        if not (public or anonymous) and _personal(request):
            return _BYPASS
        digest = pageentry.request_digest(request)
        target = _target(request, digest, item, public)
        found = caching.lookup(target)
        _outage.ok()
    except RedisUnavailable as exc:
        _outage.failed(exc)
        return _BYPASS
    return _Pending(target, digest, timeout, found.token), found


def serve(
    request: HttpRequest, looked: _Pending | tuple[_Pending, caching.Found]
) -> HttpResponseBase | _Pending:
    """The hit's response, or what renders and stores the page (or bypasses it)."""
    if not isinstance(looked, tuple):
        return looked
    pending, found = looked
    if found.state in (caching.COLD, caching.BYPASS):
        return _BYPASS
    if found.servable:
        assert found.meta is not None and found.body is not None
        response = pageentry.decode(request, found.meta, found.body)
        if response is not None:
            return _mark(response, "hit")
    item = pending.target.item if pending.target else ""
    if item and (found.servable or found.state == caching.GONE):
        # a Vary mismatch, or the copy went: counted already, so record_view must not
        setattr(request, COUNTED_ATTR, {item})
    return pending


def cache_request(
    item: ItemFunc | None = None, timeout: int | None = None, *,
    public: bool = False, itemless: bool = False,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:  # fmt: skip
    """Cache a view's page while its item is popular (the book's ``cache_request``).

    ``item(request, *args, **kwargs)`` returns the page's item id, or ``None`` (then
    the page is cached only with ``itemless=True``). ``timeout`` defaults to
    ``PAGE_CACHE_TIMEOUT``. ``public=True`` says the page is the same for everyone,
    so logged-in visitors and visitors with a cart get the cached copy too.
    """

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            before = _before(request, item, args, kwargs, timeout=timeout, public=public,
                             itemless=itemless)  # fmt: skip
            if not isinstance(before, _Pending):
                return before
            try:
                response = view(request, *args, **kwargs)
            except BaseException:
                before.abandon()
                raise
            return before.finish(request, response)

        setattr(wrapped, CACHED_ATTR, Options(item, timeout, public, itemless))
        return wrapped

    return decorator


def page_item(item: ItemFunc) -> Callable[[Any], Any]:
    """Tell ``PageCacheMiddleware`` which item a view's page shows."""

    def decorator(view: Any) -> Any:
        setattr(view, ITEM_ATTR, item)
        return view

    return decorator


class PageCacheMiddleware(MiddlewareMixin):
    """Whole-site page cache. Put it after SessionMiddleware, CsrfViewMiddleware and
    AuthenticationMiddleware. Pages of views marked with ``page_item`` follow the
    popularity rule; other pages are cached as item-less pages (installing the
    middleware opts them in). Views decorated with ``cache_request`` are left to it.
    """

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if getattr(view_func, CACHED_ATTR, False):
            return None
        before = _before(request, getattr(view_func, ITEM_ATTR, None), view_args, view_kwargs,
                         timeout=None, public=False, itemless=True)  # fmt: skip
        if not isinstance(before, _Pending):
            return before
        setattr(request, PENDING_ATTR, before)
        return None

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        pending: _Pending | None = getattr(request, PENDING_ATTR, None)
        return response if pending is None else pending.finish(request, response)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        pending: _Pending | None = getattr(request, PENDING_ATTR, None)
        if pending is not None:
            pending.abandon()
            delattr(request, PENDING_ATTR)


def invalidate_page(page: str | HttpRequest) -> int:
    """Drop the cached GET and HEAD copies of a page, given by an absolute URL or a
    request for it; returns how many were dropped."""
    if isinstance(page, HttpRequest):
        where = (page.scheme or "http", page.get_host(), page.path,
                 page.META.get("QUERY_STRING", ""))  # fmt: skip
        languages = sorted({"", pageentry.page_language()})  # its own, and the default
        digests = [pageentry.digest(m, *where, language)
                   for m in ("GET", "HEAD") for language in languages]  # fmt: skip
    else:
        url = urlsplit(page)
        if not url.scheme or not url.netloc:
            raise ValueError(f"invalidate_page needs an absolute URL or a request, not {page!r}.")
        path = pageentry.url_path(url.path)  # "/a%2A/" is the page Django sees as "/a*/"
        where = (url.scheme, url.netloc, path, url.query)
        languages = pageentry.other_languages()
        digests = [pageentry.digest(m, *where, language)
                   for m in ("GET", "HEAD") for language in languages]  # fmt: skip
    return int(run(get_redis(), [("DEL", *(keys.page(d) for d in digests))])[0])


def invalidate_item(item_id: object) -> int:
    """Drop every cached page of an item (one round trip); returns how many."""
    item = clean_item_id(item_id)
    command = scripts.get("cache_invalidate_item").command([keys.item_pages(item)], [keys.page("")])
    return int(run(get_redis(), [command])[0])
