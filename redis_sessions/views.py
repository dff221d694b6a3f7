"""Error views: a 503 page for ``RedisUnavailable``."""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views import defaults

from redis_sessions.exceptions import RedisUnavailable

RETRY_AFTER_SECONDS = 5


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with ``Retry-After``; template ``redis_sessions/unavailable.html``."""
    body = render_to_string("redis_sessions/unavailable.html", request=None)
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """``handler500`` that answers 503 when the error was Redis being unavailable.

    Needed for failures in middleware (SessionMiddleware saving the session), which
    no middleware's ``process_exception`` sees.
    """
    exc = sys.exc_info()[1]
    while exc is not None:
        if isinstance(exc, RedisUnavailable):
            return unavailable_response(request)
        exc = exc.__cause__ or exc.__context__
    return defaults.server_error(request, template_name)
