"""The page cache and the template fragment cache: popular items only, with
stampede protection.

``decorator`` is ``cache_request`` and the late middleware; ``middleware`` the early
hit (``PageHitMiddleware``), served before the session; ``lookup`` and ``entry`` find
and build a cached page, ``csrf`` puts the visitor's token in it; ``engine`` is the
lookup/store/lock machinery shared with ``fragments``. ``lua/`` holds the scripts and
``splits.py`` their Redis Cluster splits.
"""

from __future__ import annotations

from redis_sessions.pagecache.decorator import (
    PageCacheMiddleware,
    cache_request,
    invalidate_item,
    invalidate_page,
    page_item,
)  # fmt: skip
from redis_sessions.pagecache.fragments import (
    cached_fragment,
    fragment_digest,
    invalidate_fragment,
)  # fmt: skip
from redis_sessions.pagecache.middleware import PageHitMiddleware

__all__ = [
    "PageCacheMiddleware", "PageHitMiddleware", "cache_request", "cached_fragment",
    "fragment_digest", "invalidate_fragment", "invalidate_item", "invalidate_page",
    "page_item",
]  # fmt: skip
