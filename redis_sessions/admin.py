"""The "Redis" section of the admin index, and the inspection pages under the admin.

The pages are ``redis_sessions.urls``, included once under the overview's admin URL
(``/admin/redis_sessions/redis/...``, namespace ``admin:redis_sessions``) with this
admin site passed along, so its login, chrome and sidebar are the ones used. The
other rows of the section (sessions, carts, top items, page cache, row cache) are
unmanaged models whose admin URL leads to their page; each row shows only to staff
with its permission.
Their ``change`` URL leads to the same page, so the admin's history and "Recent
actions" link to what an action touched.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import include, path, reverse

from redis_sessions.inspection.overview import overview_view
from redis_sessions.models import (
    CachedRow,
    CartRecord,
    PageCacheEntry,
    Redis,
    SessionRecord,
    TopItem,
)


class InspectionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A row of the "Redis" section: view-only, leading to one inspection page."""

    permission = "view_redis"
    page = "overview"

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.has_perm(f"redis_sessions.{self.permission}")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def page_url(self, object_id: str | None = None) -> str:
        return reverse(f"{self.admin_site.name}:redis_sessions:{self.page}")

    def get_urls(self) -> list[Any]:  # django-stubs says URLPattern; includes are fine
        info = f"{self.opts.app_label}_{self.opts.model_name}"

        def to_page(request: HttpRequest, object_id: str | None = None) -> HttpResponse:
            return HttpResponseRedirect(self.page_url(object_id))

        wrap = self.admin_site.admin_view
        return [
            path("", wrap(to_page), name=f"{info}_changelist"),
            path("<path:object_id>/change/", wrap(to_page), name=f"{info}_change"),
        ]


class OverviewAdmin(InspectionAdmin):
    def get_urls(self) -> list[Any]:  # django-stubs says URLPattern; includes are fine
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        site = {"admin_site": self.admin_site}
        return [
            path("", include("redis_sessions.urls"), site),
            # Never reached (the include answers first): the name the index links to.
            path("", overview_view, site, name=f"{info}_changelist"),
        ]


class SessionAdmin(InspectionAdmin):
    permission = "view_sessions"
    page = "sessions"

    def page_url(self, object_id: str | None = None) -> str:
        if object_id and ":" not in object_id:  # a session reference, not "user:UID"
            name = f"{self.admin_site.name}:redis_sessions:session_detail"
            return reverse(name, args=[object_id])
        return super().page_url()


class CartAdmin(InspectionAdmin):
    permission = "view_sessions"
    page = "carts"


class TopItemAdmin(InspectionAdmin):
    page = "top_items"


class PageCacheAdmin(InspectionAdmin):
    page = "page_cache"


class RowCacheAdmin(InspectionAdmin):
    page = "row_cache"


def register(site: admin.AdminSite) -> None:
    """Add the "Redis" section to ``site`` (done for ``admin.site`` by autodiscover)."""
    site.register(Redis, OverviewAdmin)
    site.register(SessionRecord, SessionAdmin)
    site.register(CartRecord, CartAdmin)
    site.register(TopItem, TopItemAdmin)
    site.register(PageCacheEntry, PageCacheAdmin)
    site.register(CachedRow, RowCacheAdmin)


# Importable without the admin installed (nothing to register into then).
if apps.is_installed("django.contrib.admin"):
    register(admin.site)
