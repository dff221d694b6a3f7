"""``{% load redis_sessions %}``: ``{% redis_cache %}``, the fragment cache tag.

    {% redis_cache 300 sidebar request.LANGUAGE_CODE item=product.pk %}
      ...
    {% endredis_cache %}

Arguments as Django's ``{% cache %}`` (timeout in seconds, a literal name, then any
number of ``vary_on`` values), plus, last and in any order, an optional
``item=ITEM_ID``: then the fragment is cached only while that item is popular (top
``CACHE_TOP_N`` of ``viewed:``), and an optional ``depends="app_label.Model"`` (several
separated by commas): a save or delete of such a model drops the fragment after the
transaction commits. Drop one by hand with
``redis_sessions.pagecache.invalidate_fragment``.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token

from redis_sessions.pagecache.follow import fragment_labels
from redis_sessions.pagecache.fragments import cached_fragment

register = template.Library()


class RedisCacheNode(template.Node):
    def __init__(
        self,
        nodelist: NodeList,
        timeout: FilterExpression,
        name: str,
        vary_on: list[FilterExpression],
        item: FilterExpression | None,
        depends: FilterExpression | None = None,
    ) -> None:
        self.nodelist, self.timeout, self.name = nodelist, timeout, name
        self.vary_on, self.item, self.depends = vary_on, item, depends

    def render(self, context: Any) -> str:
        raw = self.timeout.resolve(context)
        try:
            timeout = float(raw)
        except (TypeError, ValueError):
            raise template.TemplateSyntaxError(
                f"redis_cache timeout must be a number of seconds, not {raw!r}."
            ) from None
        vary = [v.resolve(context) for v in self.vary_on]
        item = self.item.resolve(context) if self.item is not None else None
        if self.item is not None and item in (None, ""):
            return self.nodelist.render(context)  # an item tag with no item: not cached
        try:
            depends = fragment_labels(self.depends.resolve(context) if self.depends else None)
        except (TypeError, ValueError) as exc:
            raise template.TemplateSyntaxError(f"redis_cache depends=: {exc}") from None
        return cached_fragment(
            self.name, vary, timeout, item, lambda: self.nodelist.render(context),
            request=context.get("request"), depends=depends,
        )  # fmt: skip


@register.tag("redis_cache")
def do_redis_cache(parser: Parser, token: Token) -> RedisCacheNode:
    bits = token.split_contents()
    if len(bits) < 3:
        raise template.TemplateSyntaxError(
            f"{bits[0]!r} takes at least two arguments: a timeout and a fragment name."
        )
    nodelist = parser.parse(("endredis_cache",))
    parser.delete_first_token()
    named: dict[str, FilterExpression] = {}
    rest = bits[3:]
    while rest and rest[-1].startswith(("item=", "depends=")):
        key, _, value = rest.pop().partition("=")
        if key in named:
            raise template.TemplateSyntaxError(f"redis_cache takes one {key}=, not two.")
        named[key] = parser.compile_filter(value)
    name = bits[2].strip("\"'")
    vary_on = [parser.compile_filter(b) for b in rest]
    return RedisCacheNode(nodelist, parser.compile_filter(bits[1]), name, vary_on,
                          named.get("item"), named.get("depends"))  # fmt: skip
