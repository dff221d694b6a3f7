from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from redis_sessions.tracking import record_view

from .models import Product

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
    product = get_object_or_404(Product, slug=slug)
    record_view(request, str(product.pk))
    return render(request, "shop/product_detail.html", {"product": product})
