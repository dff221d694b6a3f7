"""``PARTITIONS``: the hot global indexes split into N keys, reads merging them."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from redis_sessions import analytics, keys
from redis_sessions.analytics.counting import view_commands
from redis_sessions.backends.redis import SessionStore
from redis_sessions.checks import check_settings
from redis_sessions.connection import get_redis, run
from redis_sessions.sessions.clean import clean_pass
from redis_sessions.sessions.eviction import clear_expired, evict, limit_shares, pick_over_limit
from redis_sessions.sessions.users import end_user_sessions
from tests.support.populate import populate

N = 4


@pytest.fixture
def partitioned(settings: Any) -> int:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "PARTITIONS": N}
    return N


def members(redis: Any, key: str) -> set[str]:
    return {m.decode() for m in redis.zrange(key, 0, -1)}


def indexed(redis: Any) -> dict[str, set[str]]:
    """Session keys in each family of index, over every partition, checking on the
    way that each entry sits in its session's own partition."""
    found: dict[str, set[str]] = {"recent": set(), "expires": set(), "login": set()}
    for p in range(keys.partitions()):
        for family, got in (
            ("recent", members(redis, keys.recent(p))),
            ("expires", members(redis, keys.expires(p))),
            ("login", {k.decode() for k in redis.hkeys(keys.login(p))}),
        ):
            assert all(keys.session_partition(k) == p for k in got), (family, p)
            found[family] |= got
    return found


def test_partition_zero_keeps_the_book_name_and_the_others_a_number(partitioned: int) -> None:
    assert keys.recent(0) == keys.recent() and keys.recent(0).endswith(":recent:")
    assert keys.all_recent() == [keys.recent()] + [f"{keys.recent()}{p}" for p in (1, 2, 3)]
    assert keys.all_viewed_items()[2].endswith(":viewed:2")
    assert keys.kind(keys.login(3)) == keys.kind(keys.login()) == "login:"
    # every partition gets its share of random session keys
    spread = {keys.session_partition(SessionStore()._get_new_session_key()) for _ in range(200)}
    assert spread == set(range(N))


def test_one_partition_is_the_one_key_layout(one_partition: None) -> None:
    assert keys.partitions() == 1
    assert keys.all_login() == [keys.login()]
    assert keys.session_partition("anything") == keys.item_partition("x") == 0
    assert keys.session_save_keys("abc")[1:4] == (keys.recent(), keys.expires(), keys.login())


@pytest.mark.parametrize(
    ("value", "check_id"),
    [(0, "E007"), (-1, "E007"), ("2", "E004"), (1.5, "E004"), (True, "E004"), (1025, "E012")],
)
def test_a_bad_partitions_value_is_a_system_check_error(value: object, check_id: str) -> None:
    with override_settings(REDIS_SESSIONS={"PARTITIONS": value}):
        errors = check_settings()
    assert [e.id for e in errors] == [f"redis_sessions.{check_id}"]
    assert isinstance(errors[0], checks.Error) and "PARTITIONS" in errors[0].msg


def test_sessions_are_indexed_in_their_own_partition(redis: Any, partitioned: int) -> None:
    stores = []
    for i in range(12):
        store = SessionStore()
        store["n"] = i
        if i % 3 == 0:
            store["_auth_user_id"] = "7"
        store.save()
        stores.append(store)
    made = {s.session_key for s in stores}
    assert len({keys.session_partition(k) for k in made if k}) > 1
    found = indexed(redis)
    assert found["recent"] == found["expires"] == made
    assert found["login"] == {s.session_key for s in stores[::3]}
    # a load refreshes the last-seen time in the session's partition
    key = stores[1].session_key
    assert key is not None
    recent = keys.session_index_keys(key)[0]
    before = redis.zscore(recent, key)
    time.sleep(0.01)
    assert SessionStore(key).load() == {"n": 1}
    assert redis.zscore(recent, key) > before
    # deleting and ending sessions clear the right partitions
    stores[1].delete()
    assert end_user_sessions("7") == 4
    found = indexed(redis)
    anonymous = {s.session_key for i, s in enumerate(stores) if i % 3 and i != 1}
    assert found["recent"] == found["expires"] == anonymous
    assert found["login"] == set()


def test_cycle_key_moves_the_index_entries_to_the_new_key_partition(
    redis: Any, partitioned: int
) -> None:
    store = SessionStore()
    store["_auth_user_id"] = "9"
    store.save()
    old = store.session_key
    assert old is not None
    # cycle until the new key lands in another partition (3 in 4 do)
    for _ in range(20):
        store.cycle_key()
        new = store.session_key
        assert new is not None
        if keys.session_partition(new) != keys.session_partition(old):
            break
        old = new
    else:
        pytest.fail("20 new keys in one partition")
    found = indexed(redis)
    assert found["recent"] == found["expires"] == found["login"] == {new}
    assert redis.smembers(keys.user_sessions("9")) == {new.encode()}


def test_clean_pass_keeps_each_partition_share_of_the_limit(redis: Any, partitioned: int) -> None:
    made = populate(200)
    summary = clean_pass(limit=41, batch_size=7)
    assert summary["complete"] and summary["removed"] == summary["over_limit"] == 159
    shares = limit_shares(41)
    assert sum(shares) == 41 and sorted(shares) == [10, 10, 10, 11]
    for p, share in enumerate(shares):
        # populate's order is the last-seen order: each partition keeps its newest
        mine = [k for k in made if keys.session_partition(k) == p]
        assert [k.decode() for k in redis.zrange(keys.recent(p), 0, -1)] == mine[-share:]
    found = indexed(redis)
    assert found["recent"] == found["expires"]
    assert found["login"] <= found["recent"]
    live = found["recent"]
    for key in set(made) - live:  # every trace of the evicted ones went
        assert redis.exists(keys.session(key), keys.viewed(key), keys.cart(key)) == 0
    assert {m.decode() for m in redis.zrange(keys.carts(), 0, -1)} == {keys.cart(k) for k in live}
    dry = clean_pass(limit=41, dry_run=True)
    assert dry == {"dry_run": True, "sessions": 41, "over_limit": 0, "expired_due": 0}
    assert clean_pass(limit=41, batch_size=7)["removed"] == 0


def test_a_session_touched_after_the_pick_survives_in_any_partition(
    redis: Any, partitioned: int
) -> None:
    made = populate(40, logged_in_every=1)
    p = keys.session_partition(made[0])
    picked = pick_over_limit(limit=0, batch=100, partition=p)
    assert picked and all(keys.session_partition(k) == p for k, _ in picked)
    touched = picked[0][0]
    SessionStore(touched).load()
    evicted = evict(picked)
    assert touched not in evicted.session_keys and evicted.survivors == 1
    assert redis.hget(keys.login(p), touched) is not None
    assert redis.exists(keys.session(touched), keys.cart(touched)) == 2


def test_expired_sessions_go_from_every_partition(redis: Any, partitioned: int) -> None:
    made = populate(40)
    gone = made[::3]
    for key in gone:  # what Redis does when their TTL runs out
        redis.delete(keys.session(key))
        redis.zadd(keys.session_index_keys(key)[1], {key: 1.0})
    assert len({keys.session_partition(k) for k in gone}) == N
    assert clear_expired(batch=5) == len(gone)
    assert indexed(redis)["recent"] == set(made) - set(gone)


def _view(item: str, times: int) -> None:
    run(get_redis(), view_commands(None, [item] * times, None))


def test_views_are_counted_in_the_item_partition_and_reads_merge(
    redis: Any, partitioned: int
) -> None:
    counts = {f"item{i}": 3 * i + 1 for i in range(20)}
    for item, times in counts.items():
        _view(item, times)
    for item in counts:
        p = keys.item_partition(item)
        assert redis.zscore(keys.viewed_items(p), item) == -counts[item]
        assert all(
            redis.zscore(k, item) is None
            for k in keys.all_viewed_items()
            if k != keys.viewed_items(p)
        )
    assert len({keys.item_partition(i) for i in counts}) > 1
    by_views = sorted(counts, key=lambda i: -counts[i])
    assert analytics.top_items(5) == [(i, float(counts[i])) for i in by_views[:5]]
    assert [analytics.item_rank(i) for i in by_views] == list(range(1, 21))
    assert analytics.item_rank("never") is None


def test_rescale_keeps_exactly_the_top_items_over_all_partitions(
    redis: Any, partitioned: int
) -> None:
    counts = {f"item{i}": 2 * i + 2 for i in range(30)}
    for item, times in counts.items():
        _view(item, times)
    summary = analytics.rescale_viewed(max_items=10)
    assert summary == {"removed": 20, "kept": 10}
    top = sorted(counts, key=lambda i: -counts[i])[:10]
    left = {
        m.decode(): -s
        for k in keys.all_viewed_items()
        for m, s in redis.zrange(k, 0, -1, withscores=True)
    }
    assert left == {i: counts[i] / 2 for i in top}


@pytest.mark.django_db
def test_inspection_pages_merge_every_partition(redis: Any, partitioned: int) -> None:
    from redis_sessions.inspection.overview import overview
    from redis_sessions.inspection.session_detail import session_detail
    from redis_sessions.inspection.sessions import session_page, user_session_page

    made = populate(23, logged_in_every=3)  # populate's order is the last-seen order
    newest_first = made[::-1]
    # every session once, newest first, through cursors over the merged partitions
    shown: list[str] = []
    page = session_page(n=5)
    assert page.total == 23
    while True:
        shown += [row.key for row in page.rows]
        if page.next is None:
            break
        page = session_page(page.next, n=5)
    assert shown == newest_first
    assert [row.key for row in session_page(oldest=True, n=4).rows] == newest_first[-4:]
    # rows read each session's own partition of login:
    logged_in = {row.key: row.user_id for row in session_page(n=23).rows if row.user_id}
    assert logged_in == {k: str(1000 + i) for i, k in enumerate(made) if i % 3 == 0}
    mine = user_session_page("1003")
    assert [row.key for row in mine.rows] == [made[3]]
    detail = session_detail(made[4])
    assert detail is not None and detail.last_seen is not None and detail.expires_at is not None
    counts = overview().counts
    assert counts["sessions"] == 23 and counts["logged-in sessions"] == 8


def test_the_doctor_checks_the_type_of_every_partition(redis: Any, partitioned: int) -> None:
    from redis_sessions.doctor import FAIL, index_types

    assert index_types(redis).verdict != FAIL
    redis.set(keys.expires(3), "oops")
    finding = index_types(redis)
    assert finding.verdict == FAIL and keys.expires(3) in finding.data["wrong"]


@pytest.mark.parametrize("top, state", [(3, "cold"), (4, "render")])
def test_the_cache_rank_rule_counts_better_items_of_every_partition(
    redis: Any, partitioned: int, settings: Any, top: int, state: str
) -> None:
    from redis_sessions.pagecache import engine as caching

    # "mid" has 3 items with more views, all in partitions other than its own
    mine = keys.item_partition("mid")
    better = [i for i in (f"hot{n}" for n in range(50)) if keys.item_partition(i) != mine][:3]
    for item in better:
        _view(item, 10)
    _view("mid", 5)
    _view(next(i for i in (f"low{n}" for n in range(50)) if keys.item_partition(i) == mine), 1)
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CACHE_TOP_N": top}
    viewed, others = caching.popularity_keys("mid")
    assert viewed == keys.viewed_items(mine) and len(others) == N - 1
    target = caching.Target(keys.page("digest"), keys.page_lock("digest"), viewed, "mid",
                            other_viewed=others)  # fmt: skip
    assert caching.lookup(target, wait=False).state == state  # rank 4: top 3 no, top 4 yes


def test_tied_items_rank_by_partition_so_the_rule_admits_exactly_the_top_n(
    redis: Any, partitioned: int, settings: Any
) -> None:
    from redis_sessions.pagecache import engine as caching

    items = [f"tied{n}" for n in range(30)]  # one view each: all tied on the score
    for item in items:
        _view(item, 1)
    assert len({keys.item_partition(i) for i in items}) == N
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CACHE_TOP_N": 10}
    admitted = set()
    for item in items:
        viewed, others = caching.popularity_keys(item)
        digest = f"d-{item}"
        target = caching.Target(keys.page(digest), keys.page_lock(digest), viewed, item,
                                other_viewed=others)  # fmt: skip
        if caching.lookup(target, wait=False).state == "render":
            admitted.add(item)
    top = [item for item, _ in analytics.top_items(30)]
    assert admitted == set(top[:10])  # exactly CACHE_TOP_N, the same ten as top_items
    assert [analytics.item_rank(i) for i in top] == list(range(1, 31))


def test_the_loops_refuse_to_run_when_partitions_changed_and_the_doctor_says_so(
    one_partition: None, redis: Any, settings: Any
) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    from redis_sessions.doctor import FAIL, OK
    from redis_sessions.doctor import partitions as partitions_line
    from redis_sessions.exceptions import ConfigurationError

    populate(30)
    assert clean_pass(limit=20)["removed"] == 10  # records PARTITIONS = 1
    assert partitions_line(redis).verdict == OK
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "PARTITIONS": N}
    before = {k: redis.dump(k) for k in redis.scan_iter(match=keys.scan_pattern())}
    with pytest.raises(ConfigurationError, match="written with 1"):
        clean_pass(limit=4)
    with pytest.raises(CommandError, match="PARTITIONS"):
        call_command("clean_sessions", "--once", "--limit", "4", stdout=StringIO())
    with pytest.raises(CommandError, match="PARTITIONS"):
        call_command("rescale_viewed", "--once", stdout=StringIO())
    after = {k: redis.dump(k) for k in redis.scan_iter(match=keys.scan_pattern())}
    assert {k: v for k, v in after.items() if b"loop:" not in k} == {
        k: v for k, v in before.items() if b"loop:" not in k
    }  # nothing evicted, nothing trimmed
    assert partitions_line(redis).verdict == FAIL


def test_evict_takes_sessions_of_several_partitions_in_one_round_trip(
    redis: Any, partitioned: int, no_receivers: None, received: list[dict[str, Any]]
) -> None:
    from redis_sessions import connection

    made = populate(40, logged_in_every=2)
    picked = [c for p in range(N) for c in pick_over_limit(limit=8, batch=3, partition=p)]
    assert len({keys.session_partition(k) for k, _ in picked}) == N
    touched = picked[-1][0]
    SessionStore(touched).load()  # used after the pick: survives
    before = connection.round_trips()
    evicted = evict(picked)
    if not hasattr(redis, "get_nodes"):  # a single server (a cluster runs per-slot steps)
        assert connection.round_trips() - before == 1
    gone = {k for k, _ in picked} - {touched}
    assert set(evicted.session_keys) == gone and evicted.survivors == 1
    assert set(received[0]["carts"]) == gone  # the carts read inside each step
    assert indexed(redis)["recent"] == set(made) - gone
    assert indexed(redis)["login"] == {k for i, k in enumerate(made) if i % 2 == 0} - gone
    for key in gone:
        assert redis.exists(keys.session(key), keys.viewed(key), keys.cart(key)) == 0
