"""``PageHitMiddleware``: page-cache hits served before the rest of the middleware.

A hit through ``cache_request`` or ``PageCacheMiddleware`` still runs the whole
stack (sessions, CSRF, authentication, messages) around a page that needs none of
it. For a visitor without a session cookie (anonymous: not logged in, no cart, no
session data) this middleware, placed early, looks the page up before that stack
and answers a hit at once: one round trip, the view counted in it. CSRF is done as
CsrfViewMiddleware does it (Django's own middleware methods on the hit's response):
the visitor's secret is read from their cookie or made, the page gets their masked
token (``pagecache.csrf``), and a new secret's cookie is set; a visitor whose cookie
holds their secret is not sent it again.

Everything else goes down the stack as before: a visitor with a session cookie, a
page that is not cacheable, and a miss, whose lookup (and render lock) it hands to
the view's ``cache_request`` or to ``PageCacheMiddleware``, which store the page by
the usual rules. It stores nothing itself.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import Resolver404, get_resolver
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

from redis_sessions.pagecache.lookup import (
    CACHED_ATTR,
    EARLY_ATTR,
    Options,
    Pending,
    look_up,
    serve,
    site_wide_options,
)

__all__ = ["PageHitMiddleware"]

PAGE_CACHE_MIDDLEWARE = "redis_sessions.pagecache.PageCacheMiddleware"


@lru_cache(maxsize=1024)
def _resolve(urlconf: str | None, path: str) -> tuple[Any, tuple[Any, ...], dict[str, Any]] | None:
    """``(view, args, kwargs)`` of a path, or ``None``: Django's URL resolution,
    remembered per process for the 1024 most recent paths (resolving is a sizeable
    part of a hit; a path resolves the same way until the URLconf changes)."""
    try:
        match = get_resolver(urlconf).resolve(path)
    except Resolver404:
        return None
    return match.func, match.args, match.kwargs


@receiver(setting_changed)
def _forget_routes(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":
        _resolve.cache_clear()


def _csrf_middleware(get_response: Any) -> CsrfViewMiddleware | None:
    """The project's CSRF middleware (Django's or a subclass), to run on a hit."""
    for path in settings.MIDDLEWARE:
        cls = import_string(path)
        if isinstance(cls, type) and issubclass(cls, CsrfViewMiddleware):
            return cls(get_response)
    return None


class PageHitMiddleware(MiddlewareMixin):
    """Serve page-cache hits early. Put it after SecurityMiddleware (and
    LocaleMiddleware, if used) and before SessionMiddleware; middleware below it does
    not run on such a hit (move response-header middleware such as
    XFrameOptionsMiddleware above it)."""

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        self.csrf = _csrf_middleware(get_response)
        self.site_wide = PAGE_CACHE_MIDDLEWARE in settings.MIDDLEWARE

    def _options(self, view: Any) -> Options | None:
        options: Options | None = getattr(view, CACHED_ATTR, None)
        if options is None:
            return site_wide_options(view) if self.site_wide else None
        # Only when cache_request is the outermost decorator: the hit then skips no
        # decorator's work that a hit down the stack would do.
        return options if options.view is view else None

    def process_request(self, request: HttpRequest) -> HttpResponseBase | None:
        if (
            request.method not in ("GET", "HEAD")
            or settings.SESSION_COOKIE_NAME in request.COOKIES  # the session decides
            or settings.CSRF_USE_SESSIONS  # the CSRF secret is in the session
        ):
            return None
        route = _resolve(getattr(request, "urlconf", None), request.path_info)
        options = None if route is None else self._options(route[0])
        if route is None or options is None:
            return None
        looked = look_up(request, options, route[1], route[2], anonymous=True)
        if isinstance(looked, tuple) and looked[1].servable and self.csrf is not None:
            self.csrf.process_request(request)  # the visitor's secret, for their token
        result = serve(request, looked)
        if isinstance(result, Pending):  # no hit: the view's turn, with this lookup
            setattr(request, EARLY_ATTR, result)
            return None
        if self.csrf is None or not request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
            return result  # no cookie to set (a returning visitor's is theirs already)
        return self.csrf.process_response(request, result)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        early: Pending | None = request.__dict__.pop(EARLY_ATTR, None)
        if early is not None:  # the view never ran (a redirect, an error): free the lock
            early.abandon()
        return response
