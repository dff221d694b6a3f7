"""Settings for bench/http_load.py's servers: the demo as bench/load_settings.py runs it (DEBUG
off, quiet logs), in the variant named by $BENCH_HTTP_VARIANT:

* ``early``: the demo as configured; our hits served by ``PageHitMiddleware``.
* ``stack``: the demo's middleware without ``PageHitMiddleware``, with the bench URLs
  of ``bench/http_site.py``: the uncached page, Django's ``cache_page`` hit, and our
  hit through ``cache_request`` in the view (the same stack as ``cache_page``).
* ``floor``: ``PageHitMiddleware`` replaced by ``FloorMiddleware``, which answers
  every request with one plain Redis ``GET`` of a stored copy of the page.
* ``sessions-ours`` / ``sessions-django``: the two session views of
  ``bench/http_site.py`` behind only the session and common middleware; this
  engine, or Django's cache engine on django-redis (the same Redis).
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from bench.load_settings import *  # noqa: F403
from bench.load_settings import MIDDLEWARE

PAGE_HIT = "redis_sessions.pagecache.PageHitMiddleware"
FLOOR = "bench.http_site.FloorMiddleware"
SESSION_ENGINES = {
    "sessions-ours": "redis_sessions.backends.redis",
    "sessions-django": "django.contrib.sessions.backends.cache",
}

VARIANT = os.environ.get("BENCH_HTTP_VARIANT", "early")
if PAGE_HIT not in MIDDLEWARE:
    raise ImproperlyConfigured("bench/http_load.py expects the demo to use PageHitMiddleware")
if VARIANT == "stack":
    MIDDLEWARE = [m for m in MIDDLEWARE if m != PAGE_HIT]
    ROOT_URLCONF = "bench.http_site"
elif VARIANT == "floor":
    MIDDLEWARE = [FLOOR if m == PAGE_HIT else m for m in MIDDLEWARE]
elif VARIANT in SESSION_ENGINES:
    SESSION_ENGINE = SESSION_ENGINES[VARIANT]
    MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
    ]
    ROOT_URLCONF = "bench.http_site"
elif VARIANT != "early":
    raise ImproperlyConfigured(f"unknown BENCH_HTTP_VARIANT {VARIANT!r}")
