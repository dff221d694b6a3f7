"""The hot path's own RESP packing (``connection.raw.packed``): the bytes redis-py's
packer makes, or redis-py's packer itself, and Redis reads them back as sent."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from redis_sessions import keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.connection import get_redis, raw

pytestmark = pytest.mark.single_server("packs for one connection (run_raw routes per slot)")

# What the hot paths send: strings, bytes, ints of any size, floats of every form
# (times, tiny and huge), text beyond ASCII.
ARGUMENTS: list[Any] = [
    "EVALSHA", "a" * 40, 3, "rs:1:page:{x}", b"\x00\xffbin", "ünï ✓",
    time.time(), 1733480000.5, 0.1, 1e-7, 1e22, 3.0, -0.0, 2**63 - 1, -5, 0, "",
]  # fmt: skip


def connection() -> Any:
    return get_redis().connection_pool.get_connection()


def test_the_bytes_are_redis_pys() -> None:
    conn = connection()
    store = SessionStore()
    store["n"] = 1
    key = store._get_new_session_key()
    commands = [tuple(ARGUMENTS), *store._save_commands(key, {"n": 1}, "NX", script=True)]
    assert b"".join(raw.packed(conn, commands)) == b"".join(conn.pack_commands(commands))


@pytest.mark.skipif(raw._pack_command is None, reason="hiredis not installed")
def test_with_hiredis_one_buffer_is_made() -> None:
    assert len(raw.packed(connection(), [("GET", "a"), ("GET", "b")])) == 1


def test_an_argument_redis_py_refuses_is_refused_with_its_error() -> None:
    with pytest.raises(redis.DataError):
        raw.packed(connection(), [("SET", "k", True)])
    with pytest.raises(redis.DataError):
        raw.packed(connection(), [("SET", "k", None)])


def test_another_encoding_goes_to_redis_pys_packer() -> None:
    conn = redis.Connection(encoding="latin-1")
    commands = [("SET", "k", "é")]
    assert raw.packed(conn, commands) == conn.pack_commands(commands)
    assert b"".join(raw.packed(conn, commands)).endswith(b"$1\r\n\xe9\r\n")


def test_redis_stores_what_was_sent() -> None:
    client = get_redis()
    key = keys.prefix() + "packing"
    values = [v for v in ARGUMENTS[1:] if not isinstance(v, bytes)]
    raw.run_raw(client, [("DEL", key), ("RPUSH", key, *values, b"\x00\xffbin")])
    stored = client.lrange(key, 0, -1)
    client.delete(key)
    expected = [(repr(v) if isinstance(v, float) else str(v)).encode() for v in values]
    assert stored == [*expected, b"\x00\xffbin"]
