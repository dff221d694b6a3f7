from __future__ import annotations

from django.apps import AppConfig, apps


class RedisSessionsConfig(AppConfig):
    name = "redis_sessions"
    verbose_name = "Redis"

    def ready(self) -> None:
        # Imports inside ready(): the features import models and settings-derived state
        # that Django's app loading has not finished building when apps.py is imported.
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from redis_sessions import checks
        from redis_sessions.sessions import users

        checks.register()
        if apps.is_installed("django.contrib.auth"):
            user_model = get_user_model()
            post_delete.connect(
                users.on_user_deleted, sender=user_model, dispatch_uid="redis_sessions.user_deleted"
            )
            post_save.connect(
                users.on_user_saved, sender=user_model, dispatch_uid="redis_sessions.user_saved"
            )
            from django.contrib.auth.signals import user_logged_in

            from redis_sessions.cart import merge

            user_logged_in.connect(
                merge.on_user_logged_in, dispatch_uid="redis_sessions.cart_merge"
            )
        from redis_sessions.rowcache.writes import connect_signals

        connect_signals()  # row cache: drop entries of registered models on write
        from redis_sessions.pagecache import follow

        follow.connect_signals()  # page cache: drop pages and fragments of linked models
