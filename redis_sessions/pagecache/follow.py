"""Caches that follow the data: a model's writes drop the pages and fragments that
show it, after the transaction commits.

A link is declared, not called: ``cache_request(item=..., model=Product)`` (the item
of a saved product is its ``pk``), ``model=(Review, "product_id")`` (another model
whose rows change an item's page: the attribute, or a callable, that gives the
item), ``{% redis_cache ... depends="shop.Product" %}`` for fragments, and the
``PAGE_CACHE_MODELS`` setting (``{"shop.Product": "pk"}``, or ``None`` for fragments
only) for processes that never import the views or render the templates (a worker, a
shell). ``post_save`` and ``post_delete`` of a linked model then drop, on
``transaction.on_commit`` (never on rollback), every cached page of the item and every
fragment that depends on the model, in one round trip.
``invalidate_item`` / ``invalidate_fragment`` stay as the escape hatch (writes that
send no signal: ``QuerySet.update``, raw SQL).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from operator import attrgetter
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

from redis_sessions import keys
from redis_sessions.analytics.counting import clean_item_id
from redis_sessions.conf import app_settings
from redis_sessions.connection import get_redis, run
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.pagecache.scripts import CACHE_INVALIDATE_ITEM

__all__ = ["ModelLinks", "connect_signals", "fragment_labels", "link_pages", "model_label"]

logger = logging.getLogger("redis_sessions.pagecache")

ItemOf = Callable[[Any], object]
ModelRef = type[models.Model] | str
#: A model, or ``(model, how its rows name the item)``, or a list of those.
ModelLinks = ModelRef | tuple[ModelRef, str | ItemOf] | Iterable[Any]

#: label -> how a saved row of that model names the item whose pages show it
_pages: dict[str, list[ItemOf]] = {}
#: labels some fragment of this process depends on (``depends=`` seen rendering)
_fragments: set[str] = set()


def model_label(model: object) -> str:
    """``app_label.model`` in lower case, for a model class or an ``"app_label.Model"``
    string; ``TypeError``/``ValueError`` for anything else."""
    if isinstance(model, str):
        app, dot, name = model.partition(".")
        if not (app and dot and name) or "." in name:
            raise ValueError(f"A model is named 'app_label.Model', not {model!r}.")
        return model.lower()
    if isinstance(model, type) and issubclass(model, models.Model):
        return str(model._meta.label_lower)
    raise TypeError(f"Expected a model class or 'app_label.Model', not {model!r}.")


def _item_of(how: object, label: str) -> ItemOf:
    if isinstance(how, type):
        raise TypeError(f"A page cache link is (model, attribute or callable); several "
                        f"models go in a list, not a tuple ({label}, {how!r}).")  # fmt: skip
    if callable(how):
        return how
    if isinstance(how, str) and how:
        get = attrgetter(how)

        def item_of(instance: Any) -> object:
            try:
                return get(instance)
            except AttributeError:
                raise ImproperlyConfigured(
                    f"Page cache link of {label}: its rows have no attribute {how!r} "
                    "naming the item."
                ) from None

        return item_of
    raise TypeError(f"A page cache link of {label} names its item with an attribute or a "
                    f"callable, not {how!r}.")  # fmt: skip


def link_pages(links: ModelLinks) -> tuple[str, ...]:
    """Register ``cache_request(model=...)``: a write of a linked model drops the
    pages of the item it names (``pk`` by default). Checked now: a bad link raises."""
    pairs = []
    for link in _each(links):
        model, how = link if isinstance(link, tuple) else (link, "pk")
        label = model_label(model)
        pairs.append((label, _item_of(how, label)))
    for label, item_of in pairs:
        _pages.setdefault(label, []).append(item_of)
    return tuple(label for label, _ in pairs)


def _each(links: ModelLinks) -> list[Any]:
    """The links one by one: a model, a ``(model, how)`` pair, or a list of those."""
    if isinstance(links, (str, type, tuple)) or not isinstance(links, Iterable):
        return [links]  # a lone link (anything else: model_label says what is wrong)
    return list(links)


def fragment_labels(depends: object) -> tuple[str, ...]:
    """The labels of a fragment's ``depends=`` (``"shop.Product"``, ``"shop.Product,
    shop.Supplier"``, a model class, or a list of those), registered for this
    process's signals."""
    if depends is None or depends == "":
        return ()
    if isinstance(depends, str):
        parts: list[Any] = [p for p in depends.replace(",", " ").split() if p]
    elif isinstance(depends, type):
        parts = [depends]
    else:
        parts = list(depends)  # type: ignore[call-overload]
    labels = tuple(dict.fromkeys(model_label(p) for p in parts))
    _fragments.update(labels)
    return labels


def _configured() -> dict[str, str | None]:
    """``PAGE_CACHE_MODELS`` by lower-case label."""
    return {label.lower(): how for label, how in app_settings.PAGE_CACHE_MODELS.items()}


def _changed(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    label = sender._meta.label_lower
    configured = _configured()
    item_ofs = list(_pages.get(label, ()))
    if configured.get(label):
        item_ofs.append(_item_of(configured[label], label))
    fragments = label in _fragments or label in configured or label in _pages
    if not item_ofs and not fragments:
        return  # not linked: a dict lookup, the cost of every other model's writes
    items = []
    for item_of in item_ofs:
        raw = item_of(instance)
        if raw is not None and raw != "":  # a UUID key names its item as text
            items.append(clean_item_id(raw if isinstance(raw, (str, int)) else str(raw)))
    transaction.on_commit(
        partial(_drop, tuple(dict.fromkeys(items)), label), using=kwargs.get("using")
    )


def _drop(items: tuple[str, ...], label: str) -> None:
    """Drop the items' pages and the model's fragments: one round trip. Redis down:
    said loudly (they may be stale until their timeout)."""
    commands = [CACHE_INVALIDATE_ITEM.command([keys.item_pages(i)], [keys.page("")])
                for i in items]  # fmt: skip
    commands.append(CACHE_INVALIDATE_ITEM.command([keys.fragment_deps(label)], [keys.fragment("")]))
    try:
        run(get_redis(), commands)
    except RedisUnavailable as exc:
        logger.error(
            "Page cache: could not drop the pages of %s and the fragments depending on %s "
            "(%s); they may be stale for up to their timeout", list(items), label, exc,
        )  # fmt: skip


def connect_signals() -> None:
    """Listen to every model's ``post_save``/``post_delete`` (for a model not linked:
    a dict lookup), so links declared later (a view module imported, a template
    rendered, a setting changed) are followed too."""
    models.signals.post_save.connect(_changed, dispatch_uid="redis_sessions.pagecache.save")
    models.signals.post_delete.connect(_changed, dispatch_uid="redis_sessions.pagecache.delete")
