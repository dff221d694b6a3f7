"""``SessionMiddleware``: Django's, in both modes, awaiting the engine in async mode.

A drop-in replacement for ``django.contrib.sessions.middleware.SessionMiddleware``:
the same cookie (``SESSION_COOKIE_*``), ``SESSION_SAVE_EVERY_REQUEST``, ``Vary:
Cookie``, no save on a 5xx answer, ``SessionInterrupted`` when the session was deleted
meanwhile, the cookie deleted when the session was emptied. It works with any
``SESSION_ENGINE``.

Django's middleware is sync only: under ASGI it loads and saves the session in a
worker thread (``sync_to_async``), and an async view that awaits the session has it
loaded on the event loop and saved again in a thread. This one runs in whichever mode
the handler chain is in; in async mode it only awaits the engine's ``a*`` methods
(this app's engine serves them with ``redis.asyncio`` on the event loop: no thread).

A session this request saved already (a view that called ``save()``/``asave()``), and
did not change since, is not written a second time: the cookie is still set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib import import_module
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date

__all__ = ["SessionMiddleware"]

_INTERRUPTED = (
    "The request's session was deleted before the request completed. The user may "
    "have logged out in a concurrent request, for example."
)


class SessionMiddleware(DjangoSessionMiddleware):
    """Sets ``request.session`` and saves it after the view, sync or async.

    A subclass of Django's, so that what checks for Django's (the admin's
    ``admin.E410``, ``isinstance``) accepts it; every method is its own."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        if get_response is None:
            raise ValueError("get_response must be provided.")
        self.get_response = get_response
        self.SessionStore: type[SessionBase] = import_module(settings.SESSION_ENGINE).SessionStore
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        self.process_request(request)
        get_response: Any = self.get_response
        return self.process_response(request, get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        self.process_request(request)
        get_response: Any = self.get_response
        response: HttpResponseBase = await get_response(request)
        return await self.aprocess_response(request, response)

    def process_request(self, request: HttpRequest) -> None:
        request.session = self.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))

    # The stubs type Django's as HttpResponse only; a response may be streaming.
    def process_response(  # type: ignore[override]
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        """Save the session if it was modified (or always, with
        ``SESSION_SAVE_EVERY_REQUEST``) and set its cookie, or delete the cookie of a
        session that was emptied."""
        session = _to_save(request, response)
        if session is not None:
            at_close = session.get_expire_at_browser_close()
            max_age = None if at_close else session.get_expiry_age()
            if response.status_code < 500:
                if not _saved_already(session):
                    try:
                        session.save()
                    except UpdateError:
                        raise SessionInterrupted(_INTERRUPTED) from None
                _set_cookie(response, session, max_age)
        return response

    async def aprocess_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        """``process_response`` on the event loop: the engine's ``a*`` methods."""
        session = _to_save(request, response)
        if session is not None:
            at_close = await _acall(session, "get_expire_at_browser_close")
            max_age = None if at_close else await _acall(session, "get_expiry_age")
            if response.status_code < 500:
                if not _saved_already(session):
                    try:
                        await _acall(session, "save")
                    except UpdateError:
                        raise SessionInterrupted(_INTERRUPTED) from None
                _set_cookie(response, session, max_age)
        return response


def _to_save(request: HttpRequest, response: HttpResponseBase) -> SessionBase | None:
    """What both modes decide before any I/O: delete the cookie of an emptied session
    and vary on the cookie of an accessed one (done here); the session to save and
    whose cookie to set, if any."""
    try:
        session: SessionBase = request.session
        accessed, modified, empty = session.accessed, session.modified, session.is_empty()
    except AttributeError:
        return None
    if settings.SESSION_COOKIE_NAME in request.COOKIES and empty:
        response.delete_cookie(
            settings.SESSION_COOKIE_NAME,
            path=settings.SESSION_COOKIE_PATH,
            domain=settings.SESSION_COOKIE_DOMAIN,
            samesite=settings.SESSION_COOKIE_SAMESITE,
        )
        patch_vary_headers(response, ("Cookie",))
        return None
    if accessed:
        # Whether or not it is saved, a response that read the session varies with it.
        patch_vary_headers(response, ("Cookie",))
    if (modified or settings.SESSION_SAVE_EVERY_REQUEST) and not empty:
        return session
    return None


def _saved_already(session: SessionBase) -> bool:
    """Whether the engine says this request saved the session as it is now (this
    app's engine does; other engines are always saved, as Django does)."""
    check = getattr(session, "saved_as_is", None)
    return bool(check()) if check is not None else False


async def _acall(session: SessionBase, name: str) -> Any:
    """``await session.a<name>()``; on Django 4.2, whose ``SessionBase`` has no async
    API, the sync method in a thread (this app's engine has ``asave`` there too)."""
    method = getattr(session, f"a{name}", None)
    if method is not None:
        return await method()
    return await sync_to_async(getattr(session, name))()


def _set_cookie(response: HttpResponseBase, session: SessionBase, max_age: int | None) -> None:
    assert session.session_key is not None  # saved: it has one
    response.set_cookie(
        settings.SESSION_COOKIE_NAME,
        session.session_key,
        max_age=max_age,
        expires=None if max_age is None else http_date(time.time() + max_age),
        domain=settings.SESSION_COOKIE_DOMAIN,
        path=settings.SESSION_COOKIE_PATH,
        secure=bool(settings.SESSION_COOKIE_SECURE),
        httponly=bool(settings.SESSION_COOKIE_HTTPONLY),
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )
    # With a session cookie set, the response varies with it.
    patch_vary_headers(response, ("Cookie",))
