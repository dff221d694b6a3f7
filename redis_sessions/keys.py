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
``P:expires:``                  zset    session key -> expiry time
``P:user-sessions:{UID}``       set     session keys of one user
``P:viewed:``                   zset    item -> minus its view count (the book's)
==============================  ======  ============================================

Keys of one session share the Redis Cluster hash tag ``{KEY}``; a user's keys share
``{UID}``. The schema version is part of the prefix so that a release that changes a
layout can run beside the previous one during a rolling deploy.
"""

from __future__ import annotations

from .conf import app_settings

SCHEMA_VERSION = 1


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


def expires() -> str:
    return f"{prefix()}expires:"


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


# -- clean_sessions -------------------------------------------------------------------
def abandoned_carts() -> str:
    """The demo's capped list of carts that left with evicted sessions (newest first)."""
    return f"{prefix()}abandoned-carts:"
