"""The ``SESSION_ENGINE`` path: ``"redis_sessions.backends.redis"``.

Django imports ``SessionStore`` from the module named by ``SESSION_ENGINE``; the engine
itself lives in ``redis_sessions.sessions.store``.
"""

from __future__ import annotations

from redis_sessions.sessions.store import SessionStore

__all__ = ["SessionStore"]
