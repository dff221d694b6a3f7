"""Building and caching the clients: ``get_redis()``, ``get_async_redis()``, their
cluster twins, ``primaries()`` and ``reset()``."""

from __future__ import annotations

import asyncio
import inspect
import threading
import weakref
from typing import Any, cast

import redis
import redis.asyncio as aredis
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster

from redis_sessions.conf import app_settings
from redis_sessions.connection import cluster, freelist, sentinel
from redis_sessions.connection.guard import (
    _ASYNC_CLASS,
    _AsyncGuard,
    _guard,
    _SyncGuard,
    breaker,
    unavailable,
)
from redis_sessions.exceptions import ConfigurationError, RedisUnavailable


def _source() -> tuple[type, dict[str, Any]]:
    """The connection class and kwargs of the configured server (the first of
    ``NODES``: every seed of a cluster shares its credentials and TLS)."""
    url = app_settings.URL or next(iter(app_settings.NODES), None)
    if url:
        pool = redis.ConnectionPool.from_url(url)
    else:
        alias = app_settings.CACHE_ALIAS
        try:
            import django_redis

            pool = django_redis.get_redis_connection(alias).connection_pool
        except NotImplementedError:
            raise ConfigurationError(
                f"CACHES[{alias!r}] is not a django-redis cache; set REDIS_SESSIONS['URL'] "
                "or CACHE_ALIAS to a django-redis alias."
            ) from None
        except Exception as exc:  # InvalidCacheBackendError and friends
            raise ConfigurationError(f"Cannot use cache alias {alias!r}: {exc}") from exc
    kwargs = dict(pool.connection_kwargs)
    if app_settings.SOCKET_TIMEOUT is not None:
        kwargs["socket_timeout"] = app_settings.SOCKET_TIMEOUT
    if app_settings.SOCKET_CONNECT_TIMEOUT is not None:
        kwargs["socket_connect_timeout"] = app_settings.SOCKET_CONNECT_TIMEOUT
    kwargs["retry_on_timeout"] = False
    kwargs["retry_on_error"] = []
    kwargs.pop("retry", None)
    return pool.connection_class, kwargs


_lock = threading.Lock()
_sync_client: redis.Redis | None = None
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def get_redis() -> redis.Redis:
    """The process-wide sync client (bytes responses, no retries, short timeouts).

    With ``CLUSTER`` it is a ``redis.cluster.RedisCluster`` (typed as ``Redis``: the
    app only hands it to ``run``/``run_raw``, which route it per slot).
    """
    global _sync_client
    client = _sync_client
    if client is not None:
        return client
    with _lock:
        if _sync_client is None and app_settings.CLUSTER:
            _sync_client = _cluster_client()
        if _sync_client is None:
            cls, kwargs = _source()
            kwargs["retry"] = redis.retry.Retry(NoBackoff(), 0)
            # Every redis-py connection class is guarded, Sentinel-managed ones too
            # (they ask the sentinels for the master on each connect): the breaker,
            # the round-trip count and "never retry" hold whatever the topology.
            if issubclass(cls, redis.connection.AbstractConnection):
                cls = _guard(cls, _SyncGuard)
            pool = redis.ConnectionPool(
                connection_class=cls, max_connections=app_settings.MAX_CONNECTIONS, **kwargs
            )
            _sync_client = redis.Redis(connection_pool=pool)
        return _sync_client


def get_async_redis() -> aredis.Redis:
    """The redis.asyncio client for the running event loop (one per loop)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is not None:
        return client
    _forget_closed_loops()
    if app_settings.CLUSTER:
        # Typed as the plain client: the app only hands it to ``arun``.
        client = cast(aredis.Redis, _async_cluster_client())
        _async_clients[loop] = client
        return client
    cls, kwargs = _source()
    sentinel_proxy = kwargs.pop("connection_pool", None) if sentinel.is_sentinel(cls) else None
    async_cls = sentinel.async_connection_class(cls) if sentinel_proxy else _ASYNC_CLASS.get(cls)
    if async_cls is None:
        raise ConfigurationError(f"No asyncio equivalent for connection class {cls!r}")
    accepted = _init_params(async_cls)
    # The sync parser class (hiredis or Python) has no place in an asyncio connection.
    kwargs = {k: v for k, v in kwargs.items() if k in accepted and k != "parser_class"}
    kwargs["retry"] = aredis.retry.Retry(NoBackoff(), 0)
    guarded, size = _guard(async_cls, _AsyncGuard), app_settings.MAX_CONNECTIONS
    if sentinel_proxy is not None:
        pool = sentinel.async_pool(sentinel_proxy, guarded, kwargs, size)
    else:
        pool = aredis.ConnectionPool(connection_class=guarded, max_connections=size, **kwargs)
    client = aredis.Redis(connection_pool=pool)
    _async_clients[loop] = client
    return client


def _forget_closed_loops() -> None:
    """Drop the clients of event loops that are closed (``async_to_sync`` runs each call
    on a loop of its own: async code under WSGI).

    A client's connections hold their loop, so the weak key alone never lets a loop and
    its client go: without this, each such loop would leave its connections open. Once
    dropped, the garbage collector closes their sockets.
    """
    for old in [loop for loop in list(_async_clients) if loop.is_closed()]:
        _async_clients.pop(old, None)


def primaries(client: redis.Redis) -> list[tuple[str, redis.Redis]]:
    """``(name, client)`` of every primary, for what must run on each one (SCAN,
    DBSIZE, INFO, CONFIG GET): ``[("", client)]`` on a single server; on a cluster, the
    client redis-py keeps for each primary node (``host:port``, in address order), with
    the cluster client's guarded connections, timeouts and no retries."""
    if not isinstance(client, RedisCluster):
        return [("", client)]
    try:
        nodes = sorted(client.get_primaries(), key=lambda node: (node.host, int(node.port)))
        return [(node.name, client.get_redis_connection(node)) for node in nodes]
    except (redis.RedisError, OSError, *cluster.FAILURES) as exc:
        raise unavailable(exc) from exc


def _cluster_kwargs() -> tuple[type, dict[str, Any]]:
    cls, kwargs = _source()
    if kwargs.get("db"):
        raise ConfigurationError("A Redis Cluster has only database 0; drop /N from the URL.")
    if kwargs.get("path") or "host" not in kwargs:
        raise ConfigurationError(
            "A Redis Cluster is reached by host and port: use a redis:// or rediss:// URL "
            "of one node, not a unix socket."
        )
    for name in ("db", "retry_on_error", "retry_on_timeout", "connection_pool", "path"):
        kwargs.pop(name, None)
    return cls, kwargs


def seeds() -> list[tuple[str, int]]:
    """``(host, port)`` of every seed node of the cluster: those of ``NODES``, or the
    one node of ``URL`` / ``CACHE_ALIAS``. A client discovers the cluster from the
    first seed that answers; one that is down is skipped (its breaker opens)."""
    urls = app_settings.NODES
    if not urls:
        _, kwargs = _cluster_kwargs()
        return [(str(kwargs["host"]), int(kwargs["port"]))]
    found: list[tuple[str, int]] = []
    for url in urls:
        options = redis.connection.parse_url(url)
        if "path" in options or "host" not in options:
            raise ConfigurationError(f"NODES: {url!r} is not a redis:// or rediss:// URL.")
        seed = (str(options["host"]), int(options.get("port") or 6379))
        if seed not in found:
            found.append(seed)
    return found


#: How soon a cluster client may ask for the topology again after an error (redis-py's
#: default is 1 s): the refresh that learns a promoted replica's address then comes
#: within this of the cluster turning ok, for the price of a CLUSTER SLOTS per this
#: interval while a node is down.
TOPOLOGY_REFRESH_SECONDS = 0.1


def _cluster_client() -> Any:
    """A RedisCluster from the seed nodes: the same short timeouts, no retries (a
    cluster-level ``Retry`` of 0: a retried command could apply twice), and guarded
    node connections (breaker, round-trip count). Topology is discovered here, from
    the first seed that answers: a seed whose breaker is open is skipped at once, so
    a process that started with every seed down tries them again, one probe per
    breaker period, on the calls that follow, and gets its client once one answers."""
    from redis.cluster import REDIS_ALLOWED_KEYS, ClusterNode

    cls, kwargs = _cluster_kwargs()
    (host, port), *others = seeds()
    kwargs = {k: v for k, v in kwargs.items() if k in REDIS_ALLOWED_KEYS}
    for name in ("host", "port"):
        kwargs.pop(name, None)
    try:
        # url=: the first seed (credentials and TLS are in the kwargs), the rest as
        # startup nodes: redis-py tries them all, in random order.
        return RedisCluster(
            url=f"redis://{host}:{port}", retry=redis.retry.Retry(NoBackoff(), 0),
            startup_nodes=[ClusterNode(h, p) for h, p in others],
            connection_class=_guard(cls, _SyncGuard),
            topology_refresh_min_interval=TOPOLOGY_REFRESH_SECONDS,
            max_connections=app_settings.MAX_CONNECTIONS, **kwargs,
        )  # fmt: skip
    except (redis.RedisError, OSError, *cluster.FAILURES) as exc:
        tried = ", ".join(f"{h}:{p}" for h, p in [(host, port), *others])
        raise RedisUnavailable(
            f"Redis is unavailable: no Redis Cluster seed node answered (tried {tried}; "
            f"list more in REDIS_SESSIONS['NODES']): {exc}"
        ) from exc


def _async_cluster_client() -> Any:
    """redis.asyncio's RedisCluster, with the same timeouts, no retries and guarded node
    connections (the breaker and the round-trip count, as on the sync path).

    Unlike the sync client it takes no ``connection_class``: it builds every node's
    connections from the class in its shared ``connection_kwargs`` (read again for
    each node it discovers). That class is swapped for its guarded subclass before
    the first command, in the kwargs and on the startup nodes already made, so every
    node connection, those of the topology discovery too, is guarded. It discovers
    the topology on its first command, and again on the next one if no seed answered.
    """
    _, kwargs = _cluster_kwargs()
    accepted = _init_params(AsyncRedisCluster)
    kwargs = {k: v for k, v in kwargs.items()
              if k in accepted and k not in ("retry", "host", "port")}  # fmt: skip
    # Every node the sync client knows seeds the discovery too: a configured seed may
    # be the master that just died (a new event loop builds a new client).
    known: list[Any] = _sync_client.get_nodes() if isinstance(_sync_client, RedisCluster) else []
    addresses = dict.fromkeys([*seeds(), *((str(n.host), int(n.port)) for n in known)])
    client = AsyncRedisCluster(
        retry=aredis.retry.Retry(NoBackoff(), 0),
        startup_nodes=[AsyncClusterNode(host, port) for host, port in addresses],
        topology_refresh_min_interval=TOPOLOGY_REFRESH_SECONDS,
        max_connections=app_settings.MAX_CONNECTIONS, **kwargs,
    )  # fmt: skip
    shared = client.nodes_manager.connection_kwargs
    guarded = _guard(shared.get("connection_class", aredis.Connection), _AsyncGuard)
    shared["connection_class"] = client.connection_kwargs["connection_class"] = guarded
    for node in client.nodes_manager.startup_nodes.values():
        node.connection_class = guarded
    return client


def _init_params(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            names.update(inspect.signature(init).parameters)
    return names - {"self", "args", "kwargs"}


def reset() -> None:
    """Drop cached clients (settings changed, or a test swapped servers)."""
    global _sync_client
    with _lock:
        freelist.close()
        if isinstance(_sync_client, RedisCluster):
            _sync_client.disconnect_connection_pools()  # not close(): held clients stay usable
        elif _sync_client is not None:
            _sync_client.connection_pool.disconnect()
        _sync_client = None
        _async_clients.clear()
        breaker.close()


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("REDIS_SESSIONS", "CACHES"):
        reset()
