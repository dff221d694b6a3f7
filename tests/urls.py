"""Tiny views for request-path tests (round trips, middleware, outages)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import engines
from django.urls import include, path

from redis_sessions.analytics.counting import record_view


def write_session(request: HttpRequest) -> HttpResponse:
    request.session["n"] = request.session.get("n", 0) + 1
    return HttpResponse("written")


def read_session(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(request.session.get("n", 0)))


def view_item(request: HttpRequest, item: str) -> HttpResponse:
    record_view(request, item)
    return HttpResponse(str(request.session.get("n", 0)))


def view_item_no_session(request: HttpRequest, item: str) -> HttpResponse:
    record_view(request, item)
    return HttpResponse("ok")


def view_then_write(request: HttpRequest, item: str) -> HttpResponse:
    record_view(request, item)
    request.session["n"] = request.session.get("n", 0) + 1
    return HttpResponse("ok")


async def async_read(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"n": await request.session.aget("n", 0)})


async def async_write(request: HttpRequest) -> HttpResponse:
    await request.session.aset("n", await request.session.aget("n", 0) + 1)
    return JsonResponse({"ok": True})


async def async_cart_add(request: HttpRequest, item: str) -> HttpResponse:
    quantity = await request.cart.aadd(item)  # type: ignore[attr-defined]
    return JsonResponse({"quantity": quantity, "count": await request.cart.acount()})  # type: ignore[attr-defined]


async def async_cart_lines(request: HttpRequest) -> HttpResponse:
    lines = await request.cart.alines()  # type: ignore[attr-defined]
    return JsonResponse({str(line.item.pk): line.quantity for line in lines})


def plain_page(request: HttpRequest) -> HttpResponse:
    template = engines["django"].from_string("no cart here")
    return HttpResponse(template.render({}, request))


def badge_page(request: HttpRequest) -> HttpResponse:
    template = engines["django"].from_string("units={{ cart.count }}")
    return HttpResponse(template.render({}, request))


urlpatterns = [
    path("async/cart/add/<str:item>/", async_cart_add),
    path("async/cart/lines/", async_cart_lines),
    path("plain/", plain_page),
    path("badge/", badge_page),
    path("write/", write_session),
    path("read/", read_session),
    path("view/<str:item>/", view_item),
    path("view-anon/<str:item>/", view_item_no_session),
    path("view-write/<str:item>/", view_then_write),
    path("async/read/", async_read),
    path("async/write/", async_write),
    path("pc/", include("tests.support.pagecache_urls")),
    path("ops/redis/", include("redis_sessions.urls")),  # inspection pages outside the admin
    path("", include("demo_project.urls")),
]

handler500 = "redis_sessions.views.server_error"
