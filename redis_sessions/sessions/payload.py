"""What the data key holds: the serialized session, with Django's three auth keys
packed in a short header (issue 19: they were 40 % of a logged-in session's data).

A logged-in session's payload is ``TAG``, a JSON array ``[user id, auth hash,
backend]`` (no raw newline: JSON escapes them), a newline, then ``SESSION_SERIALIZER``'s
output for the rest of the session. The backend is a small integer when it is one of
Django's own backends (``BACKENDS``: a fixed table, the same whatever the settings say,
so a code always reads back as the path it was written from) and its dotted path
otherwise. Decoding gives back exactly the dict that was encoded (only the keys'
order may differ), so the session Django sees is unchanged.

Any other payload is the serializer's output as it is, which is also what the data of
older sessions is; one that happens to start with ``TAG`` (never JSON's ``{`` nor
pickle's ``\\x80``) gets a ``null`` header, so ``TAG`` always means this format.
"""

from __future__ import annotations

import json
from typing import Any

# django.contrib.auth's SESSION_KEY, BACKEND_SESSION_KEY and HASH_SESSION_KEY, spelt
# out so the engine works without the auth app.
AUTH_USER_ID = "_auth_user_id"
AUTH_BACKEND = "_auth_user_backend"
AUTH_HASH = "_auth_user_hash"
TAG = b"\x1e"  # ASCII record separator
#: Backends stored as their index. Append only: a code, once written, means its path.
BACKENDS = (
    "django.contrib.auth.backends.ModelBackend",
    "django.contrib.auth.backends.AllowAllUsersModelBackend",
    "django.contrib.auth.backends.RemoteUserBackend",
    "django.contrib.auth.backends.AllowAllUsersRemoteUserBackend",
)
_CODES = {path: code for code, path in enumerate(BACKENDS)}


def _header(data: dict[str, Any]) -> list[Any] | None:
    """``[user id, hash, backend]`` when the three auth keys are there as Django
    writes them (the id a string or an int, the others strings), else None."""
    try:
        uid, backend, digest = data[AUTH_USER_ID], data[AUTH_BACKEND], data[AUTH_HASH]
    except KeyError:
        return None
    if type(uid) not in (str, int) or type(backend) is not str or type(digest) is not str:
        return None
    return [uid, digest, _CODES.get(backend, backend)]


def encode(serializer: Any, data: dict[str, Any]) -> bytes:
    """The data key's value for ``data`` (``serializer``: a SESSION_SERIALIZER instance)."""
    header = _header(data)
    if header is None:
        payload = _bytes(serializer.dumps(data))
        if not payload.startswith(TAG):
            return payload
        return TAG + b"null\n" + payload
    rest = {k: v for k, v in data.items() if k not in (AUTH_USER_ID, AUTH_BACKEND, AUTH_HASH)}
    packed = json.dumps(header, separators=(",", ":")).encode()
    return TAG + packed + b"\n" + _bytes(serializer.dumps(rest))


def _bytes(payload: bytes | str) -> bytes:
    # Django's serializers give bytes; Redis would store a str as its UTF-8.
    return payload if isinstance(payload, bytes) else payload.encode()


def decode(serializer: Any, raw: bytes) -> Any:
    """The session ``encode`` was given (raises what the serializer or JSON raise on
    data that is neither format)."""
    if not raw.startswith(TAG):
        return serializer.loads(raw)
    packed, _, payload = raw[1:].partition(b"\n")
    header = json.loads(packed)
    data = serializer.loads(payload)
    if header is None:
        return data
    if not isinstance(data, dict):
        raise TypeError(f"session data is a {type(data).__name__}, not a dict")
    uid, digest, backend = header
    if isinstance(backend, int):
        backend = BACKENDS[backend]  # IndexError for a code this release does not know
    data.update({AUTH_USER_ID: uid, AUTH_BACKEND: backend, AUTH_HASH: digest})
    return data
