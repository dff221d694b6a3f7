"""Views for the ASGI tests: sync and async, with and without the session and the cart.

Used in-process (``AsyncClient``) and by the real servers of
``tests/core/test_asgi_server.py`` (``tests.support.asgi_settings``). Only the cart
page reads the database; the servers' requests never do.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import engines
from django.urls import include, path

from redis_sessions import connection
from redis_sessions.analytics.counting import record_view

BADGE = "units={{ cart.count }}"


def page(request: HttpRequest) -> HttpResponse:
    """A sessioned page: reads the session, renders the cart badge."""
    template = engines["django"].from_string(BADGE + " n={{ request.session.n }}")
    return HttpResponse(template.render({}, request))


def write(request: HttpRequest) -> HttpResponse:
    request.session["n"] = request.session.get("n", 0) + 1
    return HttpResponse("written")


def write_and_save(request: HttpRequest) -> HttpResponse:
    request.session["n"] = request.session.get("n", 0) + 1
    request.session.save()
    return HttpResponse("saved")


def write_save_write(request: HttpRequest) -> HttpResponse:
    request.session["n"] = request.session.get("n", 0) + 1
    request.session.save()
    request.session["after"] = True  # changed after its save: the middleware saves it
    return HttpResponse("saved, then changed")


def cart_add(request: HttpRequest, item: str) -> HttpResponse:
    return HttpResponse(str(request.cart.add(item)))  # type: ignore[attr-defined]


async def async_read(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"n": await request.session.aget("n", 0)})


async def async_write(request: HttpRequest) -> HttpResponse:
    await request.session.aset("n", await request.session.aget("n", 0) + 1)
    return JsonResponse({"ok": True})


async def async_write_and_save(request: HttpRequest) -> HttpResponse:
    """A view that saves the session itself (the middleware must not save it again)."""
    await request.session.aset("n", await request.session.aget("n", 0) + 1)
    await request.session.asave()
    return JsonResponse({"ok": True})


async def async_view_item(request: HttpRequest, item: str) -> HttpResponse:
    record_view(request, item)  # queued: it rides with the session's load
    return JsonResponse({"n": await request.session.aget("n", 0)})


async def async_view_item_no_session(request: HttpRequest, item: str) -> HttpResponse:
    record_view(request, item)  # queued: sent when the response leaves
    return JsonResponse({"ok": True})


async def async_badge_unprefetched(request: HttpRequest) -> HttpResponse:
    template = engines["django"].from_string(BADGE)
    return HttpResponse(template.render({}, request))


async def async_badge(request: HttpRequest) -> HttpResponse:
    await request.cart.aprefetch()  # type: ignore[attr-defined]
    template = engines["django"].from_string(BADGE)
    return HttpResponse(template.render({}, request))


async def async_cart_page(request: HttpRequest) -> HttpResponse:
    """The demo's cart page, rendered on the event loop."""
    await request.cart.aprefetch(lines=True)  # type: ignore[attr-defined]
    return render(request, "shop/cart.html", {})


def trips(request: HttpRequest) -> HttpResponse:
    """This process's round-trip count (the servers' tests read it over HTTP)."""
    return JsonResponse({"round_trips": connection.round_trips()})


urlpatterns = [
    path("page/", page),
    path("write/", write),
    path("write-save/", write_and_save),
    path("write-save-write/", write_save_write),
    path("cart/add/<str:item>/", cart_add),
    path("async/read/", async_read),
    path("async/write/", async_write),
    path("async/write-save/", async_write_and_save),
    path("async/view/<str:item>/", async_view_item),
    path("async/view-only/<str:item>/", async_view_item_no_session),
    path("async/badge-unprefetched/", async_badge_unprefetched),
    path("async/badge/", async_badge),
    path("async/cart/", async_cart_page),
    path("trips/", trips),
    path("", include("demo_project.urls")),  # the demo's names, for its templates
]

handler500 = "redis_sessions.views.server_error"
