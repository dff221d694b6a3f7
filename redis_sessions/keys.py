"""Every Redis key the app uses is built here, and only here.

Layout (``P`` is ``KEY_PREFIX`` followed by the schema version, ``rs:1`` by default):

==============================  ======  ============================================
key                             type    holds
==============================  ======  ============================================
``P:session:{KEY}``             string  serialized session data, TTL = expiry age
``P:viewed:{KEY}``              zset    item -> last-viewed time, newest 25
``P:cart:{KEY}``                hash    anonymous cart, item -> quantity
``P:cart:user:{UID}``           hash    a user's cart, item -> quantity
``P:login:``                    hash    session key -> user id (logged-in index)
``P:recent:``                   zset    session key -> last-seen time
``P:user-sessions:{UID}``       zset    session keys of one user -> second added
``P:viewed:``                   zset    item -> minus its view count (the book's)
``P:views:{DAY}``               zset    item -> views that UTC day (YYYYMMDD)
``P:visitors:{DAY}:{ITEM}``     hll     distinct visitors of an item that day
``P:seen:{VISITOR}:ITEM``       string  a visitor's view of an item counted, TTL
                                        ``VIEW_WINDOW`` (VISITOR: session key or
                                        keyed hash of the client)
``P:page:{SHA}``                hash    a cached page (fresh, meta, body)
``P:page-lock:{SHA}``           string  render lock of a page (stampede guard)
``P:item-pages:{ITEM}``         set     SHAs of an item's cached pages
``P:fragment:{SHA}``            hash    a cached template fragment (+ ``fragment-lock:``)
``P:fragment-deps:{LABEL}``     set     SHAs of the fragments that depend on a model
==============================  ======  ============================================

Keys of one session share the Redis Cluster hash tag ``{KEY}``; a user's keys share
``{UID}``. Each global index (``login:``, ``recent:``, ``viewed:``) is one key, under
the book's name (``P:expires:``, a zset of expiry times, went in the release that
brought memory per session down; ``clean_sessions`` unlinks an old one). The schema
version is part of the prefix so that a release that changes a layout can run beside
the previous one during a rolling deploy.
"""

from __future__ import annotations

import re
from typing import Any

from redis_sessions.conf import app_settings

SCHEMA_VERSION = 1
# What the engine makes (28 of Django's VALID_KEY_CHARS; 32 before issue 19, and a
# migrated key of Django's): no key is built from junk.
_SESSION_KEY = re.compile(r"[a-z0-9]{8,64}")


def is_session_key(value: Any) -> bool:
    """Whether ``value`` looks like a session key of ours (safe to build keys from)."""
    return isinstance(value, str) and _SESSION_KEY.fullmatch(value) is not None


def prefix() -> str:
    return f"{app_settings.KEY_PREFIX}:{SCHEMA_VERSION}:"


# -- per session (hash tag: the session key) ---------------------------------------
def session(session_key: str) -> str:
    return f"{prefix()}session:{{{session_key}}}"


def viewed(session_key: str) -> str:
    return f"{prefix()}viewed:{{{session_key}}}"


def cart(session_key: str) -> str:
    return f"{prefix()}cart:{{{session_key}}}"


def session_keys(session_key: str) -> tuple[str, str, str]:
    """``(session, viewed, cart)`` of one session, built with one prefix lookup."""
    p = prefix()
    tag = f"{{{session_key}}}"
    return f"{p}session:{tag}", f"{p}viewed:{tag}", f"{p}cart:{tag}"


def session_load_keys(session_key: str) -> tuple[str, str]:
    """``(session, recent:)`` with one prefix lookup (every session load builds these)."""
    p = prefix()
    return f"{p}session:{{{session_key}}}", f"{p}recent:"


def session_save_keys(session_key: str) -> tuple[str, str, str, str, str]:
    """``(session, recent:, login:, user-sessions head, tail)`` with one prefix lookup
    (the session save builds these on every write)."""
    p = prefix()
    return (f"{p}session:{{{session_key}}}", f"{p}recent:", f"{p}login:",
            f"{p}user-sessions:{{", "}")  # fmt: skip


# -- per user (hash tag: the user id) ----------------------------------------------
def user_cart(user_id: str | int) -> str:
    return f"{prefix()}cart:user:{{{user_id}}}"


def user_sessions(user_id: str | int) -> str:
    return f"{prefix()}user-sessions:{{{user_id}}}"


def user_sessions_template() -> tuple[str, str]:
    """Head and tail around a user id, for Lua scripts that learn the id in Redis."""
    return f"{prefix()}user-sessions:{{", "}"


# -- global indexes (the book's names) ---------------------------------------------
def login() -> str:
    return f"{prefix()}login:"


def recent() -> str:
    return f"{prefix()}recent:"


def legacy_expires() -> str:
    """The ``expires:`` zset (session key -> expiry time) that earlier releases kept;
    nothing writes it now, and ``clean_sessions`` unlinks it."""
    return f"{prefix()}expires:"


def index_keys() -> tuple[str, str]:
    """``(recent:, login:)`` with one prefix lookup (the session scripts that touch
    both: delete, cycle, evict)."""
    p = prefix()
    return f"{p}recent:", f"{p}login:"


def viewed_items() -> str:
    return f"{prefix()}viewed:"


def carts() -> str:
    """Index of non-empty carts: cart key -> last change time."""
    return f"{prefix()}carts:"


# -- background loops ----------------------------------------------------------------
def loop_lock(name: str) -> str:
    return f"{prefix()}loop:lock:{name}"


def heartbeat(name: str) -> str:
    return f"{prefix()}loop:heartbeat:{name}"


def scan_pattern() -> str:
    """SCAN MATCH pattern for every key of this app (glob characters escaped)."""
    return escape_glob(prefix()) + "*"


def escape_glob(text: str) -> str:
    """Escape ``* ? [ ] \\`` so a user-derived string is literal inside a MATCH pattern."""
    out = []
    for ch in text:
        if ch in "*?[]\\":
            out.append("\\")
        out.append(ch)
    return "".join(out)


# -- analytics and caches (analytics.py, pagecache.py, templatetags) ---------------
def daily_views(day: str) -> str:
    """Views per item on one UTC day (``YYYYMMDD``)."""
    return f"{prefix()}views:{day}"


def item_visitors(item_id: str, day: str) -> str:
    """HyperLogLog of the distinct visitors of one item on one UTC day."""
    return f"{prefix()}visitors:{day}:{item_id}"


def view_seen(visitor: str, item_id: str) -> str:
    """``P:seen:{VISITOR}:ITEM``: set for ``VIEW_WINDOW`` seconds once a visitor's view of
    an item is counted (the visitor: a session key, in that session's slot, or the keyed
    hash of a client, ``analytics.counting.client_id``)."""
    return f"{prefix()}seen:{{{visitor}}}:{item_id}"


def page(digest: str) -> str:
    return f"{prefix()}page:{digest}"


def page_lock(digest: str) -> str:
    return f"{prefix()}page-lock:{digest}"


def item_pages(item_id: str) -> str:
    return f"{prefix()}item-pages:{item_id}"


def fragment(digest: str) -> str:
    return f"{prefix()}fragment:{digest}"


def fragment_lock(digest: str) -> str:
    return f"{prefix()}fragment-lock:{digest}"


def fragment_deps(label: str) -> str:
    """Digests of the cached fragments that depend on model ``label`` (``depends=``)."""
    return f"{prefix()}fragment-deps:{label}"


# -- row cache (the book's inv:, delay:, schedule:) ----------------------------------
# One row's entry and version share the hash tag {label:pk}, so the compare-and-set
# fill (lua/rowcache_fill.lua) touches a single slot.
def row(label: str, pk: str) -> str:
    """``P:inv:{app_label.model:pk}``: the cached JSON document of one row."""
    return f"{prefix()}inv:{{{label}:{pk}}}"


def row_version(label: str, pk: str) -> str:
    """``P:inv-version:{app_label.model:pk}``: bumped by every write of the row."""
    return f"{prefix()}inv-version:{{{label}:{pk}}}"


def row_templates() -> tuple[str, str, str]:
    """Heads of the entry and version keys and their tail, for Lua that has a member."""
    return f"{prefix()}inv:{{", f"{prefix()}inv-version:{{", "}"


def row_member(label: str, pk: str) -> str:
    """A row's member in ``delay:`` and ``schedule:`` (not a key)."""
    return f"{label}:{pk}"


def row_delay() -> str:
    """zset member -> seconds between refreshes."""
    return f"{prefix()}delay:"


def row_schedule() -> str:
    """zset member -> time of the next refresh."""
    return f"{prefix()}schedule:"


# -- reading keys back (inspection views) --------------------------------------------
def cart_owner(cart_key: str) -> tuple[str, str] | None:
    """``("session", KEY)`` or ``("user", UID)`` for a cart key this app built, else None
    (members of the ``carts:`` index are cart keys)."""
    p = prefix()
    user_head = f"{p}cart:user:{{"
    if cart_key.startswith(user_head) and cart_key.endswith("}"):
        return "user", cart_key[len(user_head) : -1]
    head = f"{p}cart:{{"
    if cart_key.startswith(head) and cart_key.endswith("}"):
        return "session", cart_key[len(head) : -1]
    return None


def kind(key: str) -> str | None:
    """The family of one of this app's keys, for per-prefix counts: the part after the
    prefix up to a ``{hash tag}`` (shown as ``{…}``) or its second ``:``; None for a key
    that is not the app's."""
    p = prefix()
    if not key.startswith(p):
        return None
    rest = key[len(p) :]
    if "{" in rest:
        return rest[: rest.index("{")] + "{…}"
    # A global key ("recent:") is its own family; a key with a variable tail (a page
    # digest, a day, an item id, a loop name) belongs to its head's ("page:…").
    head, _, tail = rest.partition(":")
    return f"{head}:…" if tail else rest


# -- clean_sessions -------------------------------------------------------------------
def abandoned_carts() -> str:
    """The demo's capped list of carts that left with evicted sessions (newest first)."""
    return f"{prefix()}abandoned-carts:"


# -- the page cache as a whole (inspection: counts, purge all) -----------------------
def page_cache_heads() -> tuple[str, ...]:
    """Heads of every page-cache and fragment-cache key (entries, locks, item sets)."""
    p = prefix()
    return (f"{p}page:", f"{p}page-lock:", f"{p}item-pages:", f"{p}fragment:",
            f"{p}fragment-lock:", f"{p}fragment-deps:")  # fmt: skip


def page_cache_pattern() -> str:
    """One SCAN MATCH pattern covering every ``page_cache_heads`` key: the prefix, then a
    character class per leading letter of the heads (``[fip][art][age]*``). It also
    matches a few keys that are not the cache's; callers keep only ``page_cache_heads``.
    One pass of this pattern replaces a pass per family (each is a full SCAN)."""
    p = prefix()
    tails = [head[len(p) :] for head in page_cache_heads()]
    classes = "".join("[" + "".join(sorted({t[i] for t in tails})) + "]" for i in range(3))
    return escape_glob(p) + classes + "*"


def item_pages_pattern() -> str:
    """SCAN MATCH pattern for every item's set of cached pages (prefix escaped)."""
    return escape_glob(f"{prefix()}item-pages:") + "*"


def item_of_pages_key(key: str) -> str:
    """The item id of an ``item-pages:`` key (the inverse of ``item_pages``)."""
    return key[len(f"{prefix()}item-pages:") :]


# -- Redis Cluster (the features' splits.py) ---------------------------------------
def cluster_scratch(tag: str) -> str:
    """A throwaway zset in slot ``{tag}``: a cart script's index writes land here in
    cluster mode (the real ``carts:`` is updated in a step of its own)."""
    return f"{prefix()}scratch:{{{tag}}}"


def cluster_merge(tag: str) -> str:
    """A short-lived copy of an anonymous cart in the user's slot ``{tag}`` (the login
    merge runs there in cluster mode)."""
    return f"{prefix()}cart-merge:{{{tag}}}"


def cart_merging(tag: str) -> str:
    """A login merge of the anonymous cart ``cart:{tag}`` begun in cluster mode and not
    yet finished (its lines and merge id), in that cart's slot."""
    return f"{prefix()}cart-merging:{{{tag}}}"


def cart_merged(tag: str, merge_id: str) -> str:
    """The mark of a cluster login merge applied to the user's cart ``{tag}``: a retry
    of the same merge is not applied again."""
    return f"{prefix()}cart-merged:{{{tag}}}:{merge_id}"


# -- inspection pages ------------------------------------------------------------------
def session_ref(digest: str) -> str:
    """``P:session-ref:DIGEST``: the session key behind its digest on the inspection
    pages (a short-lived string written by the page that showed the digest)."""
    return f"{prefix()}session-ref:{digest}"
