"""Shared set-up for the inspection-page tests: users with given permissions, and
sessions, carts and views written through the real engine or the real key layout."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from redis_sessions import keys
from redis_sessions.backends.redis import SessionStore

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
