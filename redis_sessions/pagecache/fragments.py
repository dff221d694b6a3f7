"""The template fragment cache behind ``{% redis_cache %}``, and ``invalidate_fragment``.

Like Django's ``{% cache %}``, but in this app's keys (``fragment:{SHA}``), with the
page cache's stampede lock and stale-while-rendering (``caching``), and, given an
item, only while that item ranks in the top ``CACHE_TOP_N``. A fragment that
``depends`` on models is named in their ``fragment-deps:{LABEL}`` sets, which their
writes drop (``follow``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from django.http import HttpRequest

from redis_sessions import keys
from redis_sessions.analytics.counting import clean_item_id
from redis_sessions.connection import get_redis, run
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.pagecache import engine as caching
from redis_sessions.pagecache import entry as pageentry
from redis_sessions.pagecache.csrf import masked_token

__all__ = ["cached_fragment", "fragment_digest", "invalidate_fragment"]

_outage = caching.OutageLog("fragment cache")


def fragment_digest(name: str, vary_on: Sequence[Any] = ()) -> str:
    """Digest of a fragment's name and ``vary_on`` values (stable across processes)."""
    text = "\n".join([name, *(str(v) for v in vary_on)])
    return hashlib.sha256(text.encode()).hexdigest()


def invalidate_fragment(name: str, *vary_on: Any) -> bool:
    """Drop one cached fragment; True if it was there."""
    return bool(run(get_redis(), [("DEL", keys.fragment(fragment_digest(name, vary_on)))])[0])


def cached_fragment(
    name: str,
    vary_on: Sequence[Any],
    timeout: float,
    item: object,
    render: Callable[[], str],
    request: HttpRequest | None = None,
    depends: Sequence[str] = (),
) -> str:
    """The fragment from Redis, or ``render()`` (stored unless the item is unpopular).

    A ``{% csrf_token %}`` inside the fragment is stored as a placeholder and each
    hit gets the visitor's own token, as in the page cache (``csrf.masked_token``);
    without the ``request`` a fragment holding a token is rendered every time and
    never stored. ``depends``: labels of the models whose writes drop it
    (``follow.fragment_labels``).
    """
    item_id = "" if item is None or item == "" else clean_item_id(item)
    digest = fragment_digest(name, vary_on)
    target = caching.Target(keys.fragment(digest), keys.fragment_lock(digest),
                            keys.viewed_items(), item_id)  # fmt: skip
    try:
        found = caching.lookup(target)
        _outage.ok()
    except RedisUnavailable as exc:
        _outage.failed(exc)
        return render()
    if found.servable:
        assert found.body is not None
        body = found.body
        if pageentry.PLACEHOLDER in body:
            if request is None:
                return render()
            body = body.replace(pageentry.PLACEHOLDER, masked_token(request).encode())
        return body.decode()
    if found.state == caching.COLD:
        return render()
    try:
        content = render()
    except BaseException:
        if found.token:
            _send(caching.release_command(target, found.token))
        raise
    stored = _anonymous(content.encode(), request)
    if stored is None:  # a visitor's CSRF token we cannot take out: never shared
        if found.token:
            _send(caching.release_command(target, found.token))
        return content
    sets = [keys.fragment_deps(label) for label in depends]
    _send(caching.store_command(target, b"", stored, timeout, found.token, sets, digest))
    return content


def _anonymous(body: bytes, request: HttpRequest | None) -> bytes | None:
    """``body`` without the visitor's CSRF token, or None when it cannot be shared."""
    if request is not None:
        return pageentry.scrub_csrf(request, body)
    return None if b"csrfmiddlewaretoken" in body else body


def _send(command: tuple[Any, ...]) -> None:
    try:
        run(get_redis(), [command])
    except RedisUnavailable as exc:
        _outage.failed(exc)
