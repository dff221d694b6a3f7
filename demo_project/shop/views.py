from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from redis_sessions.analytics import top_items
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.pagecache import cache_request
from redis_sessions.rowcache import get_instance, get_rows

from .models import Product, Supplier

PRODUCTS_PER_PAGE = 24
MOST_VIEWED = 5


def most_viewed() -> list[Product]:
    """The most viewed products (for the sidebar fragment; called only on its miss)."""
    try:
        ids = [int(item) for item, _ in top_items(MOST_VIEWED) if item.isdigit()]
    except RedisUnavailable:
        return []
    by_pk = Product.objects.in_bulk(ids)
    return [by_pk[pk] for pk in ids if pk in by_pk]


# slug -> pk, per process: a page-cache hit then needs no database query at all. A
# renamed slug in another process only misattributes popularity until its restart
# (the page itself always comes from the URL's own view or copy).
_product_ids: dict[str, int] = {}


def product_id(request: HttpRequest, slug: str) -> int | None:
    """The product page's item id (its pk), for the page cache's popularity rule."""
    pk = _product_ids.get(slug)
    if pk is None:
        pk = Product.objects.filter(slug=slug).values_list("pk", flat=True).first()
        if pk is not None and len(_product_ids) < 10_000:
            _product_ids[slug] = pk
    return pk


@receiver(post_save, sender=Product)
@receiver(post_delete, sender=Product)
def _product_changed(sender: type[Product], instance: Product, **kwargs: Any) -> None:
    # A renamed slug must not keep its old pk here. (The cached pages follow the
    # product by themselves: product_detail's cache_request(model=Product).)
    _product_ids.clear()


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
            "most_viewed": most_viewed,
        },
    )


def _product(request: HttpRequest, slug: str) -> Product | None:
    pk = product_id(request, slug)
    if pk is None:
        return None
    try:
        product = get_instance(Product, pk)
    except Product.DoesNotExist:
        return None
    return product if product.slug == slug else None


# Anonymous visitors of popular products get a copy from Redis (logged-in visitors and
# visitors with a cart are served fresh by the page cache's own rules). The decorator
# counts the view of the product (what makes it popular); model=Product drops the
# product's pages when it is saved or deleted, after the transaction commits.
@cache_request(item=product_id, model=Product)
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    # slug -> pk comes from the per-process memo (or one index-only lookup); the row
    # itself comes from the row cache.
    product = _product(request, slug)
    if product is None:
        # The memo may be stale: the product was deleted or renamed in another
        # process (whose receiver cleared only its own memo). Look it up afresh once.
        _product_ids.pop(slug, None)
        product = _product(request, slug)
        if product is None:
            raise Http404("No such product")
    context = {"product": product, "most_viewed": most_viewed}
    return render(request, "shop/product_detail.html", context)


def inventory(request: HttpRequest) -> HttpResponse:
    """Per-supplier inventory summaries: ``Supplier.to_cache()`` rows from the row
    cache (one round trip), kept fresh by ``manage.py cache_rows``."""
    pks = list(Supplier.objects.order_by("name").values_list("pk", flat=True))
    return render(request, "shop/inventory.html", {"rows": get_rows(Supplier, pks).values()})
