"""Write sessions straight in the app's key layout, fast (tests and bench/).

The layout is the one ``lua/session_save.lua``, ``session_viewed.lua`` and the cart
write: data with a TTL, ``recent:``, ``viewed:{KEY}``, ``cart:{KEY}`` and
its ``carts:`` entry, and for logged-in sessions ``login:`` and ``user-sessions:{UID}``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis_sessions import keys
from redis_sessions.connection import get_redis, run

CHUNK = 1000


def session_key(i: int) -> str:
    return f"sess{i:012d}"


def user_id(i: int) -> str:
    return str(1000 + i)


def populate(
    n: int,
    *,
    start: int = 0,
    now: float | None = None,
    viewed: int = 5,
    cart_lines: int = 2,
    logged_in_every: int = 2,
    ttl: int = 3600,
) -> list[str]:
    """Create sessions ``start .. start+n-1``; session *i* was last seen (and saved) at
    ``now - (n - i) ms``, so ``recent:`` is in the order of *i*. Every
    ``logged_in_every``-th session is logged in as user ``user_id(i)``. Returns the keys."""
    now = time.time() if now is None else now
    client, made = get_redis(), []
    for first in range(start, start + n, CHUNK):
        idx = range(first, min(first + CHUNK, start + n))
        commands: list[tuple[Any, ...]] = []
        recent: list[Any] = []
        login: list[Any] = []
        carts: list[Any] = []
        for i in idx:
            key = session_key(i)
            made.append(key)
            data_key, viewed_key, cart_key = keys.session_keys(key)
            seen = now - (start + n - i) * 1e-3  # 1 ms apart: 1,000,000 span 1000 s < ttl
            uid = user_id(i) if logged_in_every and i % logged_in_every == 0 else None
            data = {"_auth_user_id": uid} if uid else {"n": i}
            commands.append(("SET", data_key, json.dumps(data), "EX", ttl))
            recent += [seen, key]
            if viewed:
                pairs: list[Any] = []
                for v in range(viewed):
                    pairs += [seen + v * 1e-3, f"item{(i + v) % 500}"]
                commands.append(("ZADD", viewed_key, *pairs))
            if cart_lines:
                lines: list[Any] = []
                for c in range(cart_lines):
                    lines += [f"item{(i * 7 + c) % 500}", c + 1]
                commands.append(("HSET", cart_key, *lines))
                carts += [seen, cart_key]
            if uid:
                login += [key, uid]
                commands.append(("ZADD", keys.user_sessions(uid), int(seen), key))
        commands.append(("ZADD", keys.recent(), *recent))
        if carts:
            commands.append(("ZADD", keys.carts(), *carts))
        if login:
            commands.append(("HSET", keys.login(), *login))
        run(client, commands)
    return made
