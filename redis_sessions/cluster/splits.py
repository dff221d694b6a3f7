"""Which script is replaced by which split in cluster mode (script name -> split)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import Step, caches, carts, sessions

SPLITS: dict[str, Callable[[list[Any], list[Any]], Step]] = {
    "session_save": sessions.session_save,
    "session_delete": sessions.session_delete,
    "session_cycle": sessions.session_cycle,
    "session_evict": sessions.session_evict,
    "cart_add": carts.cart_line("cart_add"),
    "cart_set": carts.cart_line("cart_set"),
    "cart_remove": carts.cart_remove,
    "cart_merge": carts.cart_merge,
    "cart_forget": carts.cart_forget,
    "cache_get": caches.cache_get,
    "cache_store": caches.cache_store,
    "cache_invalidate_item": caches.cache_invalidate_item,
    "rowcache_due": caches.rowcache_due,
    "rowcache_store": caches.rowcache_store,
    "rowcache_fill": caches.rowcache_fill,
}
