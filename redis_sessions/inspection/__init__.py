"""Admin-style inspection pages: what this app keeps in Redis, and actions on it.

``queries``-style modules (``paging``, ``sessions``, ``carts``, ``items``,
``overview``, ``pages``, ``rows``) read Redis in as few round trips as a page allows
and return plain dataclasses; ``views``, ``actions`` and ``caches`` are thin views
behind ``guard.inspection_view``;
``redis_sessions.urls`` routes them and ``redis_sessions.admin`` mounts them in the
Django admin.
"""
