"""Settings of the servers of bench/asgi.py: only the session middleware, the async views
of ``bench.asgi``, quiet logs. ``BENCH_SESSIONS`` picks the side: ``ours`` (this
engine with ``redis_sessions.sessions.SessionMiddleware``) or ``django`` (Django's
cache engine on django-redis with Django's ``SessionMiddleware``)."""

from __future__ import annotations

import os

from demo_project.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.asgi"
if os.environ.get("BENCH_SESSIONS", "ours") == "ours":
    SESSION_ENGINE = "redis_sessions.backends.redis"
    MIDDLEWARE = ["redis_sessions.sessions.SessionMiddleware"]
else:
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "root": {"handlers": [], "level": "WARNING"}}  # fmt: skip
