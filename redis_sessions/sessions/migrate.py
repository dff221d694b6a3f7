"""Copy live sessions from Django's cache engine into this engine (an upgrade step).

Sessions keep their keys, so visitors' cookies keep working, and their remaining TTL.
Sessions that already exist in this engine are left alone. Reading uses the cache
alias the old engine used (``SESSION_CACHE_ALIAS``) and SCAN, never KEYS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.cache import KEY_PREFIX
from django.core.cache import caches

from redis_sessions.connection import get_redis, run
from redis_sessions.sessions.store import SessionStore


@dataclass
class MigrationResult:
    seen: int = 0
    copied: int = 0
    skipped: int = 0  # expired meanwhile, undecodable, or already in this engine


def _batches(items: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def migrate_from_cache(
    alias: str | None = None,
    batch_size: int = 500,
    dry_run: bool = False,
    progress: Callable[[MigrationResult], None] | None = None,
) -> MigrationResult:
    """Copy every session of ``django.contrib.sessions.backends.cache`` from ``alias``."""
    cache: Any = caches[alias or settings.SESSION_CACHE_ALIAS]
    if not hasattr(cache, "iter_keys"):
        raise ValueError(f"Cache {alias!r} is not a django-redis cache; cannot scan it.")
    raw = cache.client.get_client(write=False)
    result = MigrationResult()
    for batch in _batches(cache.iter_keys(f"{KEY_PREFIX}*", itersize=batch_size), batch_size):
        values = cache.get_many(batch)
        pipe = raw.pipeline(transaction=False)  # read-only look-ups: no MULTI needed
        for name in batch:
            pipe.pttl(cache.make_key(name))
        ttls = dict(zip(batch, pipe.execute(), strict=True))
        commands = []
        for name in batch:
            result.seen += 1
            data, ttl_ms = values.get(name), ttls[name]
            session_key = name[len(KEY_PREFIX) :]
            if not isinstance(data, dict) or ttl_ms is None or ttl_ms < 1000:
                result.skipped += 1
                continue
            if not SessionStore()._validate_session_key(session_key):
                result.skipped += 1
                continue
            commands.append(SessionStore.import_command(session_key, data, ttl_ms // 1000))
        if commands and not dry_run:
            created = sum(run(get_redis(), commands))
            result.copied += created
            result.skipped += len(commands) - created
        elif dry_run:
            result.copied += len(commands)
        if progress:
            progress(result)
    return result
