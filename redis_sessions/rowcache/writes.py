"""Scheduling rows for refresh, and dropping entries when their row is written.

Invalidation runs after the transaction commits (``transaction.on_commit``), never on
rollback. It bumps the row's version *before* deleting the entry, so a reader that
read the database before the commit cannot store its older document afterwards
(see reads.py). It drops rather than re-reads: no query in the writer's request, and
the next reader (or, for a scheduled row, the next ``cache_rows`` pass: the row is
made due at once) fills the entry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import models, transaction

from redis_sessions import keys
from redis_sessions.connection import get_redis, run
from redis_sessions.connection.scripts import Command
from redis_sessions.exceptions import RedisUnavailable
from redis_sessions.rowcache import documents
from redis_sessions.rowcache.registry import is_registered, lookup, table

logger = logging.getLogger("redis_sessions.rowcache")

#: A version key outlives any reader that saw it by far (a reader holds it for the
#: length of one query); the TTL only keeps versions of rows never written again
#: from piling up.
VERSION_TTL = 24 * 3600


def _target(model_or_instance: Any, pk: Any) -> tuple[type[models.Model], Any]:
    if isinstance(model_or_instance, models.Model):
        return type(model_or_instance), model_or_instance.pk if pk is None else pk
    if pk is None:
        raise TypeError("schedule_row_cache(Model, pk): pk is required with a model class.")
    return model_or_instance, pk


def schedule_row_cache(model_or_instance: Any, pk: Any = None, delay: float | None = None) -> None:
    """Refresh this row every ``delay`` seconds (the model's ``delay`` by default),
    starting now; ``delay <= 0`` unschedules it and deletes its entry. One round trip.
    """
    model, pk = _target(model_or_instance, pk)
    label, options = lookup(model)
    text = str(documents.clean_pk(model, pk))
    member = keys.row_member(label, text)
    delay = options.delay if delay is None else delay
    if delay <= 0:
        commands: list[Command] = [
            ("ZREM", keys.row_schedule(), member),
            ("ZREM", keys.row_delay(), member),
            ("DEL", keys.row(label, text)),
        ]
    else:
        commands = [
            ("ZADD", keys.row_delay(), delay, member),
            ("ZADD", keys.row_schedule(), time.time(), member),
        ]
    # No MULTI: every command is idempotent, and cache_rows copes with a row found in
    # schedule: but not (or no longer) in delay:.
    run(get_redis(), commands)


def schedule_all(
    model: type[models.Model] | None = None,
    *,
    batch_size: int = 1000,
    on_batch: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Schedule every row of ``model`` (default: every registered model whose ``delay``
    is above 0) for refresh every ``delay`` seconds; rows already scheduled keep their
    own delay and next refresh time (``ZADD NX``). One round trip per ``batch_size``
    rows; the number of rows scheduled per model label. Registering a model schedules nothing by
    itself: this (``cache_rows --schedule-all``) or ``schedule_row_cache`` does."""
    if model is not None:
        label, options = lookup(model)
        chosen = [(label, model, options)]
    else:
        chosen = [(label, m, o) for label, (m, o) in table().items()]
    counts: dict[str, int] = {}
    client, now = get_redis(), time.time()
    for label, target, options in chosen:
        if options.delay <= 0:
            continue
        counts[label] = 0
        pks = target._default_manager.order_by("pk").values_list("pk", flat=True)
        chunk: list[str] = []
        for pk in pks.iterator(chunk_size=batch_size):
            chunk.append(keys.row_member(label, str(pk)))
            if len(chunk) == batch_size:
                counts[label] += _schedule_chunk(client, chunk, options.delay, now)
                if on_batch is not None:
                    on_batch(label, counts[label])
                chunk = []
        if chunk:
            counts[label] += _schedule_chunk(client, chunk, options.delay, now)
            if on_batch is not None:
                on_batch(label, counts[label])
    return counts


def _schedule_chunk(client: Any, members: list[str], delay: float, now: float) -> int:
    # delay: first, as in schedule_row_cache: cache_rows copes with a row found in
    # schedule: but not in delay:, not the other way round.
    run(
        client,
        [
            ("ZADD", keys.row_delay(), "NX", *[x for m in members for x in (delay, m)]),
            ("ZADD", keys.row_schedule(), "NX", *[x for m in members for x in (now, m)]),
        ],
    )
    return len(members)


def scheduled_count() -> int:
    """How many rows ``schedule:`` holds (one round trip)."""
    return int(run(get_redis(), [("ZCARD", keys.row_schedule())])[0])


def invalidate_commands(label: str, pk: str, *, deleted: bool) -> list[Command]:
    member = keys.row_member(label, pk)
    version = keys.row_version(label, pk)
    # No MULTI needed, only this order: the version moves first, so a reader that
    # stores between the two commands is refused, and one that read the version
    # after it read the database after the commit (and only fills fresh data).
    commands: list[Command] = [
        ("INCR", version),
        ("EXPIRE", version, VERSION_TTL),
        ("DEL", keys.row(label, pk)),
    ]
    if deleted:
        commands += [("ZREM", keys.row_schedule(), member), ("ZREM", keys.row_delay(), member)]
    else:
        # XX: only a scheduled row is made due now; an unscheduled one stays so.
        commands.append(("ZADD", keys.row_schedule(), "XX", time.time(), member))
    return commands


def invalidate(model: type[models.Model], pk: Any, *, deleted: bool = False) -> None:
    """Drop row ``pk``'s entry now (``deleted``: and unschedule it). One round trip."""
    label, _ = lookup(model)
    text = str(documents.clean_pk(model, pk))
    run(get_redis(), invalidate_commands(label, text, deleted=deleted))


def _invalidate_logged(model: type[models.Model], pk: Any, deleted: bool) -> None:
    try:
        invalidate(model, pk, deleted=deleted)
    except RedisUnavailable as exc:
        # The entry may now be stale until its timeout: say so, loudly.
        logger.error(
            "Row cache: could not invalidate %s pk=%s (%s); its entry may be stale for up "
            "to its timeout", model._meta.label, pk, exc,
        )  # fmt: skip


def _registered(sender: type[models.Model]) -> type[models.Model] | None:
    for model in (sender, sender._meta.concrete_model):
        if model is not None and is_registered(model):
            return model
    return None


def on_save(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    model = _registered(sender)
    if model is not None and instance.pk is not None:
        transaction.on_commit(
            partial(_invalidate_logged, model, instance.pk, False), using=kwargs.get("using")
        )


def on_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    model = _registered(sender)
    if model is not None and instance.pk is not None:
        transaction.on_commit(
            partial(_invalidate_logged, model, instance.pk, True), using=kwargs.get("using")
        )


def connect_signals() -> None:
    """Listen to every model's post_save/post_delete (cheap for unregistered ones: a
    dict lookup), so models registered by a setting changed at run time are covered."""
    models.signals.post_save.connect(on_save, dispatch_uid="redis_sessions.rowcache.save")
    models.signals.post_delete.connect(on_delete, dispatch_uid="redis_sessions.rowcache.delete")
