"""Caching generated pages of popular items: ``cache_request`` (a view decorator),
``PageCacheMiddleware`` (whole site), ``invalidate_page`` and ``invalidate_item``.

The book's ``cache_request``/``can_cache`` with its bugs fixed: a stable key
(``pageentry.digest``), an empty body is a hit, and one worker renders an expired
page while the others serve the stale copy (``caching``).

A page is looked up only for GET/HEAD without ``Authorization`` from a visitor who is
not logged in and has no cart (unless the view is ``public``), and only when its item
ranks in the top ``CACHE_TOP_N`` of ``viewed:`` (an item-less page only with
``itemless=True``), and only with the query parameters the view allows. The lookup
counts the view (hit or not) in its round trip: a hit is one round trip, with or
without a session cookie (a session not loaded yet loads in the lookup's round trip;
a visitor it shows to be logged in or holding data then gets a fresh page, the view
counted once). Redis down: the page is served uncached and the outage logged once;
never a 500 because of the cache. ``middleware.PageHitMiddleware`` serves the hits of
visitors without a session cookie before the rest of the middleware; the lookup
itself is ``lookup``'s (``alookup``'s for an ``async def`` view).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

from redis_sessions import keys
from redis_sessions.analytics.counting import clean_item_id
from redis_sessions.connection import get_redis, run
from redis_sessions.pagecache import alookup, follow
from redis_sessions.pagecache import entry as pageentry
from redis_sessions.pagecache import lookup as pagelookup
from redis_sessions.pagecache.follow import ModelLinks
from redis_sessions.pagecache.lookup import (
    CACHED_ATTR,
    ITEM_ATTR,
    ItemFunc,
    Options,
    Pending,
    site_wide_options,
)
from redis_sessions.pagecache.scripts import CACHE_INVALIDATE_ITEM

__all__ = [
    "PageCacheMiddleware", "cache_request", "invalidate_item", "invalidate_page", "page_item",
]  # fmt: skip

PENDING_ATTR = "_redis_sessions_page"
#: A view, sync or async: the decorated view keeps its type.
View = TypeVar("View", bound=Callable[..., Any])


def cache_request(
    item: ItemFunc | None = None, timeout: int | None = None, *,
    public: bool = False, itemless: bool = False, query: Iterable[str] = (),
    model: ModelLinks | None = None,
) -> Callable[[View], View]:  # fmt: skip
    """Cache a view's page while its item is popular (the book's ``cache_request``),
    and count the view of that item.

    ``item(request, *args, **kwargs)`` returns the page's item id, or ``None`` (then
    the page is cached only with ``itemless=True``). ``timeout`` defaults to
    ``PAGE_CACHE_TIMEOUT``. ``public=True`` says the page is the same for everyone,
    so logged-in visitors and visitors with a cart get the cached copy too.
    ``query`` names the query parameters a cached page may have (sorted in its key);
    a request with any other parameter is served uncached (none allowed by default).
    ``model`` links the pages to the data they show (``follow``): a model whose saved
    or deleted row (its ``pk``) is the item, or ``(model, attribute or callable)``
    naming the item of a row, or a list of those; the item's pages are dropped after
    the write commits.
    """
    allowed = query_names(query)
    if model is not None:
        follow.link_pages(model)

    def decorator(view: View) -> View:
        if iscoroutinefunction(view):
            return cast(View, _async(view))

        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            before = pagelookup.before(request, options, args, kwargs)
            if not isinstance(before, Pending):
                return before
            try:
                response = view(request, *args, **kwargs)
            except BaseException:
                before.abandon()
                raise
            return before.finish(request, response)

        options = Options(item, timeout, public, itemless, wrapped, allowed)
        setattr(wrapped, CACHED_ATTR, options)
        return cast(View, wrapped)

    def _async(view: Callable[..., Awaitable[HttpResponseBase]]) -> Callable[..., Any]:
        # An async view gets an async wrapper (Django then awaits it), with the lookup
        # and the store on the asyncio client: no Redis call hops to a thread.
        @wraps(view)
        async def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            before = await alookup.abefore(request, options, args, kwargs)
            if not isinstance(before, Pending):
                return before
            try:
                response = await view(request, *args, **kwargs)
            except BaseException:
                await before.aabandon()
                raise
            return await before.afinish(request, response)

        options = Options(item, timeout, public, itemless, wrapped, allowed)
        setattr(wrapped, CACHED_ATTR, options)
        return wrapped

    return decorator


def query_names(query: Iterable[str]) -> frozenset[str]:
    """``query`` as a set of parameter names; ``TypeError`` for a lone string (whose
    letters would each be a name) or for names that are not strings."""
    if isinstance(query, str):
        raise TypeError(f"query must be a tuple of parameter names, not the string {query!r}.")
    names = frozenset(query)
    if not all(isinstance(name, str) for name in names):
        raise TypeError(f"query must name parameters as strings, not {sorted(map(repr, names))}.")
    return names


def page_item(item: ItemFunc | None, *, query: Iterable[str] = ()) -> Callable[[Any], Any]:
    """Tell ``PageCacheMiddleware`` which item a view's page shows (``None``: none),
    and which query parameters its cached pages may have (as ``cache_request``)."""
    allowed = query_names(query)

    def decorator(view: Any) -> Any:
        setattr(view, ITEM_ATTR, (item, allowed))
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
        before = pagelookup.before(request, site_wide_options(view_func), view_args, view_kwargs)
        if not isinstance(before, Pending):
            return before
        setattr(request, PENDING_ATTR, before)
        return None

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        pending: Pending | None = getattr(request, PENDING_ATTR, None)
        return response if pending is None else pending.finish(request, response)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        pending: Pending | None = getattr(request, PENDING_ATTR, None)
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
    command = CACHE_INVALIDATE_ITEM.command([keys.item_pages(item)], [keys.page("")])
    return int(run(get_redis(), [command])[0])
