"""The data key's format: Django's auth keys packed in a header, the session unchanged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.serializers import JSONSerializer
from django.core.signing import JSONSerializer as SigningJSONSerializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redis_sessions import keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.sessions import payload

MODEL = "django.contrib.auth.backends.ModelBackend"
HASH = "f" * 64


def logged_in(**extra: Any) -> dict[str, Any]:
    return {SESSION_KEY: "1234567", BACKEND_SESSION_KEY: MODEL, HASH_SESSION_KEY: HASH, **extra}


def test_the_names_are_djangos() -> None:
    assert (payload.AUTH_USER_ID, payload.AUTH_BACKEND, payload.AUTH_HASH) == (
        SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY)  # fmt: skip


def test_a_logged_in_session_is_stored_short_and_read_back_exactly(redis: Any) -> None:
    store = SessionStore()
    store.update(logged_in(cart_note="blue"))
    store.save()
    raw = redis.get(keys.session(store.session_key))
    assert raw == b'\x1e["1234567","' + HASH.encode() + b'",0]\n{"cart_note":"blue"}'
    plain = JSONSerializer().dumps(logged_in(cart_note="blue"))
    assert len(raw) < len(plain) - 90
    assert SessionStore(store.session_key).load() == logged_in(cart_note="blue")


@pytest.mark.parametrize(
    "data",
    [
        logged_in(),
        logged_in(**{SESSION_KEY: 42}),  # an int id (set by hand) stays an int
        logged_in(**{BACKEND_SESSION_KEY: "myapp.backends.EmailBackend"}),  # verbatim
        logged_in(**{BACKEND_SESSION_KEY: payload.BACKENDS[3]}),
        logged_in(**{HASH_SESSION_KEY: ""}),
        logged_in(**{SESSION_KEY: 'a "quoted"\nid\x1e'}),
        {SESSION_KEY: "7"},  # not as Django's login writes it: kept as it is
        {SESSION_KEY: "7", BACKEND_SESSION_KEY: MODEL, HASH_SESSION_KEY: None},
        {"n": 1},
        {},
    ],
)
def test_every_session_reads_back_as_it_was_written(redis: Any, data: dict[str, Any]) -> None:
    store = SessionStore()
    store.update(data)
    store.save()
    assert SessionStore(store.session_key).load() == data


def test_a_backend_code_is_a_fixed_path_whatever_the_settings(settings: Any) -> None:
    # The table is append-only and does not read AUTHENTICATION_BACKENDS: a code
    # written under one configuration reads back as the same path under any other.
    raw = payload.encode(JSONSerializer(), logged_in())
    settings.AUTHENTICATION_BACKENDS = ["myapp.backends.EmailBackend", MODEL]
    assert payload.decode(JSONSerializer(), raw)[BACKEND_SESSION_KEY] == MODEL
    assert payload.BACKENDS[0] == MODEL


def test_data_written_before_the_header_still_loads(redis: Any) -> None:
    store = SessionStore()
    store["n"] = 1
    store.save()
    old = JSONSerializer().dumps(logged_in(n=1))  # what earlier code wrote
    redis.set(keys.session(store.session_key), old)
    assert SessionStore(store.session_key).load() == logged_in(n=1)


class StartsWithTag:
    """A custom serializer whose output starts with the header's tag byte."""

    def dumps(self, obj: Any) -> bytes:
        return b"\x1e" + SigningJSONSerializer().dumps(obj)

    def loads(self, data: bytes) -> Any:
        assert data.startswith(b"\x1e")
        return SigningJSONSerializer().loads(data[1:])


def test_a_serializer_output_that_starts_with_the_tag_is_never_misread() -> None:
    for data in ({"n": 1}, logged_in(n=2)):
        raw = payload.encode(StartsWithTag(), data)
        assert raw.startswith(b"\x1e")
        assert payload.decode(StartsWithTag(), raw) == data


def test_a_backend_code_this_release_does_not_know_is_a_corrupt_session(
    redis: Any, caplog: Any
) -> None:
    store = SessionStore()
    store.update(logged_in())
    store.save()
    redis.set(keys.session(store.session_key), b'\x1e["1","h",999]\n{}')
    with caplog.at_level(logging.WARNING, logger="django.security.SuspiciousSession"):
        assert SessionStore(store.session_key).load() == {}
    assert "corrupted" in caplog.text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rest=st.dictionaries(st.text(), json_values, max_size=4),
    uid=st.one_of(st.text(), st.integers()),
    backend=st.one_of(st.sampled_from(payload.BACKENDS), st.text()),
    digest=st.text(),
)
def test_encode_then_decode_is_the_identity(
    rest: dict[str, Any], uid: Any, backend: str, digest: str
) -> None:
    data = {**rest, SESSION_KEY: uid, BACKEND_SESSION_KEY: backend, HASH_SESSION_KEY: digest}
    serializer = JSONSerializer()
    assert payload.decode(serializer, payload.encode(serializer, data)) == data
    assert payload.decode(serializer, payload.encode(serializer, rest)) == rest
