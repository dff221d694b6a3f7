"""Cluster splits of the page-cache scripts (``lua/cache_*.lua`` beside this module).

A page entry, its render lock, ``viewed:``, the day's analytics keys and
the session's keys are all in different slots. The lookup reads first (with the
visitor's seen key for ``VIEW_WINDOW``: ``analytics.splits.seen_commands``; one more
step when a session cookie names a session Redis does not hold), then counts the view
and takes the lock (SET NX, one key); a store checks the item's cap on
variants, writes the sets that name the entry first, then the entry (the
``cache_store`` script on the entry's slot alone), then releases the lock
(``lock_release``). A crash between leaves a set naming a page that is not there
(harmless) or a lock that expires in seconds.
"""

from __future__ import annotations

from typing import Any

from redis_sessions.analytics.scripts import SESSION_VIEWED
from redis_sessions.analytics.splits import seen_commands, seen_result
from redis_sessions.connection.replies import first_error, text
from redis_sessions.connection.scripts import LOCK_RELEASE, Command, Step
from redis_sessions.pagecache.scripts import CACHE_STORE


def cache_get(k: list[Any], a: list[Any]) -> Step:
    entry, lock, viewed = k[:3]
    item, top, now, lock_ms, token, count = a[0], int(a[1]), a[2], a[3], a[4], text(a[5])
    visitor, ttl, limit, session, bypass = text(a[6]), a[7], a[8], text(a[9]), text(a[10])
    item, window = text(item), int(a[11])
    counting = count == "1" and bool(item)
    # The copy itself is read by the HMGET that follows the script (caching.lookup).
    reads: list[Command] = [("HGET", entry, "fresh")]
    if session and bypass == "1":
        reads.append(("EXISTS", k[8]))
    if top > 0:
        reads.append(("ZRANK", viewed, item))
    # VIEW_WINDOW: the visitor's seen key (the session's, or the client's), set NX
    gated = counting and window > 0
    seen = (k[5], k[6] if session else None, k[9] if session else None, window) if gated else ()
    gate = seen_commands(*seen) if seen else []
    replies = yield reads + gate
    error = first_error(replies)
    if error is not None:
        return error
    fresh_text, rest = replies[0], replies[1 : len(reads)]
    counted = True
    if seen:
        counted = yield from seen_result(replies[len(reads) :], *seen)
        if isinstance(counted, Exception):
            return counted
    # As the script: the view is counted whatever the state (ARGV 6), once; its
    # popularity counts only when the window let it in.
    counts: list[Command] = []
    if counting:
        if counted:
            counts += [("ZINCRBY", viewed, -1, item), ("ZINCRBY", k[3], 1, item),
                       ("EXPIRE", k[3], ttl)]  # fmt: skip
        if visitor:
            counts += [("PFADD", k[4], visitor), ("EXPIRE", k[4], ttl)]
        if session:
            viewed_command = SESSION_VIEWED.command([k[6], k[7]], [limit, now, item])
            counts.append(viewed_command)
    if session and bypass == "1" and rest.pop(0) == 1:
        if counts:
            yield counts
        return [b"bypass"]
    if top > 0:
        rank = rest.pop(0)
        if rank is None or rank >= top:
            if counts:
                yield counts
            return [b"cold"]
    fresh = float(fresh_text) if fresh_text is not None else None
    if (fresh is not None and fresh > float(now)) or int(lock_ms) == 0:
        if counts:
            yield counts
        # a peek (lock ms 0) takes no lock and serves nothing stale
        return [b"hit"] if fresh is not None and fresh > float(now) else [b"miss"]
    # the counts ride with the SET NX (a different slot each: one pipeline step)
    *_, locked = yield [*counts, ("SET", lock, token, "PX", lock_ms, "NX")]
    if locked:
        # The entry and the lock live in two slots, so this is two steps: a worker may
        # have stored the page and released its lock between our read and our SET NX.
        # Look again before rendering (one more round trip, on a miss only).
        (again,) = yield [("HGET", entry, "fresh")]
        if again is not None and float(again) > float(now):
            yield [LOCK_RELEASE.command([lock], [token])]
            return [b"hit"]
        return [b"render"]
    if fresh is not None:
        return [b"stale"]
    return [b"wait"]


def cache_store(k: list[Any], a: list[Any]) -> Step:
    entry, lock, sets = k[0], k[1], k[2:]
    lifetime, token, member = int(a[3]), text(a[4]), a[5] if len(a) > 5 else ""
    cap, head = (int(a[6]), text(a[7])) if len(a) > 7 else (0, "")
    if sets and cap > 0:
        # 0. the cap on the item's set (steps, not atomic: stores racing for the last
        # places may all take them, past the cap by at most the concurrent renders)
        present, size = yield [("SISMEMBER", sets[0], member), ("SCARD", sets[0])]
        if not present and isinstance(size, int) and size >= cap:
            (members,) = yield [("SMEMBERS", sets[0])]
            members = list(members) if not isinstance(members, Exception) else []
            alive = yield [("EXISTS", f"{head}{text(m)}") for m in members]
            gone = [m for m, n in zip(members, alive, strict=True) if n == 0]
            if gone:
                yield [("SREM", sets[0], *gone)]
            if size - len(gone) >= cap:
                if token:
                    yield [LOCK_RELEASE.command([lock], [token])]
                return 0
    if sets:
        # 1. the sets first: a crash after them names an entry that is not there.
        replies = yield [c for s in sets for c in (("SADD", s, member), ("PTTL", s))]
        longer = [("PEXPIRE", s, lifetime) for s, left in zip(sets, replies[1::2], strict=True)
                  if isinstance(left, int) and left < lifetime]  # fmt: skip
        if longer:
            yield longer
    # 2. the entry, atomically (the script on the entry's slot alone, holding no lock).
    (stored,) = yield [CACHE_STORE.command([entry, entry], [*a[:4], "", member])]
    # 3. our lock.
    if token:
        yield [LOCK_RELEASE.command([lock], [token])]
    return stored


def cache_invalidate_item(k: list[Any], a: list[Any]) -> Step:
    (pages,) = k
    head = text(a[0])
    (digests,) = yield [("SMEMBERS", pages)]
    if isinstance(digests, Exception):
        return digests
    digests = list(digests)
    if not digests:
        return 0
    deleted = yield [("DEL", f"{head}{text(d)}") for d in digests]
    # SREM, not DEL: a page stored meanwhile stays in the set.
    yield [("SREM", pages, *digests)]
    return sum(d for d in deleted if isinstance(d, int))
