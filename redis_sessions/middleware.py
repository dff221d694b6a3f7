"""``RedisSessionsMiddleware``: per-request glue. Put it BEFORE SessionMiddleware.

* lets ``record_view`` queue views on the session store, and sends what is still
  queued after SessionMiddleware has saved (its response phase runs after ours
  because it sits inside us), so views cost no round trip of their own;
* turns ``RedisUnavailable`` raised by a view into a 503 page (the cookie is kept,
  the user is not logged out).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from redis_sessions.analytics.counting import QUEUE_ATTR
from redis_sessions.cart.proxy import Cart
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.views import unavailable_response

logger = logging.getLogger("redis_sessions")


class _Middleware:
    """Sync and async capable: runs in whichever mode the handler chain is in."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)  # type: ignore[type-var]


class RedisSessionsMiddleware(_Middleware):
    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        setattr(request, QUEUE_ATTR, True)
        response = self.get_response(request)
        flush = getattr(getattr(request, "session", None), "flush_views", None)
        if flush is not None:
            self._send(flush)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        setattr(request, QUEUE_ATTR, True)
        response: HttpResponse = await self.get_response(request)
        flush = getattr(getattr(request, "session", None), "aflush_views", None)
        if flush is not None:
            try:
                await flush()
            except RedisUnavailable:
                logger.warning("Page views not recorded: Redis unavailable")
        return response

    @staticmethod
    def _send(flush: Callable[[], Awaitable[None] | None]) -> None:
        try:
            flush()
        except RedisUnavailable:
            # Views are analytics: the page was served; say so once and move on.
            logger.warning("Page views not recorded: Redis unavailable")

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RedisUnavailable):
            return unavailable_response(request)
        return None


class CartMiddleware(_Middleware):
    """Sets ``request.cart``, the visitor's ``Cart``; it costs no round trip until used.

    Put it anywhere after SessionMiddleware. The cart finds its owner (user or
    session) each time it is used, so login and logout within a request are seen.
    """

    def __call__(self, request: HttpRequest) -> Any:
        request.cart = Cart(request)  # type: ignore[attr-defined]
        return self.get_response(request)
