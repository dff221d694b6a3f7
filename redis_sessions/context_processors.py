"""Template context processors. Add ``"redis_sessions.context_processors.cart"``."""

from __future__ import annotations

from django.http import HttpRequest

from redis_sessions.cart.proxy import Cart


def cart(request: HttpRequest) -> dict[str, Cart]:
    """``cart``: the visitor's cart for templates (``{{ cart.count }}`` for a badge).

    Lazy: a template that never touches ``cart`` costs no round trip.
    """
    # "is None", not "or": truth-testing a Cart asks Redis for its length.
    existing = getattr(request, "cart", None)
    return {"cart": existing if existing is not None else Cart(request)}
