"""Which models the row cache holds, and how: ``@row_cached`` and ``ROW_CACHE_MODELS``.

A model is registered by decorating it or by naming it in
``REDIS_SESSIONS["ROW_CACHE_MODELS"]`` (``{"shop.Product": {"delay": 5}}``); when both
name it, the setting's options win, so a deployment can tune a library's model
without editing it. The resolved table is derived from settings, so it is rebuilt on
``setting_changed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models

from redis_sessions.conf import app_settings

M = TypeVar("M", bound=type[models.Model])

#: An entry lives this long without a refresh (seconds), so a write that bypassed
#: the signals (``QuerySet.update``, raw SQL) or an invalidation lost while Redis was
#: down is not served for ever.
DEFAULT_TIMEOUT = 3600


@dataclass(frozen=True)
class RowOptions:
    """How one model is cached (the keyword arguments of ``row_cached``)."""

    delay: float = 5.0
    fields: tuple[str, ...] | None = None
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()
    timeout: int = DEFAULT_TIMEOUT

    @classmethod
    def build(cls, label: str, raw: dict[str, Any]) -> RowOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown row cache option(s) {unknown} for {label!r}; use {sorted(known)}."
            )
        values = dict(raw)
        for name in ("fields", "select_related", "prefetch_related"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        options = cls(**values)
        if options.timeout < 1:
            raise ImproperlyConfigured(f"Row cache timeout of {label!r} must be >= 1 second.")
        return options


class NotRegistered(ImproperlyConfigured):
    """The model is not in the row cache: decorate it or add it to ROW_CACHE_MODELS."""


_decorated: dict[str, tuple[type[models.Model], dict[str, Any]]] = {}
_table: dict[str, tuple[type[models.Model], RowOptions]] | None = None


def row_cached(
    *,
    delay: float = 5.0,
    fields: Iterable[str] | None = None,
    select_related: Iterable[str] = (),
    prefetch_related: Iterable[str] = (),
    timeout: int = DEFAULT_TIMEOUT,
) -> Callable[[M], M]:
    """Class decorator: cache rows of this model (see ``RowOptions``).

    What the model's optional ``to_cache()`` reads must be loaded by
    ``select_related`` / ``prefetch_related``: a query inside ``to_cache()`` raises.
    """
    raw = {
        "delay": delay,
        "fields": None if fields is None else tuple(fields),
        "select_related": tuple(select_related),
        "prefetch_related": tuple(prefetch_related),
        "timeout": timeout,
    }

    def decorate(model: M) -> M:
        _decorated[model._meta.label_lower] = (model, raw)
        _reset()
        return model

    return decorate


def table() -> dict[str, tuple[type[models.Model], RowOptions]]:
    """label_lower -> (model, options) of every registered model."""
    global _table
    if _table is None:
        built: dict[str, tuple[type[models.Model], RowOptions]] = {}
        for label, (model, raw) in _decorated.items():
            built[label] = (model, RowOptions.build(label, raw))
        for name, raw in app_settings.ROW_CACHE_MODELS.items():
            try:
                model = apps.get_model(name)
            except (LookupError, ValueError) as exc:
                raise ImproperlyConfigured(f"ROW_CACHE_MODELS names {name!r}: {exc}") from exc
            label = model._meta.label_lower
            merged = {**_decorated.get(label, (model, {}))[1], **(raw or {})}
            built[label] = (model, RowOptions.build(name, merged))
        _table = built
    return _table


def lookup(model: type[models.Model]) -> tuple[str, RowOptions]:
    """``(label, options)`` of a registered model; ``NotRegistered`` otherwise."""
    label = model._meta.label_lower
    entry = table().get(label)
    if entry is None:
        raise NotRegistered(
            f"{model._meta.label} is not row-cached: decorate it with @row_cached(...) or "
            f"add it to REDIS_SESSIONS['ROW_CACHE_MODELS']."
        )
    return label, entry[1]


def is_registered(model: type[models.Model]) -> bool:
    return model._meta.label_lower in table()


def _reset(**kwargs: Any) -> None:
    global _table
    _table = None


setting_changed.connect(_reset, dispatch_uid="redis_sessions.rowcache.registry")
