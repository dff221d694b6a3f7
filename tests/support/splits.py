"""Running a script's Redis Cluster split on a single server, next to the script itself.

``run_split`` drives a split (the sans-I/O generator ``Script.split()`` returns) the way
``connection.cluster.run`` does: each yielded step is sent with ``connection.run`` and
its replies are fed back; the generator's return value is the split's reply. On a
single server every step reaches the one server, so the split's result can be compared
with the script's own, from the same starting state, in a second key space
(``key_space``): same reply, same keys (``snapshot``), same contents.

The app builds the commands with ``time.time()`` in them; ``Clock`` pins it so both key
spaces get the same arguments and the same index scores.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from django.conf import settings
from django.test import override_settings
from redis.crc import key_slot

from redis_sessions import connection, keys
from redis_sessions.connection import cluster
from redis_sessions.connection.scripts import Command, Script, by_sha

# -- the driver --------------------------------------------------------------------------


def _slot(key: Any) -> int:
    return key_slot(key.encode() if isinstance(key, str) else bytes(key))


def run_split(client: Any, command: Command) -> tuple[Any, list[list[Command]]]:
    """Run ``command``'s cluster split on ``client``: its reply and the steps it sent.

    Fails when a cluster would not split ``command`` (its keys share a slot and the
    script builds none): the scenario would then test a path no cluster takes. Every
    script a step sends must have its keys in one slot, as a cluster demands.
    """
    split = cluster._split_of(tuple(command))
    assert split is not None, f"a cluster sends {by_sha(command[1])} as it is: no split"
    steps: list[list[Command]] = []
    try:
        step = next(split)
        while True:
            steps.append(step)
            for sent in step:
                if str(sent[0]).upper() == "EVALSHA":
                    declared = sent[3 : 3 + int(sent[2])]
                    assert len({_slot(k) for k in declared}) <= 1, f"{sent[:3]}: several slots"
            step = split.send(connection.run(client, step, raise_errors=False))
    except StopIteration as stop:
        return stop.value, steps


def run_script(client: Any, command: Command) -> Any:
    """The script's own reply (EVALSHA through ``connection.run``), error in place."""
    return connection.run(client, [command], raise_errors=False)[0]


def script_of(command: Command) -> Script:
    assert str(command[0]).upper() == "EVALSHA", f"not a script: {command[:2]}"
    return by_sha(command[1])


# -- a pinned clock and deterministic session keys --------------------------------------


class Clock:
    """``time.time()`` while a scenario builds its state and its command: ``now``
    until moved by ``advance`` (a request a little later, a pick before a touch)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def session_keys() -> Iterator[str]:
    """Session keys as ``SessionStore`` would pick them, but the same in every key space."""
    return (f"k{n:031d}" for n in itertools.count(1))


@contextmanager
def pinned(clock: Clock) -> Iterator[None]:
    """``time.time`` is ``clock``; new session keys come from ``session_keys()``."""
    from redis_sessions.sessions.store import SessionStore

    fresh = session_keys()
    with (
        mock.patch.object(time, "time", clock),
        mock.patch.object(SessionStore, "_get_new_session_key", lambda self: next(fresh)),
    ):
        yield


# -- key spaces -------------------------------------------------------------------------


@contextmanager
def key_space(prefix: str, **overrides: Any) -> Iterator[str]:
    """The app's keys under ``prefix`` (``KEY_PREFIX``) with ``REDIS_SESSIONS``
    ``overrides``; yields ``keys.prefix()`` (what every key starts with)."""
    user = {**settings.REDIS_SESSIONS, **overrides, "KEY_PREFIX": prefix}
    caches = {alias: {**config, "KEY_PREFIX": prefix} for alias, config in settings.CACHES.items()}
    with override_settings(REDIS_SESSIONS=user, CACHES=caches):
        yield keys.prefix()


def drop(client: Any, prefix: str) -> None:
    """Delete every key of a key space (``prefix`` as ``keys.prefix()`` gives it)."""
    batch = list(client.scan_iter(match=keys.escape_glob(prefix) + "*", count=1000))
    for start in range(0, len(batch), 1000):
        client.delete(*batch[start : start + 1000])


# -- what a key space holds -------------------------------------------------------------

PREFIX = b"<P>:"


def normalised(value: Any, prefix: bytes) -> Any:
    """``value`` with the key space's prefix replaced, wherever it is (key names,
    members that are keys), so two key spaces compare equal."""
    if isinstance(value, bytes):
        return value.replace(prefix, PREFIX)
    if isinstance(value, str):
        return value.replace(prefix.decode(), PREFIX.decode())
    if isinstance(value, (list, tuple)):
        return type(value)(normalised(v, prefix) for v in value)
    if isinstance(value, dict):
        return {normalised(k, prefix): normalised(v, prefix) for k, v in value.items()}
    return value


@dataclass
class Entry:
    """One key: its type, its contents, and its TTL in ms (-1: none)."""

    kind: str
    contents: Any
    pttl: int = field(compare=False)


def _contents(client: Any, key: bytes, kind: str) -> Any:
    if kind == "string":
        value = client.get(key)
        if value.startswith(b"HYLL"):  # HyperLogLog: its count, not its encoding
            return ("hll", client.pfcount(key))
        return value
    if kind == "hash":
        return sorted(client.hgetall(key).items())
    if kind == "zset":
        return [(m, float(s)) for m, s in client.zrange(key, 0, -1, withscores=True)]
    if kind == "set":
        return sorted(client.smembers(key))
    if kind == "list":
        return client.lrange(key, 0, -1)
    raise AssertionError(f"unexpected type {kind} of {key!r}")


def snapshot(client: Any, prefix: str) -> dict[bytes, Entry]:
    """Every key of the key space (name with the prefix normalised) -> ``Entry``."""
    out: dict[bytes, Entry] = {}
    raw = prefix.encode()
    for key in sorted(client.scan_iter(match=keys.escape_glob(prefix) + "*", count=1000)):
        kind = client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        contents = normalised(_contents(client, key, kind), raw)
        out[normalised(key, raw)] = Entry(kind, contents, int(client.pttl(key)))
    return out


def ttl_differences(a: dict[bytes, Entry], b: dict[bytes, Entry], slack_ms: float) -> list[str]:
    """Keys whose TTLs differ: one has a TTL and the other none, or they differ by more
    than ``slack_ms`` (the time that passed between the two runs and their reads)."""
    out = []
    for name in sorted(a.keys() & b.keys()):
        x, y = a[name].pttl, b[name].pttl
        if (x < 0) != (y < 0) or abs(x - y) > slack_ms:
            out.append(f"{name.decode()}: {x} ms vs {y} ms")
    return out


# -- one scenario, both ways ------------------------------------------------------------


@dataclass
class Space:
    """What a scenario's ``build`` gets: the client, the clock, and what ``prepare``
    made once for both key spaces (database rows)."""

    redis: Any
    clock: Clock
    given: Any = None


@dataclass
class Outcome:
    """One side's run: its command (or commands, sent one after the other), its reply
    (or replies), what its key space holds after, and (the split's) steps sent."""

    command: Any
    reply: Any
    keys: dict[bytes, Entry]
    steps: list[list[Command]] = field(default_factory=list)


@dataclass
class Twin:
    """The script's run and the split's run of one scenario."""

    script: Outcome
    split: Outcome
    slack_ms: float
    now: float  # the pinned clock's start


Built = Command | list[Command]


def twin_run(
    client: Any,
    base: str,
    build: Callable[[Space], Built],
    *,
    overrides: dict[str, Any] | None = None,
    given: Any = None,
    now: float | None = None,
) -> Twin:
    """Build the same state and command in two key spaces (``base``-lua and
    ``base``-split), run the script in one and its split in the other. ``build`` may
    return several commands (each run in turn). The clock starts at ``now`` (default:
    the real time)."""
    overrides = overrides or {}
    start = time.monotonic()
    now = time.time() if now is None else now
    prefixes: list[str] = []
    built: list[Built] = []
    try:
        for side in ("lua", "split"):
            with key_space(f"{base}-{side}", **overrides) as prefix:
                prefixes.append(prefix)
                clock = Clock(now)
                with pinned(clock):
                    built.append(build(Space(connection.get_redis(), clock, given)))
        several = isinstance(built[0], list)
        lua, split = (list(b) if isinstance(b, list) else [b] for b in built)
        with key_space(f"{base}-lua", **overrides):
            script_replies = [run_script(connection.get_redis(), c) for c in lua]
        steps: list[list[Command]] = []
        split_replies = []
        with key_space(f"{base}-split", **overrides):
            for command in split:
                reply, sent = run_split(connection.get_redis(), command)
                split_replies.append(reply)
                steps += sent
        lua_keys = snapshot(client, prefixes[0])
        split_keys = snapshot(client, prefixes[1])
        slack_ms = (time.monotonic() - start) * 1000 + 50
    finally:
        for prefix in prefixes:
            drop(client, prefix)
    raw = [p.encode() for p in prefixes]

    def outcome(i: int, replies: list[Any], keys: dict[bytes, Entry]) -> Outcome:
        reply = replies if several else replies[0]
        return Outcome(normalised(built[i], raw[i]), normalised(reply, raw[i]), keys)

    twin = Twin(outcome(0, script_replies, lua_keys), outcome(1, split_replies, split_keys),
                slack_ms, now)  # fmt: skip
    twin.split.steps = steps
    return twin


# -- commands an app function builds and sends at once ----------------------------------


@contextmanager
def intercepted(module: Any, script: Script, reply: Any) -> Iterator[list[Command]]:
    """Within the block, ``module.run`` keeps (and does not send) every EVALSHA of
    ``script``, answering ``reply`` in its place; other commands go to Redis. For app
    functions that build a command and send it in one go (loops, invalidation)."""
    real = module.run
    kept: list[Command] = []

    def run(client: Any, commands: Any, **kwargs: Any) -> list[Any]:
        replies: list[Any] = []
        for command in commands:
            if str(command[0]).upper() == "EVALSHA" and command[1] == script.sha:
                kept.append(tuple(command))
                replies.append(reply)
            else:
                replies += real(client, [command], **kwargs)
        return replies

    with mock.patch.object(module, "run", run):
        yield kept
