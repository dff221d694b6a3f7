"""``VISITOR_ID`` callables for the tests (and the documented example, verbatim)."""

from __future__ import annotations

from django.http import HttpRequest

NOT_CALLABLE = "client"


def forwarded_for(request: HttpRequest) -> str:
    """The client behind one trusted reverse proxy: the last address of
    ``X-Forwarded-For`` (the one the proxy appended), else ``REMOTE_ADDR``."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def not_text(request: HttpRequest) -> object:
    return 42


def takes_nothing() -> str:
    return "client"
