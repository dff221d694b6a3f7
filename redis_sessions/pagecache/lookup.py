"""The page cache's lookup, shared by ``cache_request`` and ``PageCacheMiddleware``
(``decorator``) and by ``PageHitMiddleware`` (``middleware``): the rules that say
whether a request may get a cached page, the one-round-trip lookup, the hit's
response, and the ``Pending`` page that a miss renders and stores. ``alookup`` is the
same for async views.

Every lookup counts the request's view of the page's item (in its round trip, whatever
it finds), so ``cache_request`` alone makes an item popular; the view's own
``record_view`` of that item then counts nothing. A request bypassed before any lookup
(an ``Authorization`` header, a parameter the view does not allow, a logged-in visitor
whose session is loaded already) is counted by ``record_view``, which rides on the
session's round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from redis_sessions import keys
from redis_sessions.analytics.counting import (
    analytics_ttl,
    clean_item_id,
    client_id,
    is_counted,
    mark_counted,
    record_view,
    today,
    visitor_id,
)
from redis_sessions.conf import app_settings
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.pagecache import engine as caching
from redis_sessions.pagecache import entry as pageentry
from redis_sessions.pagecache.bypass import mark
from redis_sessions.pagecache.pending import Pending, bypass, outage

__all__ = [
    "CACHED_ATTR", "EARLY_ATTR", "ITEM_ATTR", "ItemFunc", "Options", "Pending", "Plan",
    "before", "bypass", "count_view", "look_up", "plan", "serve", "site_wide_options",
]  # fmt: skip

ItemFunc = Callable[..., object]
ITEM_ATTR = "redis_sessions_page_item"  # set by page_item, read by the middleware
CACHED_ATTR = "redis_sessions_cached"  # cache_request's Options: the middleware skips it
EARLY_ATTR = "_redis_sessions_early"  # PageHitMiddleware's lookup that found no hit


class Options(NamedTuple):
    """How a view's pages are cached (``cache_request``'s arguments, and the view it
    returned: a decorator put around that view copies the attribute, but its work,
    such as ``never_cache``'s headers, is then part of every hit)."""

    item: ItemFunc | None
    timeout: int | None
    public: bool
    itemless: bool
    view: Any = None
    query: frozenset[str] = frozenset()  # the query parameters a cached page may have


def site_wide_options(view: Any) -> Options:
    """How ``PageCacheMiddleware`` caches a view's pages (item-less unless
    ``page_item`` says otherwise)."""
    item, allowed = getattr(view, ITEM_ATTR, (None, frozenset()))
    return Options(item, None, False, True, None, allowed)


class Plan(NamedTuple):
    """A request that passed the rules that need no round trip."""

    item: str
    timeout: int
    together: bool  # the session is not loaded: load it with a peek
    ask_first: bool  # whether the visitor's page is their own is asked before the lookup


def plan(request: HttpRequest, options: Options, raw: object, *, anonymous: bool) -> Pending | Plan:
    """The rules that need no round trip, given the item function's ``raw`` answer
    (the method is checked before it is called). ``anonymous``: the visitor is known
    to have no session (``PageHitMiddleware``, before the session is loaded)."""
    if raw is None and not options.itemless:
        return bypass("no-item")
    item = "" if raw is None else clean_item_id(raw)
    if "HTTP_AUTHORIZATION" in request.META:
        return bypass("authorization", item)
    if not pageentry.allowed_query(request.META.get("QUERY_STRING", ""), options.query):
        return bypass("query", item)
    timeout = app_settings.PAGE_CACHE_TIMEOUT if options.timeout is None else options.timeout
    # A session not loaded yet is loaded in the lookup's round trip (the view would
    # load it anyway when it is not served from the cache).
    together = not (options.public or anonymous) and _loads_with(getattr(request, "session", None))
    return Plan(item, timeout, together, not (options.public or anonymous or together))


def _loads_with(session: Any) -> bool:
    """A session of this app's engine, with a key, whose data is not loaded yet."""
    return (
        getattr(session, "load_with", None) is not None
        and session.session_key is not None
        and not session.is_loaded
    )


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


def target(request: HttpRequest, digest: str, item: str, public: bool) -> caching.Target:
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None) or ""
    day, window = today(), app_settings.VIEW_WINDOW
    # the view is counted by the first lookup of the request only
    count = 0 if (not item or is_counted(request, item)) else 1
    # the client's seen key is only read when the view counts in a window (its place
    # is kept otherwise: the session's keys follow it)
    by_client = client_id(request, day) if count and window else ""
    count_keys = [keys.daily_views(day), keys.item_visitors(item, day),
                  keys.view_seen(by_client, item)]  # fmt: skip
    if session_key:
        count_keys += [*keys.session_keys(session_key), keys.view_seen(session_key, item)]
    visitor = session_key or visitor_id(request, day)
    count_args = [count, visitor, analytics_ttl(), app_settings.VIEWED_LIMIT, session_key,
                  0 if public else 1, window]  # fmt: skip
    return caching.Target(keys.page(digest), keys.page_lock(digest), keys.viewed_items(), item,
                          True, count_keys, count_args)  # fmt: skip


def counted(request: HttpRequest, looked: caching.Target) -> None:
    """The lookup of ``looked`` counted the view (its script does whatever it finds)."""
    if looked.item and looked.count_args and looked.count_args[0]:
        mark_counted(request, looked.item)


def early_fits(request: HttpRequest, early: Pending, options: Options, personal: bool) -> bool:
    """Whether ``PageHitMiddleware``'s lookup still fits the request at the view."""
    return (options.public or not personal) and early.digest == pageentry.request_digest(request)


def before(
    request: HttpRequest, options: Options, args: Any, kwargs: Any
) -> HttpResponseBase | Pending:
    """A cached response, or the ``Pending`` that stores what the view renders."""
    early: Pending | None = request.__dict__.pop(EARLY_ATTR, None)
    if early is not None and early.target is not None:  # PageHitMiddleware's, no hit
        if early_fits(request, early, options, _personal(request)):
            return early
        early.abandon()  # something between changed the page or the visitor: afresh
        early = None
    result = early or serve(request, look_up(request, options, args, kwargs))
    if isinstance(result, Pending) and result.uncounted:
        count_view(request, result.uncounted)
        result.uncounted = ""
    return result


def count_view(request: HttpRequest, item: str) -> None:
    """Count a view no lookup counted: ``record_view`` (on the session's round trip
    when ``RedisSessionsMiddleware`` queues it); the view's own counts nothing."""
    try:
        record_view(request, item)
    except RedisUnavailable as exc:
        outage.failed(exc)
        return
    mark_counted(request, item)


def look_up(
    request: HttpRequest, options: Options, args: Any, kwargs: Any, *, anonymous: bool = False
) -> Pending | tuple[Pending, caching.Found]:
    """The lookup of a page (one round trip): a bypass when the page is not
    cacheable, else ``(pending, found)``."""
    if request.method not in ("GET", "HEAD"):
        return bypass("method")
    item_fn = options.item
    if item_fn is not None and iscoroutinefunction(item_fn):  # an async view's, early
        item_fn = async_to_sync(item_fn)
    raw = item_fn(request, *args, **kwargs) if item_fn is not None else None
    planned = plan(request, options, raw, anonymous=anonymous)
    if isinstance(planned, Pending):
        return planned
    item = planned.item
    try:
        if planned.ask_first and _personal(request):
            return bypass("session", item)
        digest = pageentry.request_digest(request)
        looked = target(request, digest, item, options.public)
        if planned.together:
            # A peek: no lock for a visitor who may turn out not to be allowed the page.
            found = caching.peek(looked, send=request.session.load_with)  # type: ignore[attr-defined]
            counted(request, looked)
            if _personal(request):  # no round trip now: the session is loaded
                return bypass("session")
            if found.state == caching.MISS:  # anonymous after all: look up to render
                found = caching.lookup(caching.uncounted(looked))
        else:
            found = caching.lookup(looked)
            counted(request, looked)
        outage.ok()
    except RedisUnavailable as exc:
        outage.failed(exc)
        return bypass("unavailable")
    return Pending(looked, digest, planned.timeout, found.token), found


def serve(
    request: HttpRequest, looked: Pending | tuple[Pending, caching.Found]
) -> HttpResponseBase | Pending:
    """The hit's response, or what renders and stores the page (or bypasses it)."""
    if not isinstance(looked, tuple):
        return looked
    pending, found = looked
    if found.state == caching.COLD:
        return bypass("cold")
    if found.state == caching.BYPASS:
        return bypass("cart")
    if found.servable:
        assert found.meta is not None and found.body is not None
        response = pageentry.decode(request, found.meta, found.body)
        if response is not None:
            return mark(response, "hit")
    return pending  # a miss, or a Vary mismatch: the view renders
