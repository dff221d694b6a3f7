"""URLs, views and the floor middleware of bench/http_load.py's servers (the variants are in
``bench/http_settings.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.urls import include, path
from django.views.decorators.cache import cache_page

from demo_project.shop import views

# The product view without cache_request: the page rendered every time.
plain = views.product_detail.__wrapped__  # type: ignore[attr-defined]


def write(request: HttpRequest) -> HttpResponse:
    request.session["n"] = request.session.get("n", 0) + 1
    return HttpResponse("w")


def read(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(request.session.get("n", 0)))


urlpatterns = [
    path("w/", write),
    path("r/", read),
    path("plain/<slug:slug>/", plain),
    path("django/<slug:slug>/", cache_page(300)(plain)),
    path("", include("demo_project.urls")),  # the shop: our /p/<slug>/, {% url %} names
]


class FloorMiddleware:
    """The floor: the cheapest answer Django can give with a hit's one round trip, the
    bytes of one plain redis-py ``GET`` of a stored copy of the page (the key in
    $BENCH_HTTP_FLOOR_KEY), for every request. No CSRF cookie, no view counted."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.redis = redis.Redis.from_url(settings.REDIS_URL)
        self.key = os.environ["BENCH_HTTP_FLOOR_KEY"]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        body = self.redis.get(self.key)
        return HttpResponseNotFound() if body is None else HttpResponse(body)
