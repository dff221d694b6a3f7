"""The inspection pages, includable on their own (``include("redis_sessions.urls")``)
or, as ``redis_sessions.admin`` does, inside the admin site. The pages use the admin's
templates and login, so the admin must be installed either way."""

from __future__ import annotations

from django.urls import path

from redis_sessions.inspection import (
    carts,
    overview,
    page_cache,
    page_cache_purge,
    row_cache,
    session_detail,
    sessions,
    top_items,
)

app_name = "redis_sessions"

# Ids in these URLs (user ids, row-cache members) are checked against the primary key of
# the model they name (inspection/ids.py) before anything is read: any other is a 404.
urlpatterns = [
    path("", overview.overview_view, name="overview"),
    path("sessions/", sessions.sessions_view, name="sessions"),
    # A session is addressed by its reference (inspection/refs.py), never by its key.
    path("sessions/<str:ref>/", session_detail.session_detail_view, name="session_detail"),
    path("sessions/<str:ref>/end/", session_detail.session_end_view, name="session_end"),
    path(
        "users/<str:user_id>/end-sessions/",
        session_detail.user_sessions_end_view,
        name="user_sessions_end",
    ),
    path("carts/", carts.carts_view, name="carts"),
    path("carts/<str:owner>/<str:owner_id>/clear/", carts.cart_clear_view, name="cart_clear"),
    path("top-items/", top_items.top_items_view, name="top_items"),
    path("page-cache/", page_cache.page_cache_view, name="page_cache"),
    path(
        "page-cache/purge/", page_cache_purge.page_cache_purge_all_view, name="page_cache_purge_all"
    ),
    path(
        "page-cache/item/purge/",
        page_cache_purge.page_cache_purge_item_view,
        name="page_cache_purge_item",
    ),
    path(
        "page-cache/<str:digest>/purge/",
        page_cache_purge.page_cache_purge_view,
        name="page_cache_purge",
    ),
    path("row-cache/", row_cache.row_cache_view, name="row_cache"),
    path("row-cache/<path:member>/refresh/", row_cache.row_refresh_view, name="row_refresh"),
    path(
        "row-cache/<path:member>/unschedule/", row_cache.row_unschedule_view, name="row_unschedule"
    ),
]
