"""Every inspection URL that takes an id, fed ids no model can have: never a 500, and
Redis unchanged.

The URLs come from ``redis_sessions.urls`` itself, so a page added there is fuzzed
without touching this file. Each is reached through the admin, as a staff user with
every permission of the app, with GET and with a POST carrying a valid CSRF token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, reverse

from redis_sessions import keys, urls
from redis_sessions.analytics.counting import view_commands
from redis_sessions.connection import run
from redis_sessions.rowcache import schedule_row_cache
from tests.support.inspection import ADMIN, client_for, put_cart, session, staff
from tests.support.rowcache import product

TOO_BIG = str(10**30)  # an id that reached Redis but that no row of the database can have

pytestmark = pytest.mark.django_db(transaction=True)

IDS = [
    str(2**63),  # one past the largest 64-bit integer
    str(10**30),
    str(-(2**63) - 1),
    "-1",
    "-0",
    "0x10",
    "1e3",
    "1.5",
    "abc",
    " ",
    " 7",
    "007",
    "null",
    "\t",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: int() reads it as 3
    "\U0001d7d9",  # MATHEMATICAL DOUBLE-STRUCK DIGIT ONE: int() reads it as 1
    "\u00b2",  # SUPERSCRIPT TWO: str.isdigit() says yes, int() refuses it
    "ü",
    "a:b",
    "{x}",
    "9" * 400,
    "x" * 5000,
]

# How an argument of a pattern is fuzzed: the fuzzed id alone, or inside what that
# argument carries (a row-cache member is ``app.model:pk``: fuzz the pk of a real
# row-cached model as well as the whole member). An argument not named here gets
# the fuzzed id as it is.
SHAPES = {"member": ("{id}", "shop.product:{id}", "shop.supplier:{id}", "nope.nope:{id}")}
# Arguments that say which kind of id follows: each value is tried with fuzzed ids in
# the other arguments, and the argument itself is fuzzed too.
KINDS = {"owner": ("user", "session")}


def id_patterns() -> list[URLPattern]:
    return [p for p in urls.urlpatterns if isinstance(p, URLPattern) and p.pattern.converters]


def fuzzed_urls(pattern: URLPattern) -> Iterator[str]:
    names = list(pattern.pattern.converters)
    for fuzzed in names:
        for value in IDS:
            for shape in SHAPES.get(fuzzed, ("{id}",)):
                others = [KINDS.get(n, (value,)) if n != fuzzed else (None,) for n in names]
                for combo in _product(others):
                    args = [shape.format(id=value) if a is None else a for a in combo]
                    try:
                        yield reverse(f"admin:redis_sessions:{pattern.name}", args=args)
                    except NoReverseMatch:  # a value its converter refuses cannot reach the view
                        continue


def _product(choices: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    if not choices:
        yield ()
        return
    for head in choices[0]:
        for rest in _product(choices[1:]):
            yield (head, *rest)


def snapshot(redis: Any) -> dict[bytes, Any]:
    """Every key of the test's prefix with its serialized value (DUMP); the session
    indexes by their members only, since each request of the operator moves its own
    session's last-seen score."""
    touched = {keys.recent().encode()}
    return {
        k: sorted(redis.zrange(k, 0, -1)) if k in touched else redis.dump(k)
        for k in redis.scan_iter(match=keys.scan_pattern(), count=1000)
    }


def operator() -> Client:
    codenames = Permission.objects.filter(content_type__app_label="redis_sessions")
    user = staff("ops", *codenames.values_list("codename", flat=True))
    client = client_for(user, enforce_csrf_checks=True)
    client.raise_request_exception = False  # a 500 is a status to report, not a crash
    return client


def csrf_token(client: Client) -> str:
    """A valid token, as the admin's pages hand one out (their logout form)."""
    assert client.get(ADMIN).status_code == 200
    return str(client.cookies["csrftoken"].value)


def seeded(redis: Any) -> None:
    """Something real behind every kind of id, so that a fuzzed id that reached it would
    show in the key space: a user with sessions and a cart, a scheduled row."""
    alice = staff("alice")
    session(alice)
    put_cart(redis, keys.user_cart(alice.pk), {"1": 2})
    schedule_row_cache(product(), delay=30)


def test_every_id_pattern_of_the_urlconf_is_fuzzed() -> None:
    names = {p.name for p in id_patterns()}
    assert {"session_detail", "session_end", "user_sessions_end", "cart_clear",
            "page_cache_purge", "row_refresh", "row_unschedule"} <= names  # fmt: skip
    for pattern in id_patterns():
        assert len(list(fuzzed_urls(pattern))) >= len(IDS), pattern.name


def test_a_valid_token_and_a_valid_id_do_act(redis: Any) -> None:
    """The control: the token the fuzzing posts is one the views accept."""
    item = product()
    schedule_row_cache(item, delay=30)
    client = operator()
    token = csrf_token(client)
    url = reverse("admin:redis_sessions:row_unschedule", args=[f"shop.product:{item.pk}"])
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    assert redis.zcard(keys.row_schedule()) == 0


@pytest.mark.parametrize("pattern", id_patterns(), ids=lambda p: p.name)
def test_ids_no_model_can_have_are_404_or_400_and_change_nothing(
    redis: Any, pattern: URLPattern
) -> None:
    seeded(redis)
    client = operator()
    token = csrf_token(client)
    before = snapshot(redis)
    failures = []
    for url in fuzzed_urls(pattern):
        for method in ("get", "post"):
            data = {"csrfmiddlewaretoken": token} if method == "post" else None
            response = getattr(client, method)(url, data)
            if response.status_code not in (400, 404):
                failures.append((method.upper(), url[:120], response.status_code))
    after = snapshot(redis)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert (failures, changed) == ([], set())


def test_ids_in_the_query_string_never_give_a_500_and_a_get_changes_nothing(redis: Any) -> None:
    """``?item=`` (top items, page-cache purges), ``?user=`` (sessions), ``?after=``
    (every cursor) on every page without ids in its path: 200, 400 or 404."""
    seeded(redis)
    client = operator()
    csrf_token(client)
    before = snapshot(redis)
    failures = []
    for pattern in urls.urlpatterns:
        if not isinstance(pattern, URLPattern) or pattern.pattern.converters:
            continue
        url = reverse(f"admin:redis_sessions:{pattern.name}")
        for value in IDS:
            for extra in ({}, {"cart": "1"}, {"oldest": "1"}):
                params = {"item": value, "user": value, "after": value, **extra}
                status = client.get(url, params).status_code
                if status not in (200, 400, 404):
                    failures.append((url, value[:20], extra, status))
    after = snapshot(redis)
    # The sessions list stores the references of the sessions it shows (``refs``).
    changed = {k for k in before.keys() | after.keys()
               if before.get(k) != after.get(k) and b"session-ref:" not in k}  # fmt: skip
    assert (failures, changed) == ([], set())


def test_ids_in_redis_that_no_row_can_have_are_shown_unlabelled_not_a_500(redis: Any) -> None:
    """Item and user ids written to Redis by anything (the cart, ``record_view``, a
    hand-made key) reach the pages' queries (labels, prices, usernames) only if they
    can be primary keys."""
    item = product()
    put_cart(redis, keys.user_cart(TOO_BIG), {TOO_BIG: 2, str(item.pk): 1, "\u0663": 1})
    run(redis, view_commands(None, [TOO_BIG, "\u0663", str(item.pk)], visitor="v"))
    redis.sadd(keys.item_pages(TOO_BIG), "f" * 64)
    key = session(colour="blue")
    redis.hset(keys.login(), key, TOO_BIG)
    client = operator()
    pages = ["carts", "top_items", "page_cache", "sessions", "overview"]
    statuses = {name: client.get(reverse(f"admin:redis_sessions:{name}")).status_code
                for name in pages}  # fmt: skip
    assert statuses == dict.fromkeys(pages, 200)
    carts = client.get(reverse("admin:redis_sessions:carts")).content.decode()
    assert keys.user_cart(TOO_BIG) in carts
    top = client.get(reverse("admin:redis_sessions:top_items")).content.decode()
    assert TOO_BIG in top and str(item) in top  # the valid id is still labelled
