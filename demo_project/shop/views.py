from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from redis_sessions.rowcache import get_instance, get_rows
from redis_sessions.tracking import record_view

from .models import Product, Supplier

PRODUCTS_PER_PAGE = 24


def product_list(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(Product.objects.order_by("name", "pk"), PRODUCTS_PER_PAGE)
    # get_page() turns a missing, malformed or out-of-range ?page= into a valid page.
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "shop/product_list.html",
        {
            "page": page,
            "products": page.object_list,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2),
        },
    )


def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    # slug -> pk is one index-only lookup; the row itself comes from the row cache.
    pk = get_object_or_404(Product.objects.values_list("pk", flat=True), slug=slug)
    try:
        product = get_instance(Product, pk)
    except Product.DoesNotExist:  # deleted since the lookup
        raise Http404 from None
    record_view(request, str(product.pk))
    return render(request, "shop/product_detail.html", {"product": product})


def inventory(request: HttpRequest) -> HttpResponse:
    """Per-supplier inventory summaries: ``Supplier.to_cache()`` rows from the row
    cache (one round trip), kept fresh by ``manage.py cache_rows``."""
    pks = list(Supplier.objects.order_by("name").values_list("pk", flat=True))
    return render(request, "shop/inventory.html", {"rows": get_rows(Supplier, pks).values()})
