"""The cart pages: add from a product page, view and edit the cart.

Every mistake in the input (a quantity that is not a number, over the limit, an item
that is gone) comes back as a form error from the cart's ``ValueError``, never a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from redis_sessions.cart import Cart

from .forms import AddToCartForm
from .models import Product


def _cart(request: HttpRequest) -> Cart:
    cart = getattr(request, "cart", None)
    return cart if cart is not None else Cart(request)


@require_POST
def cart_add(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(Product, slug=slug)
    form = AddToCartForm(request.POST)
    if form.is_valid():
        try:
            _cart(request).add(product, form.cleaned_data["quantity"])
        except ValueError as exc:
            form.add_error("quantity", str(exc))
        else:
            messages.success(request, f"Added {form.cleaned_data['quantity']} x {product.name}.")
            return redirect("shop:cart")
    context = {"product": product, "cart_form": form}
    return render(request, "shop/product_detail.html", context, status=400)


def cart_detail(request: HttpRequest) -> HttpResponse:
    return render(request, "shop/cart.html", {"errors": []})


@require_POST
def cart_update(request: HttpRequest) -> HttpResponse:
    cart, errors = _cart(request), []
    if "remove" in request.POST:
        try:
            cart.remove(request.POST["remove"])
        except ValueError as exc:
            errors.append(str(exc))
    elif "clear" in request.POST:
        cart.clear()
    else:
        wanted: dict[str, int] = {}
        for name, value in request.POST.items():
            if name.startswith("qty-"):
                try:
                    wanted[name[4:]] = int(value)
                except ValueError:
                    errors.append(f"{value!r} is not a whole number.")
        if not errors:  # nothing changes unless every quantity could be read
            for item_id, quantity in wanted.items():
                try:
                    cart.set(item_id, quantity)
                except ValueError as exc:
                    errors.append(str(exc))
    if errors:
        return render(request, "shop/cart.html", {"errors": errors}, status=400)
    messages.success(request, "Your cart was updated.")
    return redirect("shop:cart")
