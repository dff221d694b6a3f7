"""Django's own session-backend tests, run against this engine.

The tests come from the Django sdist that matches the installed Django (they are not
in the wheel); ``dev.py test`` downloads and unpacks it and sets DJANGO_TESTS_DIR.
Nothing of Django's test code is copied into this repository.
"""

from __future__ import annotations

import os
from typing import Any
from unittest import mock

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import SimpleTestCase, TestCase

from redis_sessions.backends.redis import SessionStore
from redis_sessions.sessions import SessionMiddleware as OurSessionMiddleware

if not os.environ.get("DJANGO_TESTS_DIR"):
    pytest.skip(
        "DJANGO_TESTS_DIR is not set: run `python3 dev.py test`, which fetches Django's "
        "session tests for the installed version",
        allow_module_level=True,
    )

django_tests = pytest.importorskip("sessions_tests.tests")


class TestRedisSessionStoreContract(django_tests.SessionTestsMixin, SimpleTestCase):
    backend = SessionStore


class TestSessionMiddlewareContract(django_tests.SessionMiddlewareTests, TestCase):
    def test_empty_session_saved(self) -> None:
        pytest.skip("reads django.contrib.sessions.models.Session (database engine only)")


class InAsyncMode:
    """Our ``SessionMiddleware`` in async mode (built around an async ``get_response``,
    as Django's ASGI handler builds it), driven from Django's sync tests."""

    def __init__(self, get_response: Any) -> None:
        self.middleware = OurSessionMiddleware(sync_to_async(get_response))
        assert self.middleware.is_async

    def __call__(self, request: Any) -> Any:
        return async_to_sync(self.middleware)(request)

    def process_response(self, request: Any, response: Any) -> Any:
        return async_to_sync(self.middleware.aprocess_response)(request, response)


class OurMiddleware:
    """Django's SessionMiddlewareTests against redis_sessions' middleware (the name
    the tests call is swapped for ours), in the mode of the subclass."""

    middleware: Any = None

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        patcher = mock.patch.object(django_tests, "SessionMiddleware", self.middleware)
        patcher.start()
        self.addCleanup(patcher.stop)  # type: ignore[attr-defined]


class TestOurSessionMiddlewareContractSync(OurMiddleware, TestSessionMiddlewareContract):
    middleware = OurSessionMiddleware


class TestOurSessionMiddlewareContractAsync(OurMiddleware, TestSessionMiddlewareContract):
    middleware = InAsyncMode
