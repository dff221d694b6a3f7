"""What each layout change would save per session: issue 19's levers, one at a time.

An analysis aid for ``bench/memory.py``, not a test of the app: it writes N sessions
straight into a private ``redis-server`` (started here, ``--save '' --appendonly
no``), in the app's layout (``base``, which must agree with ``bench/memory.py``) or in
the layout with ONE change, and prints ``used_memory`` per session and the saving
against ``base``. The changed layouts exist only here; the app's keys are built in
``redis_sessions/keys.py``. Each variant starts from an empty server (FLUSHALL of the
server this script started).

    .venv/bin/python bench/memory_levers.py [--sessions 100000] [--django-anon B]
        [--django-login B]   # bench/memory.py's figures, for the ratios
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import string
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.redis_memory import settled_used_memory
from redis_sessions import embedded

TTL = 1_209_600  # SESSION_COOKIE_AGE
P = "rs:1:"  # KEY_PREFIX "rs", schema version 1
BACKEND = "django.contrib.auth.backends.ModelBackend"
ALPHABET = string.ascii_lowercase + string.digits  # VALID_KEY_CHARS
FIRST_UID = 1_000_000  # 7-digit user ids, as bench/memory.py


@dataclass(frozen=True)
class Layout:
    """One layout: what is written for a session (anonymous or logged in)."""

    expires: bool = True  # the expires: zset
    ttl: bool = True  # a Redis TTL on the data key
    member: Callable[[str], Any] = lambda key: key  # index member (str or bytes) of a key
    user_sessions: str = "set"  # "set", "zset" or "hash"
    login: str = "hash"  # "hash", "none" or "buckets" (small hashes of ~64)
    data_head: str = "session:"
    backend_in_data: bool = True  # _auth_user_backend stored in the data
    short_auth: bool = False  # the auth keys as "u" and "h", no backend (a serializer's job)


def b16(key: str) -> bytes:
    """16 binary bytes standing for the key (a digest: 36^32 > 2^128)."""
    return hashlib.blake2b(key.encode(), digest_size=16).digest()


def b64(key: str) -> str:
    """The same 16 bytes in unpadded base64url: 22 characters."""
    return base64.urlsafe_b64encode(b16(key)).rstrip(b"=").decode()


LAYOUTS: dict[str, Layout] = {
    "base": Layout(),
    "a: no expires: zset": Layout(expires=False),
    "b: user-sessions zset": Layout(user_sessions="zset"),
    "b: user-sessions hash": Layout(user_sessions="hash"),
    "c: members 16 B binary": Layout(member=b16),
    "c: members 22 ch base64": Layout(member=b64),
    "c: members 28 ch prefix": Layout(member=lambda key: key[:28]),
    "d: no login: hash": Layout(login="none"),
    "d: login: in ~64-field hashes": Layout(login="buckets"),
    "e: data key 'rs:1:s:{KEY}'": Layout(data_head="s:"),
    "e: no _auth_user_backend": Layout(backend_in_data=False),
    "e: auth keys 'u', 'h', no backend": Layout(short_auth=True),
    "e: no TTL on the data key": Layout(ttl=False),
}
# The levers that reach the targets, together (the saving is not the sum: c also
# shortens login: and user-sessions members).
COMBINED = {
    "a+c16": Layout(expires=False, member=b16),
    "a+b": Layout(expires=False, user_sessions="zset"),
    "a+b+d(buckets)": Layout(expires=False, user_sessions="zset", login="buckets"),
    "a+b+d(none)": Layout(expires=False, user_sessions="zset", login="none"),
    "a+b+c16": Layout(expires=False, user_sessions="zset", member=b16),
    "a+b+c16+d(buckets)": Layout(expires=False, user_sessions="zset", member=b16, login="buckets"),
    "a+b+c16+d(none)": Layout(expires=False, user_sessions="zset", member=b16, login="none"),
    "a+b+e(auth 'u', 'h')": Layout(expires=False, user_sessions="zset", short_auth=True),
    "a+b+c16+e(auth 'u', 'h')": Layout(
        expires=False, user_sessions="zset", member=b16, short_auth=True
    ),
}


def fill(client: redis.Redis, layout: Layout, n: int, logged_in: bool) -> None:
    rng = random.Random(19)
    users = max(1, n // 4)
    buckets = max(1, n // 64)
    now = time.time()
    hashes: dict[int, str] = {}
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        key = "".join(rng.choices(ALPHABET, k=32))
        member = layout.member(key)
        t = now + i * 1e-3
        data: dict[str, object] = {"n": 1}
        uid = 0
        if logged_in:
            uid = FIRST_UID + rng.randrange(users)
            digest = hashes.setdefault(uid, f"{rng.getrandbits(256):064x}")
            data = {"_auth_user_id": str(uid), "_auth_user_backend": BACKEND,
                    "_auth_user_hash": digest}  # fmt: skip
            if not layout.backend_in_data:
                del data["_auth_user_backend"]
            if layout.short_auth:
                data = {"u": str(uid), "h": digest}
        payload = json.dumps(data, separators=(",", ":")).encode("latin-1")
        pipe.set(f"{P}{layout.data_head}{{{key}}}", payload, ex=TTL if layout.ttl else None)
        pipe.zadd(f"{P}recent:", {member: t})
        if layout.expires:
            pipe.zadd(f"{P}expires:", {member: t + TTL})
        if logged_in:
            if layout.login == "hash":
                pipe.hset(f"{P}login:", member, uid)
            elif layout.login == "buckets":
                pipe.hset(f"{P}login:{zlib.crc32(key.encode()) % buckets}", member, uid)
            us = f"{P}user-sessions:{{{uid}}}"
            if layout.user_sessions == "set":
                pipe.sadd(us, member)
            elif layout.user_sessions == "zset":
                pipe.zadd(us, {member: int(t)})  # creation second: an integer in listpack
            else:
                pipe.hset(us, member, "")
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def used(client: redis.Redis) -> int:
    return settled_used_memory(client)


def measure(client: redis.Redis, layout: Layout, n: int, logged_in: bool) -> float:
    client.flushall(asynchronous=False)
    before = used(client)
    fill(client, layout, n, logged_in)
    per_session = (used(client) - before) / n
    client.flushall(asynchronous=False)
    return per_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--django-anon", type=float, default=0.0,
                        help="Django's cache engine, B/session, anonymous")  # fmt: skip
    parser.add_argument("--django-login", type=float, default=0.0,
                        help="Django's cache engine, B/session, logged in")  # fmt: skip
    parser.add_argument("--only", default="", help="variants whose name contains this")
    args = parser.parse_args()
    server = embedded.start("--save", "", "--appendonly", "no")
    try:
        client = redis.Redis(unix_socket_path=str(server.socket))
        enc = client.config_get("set-max-listpack-entries")
        info = client.info("server")
        print(f"redis {info['redis_version']}, {args.sessions:,} sessions per variant; "
              f"CONFIG GET set-max-listpack-entries: {enc or 'no such parameter'}")  # fmt: skip
        peers = {False: args.django_anon, True: args.django_login}
        # A first fill costs a few bytes a session more than any later one (the server
        # settles its own structures): done once and dropped.
        measure(client, LAYOUTS["base"], args.sessions, True)
        base = {li: measure(client, LAYOUTS["base"], args.sessions, li) for li in (False, True)}
        print(f"{'variant':34} {'anon B':>7} {'saved':>6} {'ratio':>6} "
              f"{'login B':>8} {'saved':>6} {'ratio':>6}")  # fmt: skip
        for name, layout in {**LAYOUTS, **COMBINED}.items():
            if args.only not in name and name != "base":
                continue
            row = f"{name:34}"
            for logged_in in (False, True):
                b = base[logged_in] if name == "base" else None
                if b is None:
                    b = measure(client, layout, args.sessions, logged_in)
                peer = peers[logged_in]
                ratio = f"{b / peer:5.2f}x" if peer else "     -"
                width = 7 if not logged_in else 8
                row += f" {b:{width}.1f} {base[logged_in] - b:6.1f} {ratio}"
            print(row, flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
