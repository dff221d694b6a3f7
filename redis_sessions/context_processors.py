"""Template context processors. Add ``"redis_sessions.context_processors.cart"``."""

from __future__ import annotations

from django.http import HttpRequest

from redis_sessions.cart.proxy import Cart


def cart(request: HttpRequest) -> dict[str, Cart]:
    """``cart``: the visitor's cart for templates (``{{ cart.count }}`` for a badge).

    Lazy: a template that never touches ``cart`` costs no round trip. A template
    rendered on the event loop (``render()`` in an async view) reads what ``await
    request.cart.aprefetch()`` loaded before it (the same ``request.cart`` object, so
    use ``CartMiddleware``); without it, reading the cart there raises
    ``SynchronousOnlyOperation`` naming that method, instead of blocking the loop.
    """
    # "is None", not "or": truth-testing a Cart asks Redis for its length.
    existing = getattr(request, "cart", None)
    return {"cart": existing if existing is not None else Cart(request)}
