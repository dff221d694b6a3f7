"""The visitor's CSRF token on a cached page, in the format Django's
``CsrfViewMiddleware`` checks (``django.middleware.csrf``): a 32-character mask, then
the 32-character secret shifted by it, both over ``CSRF_ALLOWED_CHARS``.

Django's ``get_token`` draws each character with ``secrets.choice`` (64 calls, each
an ``os.urandom``, for a visitor without a cookie): the largest cost of a hit after
its round trip. Here one ``os.urandom`` call gives all the characters a token needs,
mapped to the 62-character alphabet without bias (bytes 248-255 are dropped, so each
character has the same 4 bytes of the 248 kept). The secret and the token are then
what Django would have made, and Django's middleware accepts the token.

The cookie: a new secret is sent as Django sends it (``CSRF_COOKIE_NEEDS_UPDATE``,
which ``CsrfViewMiddleware.process_response`` reads). A visitor whose cookie already
holds their secret is not sent it again on a cached page (Django re-sends it on
every page that uses a token, which only moves its expiry ``CSRF_COOKIE_AGE`` on):
the cookie then expires ``CSRF_COOKIE_AGE`` after a page Django rendered last set it,
and the first page after that sets a new one.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.http import HttpRequest
from django.middleware import csrf

__all__ = ["masked_token"]

_CHARS = csrf.CSRF_ALLOWED_CHARS
_LENGTH = csrf.CSRF_SECRET_LENGTH
#: Per secret character, the alphabet shifted by its index: the cipher character of
#: secret character c under mask index m is _SHIFTED[c][m] (Django's (c + m) % 62).
_SHIFTED = {c: _CHARS[i:] + _CHARS[:i] for i, c in enumerate(_CHARS)}
# Random bytes to alphabet indexes: bytes below 248 (4 x 62) map uniformly, the rest
# are dropped (rejection sampling, so no character is likelier than another).
_TO_INDEX = bytes(b % len(_CHARS) if b < 248 else 0 for b in range(256))
_DROP = bytes(range(248, 256))
_TO_CHAR = _CHARS.encode().ljust(256, b"_")


def random_indexes(n: int) -> bytes:
    """``n`` independent, uniform indexes into ``CSRF_ALLOWED_CHARS`` (as bytes 0-61),
    from one ``os.urandom`` call (a second one in about 1 case in 10**9)."""
    drawn = b""
    while len(drawn) < n:
        # n + 16 bytes: fewer than n of them are kept with a chance below 1e-9
        drawn += os.urandom(n + 16).translate(_TO_INDEX, _DROP)
    return drawn[:n]


def masked_token(request: HttpRequest) -> str:
    """What ``csrf.get_token`` returns: the visitor's secret, freshly masked. A visitor
    without one (``CsrfViewMiddleware.process_request`` put none in
    ``META["CSRF_COOKIE"]``) gets a new secret, and the cookie is set; a visitor whose
    cookie holds their secret as it is is not sent it again."""
    secret = request.META.get("CSRF_COOKIE")
    if isinstance(secret, str) and len(secret) == _LENGTH:
        mask = random_indexes(_LENGTH)
        try:
            cipher = "".join([_SHIFTED[s][m] for s, m in zip(secret, mask, strict=True)])
        except KeyError:  # not a secret CsrfViewMiddleware would have accepted
            return csrf.get_token(request)
        if request.COOKIES.get(settings.CSRF_COOKIE_NAME) != secret:  # sent masked (Django < 4.0)
            request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
        return mask.translate(_TO_CHAR).decode() + cipher
    if secret is not None:  # something else is in META: Django's own rules
        return csrf.get_token(request)
    drawn = random_indexes(2 * _LENGTH)
    secret = drawn[_LENGTH:].translate(_TO_CHAR).decode()
    request.META["CSRF_COOKIE"] = secret  # as csrf._add_new_csrf_cookie
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask = drawn[:_LENGTH]
    cipher = "".join([_SHIFTED[s][m] for s, m in zip(secret, mask, strict=True)])
    return mask.translate(_TO_CHAR).decode() + cipher
