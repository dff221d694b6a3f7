from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from redis_sessions.health import health_view

urlpatterns = [
    path("", include("demo_project.shop.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    # LogoutView accepts POST only (Django 5): the header has a small form for it.
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("health/", health_view, name="health"),  # JSON for load balancers and monitoring
]

# Renders 503.html when the error is RedisUnavailable, 500.html otherwise.
handler500 = "redis_sessions.views.server_error"
