"""Settings for the test suite: the demo shop plus test-only URLs and speed-ups."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from demo_project.settings import *  # noqa: F403
from demo_project.settings import INSTALLED_APPS

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ROOT_URLCONF = "tests.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False}

# Django's own session tests (from the sdist matching the installed Django) run
# against our engine when dev.py has unpacked them; see tests/sessions/test_django_contract.py.
DJANGO_TESTS_DIR = os.environ.get("DJANGO_TESTS_DIR")
if DJANGO_TESTS_DIR and Path(DJANGO_TESTS_DIR, "sessions_tests").is_dir():
    sys.path.insert(0, DJANGO_TESTS_DIR)
    INSTALLED_APPS = [*INSTALLED_APPS, "sessions_tests"]
