"""The inspection pages, includable on their own (``include("redis_sessions.urls")``)
or, as ``redis_sessions.admin`` does, inside the admin site. The pages use the admin's
templates and login, so the admin must be installed either way."""

from __future__ import annotations

from django.urls import path

from redis_sessions.inspection import actions, caches, views

app_name = "redis_sessions"

urlpatterns = [
    path("", views.overview_view, name="overview"),
    path("sessions/", views.sessions_view, name="sessions"),
    # A session is addressed by its reference (inspection/refs.py), never by its key.
    path("sessions/<str:ref>/", views.session_detail_view, name="session_detail"),
    path("sessions/<str:ref>/end/", actions.session_end_view, name="session_end"),
    path(
        "users/<str:user_id>/end-sessions/",
        actions.user_sessions_end_view,
        name="user_sessions_end",
    ),
    path("carts/", views.carts_view, name="carts"),
    path("carts/<str:owner>/<str:owner_id>/clear/", actions.cart_clear_view, name="cart_clear"),
    path("top-items/", views.top_items_view, name="top_items"),
    path("page-cache/", caches.page_cache_view, name="page_cache"),
    path("page-cache/purge/", caches.page_cache_purge_all_view, name="page_cache_purge_all"),
    path("page-cache/item/purge/", caches.page_cache_purge_item_view, name="page_cache_purge_item"),
    path("page-cache/<str:digest>/purge/", caches.page_cache_purge_view, name="page_cache_purge"),
    path("row-cache/", caches.row_cache_view, name="row_cache"),
    path("row-cache/<path:member>/refresh/", caches.row_refresh_view, name="row_refresh"),
    path("row-cache/<path:member>/unschedule/", caches.row_unschedule_view, name="row_unschedule"),
]
