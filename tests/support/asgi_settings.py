"""Settings of the real servers in tests/core/test_asgi_server.py: the demo's, with
this app's SessionMiddleware in place of Django's and the ASGI test views.

The test exports the server's Redis (``REDIS_URL``), its key prefix
(``REDIS_KEY_PREFIX``) and the pool size (``REDIS_MAX_CONNECTIONS``).
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import MIDDLEWARE, REDIS_SESSIONS

ROOT_URLCONF = "tests.support.asgi_urls"
MIDDLEWARE = [
    "redis_sessions.sessions.SessionMiddleware"
    if name == "django.contrib.sessions.middleware.SessionMiddleware"
    else name
    for name in MIDDLEWARE
]
REDIS_SESSIONS = {
    **REDIS_SESSIONS,
    "MAX_CONNECTIONS": int(os.environ.get("REDIS_MAX_CONNECTIONS", "100")),
    "CART_VALIDATE_ITEMS": False,  # the servers run without a database
}
