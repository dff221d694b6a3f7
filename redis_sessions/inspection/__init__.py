"""Admin-style inspection pages: what this app keeps in Redis, and actions on it.

One module per page, holding the page's reads (plain dataclasses, read in as few round
trips as the page allows), its view and the actions that belong to it: ``overview``,
``sessions`` (the list), ``session_detail`` (one session; end it, end its user's
sessions), ``carts`` (the list; clear a cart), ``top_items``, ``page_cache`` (the
list) with ``page_cache_purge`` (its purges), ``row_cache`` (the list; refresh,
unschedule). Shared by them: ``guard`` (the staff/permission guard, the admin chrome,
links, confirmation pages, admin history), ``ids`` (ids checked against the primary
key of the model they name), ``paging`` (cursors on sorted-set scores) and ``refs``
(session references instead of keys). ``redis_sessions.urls`` routes the views and
``redis_sessions.admin`` mounts them in the Django admin.
"""
