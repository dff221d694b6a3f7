"""The models the settings name: E020 (row cache), E021 and E022 (cart), E023 (page
cache links).

Without these a mistyped model or field passes ``manage.py check`` and fails on the
first request that uses it. Each check reports every problem, not the first one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields as dataclass_fields
from typing import Any

from django.apps import AppConfig, apps
from django.core import checks
from django.core.exceptions import FieldDoesNotExist

from redis_sessions.checks.values import did_you_mean, setting, valid_value
from redis_sessions.rowcache import registry


def _model_hint(label: object) -> str:
    known = [m._meta.label for m in apps.get_models()]
    return did_you_mean(label, known, cutoff=0.7) + (
        'Use "app_label.ModelName" of an installed model.'
    )


def _resolve(label: object) -> tuple[Any, str]:
    """``(model, "")``, or ``(None, why the label does not resolve)``."""
    try:
        return apps.get_model(str(label)), ""
    except (LookupError, ValueError) as exc:
        return None, str(exc).rstrip(".")


def check_cart_model(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    """``CART_MODEL`` resolves (E021) and has ``CART_PRICE_FIELD`` (E022)."""
    label = valid_value("CART_MODEL")
    if not label:
        return []
    model, why = _resolve(label)
    if model is None:
        return [
            checks.Error(
                f"Cart: {setting('CART_MODEL')} is {label!r}: {why}.",
                hint=_model_hint(label),
                id="redis_sessions.E021",
            )
        ]
    price = valid_value("CART_PRICE_FIELD")
    if not price or hasattr(model, price):  # a field's descriptor, or a property
        return []
    try:
        model._meta.get_field(price)
        return []
    except FieldDoesNotExist:
        names = sorted(f.name for f in model._meta.concrete_fields)
        return [
            checks.Error(
                f"Cart: {setting('CART_PRICE_FIELD')} is {price!r}, which is not a field "
                f"or attribute of {model._meta.label} (CART_MODEL).",
                hint=did_you_mean(price, names) + "Name the model's unit price field, or set "
                "CART_PRICE_FIELD to None if items have no price (total() is then None).",
                id="redis_sessions.E022",
            )
        ]


def check_row_cache(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    """``ROW_CACHE_MODELS`` and the ``@row_cached`` models (E020)."""
    configured = valid_value("ROW_CACHE_MODELS")
    if configured is None:
        return []  # not a dict: E004
    errors: list[Any] = []
    # The decorators' own options are built before a setting overrides them
    # (registry.table()), so each side must be right on its own.
    for model, raw in registry._decorated.values():
        errors.extend(_option_errors(f"@row_cached on {model._meta.label}", model, raw))
    for label, raw in configured.items():
        where = f"ROW_CACHE_MODELS[{label!r}]"
        model, why = _resolve(label)
        if model is None:
            errors.append(_row_error(f"{where}: {why}", _model_hint(label)))
        elif raw is not None and not isinstance(raw, dict):
            errors.append(
                _row_error(
                    f"{where} is {raw!r}, not a dict of options",
                    "Give each model a dict of options ({} for the defaults).",
                )
            )
        else:
            errors.extend(_option_errors(where, model, raw or {}))
    if not errors:
        try:  # what the cache itself builds: nothing above may miss a problem of it
            registry.table()
        except Exception as exc:
            errors.append(_row_error(str(exc).rstrip("."), "See docs/rowcache.md."))
    return errors


def _row_error(problem: str, hint: str) -> Any:
    return checks.Error(f"Row cache: {problem}.", hint=hint, id="redis_sessions.E020")


def _option_errors(where: str, model: Any, raw: dict[str, Any]) -> list[Any]:
    """Every problem of one model's row cache options."""
    known = [f.name for f in dataclass_fields(registry.RowOptions)]
    found: list[tuple[str, str]] = [
        (
            f"unknown option {name!r}",
            did_you_mean(name, known) + f"The options are {', '.join(known)}.",
        )
        for name in sorted(set(raw) - set(known), key=str)
    ]
    for name in ("delay", "timeout"):
        value = raw.get(name, 1)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            found.append((f"{name!r} is {value!r}", f"Give {name!r} in seconds, as a number."))
        elif name == "timeout" and value < 1:
            found.append((f"'timeout' is {value!r}", "Use at least 1 second (3600 by default)."))
    for name in ("fields", "select_related", "prefetch_related"):
        value = raw.get(name)
        if value is not None and not (
            isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        ):
            found.append((f"{name!r} is {value!r}", f"Give {name!r} as a list of names."))
    names = raw.get("fields")
    if isinstance(names, (list, tuple)):
        concrete = sorted({n for f in model._meta.concrete_fields for n in (f.name, f.attname)})
        found.extend(
            (
                f"'fields' names {name!r}, not a concrete field of {model._meta.label}",
                did_you_mean(name, concrete) + "A name that is not a field is left out "
                "silently: list concrete fields only.",
            )
            for name in names
            if isinstance(name, str) and name not in concrete
        )
    return [_row_error(f"{where}: {what}", hint) for what, hint in found]


def check_page_cache_models(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[Any]:
    """``PAGE_CACHE_MODELS`` names installed models, each with an attribute naming the
    item (or ``None``: the row's pk), every problem at once (E023)."""
    links = valid_value("PAGE_CACHE_MODELS") or {}
    errors = []
    for label, how in links.items():
        model, why = _resolve(label)
        if model is None:
            errors.append(checks.Error(
                f"Page cache: {setting('PAGE_CACHE_MODELS')} names {label!r}: {why}.",
                hint=_model_hint(label), id="redis_sessions.E023",
            ))  # fmt: skip
        elif how is not None and (not isinstance(how, str) or not how):
            errors.append(checks.Error(
                f"Page cache: {setting('PAGE_CACHE_MODELS')}[{label!r}] is {how!r}.",
                hint="Give the attribute of a row that names its item, or None (fragments only).",
                id="redis_sessions.E023",
            ))  # fmt: skip
    return errors
