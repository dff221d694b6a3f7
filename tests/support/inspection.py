"""Shared set-up for the inspection-page tests: users with given permissions, and
sessions, carts and views written through the real engine or the real key layout."""

from __future__ import annotations

import socket
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from redis_sessions import keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.connection import run

ADMIN = "/admin/redis_sessions/redis/"


def staff(username: str = "staff", *perms: str, is_staff: bool = True) -> Any:
    user = get_user_model().objects.create_user(username, password="pw", is_staff=is_staff)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="redis_sessions", codename__in=perms)
    )
    return user


def client_for(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def session(user: Any = None, **data: Any) -> str:
    """A saved session (logged in as ``user`` when given); its key."""
    store = SessionStore()
    for k, v in data.items():
        store[k] = v
    if user is not None:
        store["_auth_user_id"] = str(user.pk)
        store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        store["_auth_user_hash"] = user.get_session_auth_hash()
    store.save()
    assert store.session_key is not None
    return store.session_key


def put_cart(redis: Any, cart_key: str, lines: dict[str, int]) -> None:
    """A cart as the cart module stores it: the hash plus its ``carts:`` entry."""
    redis.hset(cart_key, mapping=lines)
    redis.zadd(keys.carts(), {cart_key: time.time()})


def put_strings(redis: Any, values: dict[str, str]) -> None:
    """MSET on either topology (a cluster refuses an MSET across slots): one pipeline."""
    run(redis, [("SET", key, value) for key, value in values.items()])


def point_at_nothing(settings: Any, tmp_path: Any) -> None:
    """Point the app at a Redis that is not there: a missing unix socket, or on a
    cluster (which needs host and port) a loopback port nobody listens on."""
    url = f"unix://{tmp_path}/none.sock"
    if settings.REDIS_SESSIONS.get("CLUSTER"):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            url = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "URL": url}


def listed(key: str) -> str:
    """The reference of session ``key`` once the sessions list has shown it (the page
    stores it for the session's actions), as an operator who sees the list gets it."""
    from redis_sessions.inspection import refs

    body = client_for(staff("lister", "view_sessions")).get(ADMIN + "sessions/").content.decode()
    ref = refs.ref(key)
    assert ref in body and key not in body
    return ref
