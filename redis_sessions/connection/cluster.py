"""Redis Cluster: sending the app's command lists as per-slot steps.

In a cluster a Lua script, like a MULTI, may only touch keys of one hash slot, and a
multi-key command (DEL, MGET, EXISTS, UNLINK) only keys of one slot. The app builds
the same command lists for both topologies; ``connection.run`` hands a cluster
client's list to ``run`` here, which

* sends plain commands in a non-transactional cluster pipeline (redis-py routes each
  command to the node that owns its slot; a pipeline per node, so one round trip per
  node touched), splitting a multi-key command by slot and merging the replies;
* replaces each EVALSHA of a script that touches several slots by its *split*
  (``Script.split``, kept in the feature's ``splits.py`` beside its ``lua/``): a
  generator that yields ordered steps (lists of commands, each of one slot) and
  returns what the script would have returned. Single-slot scripts are sent as they
  are. The order of the steps and what a crash between them leaves are
  documented in docs/reliability.md ("Redis Cluster").

The splits are sans-I/O generators so the sync and asyncio drivers share them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
from redis.crc import key_slot
from redis.exceptions import NoScriptError, RedisClusterException

from redis_sessions.connection.guard import MAY_HAVE_RUN
from redis_sessions.connection.scripts import Command, by_sha

#: Multi-key commands split by slot; the value merges the per-slot replies.
_MULTI_KEY: dict[str, str] = {"DEL": "sum", "UNLINK": "sum", "EXISTS": "sum",
                              "TOUCH": "sum", "MGET": "concat"}  # fmt: skip

# A cluster client raises these (besides ConnectionError/TimeoutError) when nodes are
# down or the slots are not covered: the same "Redis unavailable" for the app.
FAILURES = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ClusterError,
            RedisClusterException)  # fmt: skip


def _slot(key: Any) -> int:
    return key_slot(key.encode() if isinstance(key, str) else bytes(key))


def _expand(commands: Sequence[Command]) -> tuple[list[Command], list[tuple[str, int]]]:
    """Commands with multi-key ones split per slot, and how to fold replies back."""
    out: list[Command] = []
    plan: list[tuple[str, int]] = []
    for command in commands:
        name = str(command[0]).upper()
        how = _MULTI_KEY.get(name)
        if how is None or len(command) <= 2:
            out.append(command)
            plan.append(("one", 1))
            continue
        by_slot: dict[int, list[Any]] = {}
        for key in command[1:]:
            by_slot.setdefault(_slot(key), []).append(key)
        if how == "concat" and len(by_slot) > 1:
            # MGET replies must come back in key order: one GET per key.
            out.extend(("GET", key) for key in command[1:])
            plan.append(("concat", len(command) - 1))
            continue
        out.extend((command[0], *group) for group in by_slot.values())
        plan.append((how if len(by_slot) > 1 else "one", len(by_slot)))
    return out, plan


def _fold(replies: list[Any], plan: list[tuple[str, int]]) -> list[Any]:
    folded, i = [], 0
    for how, n in plan:
        part = replies[i : i + n]
        i += n
        error = next((r for r in part if isinstance(r, Exception)), None)
        if how == "one" or error is not None:
            folded.append(part[0] if error is None else error)
        elif how == "sum":
            folded.append(sum(part))
        else:
            folded.append(part)
    return folded


def _split_of(command: Command) -> Any:
    if str(command[0]).upper() != "EVALSHA":
        return None
    script = by_sha(command[1])
    split = script.split()
    if split is None:
        return None
    n = int(command[2])
    keys = list(command[3 : 3 + n])
    if len({_slot(k) for k in keys}) <= 1 and not script.builds_keys:
        return None  # one slot: the script runs as it is
    return split(keys, list(command[3 + n :]))


def _pieces(commands: Sequence[Sequence[Any]]) -> list[tuple[str, Any]]:
    """The list cut into runs of plain commands and single split scripts, in order."""
    pieces: list[tuple[str, Any]] = []
    for command in map(tuple, commands):
        split = _split_of(command)
        if split is not None:
            pieces.append(("split", split))
        elif pieces and pieces[-1][0] == "plain":
            pieces[-1][1].append(command)
        else:
            pieces.append(("plain", [command]))
    return pieces


# Keyless commands a cluster pipeline cannot route: sent on their own (SCRIPT LOAD
# goes to every primary, PING to a node).
_DIRECT = {"SCRIPT", "PING"}


def _send(client: Any, commands: Sequence[Command]) -> list[Any]:
    """One cluster pipeline (a round trip per node touched); error replies in place."""
    out, plan = _expand(commands)
    pipe = client.pipeline(transaction=False)
    direct: dict[int, Any] = {}
    for i, command in enumerate(out):
        if str(command[0]).upper() in _DIRECT:
            direct[i] = client.execute_command(*command)
        else:
            pipe.execute_command(*command)
    replies = list(pipe.execute(raise_on_error=False)) if len(direct) < len(out) else []
    for i in sorted(direct):
        replies.insert(i, direct[i])
    for i, reply in enumerate(replies):
        if isinstance(reply, NoScriptError):
            # SCRIPT LOAD goes to every primary; the script ran nothing the first time.
            client.script_load(by_sha(out[i][1]).source)
            try:
                replies[i] = client.execute_command(*out[i])
            except redis.ResponseError as exc:
                replies[i] = exc
    return _fold(list(replies), plan)


async def _asend(client: Any, commands: Sequence[Command]) -> list[Any]:
    out, plan = _expand(commands)
    pipe = client.pipeline(transaction=False)
    direct: dict[int, Any] = {}
    for i, command in enumerate(out):
        if str(command[0]).upper() in _DIRECT:
            direct[i] = await client.execute_command(*command)
        else:
            pipe.execute_command(*command)
    replies = list(await pipe.execute(raise_on_error=False)) if len(direct) < len(out) else []
    for i in sorted(direct):
        replies.insert(i, direct[i])
    for i, reply in enumerate(replies):
        if isinstance(reply, NoScriptError):
            await client.script_load(by_sha(out[i][1]).source)
            try:
                replies[i] = await client.execute_command(*out[i])
            except redis.ResponseError as exc:
                replies[i] = exc
    return _fold(list(replies), plan)


def _after_a_step(exc: BaseException) -> BaseException:
    """A failure in a later step of a split: the earlier steps ran (a write may be half
    applied), so the caller must hear "may have run" (``UnknownOutcome``), however
    cleanly this step itself failed (a refused connect, an open breaker)."""
    setattr(exc, MAY_HAVE_RUN, True)
    return exc


def _marked(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, FAILURES):
            _after_a_step(reply)
    return replies


def run(client: Any, commands: Sequence[Sequence[Any]]) -> list[Any]:
    """``connection.run`` on a cluster: error replies are returned in place."""
    replies: list[Any] = []
    for kind, piece in _pieces(commands):
        if kind == "plain":
            replies.extend(_send(client, piece))
            continue
        try:
            step = next(piece)
            step = piece.send(_send(client, step))
            while True:  # a later step: the first one ran
                try:
                    sent = _send(client, step)
                except FAILURES as exc:
                    _after_a_step(exc)
                    raise
                step = piece.send(_marked(sent))
        except StopIteration as stop:
            replies.append(stop.value)
    return replies


async def arun(client: Any, commands: Sequence[Sequence[Any]]) -> list[Any]:
    """``run`` for redis.asyncio's cluster client."""
    replies: list[Any] = []
    for kind, piece in _pieces(commands):
        if kind == "plain":
            replies.extend(await _asend(client, piece))
            continue
        try:
            step = next(piece)
            step = piece.send(await _asend(client, step))
            while True:  # a later step: the first one ran
                try:
                    sent = await _asend(client, step)
                except FAILURES as exc:
                    _after_a_step(exc)
                    raise
                step = piece.send(_marked(sent))
        except StopIteration as stop:
            replies.append(stop.value)
    return replies
