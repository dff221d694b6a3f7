"""What runs on every primary: SCAN with one cursor, DBSIZE, per-node commands.

On a single server these are the plain commands. On a Redis Cluster each primary
holds its own part of the key space, with its own SCAN cursor and its own DBSIZE,
INFO and CONFIG: a SCAN sent through the cluster client would read one node only.
So ``scan`` walks the primaries one after the other (in address order, from
``connection.primaries``), one round trip to one node per call, and packs the node's
position with that node's cursor into the one integer it hands back
(``node_cursor << NODE_BITS | node_index``): callers that page with a cursor (the
page-cache list) keep a single number, and 0 is still the start and the end. SCAN's
guarantees hold per node; a primary added or removed between two calls may make a
walk skip or repeat keys, as a rehash does on one server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from redis_sessions.connection import primaries, run

NODE_BITS = 8  # up to 256 primaries


def is_cluster(client: redis.Redis) -> bool:
    from redis.cluster import RedisCluster

    return isinstance(client, RedisCluster)


def each_primary(
    client: redis.Redis, commands: Sequence[Sequence[Any]]
) -> list[tuple[str, list[Any]]]:
    """``[(node name, replies)]``: ``commands`` on every primary, one round trip each
    (node name ``""`` on a single server); error replies are returned in place."""
    return [(name, run(node, commands, raise_errors=False)) for name, node in primaries(client)]


def dbsize(client: redis.Redis) -> int:
    """Keys in the whole database: the sum of every primary's DBSIZE."""
    return sum(int(replies[0]) for _, replies in each_primary(client, [("DBSIZE",)]))


def scan(
    client: redis.Redis,
    cursor: int,
    *,
    match: str | None = None,
    count: int = 1000,
    then: Sequence[Sequence[Any]] = (),
) -> tuple[int, list[bytes], list[Any]]:
    """One SCAN step from ``cursor`` (0: the start): ``(next cursor, keys, replies of
    then)``; the next cursor is 0 when every primary has been walked.

    ``then`` is sent with the step: in the same round trip on a single server, after
    it (through the cluster client, so a multi-key command is split by slot) on a
    cluster. Its replies are raised like ``run``'s.
    """
    args: list[Any] = ["SCAN"]
    if match is not None:
        args += ["MATCH", match]
    args += ["COUNT", count]
    if not is_cluster(client):
        replies = run(client, [(args[0], cursor, *args[1:]), *then])
        next_cursor, found = replies[0]
        return int(next_cursor), list(found), replies[1:]
    nodes = primaries(client)
    index, node_cursor = cursor & ((1 << NODE_BITS) - 1), cursor >> NODE_BITS
    found = []
    if index < len(nodes):
        reply = run(nodes[index][1], [(args[0], node_cursor, *args[1:])])[0]
        node_cursor, found = int(reply[0]), list(reply[1])
        if node_cursor == 0:
            index += 1
    next_cursor = 0 if index >= len(nodes) else node_cursor << NODE_BITS | index
    return next_cursor, found, run(client, then) if then else []
