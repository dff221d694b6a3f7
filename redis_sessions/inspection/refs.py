"""Sessions on the inspection pages are named by a digest, never by their key.

A session key is a bearer token: whoever reads it (over a shoulder, in a screenshot,
a browser history, a proxy log of the URL) can be that visitor. So the pages show,
link and log a *reference*: the first 16 hex digits of an HMAC of the key under the
project's ``SECRET_KEY``, which cannot be turned back into the key and, without the
secret, cannot be computed from one either.

An action needs the key again, so the page that shows a reference also stores it in
Redis, ``keys.session_ref(ref)`` -> session key, for ``REF_SECONDS``, in a pipeline
it sends anyway (no extra round trip); a link older than that answers 404 and the list
shows a fresh one. Only staff with ``view_sessions`` reach those pages, and only the
server reads the stored keys back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.http import Http404
from django.utils.crypto import salted_hmac

from redis_sessions import keys
from redis_sessions.connection import get_redis, run

REF_RE = re.compile(r"[0-9a-f]{16}")
REF_SECONDS = 3600


def ref(session_key: str) -> str:
    """The reference of ``session_key`` (16 hex digits, stable for a ``SECRET_KEY``)."""
    return salted_hmac("redis_sessions.inspection.session", session_key).hexdigest()[:16]


def remember(session_keys: Iterable[str]) -> list[tuple[Any, ...]]:
    """Commands that let ``resolve`` find each key from its reference for a while."""
    return [("SET", keys.session_ref(ref(k)), k, "EX", REF_SECONDS) for k in session_keys]


def resolve(reference: str) -> str:
    """The session key behind ``reference``; 404 for a malformed, unknown or expired one."""
    if not REF_RE.fullmatch(reference):
        raise Http404("Not a session reference")
    found = run(get_redis(), [("GET", keys.session_ref(reference))])[0]
    if found is None:
        raise Http404("Unknown or expired session reference: open the session from the list")
    session_key = found.decode() if isinstance(found, bytes) else str(found)
    if ref(session_key) != reference:  # not one we wrote (a hand-made key)
        raise Http404("Not a session reference")
    return session_key
