"""django-redis-anatomy: Django web state in Redis, after Redis in Action, chapter 2."""

from __future__ import annotations

__version__ = "0.1.0"
