"""What a cached page holds, and which responses may be stored (``pagecache``).

The key is a SHA-256 of method, scheme, host (without its port), path and the sorted
query string (only parameters the view allows), so every process and machine computes
the same one (the book used Python's ``hash()``,
which differs per process). The stored copy never holds a visitor's CSRF token: each
masked token in the body is swapped for ``PLACEHOLDER`` (same length), and a hit puts
the new visitor's own token back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes, urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.http.request import split_domain_port
from django.middleware import csrf
from django.utils import translation
from django.utils.encoding import repercent_broken_unicode

from redis_sessions.pagecache.csrf import masked_token

#: 64 characters like a masked token, but with "_", which no real token contains.
PLACEHOLDER = b"__redis_sessions_csrf_token__".ljust(64, b"_")
_TOKEN_RE = re.compile(rb"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])")
_NOT_STORED_HEADERS = frozenset({"x-cache", "set-cookie"})
_NO_STORE = frozenset({"private", "no-store"})


@lru_cache(maxsize=4096)
def digest(method: str, scheme: str, host: str, path: str, query: str, language: str = "") -> str:
    """The cache key's digest for one URL; identical in every process.

    ``host`` counts without its port (``shop.example:8080`` is ``shop.example``: a
    port is no new page). ``path`` is decoded, as Django's ``request.path``. The query
    is compared as Django parses it (``request.GET``): parameters are sorted by name
    only, so ``?a=1&b=2`` and ``?b=2&a=1`` share a key while ``?a=1&a=2`` and
    ``?a=2&a=1`` (whose ``getlist("a")`` differ) do not. Which parameters a request
    may carry at all is ``allowed_query``'s rule.

    Remembered for the 4,096 most recent URLs of the process (a pure function of its
    arguments: a hit then hashes nothing).
    """
    ordered = ""
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        ordered = urlencode(sorted(pairs, key=lambda pair: pair[0]))  # stable: value order
    text = "\n".join((method.upper(), scheme.lower(), page_host(host), path, ordered))
    if language:  # a page in another language than LANGUAGE_CODE is another page
        text += "\n" + language
    return hashlib.sha256(text.encode()).hexdigest()


def page_host(host: str) -> str:
    """``host`` as a page key holds it: lower case, without its port."""
    domain, _ = split_domain_port(host)
    return domain or host.lower()  # not a valid host (never from get_host()): as it is


def allowed_query(query: str, allowed: Collection[str]) -> bool:
    """Whether every parameter of the query string ``query`` is one of ``allowed`` (a
    view's ``cache_request(query=...)``). Any other parameter makes the request
    uncached: a page key per made-up parameter would let anyone fill the cache."""
    if not query:
        return True
    return all(name in allowed for name, _ in parse_qsl(query, keep_blank_values=True))


def page_language() -> str:
    """The active language when it is not the site's default (``""`` otherwise): what
    LocaleMiddleware chose for this request, as Django's own page cache keys it."""
    if not settings.USE_I18N:
        return ""
    language = translation.get_language() or ""
    return "" if language == settings.LANGUAGE_CODE else language


def other_languages() -> list[str]:
    """Every language a page may have been cached in besides the default (``""``)."""
    if not settings.USE_I18N:
        return [""]
    return ["", *(code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE)]


def url_path(raw: str) -> str:
    """The path of a URL as Django's ``request.path`` holds it: percent-decoded as a
    WSGI server does, invalid UTF-8 re-encoded as Django does."""
    return repercent_broken_unicode(unquote_to_bytes(raw or "/")).decode()


def request_digest(request: HttpRequest, method: str | None = None) -> str:
    return digest(
        method or request.method or "GET",
        request.scheme or "http",
        request.get_host(),
        request.path,
        request.META.get("QUERY_STRING", ""),
        page_language(),
    )


def _vary_names(response: HttpResponseBase) -> list[str]:
    return [h.strip().lower() for h in response.get("Vary", "").split(",") if h.strip()]


def _vary_values(request: HttpRequest, names: list[str]) -> list[list[str]]:
    # Stored as digests: a Vary: Cookie page must not keep the visitor's cookies.
    return [
        [n, hashlib.sha256(request.headers.get(n, "").encode()).hexdigest()[:32]] for n in names
    ]


def refusal(request: HttpRequest, response: HttpResponseBase) -> str | None:
    """Why ``response`` must not be stored (a ``bypass.REASONS`` name), or ``None``
    when it may be."""
    if response.status_code != 200 or response.streaming:
        return "status"
    if response.cookies:
        return "cookie"
    control = response.get("Cache-Control", "")
    directives = {d.split("=")[0].strip().lower() for d in control.split(",")}
    if directives & _NO_STORE:
        return "cache-control"
    if "*" in _vary_names(response):
        return "vary"
    session = getattr(request, "session", None)
    if session is not None and getattr(session, "modified", False):
        return "session-changed"
    messages = getattr(request, "_messages", None)
    if messages is not None and getattr(messages, "_loaded_data", None):
        return "messages"
    return None


def scrub_csrf(request: HttpRequest, body: bytes) -> bytes | None:
    """``body`` with the visitor's CSRF tokens replaced by ``PLACEHOLDER``; ``None``
    if the unmasked secret itself is in the page (such a page is never stored)."""
    secret = request.META.get("CSRF_COOKIE")
    if not secret:
        return body

    def swap(match: re.Match[bytes]) -> bytes:
        # Django's own unmasking (private API, stable since 4.1): a token is the
        # visitor's exactly when it unmasks to their secret.
        mine = csrf._unmask_cipher_token(match.group().decode()) == secret  # type: ignore[attr-defined]
        return PLACEHOLDER if mine else match.group()

    body = _TOKEN_RE.sub(swap, body)
    return None if secret.encode() in body else body


def encode(request: HttpRequest, response: HttpResponse, item: str) -> tuple[bytes, bytes] | None:
    """``(meta, body)`` to store, or ``None`` if the body cannot be made anonymous."""
    body = scrub_csrf(request, response.content)
    if body is None:
        return None
    headers = [[k, v] for k, v in response.items() if k.lower() not in _NOT_STORED_HEADERS]
    if PLACEHOLDER in body:  # each visitor's copy holds their token: it varies with cookies
        headers = _varying_on_cookie(headers)
    meta = {
        "s": response.status_code,
        "h": headers,
        "v": _vary_values(request, _vary_names(response)),
        "i": item,
    }
    return json.dumps(meta, separators=(",", ":")).encode(), body


def _varying_on_cookie(headers: list[list[str]]) -> list[list[str]]:
    """``headers`` with ``Cookie`` in their ``Vary`` (as Django's CSRF middleware adds
    it when it sets the cookie; a hit to a visitor whose cookie is not sent again must
    say it too). Only the header: the copy itself is served whatever the cookie."""
    for pair in headers:
        if pair[0].lower() == "vary":
            if "cookie" not in (name.strip().lower() for name in pair[1].split(",")):
                pair[1] = f"{pair[1]}, Cookie"
            return headers
    return [*headers, ["Vary", "Cookie"]]


@lru_cache(maxsize=1024)
def _meta(meta_raw: bytes) -> tuple[int, tuple[tuple[str, str], ...], list[list[str]]]:
    """A stored copy's status, headers and ``Vary`` digests, parsed once per process
    for the 1,024 most recent copies (every hit of a page reads the same bytes)."""
    meta: dict[str, Any] = json.loads(meta_raw)
    return meta["s"], tuple((k, v) for k, v in meta["h"]), meta["v"]


def decode(request: HttpRequest, meta_raw: bytes, body: bytes) -> HttpResponse | None:
    """The response for this visitor, or ``None`` when its ``Vary`` headers differ."""
    status, headers, vary = _meta(meta_raw)
    if vary and _vary_values(request, [n for n, _ in vary]) != vary:
        return None
    if PLACEHOLDER in body:
        body = body.replace(PLACEHOLDER, masked_token(request).encode())
    # The stored headers at construction: no default Content-Type to build and replace.
    # Content-Length as CommonMiddleware sets it (an early hit never reaches it): a
    # server then frames the body by its length, not in chunks (gunicorn: one write
    # fewer per response).
    length = ("Content-Length", str(len(body)))
    return HttpResponse(body, status=status, headers=(*headers, length))
