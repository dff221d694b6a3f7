"""Settings for the demo shop.

Everything that differs between machines comes from the environment:

* ``REDIS_URL``: the Redis server. Unset, a private ``redis-server`` is started on a
  unix socket for this process tree (see ``redis_sessions.embedded``).
* ``DATABASE_URL``: any dj-database-url URL; SQLite in the project root by default.
* ``REDIS_KEY_PREFIX``: prefix of every key, so several runs can share one server.
* ``DJANGO_SECRET_KEY`` and ``DJANGO_DEBUG`` (``"1"`` by default).

The default secret key and the seeded ``admin``/``customer`` passwords are for local use
only.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from redis_sessions.embedded import ensure_redis_url

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BASE_DIR / "demo_project"

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-insecure-key-for-local-use-only")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

# $REDIS_URL, or a private redis-server started for this process tree. The URL is
# exported to the environment, so runserver's autoreloader child uses the same server.
REDIS_URL = ensure_redis_url()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "redis_sessions",
    "demo_project.shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Above the page cache's early hits, so that they get its header too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Popular product pages for visitors without a session cookie, before the session,
    # CSRF and auth middleware (the views' cache_request stores them).
    "redis_sessions.pagecache.PageHitMiddleware",
    # Before SessionMiddleware, so it wraps session loading and saving.
    "redis_sessions.middleware.RedisSessionsMiddleware",
    # Django's SessionMiddleware, but awaiting the engine under ASGI (uvicorn).
    "redis_sessions.sessions.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "redis_sessions.middleware.CartMiddleware",  # request.cart, lazily
]

ROOT_URLCONF = "demo_project.urls"
WSGI_APPLICATION = "demo_project.wsgi.application"
ASGI_APPLICATION = "demo_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PROJECT_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "redis_sessions.context_processors.cart",
            ],
        },
    },
]

SESSION_ENGINE = "redis_sessions.backends.redis"

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("REDIS_KEY_PREFIX", "demo"),
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
}

REDIS_SESSIONS = {
    "KEY_PREFIX": os.environ.get("REDIS_KEY_PREFIX", "demo"),
    "CART_MODEL": "shop.Product",
    # The product page reads its product through the row cache (one join: supplier).
    "ROW_CACHE_MODELS": {"shop.Product": {"delay": 30, "select_related": ["supplier"]}},
}

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'demo.sqlite3'}", conn_max_age=60
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# runserver serves these while DEBUG is on; with DJANGO_DEBUG=0 use `runserver --insecure`.
STATICFILES_DIRS = [PROJECT_DIR / "static"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "loggers": {
        "redis_sessions": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
