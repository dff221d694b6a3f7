"""What every inspection view shares: the staff/permission guard, the admin context,
links that work wherever ``redis_sessions.urls`` is mounted, the confirmation page of
an action, and admin history.

The guard behaves like ``AdminSite.admin_view``: a visitor who is not active staff is
sent to the admin login; staff without the page's permission get 403. A
``RedisUnavailable`` becomes the page's own error banner (503), not a 500.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from redis_sessions.exceptions import RedisUnavailable

View = Callable[..., HttpResponse]
SITE_ATTR = "_redis_sessions_admin_site"
NAV = (("overview", "Overview"), ("sessions", "Sessions"), ("carts", "Carts"),
       ("top_items", "Top items"), ("page_cache", "Page cache"),
       ("row_cache", "Row cache"))  # fmt: skip


def site_of(request: HttpRequest) -> admin.AdminSite:
    """The admin site the pages belong to (``admin.site`` unless mounted in another)."""
    return getattr(request, SITE_ATTR, None) or admin.site


def inspection_view(permission: str) -> Callable[[View], View]:
    """Guard a view: active staff with ``redis_sessions.<permission>``; CSRF checked."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(
            request: HttpRequest, *args: Any, admin_site: Any = None, **kwargs: Any
        ) -> HttpResponse:
            site = admin_site or admin.site
            setattr(request, SITE_ATTR, site)
            if not site.has_permission(request):
                login = reverse("admin:login", current_app=site.name)
                return redirect_to_login(request.get_full_path(), login)
            if not request.user.has_perm(f"redis_sessions.{permission}"):
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except RedisUnavailable as exc:
                return page(request, "unavailable.html", "Redis unavailable",
                            {"error": str(exc)}, status=503)  # fmt: skip

        return never_cache(csrf_protect(guarded))

    return decorate


def can(request: HttpRequest, permission: str) -> bool:
    """Whether the user has ``redis_sessions.<permission>`` (to show an action's link)."""
    return request.user.has_perm(f"redis_sessions.{permission}")


def link(request: HttpRequest, name: str, *args: Any, query: str = "") -> str:
    """URL of page ``name`` in the namespace this request came through
    (``redis_sessions``, or ``admin:redis_sessions`` inside the admin)."""
    match = request.resolver_match
    namespace = match.namespace if match and match.namespace else "redis_sessions"
    url = reverse(f"{namespace}:{name}", args=args)
    return f"{url}?{query}" if query else url


def query(params: dict[str, str], **more: str) -> str:
    """A relative link to the same page with these query parameters (``?`` for none)."""
    return "?" + urlencode({**params, **more}) if params or more else "?"


def page(
    request: HttpRequest,
    template: str,
    title: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """Render ``redis_sessions/admin/<template>`` inside the admin's chrome."""
    site = site_of(request)
    chrome = site.each_context(request)
    _sidebar(request, site, chrome.get("available_apps") or [])
    full = {
        **chrome,
        "title": title,
        "rs_nav": [(label, link(request, name)) for name, label in NAV],
        **(context or {}),
    }
    return render(request, f"redis_sessions/admin/{template}", full, status=status)


def confirm(
    request: HttpRequest, title: str, question: Any, cancel_url: str, **extra: Any
) -> HttpResponse:
    """The confirmation page an action shows on GET (its form POSTs back to the URL)."""
    context = {"question": question, "cancel_url": cancel_url, **extra}
    return page(request, "confirm.html", title, context)


def _sidebar(request: HttpRequest, site: admin.AdminSite, app_list: list[Any]) -> None:
    """Point the admin sidebar's "Redis" rows at their pages, so the row of the page
    shown is the one highlighted.

    The admin highlights every row whose URL is a prefix of the current path; all the
    pages live under the overview's URL, so the overview row would light up on every
    page. Off the overview its link gets an empty query string: the same page, but no
    longer a prefix of any path (a path never holds ``?``).
    """
    match = request.resolver_match
    current = match.url_name if match else None
    for app in app_list:
        if app.get("app_label") != "redis_sessions":
            continue
        for row in app.get("models", []):
            name = getattr(site._registry.get(row.get("model")), "page", None)
            if name is None:
                continue
            row["admin_url"] = link(request, name)
            if name == "overview" and current != "overview":
                row["admin_url"] += "?"


def log(request: HttpRequest, obj: Model, flag: str, message: str) -> None:
    """Record an action in the admin's history (``flag``: ``"change"`` or ``"deletion"``)
    with the running Django's API: ``log_actions`` since 5.1; ``log_action``, gone in
    6.0, before. Imported here: the app's modules import without the admin installed.
    """
    from django.contrib.admin.models import CHANGE, DELETION, LogEntry
    from django.contrib.contenttypes.models import ContentType

    action_flag = {"change": CHANGE, "deletion": DELETION}[flag]
    user_id = request.user.pk
    manager: Any = LogEntry.objects
    if hasattr(manager, "log_actions"):
        manager.log_actions(user_id, [obj], action_flag, message, single_object=True)
    else:
        manager.log_action(
            user_id=user_id,
            content_type_id=ContentType.objects.get_for_model(obj, for_concrete_model=False).pk,
            object_id=obj.pk,
            object_repr=str(obj)[:200],
            action_flag=action_flag,
            change_message=message,
        )
