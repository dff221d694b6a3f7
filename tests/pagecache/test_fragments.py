"""``{% redis_cache %}`` and ``invalidate_fragment``."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from django.template import Context, Template, TemplateSyntaxError

from redis_sessions import keys
from redis_sessions.pagecache.fragments import fragment_digest, invalidate_fragment

TEMPLATE = Template(
    "{% load redis_sessions %}"
    "{% redis_cache 60 box colour %}[{{ next }}]{% endredis_cache %}"
    "{% redis_cache 60 itembox item=item %}<{{ next }}>{% endredis_cache %}"
)


def render(colour: str = "red", item: Any = "a") -> str:
    return TEMPLATE.render(Context({"next": Counter(), "colour": colour, "item": item}))


class Counter:
    """Renders as a new number each time: shows whether a fragment was rendered."""

    numbers = count(1)

    def __str__(self) -> str:
        return str(next(self.numbers))


def test_a_fragment_is_rendered_once_per_vary_value_then_read_from_redis(redis: Any) -> None:
    first = render().split("<")[0]
    assert render().split("<")[0] == first
    assert render("blue").split("<")[0] != first
    assert redis.exists(keys.fragment(fragment_digest("box", ["red"])))


def test_invalidate_fragment_drops_exactly_that_fragment() -> None:
    red, blue = render("red").split("<")[0], render("blue").split("<")[0]
    assert invalidate_fragment("box", "red") is True
    assert render("red").split("<")[0] != red
    assert render("blue").split("<")[0] == blue
    assert invalidate_fragment("box", "green") is False


def test_an_item_fragment_is_cached_only_while_the_item_is_popular(
    redis: Any, settings: Any
) -> None:
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "CACHE_TOP_N": 1}
    redis.zadd(keys.viewed_items(), {"b": -10, "a": -1})
    assert render().split("<")[1] != render().split("<")[1]  # "a" is not in the top 1
    redis.zadd(keys.viewed_items(), {"a": -100})
    once = render().split("<")[1]
    assert render().split("<")[1] == once


def test_the_timeout_must_be_a_number() -> None:
    with pytest.raises(TemplateSyntaxError, match="number of seconds"):
        Template("{% load redis_sessions %}{% redis_cache 'soon' x %}{% endredis_cache %}").render(
            Context()
        )


def test_a_fragment_with_a_csrf_token_gives_each_visitor_their_own(redis: Any) -> None:
    from django.middleware.csrf import _unmask_cipher_token, get_token  # type: ignore[attr-defined]
    from django.template import RequestContext
    from django.test import RequestFactory

    form = Template(
        "{% load redis_sessions %}{% redis_cache 60 form %}{% csrf_token %}{% endredis_cache %}"
    )

    def token_in(html: str) -> str:
        return html.split('value="')[1].split('"')[0]

    first, second = RequestFactory().get("/"), RequestFactory().get("/")
    get_token(first), get_token(second)  # each visitor has a secret of their own
    html_one = form.render(RequestContext(first, {}))
    stored = redis.hget(keys.fragment(fragment_digest("form")), "body")
    assert token_in(html_one).encode() not in stored  # never the visitor's token
    html_two = form.render(RequestContext(second, {}))  # a hit for the second visitor
    assert _unmask_cipher_token(token_in(html_two)) == second.META["CSRF_COOKIE"]
    assert _unmask_cipher_token(token_in(html_one)) == first.META["CSRF_COOKIE"]
    third = RequestFactory().get("/")  # a first visit: no secret yet
    html_three = form.render(RequestContext(third, {}))  # a hit makes one, and its cookie
    assert third.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    assert _unmask_cipher_token(token_in(html_three)) == third.META["CSRF_COOKIE"]
    assert third.META["CSRF_COOKIE"] not in (first.META["CSRF_COOKIE"], second.META["CSRF_COOKIE"])


def test_a_fragment_with_a_csrf_token_and_no_request_is_never_stored(redis: Any) -> None:
    form = Template(
        "{% load redis_sessions %}{% redis_cache 60 bare %}"
        '<input name="csrfmiddlewaretoken" value="x">{% endredis_cache %}'
    )
    form.render(Context({}))
    assert not redis.exists(keys.fragment(fragment_digest("bare")))
