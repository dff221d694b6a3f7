"""Reading through the row cache: ``get_row``, ``get_rows``, ``get_instance``.

A read sends the entry's ``GET`` and its version's ``GET`` in one ``MGET`` (one round
trip). On a miss it reads the database, then stores the document with a
compare-and-set on the version it saw *before* reading the database
(lua/rowcache_fill.lua): if a write committed in between, the writer has bumped the
version and the reader's possibly older document is dropped instead of being put
back over the invalidation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any, TypeVar

from django.db import models, router, transaction

from redis_sessions import keys
from redis_sessions.connection import get_redis, run
from redis_sessions.connection.outages import Outage
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.rowcache import documents
from redis_sessions.rowcache.registry import RowOptions, lookup
from redis_sessions.rowcache.scripts import ROWCACHE_FILL

logger = logging.getLogger("redis_sessions.rowcache")
M = TypeVar("M", bound=models.Model)
_outage = Outage(logger)


def _log_fallback(exc: RedisUnavailable) -> None:
    # No "works again" signal on this path: at most one line per 10 s.
    _outage.throttled(logging.WARNING, "Row cache reads the database: %s", exc)


def _fill(label: str, options: RowOptions, rows: list[tuple[str, str, str]]) -> None:
    """Store ``(pk, version seen, document)`` rows unless written meanwhile."""
    if not rows:
        return
    keys_: list[str] = []
    args: list[Any] = [options.timeout]
    for pk, version, doc in rows:
        keys_ += [keys.row(label, pk), keys.row_version(label, pk)]
        args += [version, doc]
    try:
        run(get_redis(), [ROWCACHE_FILL.command(keys_, args)])
    except RedisUnavailable as exc:
        _log_fallback(exc)


def _fetch(label: str, pks: list[str]) -> list[tuple[bytes | None, str] | None]:
    """``(entry, version)`` per pk in one round trip; all None if Redis is down."""
    names: list[str] = []
    for pk in pks:
        names += [keys.row(label, pk), keys.row_version(label, pk)]
    try:
        replies = run(get_redis(), [("MGET", *names)])[0]
    except RedisUnavailable as exc:
        _log_fallback(exc)
        return [None] * len(pks)
    return [(replies[i], (replies[i + 1] or b"").decode()) for i in range(0, len(replies), 2)]


def get_rows(model: type[models.Model], pks: Iterable[Any]) -> dict[Any, dict[str, Any]]:
    """Rows ``pks`` of ``model`` as dicts, keyed by primary key, in the order asked.

    One round trip (MGET) for all of them, then, for the misses, the queries of one
    batch (one plus one per ``prefetch_related``) and one round trip to store them.
    Rows that do not exist are left out.
    """
    label, options = lookup(model)
    wanted = list(dict.fromkeys(documents.clean_pk(model, pk) for pk in pks))
    if not wanted:
        return {}
    texts = [str(pk) for pk in wanted]
    cached = _fetch(label, texts)
    raw: dict[str, str | bytes] = {}
    missing: dict[str, str | None] = {}  # pk -> version seen (None: Redis down)
    for text, reply in zip(texts, cached, strict=True):
        if reply is not None and reply[0] is not None:
            raw[text] = reply[0]
        else:
            missing[text] = None if reply is None else reply[1]
    if missing:
        loaded = documents.load(model, options, missing)
        raw.update(loaded)
        fill = [(pk, v, loaded[pk]) for pk, v in missing.items() if v is not None and pk in loaded]
        if fill and transaction.get_connection(router.db_for_read(model)).in_atomic_block:
            # Inside a transaction the row may be this transaction's own uncommitted
            # write: store it only once that commits (never on rollback). A write of
            # the row in this transaction invalidates on commit too, and bumps the
            # version this fill compares, so the fill is then refused.
            transaction.on_commit(partial(_fill, label, options, fill), robust=True)
        else:
            _fill(label, options, fill)
    pairs = zip(wanted, texts, strict=True)
    return {pk: documents.decode(model, raw[text]) for pk, text in pairs if text in raw}


def get_row(model: type[models.Model], pk: Any) -> dict[str, Any]:
    """Row ``pk`` of ``model`` as a dict (fields by attname plus ``to_cache()``).

    One round trip on a hit; on a miss, the database and one more round trip to fill
    the cache. Raises ``model.DoesNotExist`` like ``Model.objects.get``, ``ValueError``
    for a pk the model cannot have (``documents.clean_pk``: refused by the key field,
    or out of its column's range). With Redis unreachable it reads the database (and
    logs once per breaker window).
    """
    rows = get_rows(model, [pk])
    if not rows:
        missing: type[Exception] = model.DoesNotExist  # type: ignore[attr-defined]
        raise missing(f"{model._meta.object_name} matching pk={pk!r} does not exist.")
    return next(iter(rows.values()))


def get_instance(model: type[M], pk: Any) -> M:
    """Row ``pk`` as a model instance, as if just loaded from the database."""
    return documents.to_instance(model, get_row(model, pk))  # type: ignore[return-value]
