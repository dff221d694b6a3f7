"""Views for the page cache tests (included from tests/urls.py under ``pc/``)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template import RequestContext, Template
from django.urls import path
from django.views.decorators.cache import never_cache

from demo_project.shop.models import Product
from redis_sessions.analytics.counting import arecord_view, record_view
from redis_sessions.pagecache import cache_request

#: How many times each view ran (the tests reset it).
calls: Counter[str] = Counter()


def by_item(request: HttpRequest, item: str, **kwargs: Any) -> str:
    return item


def _page(name: str, item: str, body: str | None = None) -> HttpResponse:
    calls[name] += 1
    return HttpResponse(f"{name} {item} #{calls[name]}" if body is None else body)


#: The query parameters the item page's cached copies may have.
ITEM_QUERY = ("q", "page", "a", "b", "x")


@cache_request(item=by_item, timeout=60, query=ITEM_QUERY)
def item_page(request: HttpRequest, item: str) -> HttpResponse:
    record_view(request, item)
    return _page("item", item)


@cache_request(item=by_item)
def alone_page(request: HttpRequest, item: str) -> HttpResponse:
    """The decorator alone, as documented: no record_view of its own."""
    return _page("alone", item)


@cache_request(item=by_item, query=("page", "sort"))
def list_page(request: HttpRequest, item: str) -> HttpResponse:
    """A page with allowed query parameters (a list's page number and order)."""
    return _page("list", item, body=f"list {item} {request.GET.urlencode()}")


@cache_request(item=by_item)
def empty_page(request: HttpRequest, item: str) -> HttpResponse:
    return _page("empty", item, body="")


@cache_request(item=by_item)
def rule_page(request: HttpRequest, item: str, rule: str) -> HttpResponse:
    response = _page(f"rule-{rule}", item)
    if rule == "cookie":
        response.set_cookie("pref", "x")
    elif rule == "private":
        response["Cache-Control"] = "private, max-age=60"
    elif rule == "no-store":
        response["Cache-Control"] = "no-store"
    elif rule == "vary-star":
        response["Vary"] = "*"
    elif rule == "status":
        response.status_code = 404
    elif rule == "session":
        request.session["touched"] = True
    return response


@cache_request(item=by_item)
def vary_page(request: HttpRequest, item: str) -> HttpResponse:
    record_view(request, item)
    response = _page("vary", item, body=f"lang={request.headers.get('Accept-Language', '')}")
    response["Vary"] = "Accept-Language"
    return response


@cache_request(item=by_item, public=True)
def public_page(request: HttpRequest, item: str) -> HttpResponse:
    return _page("public", item)


@cache_request(itemless=True)
def itemless_page(request: HttpRequest) -> HttpResponse:
    return _page("itemless", "")


@cache_request()
def no_item_page(request: HttpRequest) -> HttpResponse:
    return _page("no-item", "")


@cache_request(item=by_item)
def slow_page(request: HttpRequest, item: str) -> HttpResponse:
    time.sleep(0.3)  # long enough for all threads of the stampede test to arrive
    return _page("slow", item)


@cache_request(item=by_item)
def failing_page(request: HttpRequest, item: str) -> HttpResponse:
    calls["failing"] += 1
    raise RuntimeError("boom")


@cache_request(item=by_item)
async def async_page(request: HttpRequest, item: str) -> HttpResponse:
    """An async view, with its own (async) record_view of the same item."""
    await arecord_view(request, item)
    return _page("async", item)


async def async_item(request: HttpRequest, item: str, **kwargs: Any) -> str:
    return item


@cache_request(item=async_item, query=("page",))
async def async_item_fn_page(request: HttpRequest, item: str) -> HttpResponse:
    return _page("async-fn", item)


@cache_request(item=by_item)
async def async_failing_page(request: HttpRequest, item: str) -> HttpResponse:
    calls["async-failing"] += 1
    raise RuntimeError("boom")


def product_pk(request: HttpRequest, pk: int) -> int:
    return pk


@cache_request(item=product_pk, model=Product)
def product_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A page that shows a row: saving or deleting the row drops it (after commit)."""
    calls["product"] += 1
    product = Product.objects.filter(pk=pk).first()
    return HttpResponse(f"{product.name if product else '-'} #{calls['product']}")


_FORM = Template(
    '<form method="post" action="/pc/post/">{% csrf_token %}<button>Go</button></form>'
    "<p>{{ csrf_token }}</p>"
)


@cache_request(item=by_item)
def form_page(request: HttpRequest, item: str) -> HttpResponse:
    calls["form"] += 1
    return HttpResponse(_FORM.render(RequestContext(request)))


@never_cache
@cache_request(item=by_item)
def never_cached_page(request: HttpRequest, item: str) -> HttpResponse:
    return _page("never", item)


def post_target(request: HttpRequest) -> HttpResponse:
    return HttpResponse("posted" if request.method == "POST" else "get")


#: How many first lookups ``barrier_page`` waits for before it answers.
BARRIER = {"arrivals": 0}


@cache_request(item=by_item)
def barrier_page(request: HttpRequest, item: str) -> HttpResponse:
    """Renders only once every stampeding request has looked the page up: each
    request's first lookup counts one view of the item today (polls count none), so
    the render waits until the day's count reaches ``BARRIER["arrivals"]`` (at most
    10 s). A render lock that works lets exactly one request get here."""
    from redis_sessions import keys
    from redis_sessions.analytics.counting import today
    from redis_sessions.connection import get_redis

    deadline = time.monotonic() + 10
    views = keys.daily_views(today())
    while time.monotonic() < deadline:
        if (get_redis().zscore(views, item) or 0) >= BARRIER["arrivals"]:
            break
        time.sleep(0.01)
    return _page("barrier", item)


urlpatterns = [
    path("barrier/<str:item>/", barrier_page),
    path("item/<str:item>/", item_page),
    path("alone/<str:item>/", alone_page),
    path("list/<str:item>/", list_page),
    path("empty/<str:item>/", empty_page),
    path("rule/<str:rule>/<str:item>/", rule_page),
    path("vary/<str:item>/", vary_page),
    path("public/<str:item>/", public_page),
    path("itemless/", itemless_page),
    path("no-item/", no_item_page),
    path("slow/<str:item>/", slow_page),
    path("failing/<str:item>/", failing_page),
    path("form/<str:item>/", form_page),
    path("post/", post_target),
    path("never/<str:item>/", never_cached_page),
    path("product/<int:pk>/", product_page),
    path("async/<str:item>/", async_page),
    path("async-fn/<str:item>/", async_item_fn_page),
    path("async-failing/<str:item>/", async_failing_page),
]
