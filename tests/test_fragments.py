"""``{% redis_cache %}`` and ``invalidate_fragment``."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from django.template import Context, Template, TemplateSyntaxError

from redis_sessions import keys
from redis_sessions.fragments import fragment_digest, invalidate_fragment

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
