"""Page-cache helpers: an anonymous visitor's empty session, an item made popular."""

from __future__ import annotations

from typing import Any

from django.test import Client

from redis_sessions import keys
from redis_sessions.backends.redis import SessionStore


def with_empty_session(client: Client) -> None:
    """Give ``client`` a session cookie for a session that holds no data (an anonymous
    visitor's: a session with data gets fresh pages, like a logged-in one)."""
    store = SessionStore()
    store.create()
    client.cookies["sessionid"] = store.session_key or ""


def count_every_view(settings: Any) -> None:
    """``VIEW_WINDOW`` 0, the book's count of every view: for a test whose one client
    makes several views of an item and checks that each request counts once."""
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "VIEW_WINDOW": 0}


def popular(redis: Any, *items: str) -> None:
    for item in items:
        redis.zincrby(keys.viewed_items(), -100, item)


def logged_in(user_model: Any) -> Client:
    """A test client logged in as a new user ``u``."""
    user_model.objects.create_user("u", password="p")
    client = Client()
    client.login(username="u", password="p")
    return client


#: A middleware stack where PageHitMiddleware looks a cookieless visitor's page up
#: before the session, CSRF and auth middleware and the view.
EARLY_STACK = [
    "django.middleware.security.SecurityMiddleware",
    "redis_sessions.pagecache.PageHitMiddleware",
    "redis_sessions.middleware.RedisSessionsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
