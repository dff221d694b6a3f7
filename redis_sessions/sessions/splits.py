"""Cluster splits of the session scripts: data first, then the global indexes.

Each function mirrors one ``lua/session_*.lua`` (same keys, same arguments, same
reply) as ordered steps. Per-session keys share the slot of ``{KEY}``; ``recent:``,
``login:``, ``carts:`` and ``user-sessions:{UID}`` each live in a slot of their own.
Writes go data first, then indexes; deletes go data first, then indexes: a crash
between steps leaves either a session missing from an index (it expires by its TTL)
or index entries of a gone session (``clean_sessions`` removes them).
"""

from __future__ import annotations

from typing import Any

from redis_sessions.connection.integrity import is_wrong_type
from redis_sessions.connection.replies import first_error, flat, text
from redis_sessions.connection.scripts import Command, Step
from redis_sessions.sessions.eviction import beyond_limit, oldest_pick_commands


def _second(now: Any) -> int:
    """A user-sessions score: the whole second (an integer packs small in a listpack)."""
    return int(float(now))


def _login_moves(login: str, head: str, tail: str, key: str, old: str | None,
                 uid: str, now: Any) -> list[Command]:  # fmt: skip
    """session_save.lua's login:/user-sessions: updates for a known old user id."""
    commands: list[Command] = []
    if old and old != uid:
        commands.append(("ZREM", f"{head}{old}{tail}", key))
    if uid:
        if old != uid:
            commands += [("HSET", login, key, uid),
                         ("ZADD", f"{head}{uid}{tail}", _second(now), key)]  # fmt: skip
    elif old:
        commands.append(("HDEL", login, key))
    return commands


def _on_old_sets(sent: list[Command], replies: list[Any], head: str) -> Step:
    """What the scripts' user_sessions_add/remove do for a ``user-sessions:{UID}`` that
    earlier code wrote as a set: the ``ZADD``/``ZREM`` of ``sent`` that it refused
    (WRONGTYPE) are redone (``SREM``; the set turned into a zset, then ``ZADD``).
    Returns ``replies`` with those errors replaced by 1."""
    ours = [c[0] in ("ZADD", "ZREM") and str(c[1]).startswith(head) for c in sent]
    redo = [i for i, r in enumerate(replies) if ours[i] and is_wrong_type(r)]
    if not redo:
        return replies
    removes = [("SREM", *sent[i][1:]) for i in redo if sent[i][0] == "ZREM"]
    adds = [sent[i] for i in redo if sent[i][0] == "ZADD"]
    found = yield [*removes, *[("SMEMBERS", c[1]) for c in adds]]
    rewrites: list[Command] = []
    for (_, key, score, member), members in zip(adds, found[len(removes) :], strict=True):
        pairs = [x for m in members for x in (score, m)]
        rewrites += [("DEL", key), ("ZADD", key, *pairs, score, member)]
    if rewrites:
        yield rewrites
    return [1 if i in redo else r for i, r in enumerate(replies)]


def session_save(k: list[Any], a: list[Any]) -> Step:
    data, recent, login = k
    payload, ttl, mode, now = a[:4]
    key, uid, head, tail = (text(v) for v in a[4:8])
    # 1. the data (SET NX/XX decides, as in the script); the old user id rides along.
    replies = yield [("SET", data, payload, "EX", ttl, text(mode)), ("HGET", login, key)]
    if isinstance(replies[0], Exception) or replies[0] is None:
        return replies[0] if replies[0] is not None else 0
    old = None if replies[1] is None or isinstance(replies[1], Exception) else text(replies[1])
    # 2. the indexes.
    sent = [("ZADD", recent, now, key), *_login_moves(login, head, tail, key, old, uid, now)]
    replies = yield sent
    replies = yield from _on_old_sets(sent, replies, head)
    return first_error(replies) or 1


def session_delete(k: list[Any], a: list[Any]) -> Step:
    data, viewed, cart, recent, login, carts = k
    key, head, tail = (text(v) for v in a[:3])
    # 1. the session's own keys (one slot, one DEL); its user id rides along.
    replies = yield [("DEL", data), ("DEL", viewed, cart), ("HGET", login, key)]
    error = first_error(replies[:2])
    uid = replies[2]
    # 2. the indexes.
    commands: list[Command] = [("ZREM", recent, key), ("ZREM", carts, cart)]
    if uid is not None and not isinstance(uid, Exception):
        commands += [("HDEL", login, key), ("ZREM", f"{head}{text(uid)}{tail}", key)]
    yield from _on_old_sets(commands, (yield commands), head)
    return error or replies[0]


def session_cycle(k: list[Any], a: list[Any]) -> Step:
    old_data, new_data, old_viewed, new_viewed, old_cart, new_cart = k[:6]
    recent, login, carts = k[6:]
    payload, ttl, now = a[:3]
    old, new, head, tail = (text(v) for v in a[3:7])
    # 1. the new data (NX: a taken key changes nothing; pick another).
    replies = yield [("SET", new_data, payload, "EX", ttl, "NX")]
    if replies[0] is None or isinstance(replies[0], Exception):
        return replies[0] if replies[0] is not None else 0
    # 2. read what moves (a key cannot be renamed across slots: DUMP/RESTORE it).
    dv, tv, dc, tc, changed, uid = yield [
        ("DUMP", old_viewed), ("PTTL", old_viewed), ("DUMP", old_cart), ("PTTL", old_cart),
        ("ZSCORE", carts, old_cart), ("HGET", login, old)]  # fmt: skip
    # 3. the new key's copies and index entries: both sessions now exist.
    writes: list[Command] = [("ZADD", recent, now, new)]
    if isinstance(dv, bytes) and isinstance(tv, int) and tv != -2:
        writes.append(("RESTORE", new_viewed, max(tv, 0), dv, "REPLACE"))
    moved_cart = isinstance(dc, bytes) and isinstance(tc, int) and tc != -2
    if moved_cart:
        writes.append(("RESTORE", new_cart, max(tc, 0), dc, "REPLACE"))
        if changed is not None and not isinstance(changed, Exception):
            writes.append(("ZADD", carts, changed, new_cart))
    has_uid = uid is not None and not isinstance(uid, Exception)
    if has_uid:
        writes += [("HSET", login, new, text(uid)),
                   ("ZADD", f"{head}{text(uid)}{tail}", _second(now), new)]  # fmt: skip
    yield from _on_old_sets(writes, (yield writes), head)
    # 4. the old key and its index entries.
    deletes: list[Command] = [("DEL", old_data, old_viewed, old_cart), ("ZREM", recent, old),
                              ("ZREM", carts, old_cart)]  # fmt: skip
    if has_uid:
        deletes += [("HDEL", login, old), ("ZREM", f"{head}{text(uid)}{tail}", old)]
    yield from _on_old_sets(deletes, (yield deletes), head)
    return 1


def session_evict(k: list[Any], a: list[Any]) -> Step:
    recent, login, carts = k
    mode, report = text(a[0]), text(a[1]) == "1"
    data_head, viewed_head, cart_head, us_head, us_tail = (text(v) for v in a[2:7])
    n = int(a[7])
    picked = [text(v) for v in a[8 : 8 + n]]
    # 1. re-check each pick (one slot per check: recent:, or each data key).
    if mode == "limit":
        (scores,) = yield [("ZMSCORE", recent, *picked)]
        seen = a[8 + n : 8 + 2 * n]
        kept = [now is not None and float(now) == float(then)
                for now, then in zip(scores, seen, strict=True)]  # fmt: skip
    else:
        exists = yield [("EXISTS", f"{data_head}{{{key}}}") for key in picked]
        kept = [found == 0 for found in exists]
    flags = bytes(49 if gone else 48 for gone in kept)  # b"1" evicted, b"0" kept
    doomed = [key for key, gone in zip(picked, kept, strict=True) if gone]
    if not doomed:
        return [flags, [], [], 0]
    cart_keys = [f"{cart_head}{{{key}}}" for key in doomed]
    # 2. user ids (and carts, for the receivers) before anything goes.
    replies = yield [("HMGET", login, *doomed),
                     *([("HGETALL", c) for c in cart_keys] if report else [])]  # fmt: skip
    uids = [b"" if u is None else u for u in replies[0]]
    cart_lists = [flat(r) for r in replies[1:]]
    # 3. the sessions' own keys: one DEL per session (one slot each).
    deleted = yield [("DEL", f"{data_head}{{{key}}}", f"{viewed_head}{{{key}}}", cart)
                     for key, cart in zip(doomed, cart_keys, strict=True)]  # fmt: skip
    # 4. the indexes.
    indexes: list[Command] = [
        ("ZREM", recent, *doomed), ("ZREM", carts, *cart_keys), ("HDEL", login, *doomed),
        *[("ZREM", f"{us_head}{text(u)}{us_tail}", key)
          for key, u in zip(doomed, uids, strict=True) if u]]  # fmt: skip
    yield from _on_old_sets(indexes, (yield indexes), us_head)
    total = sum(d for d in deleted if isinstance(d, int))
    return [flags, uids if report else [], cart_lists, total]


def session_evict_oldest(k: list[Any], a: list[Any]) -> Step:
    # 1. the oldest beyond the limit, as the script picks them; on a cluster the pick
    # and the eviction are separate steps, so session_evict's re-check of each score
    # keeps a session used in between.
    limit, most = int(a[6]), int(a[7])
    replies = yield oldest_pick_commands(k[0], most)
    pick, size = beyond_limit(replies, limit, most), int(replies[0])
    if not pick:
        return [[], [], [], 0, size]
    picked, scores = [key for key, _ in pick], [score for _, score in pick]
    # 2. the rest as session_evict in mode 'limit'
    flags, uids, carts, deleted = yield from session_evict(
        k, ["limit", *a[:6], len(picked), *picked, *scores]
    )
    doomed = [key for key, flag in zip(picked, flags, strict=True) if flag == 49]
    return [doomed, uids, carts, deleted, size - len(doomed)]
