"""Settings for bench/load.py: the demo, production-like (DEBUG off, quiet logs), with a
fast password hasher (a real PBKDF2 login costs about 0.4 s of CPU on this machine)."""

from __future__ import annotations

from demo_project.settings import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "root": {"handlers": [], "level": "WARNING"}}  # fmt: skip
