"""Rows as JSON documents: loading a batch from the database, encoding, decoding.

A document holds the row's concrete fields by ``attname`` (``supplier_id``, not
``supplier``), limited to the model's ``fields`` option if set, plus whatever the
model's ``to_cache()`` returns (computed values, the book's "inventory" row).
Decoding runs each field's ``to_python`` so ``Decimal``, ``datetime``, ``UUID``,
``date`` and ``timedelta`` come back as themselves; ``to_cache()`` values come back as
JSON gives them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router

from redis_sessions.pks import key_range
from redis_sessions.rowcache.registry import RowOptions


class ToCacheQueryError(Exception):
    """``to_cache()`` ran a database query: declare what it reads in select_related /
    prefetch_related, or a batch of N rows would cost N queries."""


class RowEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder without its cut to milliseconds (ECMA-262): a cached row must
    decode to the value the database holds, microseconds included."""

    def default(self, o: Any) -> Any:
        if isinstance(o, (datetime.datetime, datetime.time)):
            if isinstance(o, datetime.time) and o.utcoffset() is not None:
                raise ValueError("JSON can't represent timezone-aware times.")
            return o.isoformat()
        return super().default(o)


def clean_pk(model: type[models.Model], pk: Any) -> Any:
    """``pk`` as the primary key field's Python value (``"7"`` -> ``7``); ValueError for
    a value the field refuses or, for an integer key, one its column on the model's
    database cannot hold (the driver would fail on it: SQLite raises OverflowError)."""
    field = model._meta.pk
    try:
        value = field.to_python(pk)
    except ValidationError as exc:
        raise ValueError(f"Invalid primary key {pk!r} for {model._meta.label}: {exc}") from None
    while isinstance(field, models.ForeignKey):  # a one-to-one key holds its target's values
        field = field.target_field
    if isinstance(field, models.IntegerField) and value is not None:
        low, high = key_range(model, field)
        if not low <= value <= high:
            raise ValueError(f"Invalid primary key {pk!r} for {model._meta.label}: out of "
                             f"the range its database holds ({low} to {high}).")  # fmt: skip
    return value


def _field_names(model: type[models.Model], options: RowOptions) -> list[str]:
    concrete = [f.attname for f in model._meta.concrete_fields]
    if options.fields is None:
        return concrete
    pk = model._meta.pk.attname
    wanted = set(options.fields) | {pk}
    return [name for name in concrete if name in wanted or name.removesuffix("_id") in wanted]


@contextmanager
def no_queries(model: type[models.Model]) -> Iterator[None]:
    """Any query on any database inside the block raises ``ToCacheQueryError``."""

    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise ToCacheQueryError(
            f"{model._meta.label}.to_cache() ran a query ({sql[:80]}...); load what it "
            "reads with the row cache's select_related / prefetch_related options."
        )

    with ExitStack() as stack:
        for conn in connections.all():
            stack.enter_context(conn.execute_wrapper(refuse))
        yield


def load(model: type[models.Model], options: RowOptions, pks: Iterable[Any]) -> dict[str, str]:
    """Encoded documents of the rows ``pks`` that exist: ``{str(pk): json}``.

    One query for the rows (``select_related`` joins) plus one per
    ``prefetch_related`` lookup, however many rows.
    """
    wanted = [clean_pk(model, pk) for pk in pks]
    if not wanted:
        return {}
    queryset = model._default_manager.filter(pk__in=wanted)
    if options.select_related:
        queryset = queryset.select_related(*options.select_related)
    if options.prefetch_related:
        queryset = queryset.prefetch_related(*options.prefetch_related)
    rows = list(queryset)
    names = _field_names(model, options)
    to_cache = getattr(model, "to_cache", None)
    dumps = RowEncoder(separators=(",", ":")).encode
    out: dict[str, str] = {}
    with no_queries(model) if to_cache is not None else ExitStack():
        for row in rows:
            values = row.__dict__
            doc = {name: values[name] for name in names}
            if to_cache is not None:
                doc.update(row.to_cache())  # type: ignore[attr-defined]
            out[str(row.pk)] = dumps(doc)
    return out


def decode(model: type[models.Model], raw: str | bytes) -> dict[str, Any]:
    """A document as a dict, field values converted back to their Python types."""
    doc: dict[str, Any] = json.loads(raw)
    for field in model._meta.concrete_fields:
        name = field.attname
        if name in doc and doc[name] is not None:
            doc[name] = field.to_python(doc[name])
    return doc


def to_instance(model: type[models.Model], doc: dict[str, Any]) -> models.Model:
    """A model instance built like a row fresh from the database (``Model.from_db``).

    Fields left out by the ``fields`` option are deferred (reading one runs a query);
    ``to_cache()`` values are not set on it: read them with ``get_row``.
    """
    names = [f.attname for f in model._meta.concrete_fields if f.attname in doc]
    db = router.db_for_read(model)
    return model.from_db(db, names, [doc[name] for name in names])
