"""``record_view``: the book's view tracking (``update_token`` with an item).

Per session: ``viewed:{KEY}``, the newest ``VIEWED_LIMIT`` items viewed. Globally:
``ZINCRBY viewed: -1 item``, the popularity table (lower score = more popular), and
for ``analytics``: the item's views that UTC day (``views:{DAY}``) and its distinct
visitors that day (a HyperLogLog, ``visitors:{DAY}:{ITEM}``), both kept
``DAILY_VIEWS_DAYS``. A visitor is its session key or, without a session, a keyed
hash of day, client and user agent (``visitor_id``): never the raw address.

The two popularity counters (``viewed:`` and ``views:{DAY}``) count a visitor's view
of an item once per ``VIEW_WINDOW`` seconds (``view_count.lua``: ``SET seen NX EX``,
then the counts, in the view's own round trip). There the visitor is the session when
the request brought one Redis holds, else the client alone (``client_id``: a keyed
hash of day and client, no user agent, so a varied User-Agent is no new visitor). The
client is ``REMOTE_ADDR``, or what the ``VISITOR_ID`` callable returns.

Round trips: during a request (``RedisSessionsMiddleware`` installed) a view is queued
on the session store and rides along with the session's next round trip (its load or
its save); whatever is still queued when the response leaves goes in one pipeline.
Outside a request it costs exactly one round trip. ``arecord_view`` is its twin for
async views (the asyncio client, no thread).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.module_loading import import_string

from redis_sessions import keys
from redis_sessions.analytics.scripts import SESSION_VIEWED, VIEW_COUNT
from redis_sessions.conf import app_settings
from redis_sessions.connection import arun, get_async_redis, get_redis, run
from redis_sessions.connection.integrity import settle
from redis_sessions.connection.scripts import Command

#: Set on the request by RedisSessionsMiddleware: views may be queued.
QUEUE_ATTR = "_redis_sessions_queue_views"
#: Set on the request by the page cache: item ids whose view it already counted.
COUNTED_ATTR = "_redis_sessions_counted_views"
DAY = 86400
logger = logging.getLogger("redis_sessions.analytics")


def today(now: float | None = None) -> str:
    """The UTC day of ``now`` as ``YYYYMMDD`` (the day part of analytics keys)."""
    return time.strftime("%Y%m%d", time.gmtime(time.time() if now is None else now))


def analytics_ttl() -> int:
    """Seconds a day's analytics keys live: ``DAILY_VIEWS_DAYS`` whole days after it."""
    return (app_settings.DAILY_VIEWS_DAYS + 1) * DAY


def client_address(request: HttpRequest) -> str:
    """Who sent the request, by default: its ``REMOTE_ADDR`` (the TCP peer; behind a
    proxy that is the proxy: see ``VISITOR_ID``)."""
    return str(request.META.get("REMOTE_ADDR", ""))


@functools.lru_cache(maxsize=8)
def _client_function(path: str) -> Callable[[HttpRequest], object]:
    # Keyed by the dotted path itself, so a changed setting is simply another entry.
    function: Callable[[HttpRequest], object] = import_string(path)
    return function


def client_identity(request: HttpRequest) -> str:
    """The client behind ``request``: what the ``VISITOR_ID`` callable returns, or
    ``REMOTE_ADDR`` when it is unset. ``ImproperlyConfigured`` when it returns no str."""
    path = app_settings.VISITOR_ID
    if path is None:
        address = client_address(request)
        if not address or "HTTP_X_FORWARDED_FOR" in request.META:
            _warn_proxy()
        return address
    identity = _client_function(path)(request)
    if not isinstance(identity, str):
        raise ImproperlyConfigured(
            f"REDIS_SESSIONS['VISITOR_ID'] ({path}) returned a {type(identity).__name__}; "
            "it must return the client as a str (e.g. its address)."
        )
    return identity


@functools.cache
def _warn_proxy() -> None:
    """Once per process: the request looks proxied while ``VISITOR_ID`` is unset."""
    logger.warning(
        "A request came with X-Forwarded-For or without REMOTE_ADDR while "
        "REDIS_SESSIONS['VISITOR_ID'] is unset: behind a proxy, REMOTE_ADDR is the "
        "proxy's, so every cookieless visitor counts as one (VIEW_WINDOW). Set VISITOR_ID "
        "to a function that returns the client's address (see docs/analytics.md)."
    )


def visitor_id(request: HttpRequest, day: str | None = None) -> str:
    """A cookieless visitor's id for the unique-visitor count: a keyed hash of the day,
    the client (``REMOTE_ADDR`` or ``VISITOR_ID``) and the user agent.

    Keyed with ``SECRET_KEY`` (so it cannot be reversed by trying addresses) and
    salted with the day (so one visitor cannot be followed from day to day).
    """
    agent = request.META.get("HTTP_USER_AGENT", "")
    text = f"{day or today()}\n{client_identity(request)}\n{agent}"
    # The salt keeps its first name: changing it would change every visitor id.
    return keyed_hash("redis_sessions.tracking.visitor", text)


def client_id(request: HttpRequest, day: str | None = None) -> str:
    """A cookieless visitor's id for ``VIEW_WINDOW``: a keyed hash of the day and the
    client alone (keyed and salted as ``visitor_id``). No user agent: a client that
    varies it is still one visitor."""
    text = f"{day or today()}\n{client_identity(request)}"
    return keyed_hash("redis_sessions.analytics.client", text)


def keyed_hash(salt: str, text: str) -> str:
    """``salted_hmac(salt, text).hexdigest()[:32]`` (Django's, with ``SECRET_KEY``),
    with the key it derives from the salt and the secret kept (every view computes one
    or two of these) and the HMAC in one C call."""
    key = _hmac_key(salt, settings.SECRET_KEY)
    return hmac.digest(key, text.encode(), "sha1").hex()[:32]


@functools.lru_cache(maxsize=8)
def _hmac_key(salt: str, secret: str) -> bytes:
    # salted_hmac's key; keyed by the secret's value, so a changed SECRET_KEY is simply
    # another entry.
    return hashlib.sha1(salt.encode() + secret.encode()).digest()


def clean_item_id(item_id: object) -> str:
    """The item id as a string; ``ValueError`` for empty, over-long or non-text ids."""
    if isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
        raise ValueError(f"Item id must be a str or int, not {type(item_id).__name__}.")
    text = str(item_id)
    limit = app_settings.ITEM_ID_MAX_LENGTH
    if not text or len(text) > limit:
        raise ValueError(f"Item id must be 1 to {limit} characters long (got {len(text)}).")
    try:
        # Checked now, not when a queued view is sent with the session's save: a lone
        # surrogate would otherwise fail that save, far from the call that caused it.
        text.encode()
    except UnicodeEncodeError:
        raise ValueError("Item id must be valid Unicode text (no lone surrogates).") from None
    return text


def view_commands(
    session_key: str | None,
    item_ids: Iterable[str],
    visitor: str | None = None,
    client: str | None = None,
    *,
    new_session: bool = False,
) -> list[Command]:
    """Commands that record views of ``item_ids`` by ``session_key`` (or by nobody).

    ``visitor`` is who counts as a distinct visitor; it defaults to the session key,
    and with neither the views count but no visitor does. ``client`` (``client_id``)
    is who views are counted once per ``VIEW_WINDOW`` for, unless the session is one
    Redis holds and not ``new_session`` (made by this request: a client without
    cookies gets a new one each time); without a client, the session key. With
    neither, or a window of 0, every view counts. The commands are plain or one
    script per item (no MULTI): each counter stands alone, and a lost reply loses
    analytics, not data.
    """
    items = list(item_ids)
    if not items:
        return []
    commands: list[Command] = []
    now = time.time()
    if session_key is not None:
        pairs: list[Any] = []
        for i, item in enumerate(items):
            # Distinct times keep the order of several views in one request.
            pairs += [now + i * 1e-6, item]
        data_key, viewed_key, _ = keys.session_keys(session_key)
        commands.append(
            SESSION_VIEWED.command([data_key, viewed_key], [app_settings.VIEWED_LIMIT, *pairs])
        )
    day, ttl = today(now), analytics_ttl()
    daily = keys.daily_views(day)
    window = app_settings.VIEW_WINDOW
    seen_by = (client or session_key) if window else None
    if not seen_by:  # every view counts (the book's)
        commands.extend(("ZINCRBY", keys.viewed_items(), -1, item) for item in items)
        commands.extend(("ZINCRBY", daily, 1, item) for item in items)
        commands.append(("EXPIRE", daily, ttl))
    visitor = visitor or session_key
    if visitor:
        for item in dict.fromkeys(items):
            hll = keys.item_visitors(item, day)
            commands += [("PFADD", hll, visitor), ("EXPIRE", hll, ttl)]
    if seen_by:
        # Last: on a cluster each is a split of its own, after the plain commands.
        by_session = session_key if client and session_key and not new_session else None
        commands.extend(_count_once(item, daily, ttl, window, seen_by, by_session)
                        for item in items)  # fmt: skip
    return commands


def _count_once(
    item: str, daily: str, ttl: int, window: int, seen_by: str, session_key: str | None
) -> Command:
    """``view_count.lua`` for one view: counted unless the visitor's is already."""
    view_keys = [keys.viewed_items(), daily, keys.view_seen(seen_by, item)]
    if session_key:
        view_keys += [keys.session(session_key), keys.view_seen(session_key, item)]
    return VIEW_COUNT.command(view_keys, [item, window, ttl])


def mark_counted(request: HttpRequest, item: str) -> None:
    """This request's view of ``item`` is counted already (by the page cache): the
    view's own ``record_view`` of it counts nothing, once."""
    counted: set[str] = request.__dict__.setdefault(COUNTED_ATTR, set())
    counted.add(item)


def is_counted(request: HttpRequest, item: str) -> bool:
    return item in request.__dict__.get(COUNTED_ATTR, ())


def record_view(request: HttpRequest, item_id: object) -> None:
    """Record that this request's visitor viewed ``item_id``.

    Never creates a session: a visitor without one only adds to global popularity.
    """
    commands = _view(request, item_id)
    if commands:
        settle(run(get_redis(), commands, raise_errors=False), best_effort=True)


async def arecord_view(request: HttpRequest, item_id: object) -> None:
    """``record_view`` for async views: queued the same way, or one round trip on the
    asyncio client."""
    commands = _view(request, item_id)
    if commands:
        settle(await arun(get_async_redis(), commands, raise_errors=False), best_effort=True)


def _view(request: HttpRequest, item_id: object) -> list[Command]:
    """What ``record_view`` sends now: nothing when the view is counted already or
    queued on the session store (it rides on the session's round trip)."""
    item = clean_item_id(item_id)
    counted = getattr(request, COUNTED_ATTR, None)
    if counted and item in counted:
        counted.discard(item)  # the page cache counted this view already
        return []
    store = getattr(request, "session", None)
    # Computed now (the request is at hand): the visitor is used only if no session
    # key exists at flush time, the client only if Redis holds no such session.
    visitor = visitor_id(request)
    by_client = client_id(request) if app_settings.VIEW_WINDOW else None
    queue = getattr(store, "queue_view", None)
    if queue is not None and getattr(request, QUEUE_ATTR, False):
        queue(item, visitor, by_client)
        return []
    session_key = getattr(store, "session_key", None) if store is not None else None
    return view_commands(session_key, [item], session_key or visitor, by_client)
