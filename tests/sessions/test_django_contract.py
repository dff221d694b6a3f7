"""Django's own session-backend tests, run against this engine.

The tests come from the Django sdist that matches the installed Django (they are not
in the wheel); ``dev.py test`` downloads and unpacks it and sets DJANGO_TESTS_DIR.
Nothing of Django's test code is copied into this repository.
"""

from __future__ import annotations

import os

import pytest
from django.test import SimpleTestCase, TestCase

from redis_sessions.backends.redis import SessionStore

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
