"""Redis Sentinel behind the app's clients (through django-redis's Sentinel support).

With ``CACHES[alias]`` configured for django-redis's ``SentinelClient`` and
``SentinelConnectionFactory``, the alias's pool hands out
``SentinelManagedConnection``\\ s that ask the sentinels for the current master on
every (re)connect. ``connection/`` keeps that class (guarded like the others: the
breaker, no retries, short timeouts) for the sync client. redis.asyncio has its own
Sentinel classes, which need an asyncio Sentinel manager: ``async_pool`` builds one
from the sync manager's sentinel addresses.

After a failover, connections to the old master fail (refused, or READONLY once it
comes back as a replica); the next connect asks the sentinels again, so requests
recover by themselves once a replica is promoted: the breaker's next probe
(within ``CIRCUIT_BREAKER_SECONDS``) asks the sentinels, reaches it and closes the breaker.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aredis
from redis.asyncio import sentinel as asentinel
from redis.backoff import NoBackoff
from redis.sentinel import SentinelManagedConnection

__all__ = ["async_connection_class", "async_pool", "is_sentinel"]

# Typed as Any: whether redis-py annotates these constructors changes between releases
# (8.2 added annotations), and a "type: ignore" right for one release fails on another.
_AsyncSentinel: Any = asentinel.Sentinel
_AsyncSentinelPool: Any = asentinel.SentinelConnectionPool


def is_sentinel(cls: type) -> bool:
    """Whether ``cls`` is a Sentinel-managed (sync) connection class."""
    return issubclass(cls, SentinelManagedConnection)


def async_connection_class(cls: type) -> type:
    """The redis.asyncio twin of a sync Sentinel-managed connection class."""
    if issubclass(cls, redis.SSLConnection):
        return asentinel.SentinelManagedSSLConnection
    return asentinel.SentinelManagedConnection


def async_pool(
    proxy: Any, connection_class: type, kwargs: dict[str, Any], max_connections: int
) -> aredis.ConnectionPool:
    """An asyncio pool for the master (or replicas) that ``proxy`` stands for.

    ``proxy`` is the ``connection_pool`` entry of the sync pool's connection kwargs
    (redis-py's ``SentinelConnectionPoolProxy``): it knows the service name, whether
    it wants the master, and the sync Sentinel manager with the sentinels' addresses.
    """
    manager = proxy.sentinel_manager
    addresses = [
        (s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
        for s in manager.sentinels
    ]
    # The sentinels get the same short socket timeouts as the data connections
    # unless the alias set its own SENTINEL_KWARGS.
    # Neither the sync parser class nor the sync ``Retry`` (redis-py 8.2 puts one in
    # the manager's kwargs) belongs in an asyncio client: the sentinels get the app's
    # own asyncio "never retry" policy instead.
    sentinel_kwargs = {
        k: v for k, v in manager.sentinel_kwargs.items() if k not in ("parser_class", "retry")
    }
    sentinel_kwargs["retry"] = aredis.retry.Retry(NoBackoff(), 0)
    for key in ("socket_timeout", "socket_connect_timeout"):
        if key in kwargs:
            sentinel_kwargs.setdefault(key, kwargs[key])
    async_manager = _AsyncSentinel(
        addresses,
        min_other_sentinels=manager.min_other_sentinels,
        sentinel_kwargs=sentinel_kwargs,
    )
    pool: aredis.ConnectionPool = _AsyncSentinelPool(
        proxy.service_name,
        async_manager,
        connection_class=connection_class,
        is_master=proxy.is_master,
        check_connection=proxy.check_connection,
        max_connections=max_connections,
        **kwargs,
    )
    return pool
