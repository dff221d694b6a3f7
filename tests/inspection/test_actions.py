"""Actions on the inspection pages: confirmation, POST with CSRF, permission, history."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.test import Client

from redis_sessions import keys
from redis_sessions.cart import Cart
from redis_sessions.sessions.users import user_session_keys
from tests.support.inspection import ADMIN, client_for, listed, put_cart, session, staff

pytestmark = pytest.mark.django_db


def test_ending_a_session_asks_first_then_ends_it_and_records_it_in_the_history(
    redis: Any,
) -> None:
    operator = staff("ops", "view_sessions", "manage_sessions")
    client = client_for(operator)
    key = session(colour="blue")
    put_cart(redis, keys.cart(key), {"1": 1})
    ref = listed(key)  # the list names the session by its reference, never its key
    url = f"{ADMIN}sessions/{ref}/end/"

    confirm = client.get(url)
    assert confirm.status_code == 200 and "Yes, I\u2019m sure" in confirm.content.decode()
    assert ref in confirm.content.decode() and key not in confirm.content.decode()
    assert redis.exists(keys.session(key))  # a GET changes nothing

    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == ADMIN + "sessions/"
    assert not redis.exists(keys.session(key), keys.cart(key))
    assert redis.zscore(keys.recent(), key) is None
    assert redis.zscore(keys.carts(), keys.cart(key)) is None
    entry = LogEntry.objects.get()
    assert (entry.user_id, entry.object_id, entry.action_flag) == (operator.pk, ref, DELETION)
    assert key not in entry.object_repr
    assert entry.content_type.model == "sessionrecord"
    assert "Ended the session" in entry.change_message
    # The admin's "Recent actions" link leads back to the session's page.
    assert entry.get_admin_url() == f"/admin/redis_sessions/sessionrecord/{ref}/change/"
    assert client.get(entry.get_admin_url())["Location"] == f"{ADMIN}sessions/{ref}/"
    listing = client.get(response["Location"]).content.decode()
    assert f"Session {ref} ended." in listing and key[:10] not in listing


def test_ending_all_sessions_of_a_user_keeps_the_operators_own(redis: Any) -> None:
    alice = staff("alice")
    a1, a2 = session(alice), session(alice)
    other = session(x=1)
    operator = staff("ops", "view_sessions", "manage_sessions")
    client = client_for(operator)

    confirm = client.get(f"{ADMIN}users/{alice.pk}/end-sessions/").content.decode()
    assert "End all 2 session(s) of <strong>alice</strong>" in confirm
    client.post(f"{ADMIN}users/{alice.pk}/end-sessions/")
    assert user_session_keys(alice) == []
    assert not redis.exists(keys.session(a1), keys.session(a2))
    assert redis.exists(keys.session(other))
    entry = LogEntry.objects.get()
    assert entry.content_type.model == "user" and entry.object_id == str(alice.pk)
    assert entry.action_flag == CHANGE and entry.change_message == "Ended 2 Redis session(s)."

    own = client.session.session_key
    client.post(f"{ADMIN}users/{operator.pk}/end-sessions/")
    assert user_session_keys(operator) == [own]  # still signed in
    assert client.get(ADMIN + "sessions/").status_code == 200


def test_clearing_a_cart_removes_its_lines_and_its_index_entry(redis: Any) -> None:
    client = client_for(staff("ops", "view_sessions", "manage_carts"))
    key = session(x=1)
    put_cart(redis, keys.cart(key), {"1": 2, "2": 1})
    ref = listed(key)
    url = f"{ADMIN}carts/session/{ref}/clear/"
    question = client.get(url).content.decode()
    assert "Remove every line" in question and key not in question
    response = client.post(url)
    assert response["Location"] == f"{ADMIN}sessions/{ref}/"
    assert not redis.exists(keys.cart(key))
    assert redis.zscore(keys.carts(), keys.cart(key)) is None
    assert redis.exists(keys.session(key))  # the session itself stays
    entry = LogEntry.objects.get()
    assert entry.content_type.model == "cartrecord"
    assert entry.object_id == f"cart of session {ref}"
    assert "2 lines" in entry.change_message


def test_clearing_a_user_cart_from_the_carts_page(redis: Any) -> None:
    alice = staff("alice")
    put_cart(redis, keys.user_cart(alice.pk), {"5": 1})
    client = client_for(staff("ops", "view_sessions", "manage_carts"))
    assert (
        f'href="{ADMIN}carts/user/{alice.pk}/clear/"'
        in client.get(ADMIN + "carts/").content.decode()
    )
    client.post(f"{ADMIN}carts/user/{alice.pk}/clear/")
    assert not redis.exists(keys.user_cart(alice.pk))
    assert redis.zcard(keys.carts()) == 0


def test_cart_clear_says_how_many_lines_it_removed(redis: Any) -> None:
    key = session(x=1)
    put_cart(redis, keys.cart(key), {"1": 2, "2": 1, "3": 4})
    assert Cart.for_session_key(key).clear() == 3
    assert Cart.for_session_key(key).clear() == 0
    assert redis.zscore(keys.carts(), keys.cart(key)) is None


@pytest.mark.parametrize(
    ("permission", "path"),
    [
        ("manage_sessions", "sessions/{key}/end/"),
        ("manage_sessions", "users/{uid}/end-sessions/"),
        ("manage_carts", "carts/session/{key}/clear/"),
    ],
)
def test_actions_without_their_permission_get_403_and_change_nothing(
    redis: Any, permission: str, path: str
) -> None:
    alice = staff("alice")
    key = session(alice)
    put_cart(redis, keys.cart(key), {"1": 1})
    # Every permission but the one the action needs.
    others = {"view_redis", "view_sessions", "manage_sessions", "manage_carts"} - {permission}
    client = client_for(staff("ops", *others))
    url = ADMIN + path.format(key=listed(key), uid=alice.pk)
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert redis.exists(keys.session(key), keys.cart(key)) == 2
    assert not LogEntry.objects.exists()


def test_an_action_posted_without_a_csrf_token_is_refused(redis: Any) -> None:
    client = client_for(staff("ops", "view_sessions", "manage_sessions"), enforce_csrf_checks=True)
    key = session(x=1)
    assert client.post(f"{ADMIN}sessions/{listed(key)}/end/").status_code == 403
    assert redis.exists(keys.session(key))


def test_actions_on_malformed_keys_are_404(admin_client: Client) -> None:
    assert admin_client.post(f"{ADMIN}sessions/NOPE/end/").status_code == 404
    assert admin_client.post(f"{ADMIN}sessions/{'0' * 16}/end/").status_code == 404  # unknown
    assert admin_client.post(f"{ADMIN}carts/user/a{{b}}/clear/").status_code == 404
    assert admin_client.post(f"{ADMIN}carts/other/abcdefgh1234/clear/").status_code == 404
    assert admin_client.post(f"{ADMIN}users/x:y/end-sessions/").status_code == 404


def test_session_keys_never_reach_the_html_and_a_session_is_ended_by_its_reference(
    redis: Any,
) -> None:
    """A session key is a bearer token: the pages show a digest (``inspection.refs``)."""
    from redis_sessions.inspection import refs

    alice = staff("alice")
    key = session(alice, colour="blue")
    put_cart(redis, keys.cart(key), {"1": 2})
    client = client_for(staff("ops", "view_redis", "view_sessions", "manage_sessions",
                              "manage_carts"))  # fmt: skip
    ref = refs.ref(key)
    pages = [ADMIN + "sessions/", ADMIN + "sessions/?cart=1", ADMIN + "sessions/?user=alice",
             ADMIN + "carts/", ADMIN, f"{ADMIN}sessions/{ref}/", f"{ADMIN}sessions/{ref}/end/",
             f"{ADMIN}carts/session/{ref}/clear/"]  # fmt: skip
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert key not in response.content.decode(), url
    assert ref in client.get(ADMIN + "sessions/").content.decode()
    assert len(ref) == 16 and ref != key[:16]  # a digest, not a part of the key
    # The reference resolves on the server only while a page has shown it recently.
    redis.delete(keys.session_ref(ref))
    assert client.get(f"{ADMIN}sessions/{ref}/").status_code == 404
    assert client.post(f"{ADMIN}sessions/{ref}/end/").status_code == 404
    assert redis.exists(keys.session(key))
    listed(key)
    client.post(f"{ADMIN}sessions/{ref}/end/")
    assert not redis.exists(keys.session(key))


def test_a_reference_stored_for_another_key_is_refused(redis: Any, admin_client: Client) -> None:
    from redis_sessions.inspection import refs

    key, other = session(x=1), session(x=2)
    redis.set(keys.session_ref(refs.ref(key)), other)  # a hand-made or stale entry
    assert admin_client.post(f"{ADMIN}sessions/{refs.ref(key)}/end/").status_code == 404
    assert redis.exists(keys.session(key), keys.session(other)) == 2


def test_a_deleted_users_sessions_and_cart_can_still_be_ended_and_cleared(redis: Any) -> None:
    alice = staff("alice")
    key = session(alice)
    put_cart(redis, keys.user_cart(alice.pk), {"1": 1})
    uid = alice.pk
    alice.delete()  # her sessions are ended after commit; this one is written back by hand
    redis.zadd(keys.user_sessions(uid), {key: 1})
    client = client_for(staff("ops", "view_sessions", "manage_sessions", "manage_carts"))
    assert "of <strong>user " in client.get(f"{ADMIN}users/{uid}/end-sessions/").content.decode()
    assert client.post(f"{ADMIN}users/{uid}/end-sessions/").status_code == 302
    assert client.get(f"{ADMIN}carts/user/{uid}/clear/").status_code == 200
    assert client.post(f"{ADMIN}carts/user/{uid}/clear/").status_code == 302
    assert not redis.exists(keys.user_cart(uid))


def test_a_user_id_that_names_no_user_and_nothing_in_redis_is_404(redis: Any) -> None:
    client = client_for(staff("ops", "view_sessions", "manage_sessions", "manage_carts"))
    for url in (f"{ADMIN}users/424242/end-sessions/", f"{ADMIN}carts/user/424242/clear/"):
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    assert not LogEntry.objects.exists()
