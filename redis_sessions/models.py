"""Unmanaged models: no table, only a home for the inspection pages' permissions and
their rows in the admin's "Redis" section.

Why unmanaged models: Django creates a model's ``Meta.permissions`` (and its content
type) after ``migrate`` whether or not the model has a table, the admin index lists a
registered model, and ``LogEntry`` wants a content type for the thing acted on. A
proxy model would need a concrete model to stand in for; these need nothing. The app
has no migrations of its own (an unmanaged model needs none to work, and a migration
would only record state), so ``migrate`` creates no table for it.

Permissions (``redis_sessions.<codename>``); superusers have them all:

* ``view_redis``: the overview and the top items (no personal data);
* ``view_sessions``: the sessions and carts pages (who is logged in, what they hold);
* ``manage_sessions``: end a session, end every session of a user;
* ``manage_carts``: clear a cart;
* ``manage_cache``: purge page-cache entries, refresh or unschedule cached rows.
"""

from __future__ import annotations

from django.db import models

PERMISSIONS = (
    ("view_redis", "Can view the Redis overview and top items"),
    ("view_sessions", "Can view Redis sessions and carts"),
    ("manage_sessions", "Can end Redis sessions"),
    ("manage_carts", "Can clear carts"),
    ("manage_cache", "Can purge the page cache and refresh cached rows"),
)


class _Unmanaged(models.Model):
    """A thing that lives in Redis; ``key`` is its Redis-side identifier."""

    key = models.CharField(max_length=255, primary_key=True)

    class Meta:
        abstract = True
        managed = False
        default_permissions = ()

    def __str__(self) -> str:
        return self.key


class Redis(_Unmanaged):
    """The overview page; holds every permission of the app."""

    class Meta(_Unmanaged.Meta):
        verbose_name = "overview"
        verbose_name_plural = "overview"
        permissions = PERMISSIONS


class SessionRecord(_Unmanaged):
    """A session in Redis (``key`` is its reference, ``inspection.refs``: never the
    session key, a bearer token); the object of session actions."""

    class Meta(_Unmanaged.Meta):
        verbose_name = "session"
        verbose_name_plural = "sessions"

    def __str__(self) -> str:
        return f"Session {self.key}"


class CartRecord(_Unmanaged):
    """A cart in Redis (``key``: a user cart's Redis key; "cart of session REF" for a
    session's cart, whose key holds the session key)."""

    class Meta(_Unmanaged.Meta):
        verbose_name = "cart"
        verbose_name_plural = "carts"

    def __str__(self) -> str:
        return f"Cart {self.key}"


class TopItem(_Unmanaged):
    """An item of the ``viewed:`` popularity table."""

    class Meta(_Unmanaged.Meta):
        verbose_name = "top item"
        verbose_name_plural = "top items"


class PageCacheEntry(_Unmanaged):
    """A cached page, an item's pages or the whole page cache (``key``: the Redis key
    or pattern acted on); the object of page-cache purges."""

    class Meta(_Unmanaged.Meta):
        verbose_name = "page cache"
        verbose_name_plural = "page cache"

    def __str__(self) -> str:
        return f"Page cache {self.key}"


class CachedRow(_Unmanaged):
    """A row of the row cache (``key``: its ``schedule:`` member, ``app.model:pk``)."""

    class Meta(_Unmanaged.Meta):
        verbose_name = "row cache"
        verbose_name_plural = "row cache"

    def __str__(self) -> str:
        return f"Cached row {self.key}"
