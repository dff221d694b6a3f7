"""Reading and writing the global indexes in tests whatever ``PARTITIONS`` is.

``index`` is one of ``keys.recent``, ``keys.expires``, ``keys.login`` (partitioned by
session key) or ``keys.viewed_items`` (by item id); each call goes to the partition
that holds ``member``, or merges every partition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from redis_sessions import keys

Index = Callable[[int], str]


def key_of(index: Index, member: str) -> str:
    """The partition of ``index`` that holds ``member``."""
    if index is keys.viewed_items:
        return index(keys.item_partition(member))
    return index(keys.session_partition(member))


def every(index: Index) -> list[str]:
    return [index(p) for p in range(keys.partitions())]


def zscore(redis: Any, index: Index, member: str) -> Any:
    return redis.zscore(key_of(index, member), member)


def hget(redis: Any, index: Index, member: str) -> Any:
    return redis.hget(key_of(index, member), member)


def zadd(redis: Any, index: Index, mapping: Mapping[str, float]) -> None:
    for member, score in mapping.items():
        redis.zadd(key_of(index, member), {member: score})


def zcard(redis: Any, index: Index) -> int:
    return sum(int(redis.zcard(k)) for k in every(index))


def zrange(redis: Any, index: Index, *, withscores: bool = False) -> list[Any]:
    """Members of every partition, lowest score first (as one zset would give them)."""
    rows = [row for k in every(index) for row in redis.zrange(k, 0, -1, withscores=True)]
    rows.sort(key=lambda row: (row[1], row[0]))
    return rows if withscores else [member for member, _ in rows]


def hgetall(redis: Any, index: Index) -> dict[bytes, bytes]:
    merged: dict[bytes, bytes] = {}
    for k in every(index):
        merged.update(redis.hgetall(k))
    return merged


def existing(redis: Any, index: Index) -> set[str]:
    """The partitions of ``index`` that exist as keys (an empty one does not)."""
    return {k for k in every(index) if redis.exists(k)}
