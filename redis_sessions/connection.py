"""The one place that hands out Redis clients: ``get_redis()`` and ``get_async_redis()``.

Both talk to the server named by ``REDIS_SESSIONS["URL"]`` or, by default, to the
server of the django-redis cache alias ``CACHE_ALIAS``. The app builds its own pools
from that configuration instead of borrowing django-redis's client because it needs
three things a shared cache client does not promise:

* short socket and connect timeouts (``SOCKET_TIMEOUT``): a dead Redis must fail a
  request in well under a second, not after redis-py's default of several seconds;
* no automatic retry: redis-py retries timeouts by default, and a retried HINCRBY or
  ZINCRBY is applied twice;
* a circuit breaker: after a failure, calls to that server fail at once for
  ``CIRCUIT_BREAKER_SECONDS`` instead of each waiting for its own timeout. It is kept
  per server address, so on a Redis Cluster a dead node does not stop the client from
  asking the other nodes for the new topology (redis-py does that after a connection
  error), nor requests to the healthy nodes.

Pools are shared per process (one per configuration) because a pool is what keeps
connections warm; a client per request would pay a connect on every request. The
async client is cached per event loop because redis.asyncio connections are bound to
the loop that opened them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any, Literal, cast

import redis
import redis.asyncio as aredis
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster

from . import cluster, sentinel
from .conf import app_settings
from .exceptions import ConfigurationError, RedisUnavailable, UnknownOutcome

logger = logging.getLogger("redis_sessions")

__all__ = ["get_async_redis", "get_redis", "primaries", "reset", "round_trips"]


class _Breaker:
    """Circuit breaker per server address, shared by the sync and async clients of the
    process (one address, so one window, on a single server or through Sentinel)."""

    def __init__(self) -> None:
        self.open_until: dict[str, float] = {}  # address -> end of its window
        self.round_trips = 0  # every packed send is one round trip (tests count them)

    def check(self, address: str) -> None:
        until = self.open_until.get(address)
        if until and time.monotonic() < until:
            raise redis.ConnectionError(
                "Redis circuit breaker is open after a recent failure; not trying again yet"
            )

    def trip(self, exc: BaseException, address: str) -> None:
        window = app_settings.CIRCUIT_BREAKER_SECONDS
        now = time.monotonic()
        already_open = now < self.open_until.get(address, 0.0)
        self.open_until[address] = now + window
        if not already_open:
            # Logged once per failure window, with no session contents.
            logger.error(
                "Redis unreachable (key prefix %r): %s; failing fast for %.1f s",
                app_settings.KEY_PREFIX,
                exc,
                window,
            )

    def close(self) -> None:
        self.open_until.clear()


def _address(conn: Any) -> str:
    """The server a connection talks to: its socket path, or host:port (read each time:
    a Sentinel-managed connection moves to the new master)."""
    path = getattr(conn, "path", None)
    return str(path) if path else f"{getattr(conn, 'host', '')}:{getattr(conn, 'port', '')}"


breaker = _Breaker()
_FAILURES = (redis.ConnectionError, redis.TimeoutError, OSError)


def round_trips() -> int:
    """Round trips sent by the app's own clients in this process so far."""
    return breaker.round_trips


class _watched:
    """Around one connection step: refuse while the breaker is open, trip it on a
    failure, note whether the failed step may have run in Redis, count a round trip
    (not the handshake of a new connection).

    A class rather than a @contextmanager generator: it runs three times per round
    trip on the session hot path, and this costs a fraction of a generator's setup.
    """

    __slots__ = ("conn", "handshake", "reading", "sending")

    def __init__(self, conn: Any, *, check: bool = True, handshake: bool = False,
                 count: bool = False) -> None:  # fmt: skip
        if check:
            breaker.check(_address(conn))
        if count and not conn._handshaking:
            breaker.round_trips += 1
        if handshake:
            conn._handshaking = True
        self.conn, self.handshake, self.reading, self.sending = conn, handshake, not check, count

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> Literal[False]:
        if self.handshake:
            self.conn._handshaking = False
        if exc is not None and isinstance(exc, _FAILURES):
            _note_outcome(exc, handshake=self.handshake, reading=self.reading,
                          sending=self.sending)  # fmt: skip
            breaker.trip(exc, _address(self.conn))
        return False


#: Set on a redis-py error: True when the failed commands may have run in Redis.
MAY_HAVE_RUN = "redis_sessions_may_have_run"


def _note_outcome(exc: BaseException, *, handshake: bool, reading: bool, sending: bool) -> None:
    """Mark whether the commands of the failed step may have reached Redis.

    A failure while connecting (or in the handshake of a new connection, even when
    redis-py connects lazily from inside a send) means nothing of ours was sent. A
    failure while reading a reply, or a timeout while writing (a slow peer may hold
    part of the request), means Redis may have run the commands: the outcome is
    unknown. A connection error while writing means the peer is gone (refused,
    reset, broken pipe): nothing it could still run.
    """
    if handshake:
        setattr(exc, MAY_HAVE_RUN, False)  # the outermost step decides: connecting
    elif not hasattr(exc, MAY_HAVE_RUN):
        setattr(exc, MAY_HAVE_RUN, reading or (sending and isinstance(exc, redis.TimeoutError)))


class _SyncGuard:
    """Mixed into a redis-py connection class: breaker check, trip, round-trip count.

    The handshake a new connection sends (HELLO, CLIENT SETINFO) is not counted: the
    count is of the app's own round trips on warm connections. ``connect_check_health``
    is what redis-py 6+ calls from ``connect`` and from a lazy first send.
    """

    _handshaking = False

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, handshake=True):
            return super().connect(*args, **kwargs)  # type: ignore[misc]

    def connect_check_health(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, handshake=True):
            return super().connect_check_health(*args, **kwargs)  # type: ignore[misc]

    def send_packed_command(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, count=True):
            return super().send_packed_command(*args, **kwargs)  # type: ignore[misc]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, check=False):
            return super().read_response(*args, **kwargs)  # type: ignore[misc]


class _AsyncGuard:
    """``_SyncGuard`` for redis.asyncio connections."""

    _handshaking = False

    async def connect(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, handshake=True):
            return await super().connect(*args, **kwargs)  # type: ignore[misc]

    async def connect_check_health(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, handshake=True):
            return await super().connect_check_health(*args, **kwargs)  # type: ignore[misc]

    async def send_packed_command(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, count=True):
            return await super().send_packed_command(*args, **kwargs)  # type: ignore[misc]

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        with _watched(self, check=False):
            return await super().read_response(*args, **kwargs)  # type: ignore[misc]


_ASYNC_CLASS = {
    redis.Connection: aredis.Connection,
    redis.SSLConnection: aredis.SSLConnection,
    redis.UnixDomainSocketConnection: aredis.UnixDomainSocketConnection,
}
_guarded: dict[type, type] = {}


def _guard(cls: type, mixin: type) -> type:
    if cls not in _guarded:
        _guarded[cls] = type(f"Guarded{cls.__name__}", (mixin, cls), {})
    return _guarded[cls]


def _source() -> tuple[type, dict[str, Any]]:
    """The connection class and kwargs of the configured server."""
    url = app_settings.URL
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


def _cluster_client() -> Any:
    """A RedisCluster from one node's address: the same short timeouts, no retries (a
    cluster-level ``Retry`` of 0: a retried command could apply twice), and guarded
    node connections (breaker, round-trip count). Topology is discovered here."""
    from redis.cluster import REDIS_ALLOWED_KEYS

    cls, kwargs = _cluster_kwargs()
    host, port = kwargs.pop("host"), kwargs.pop("port")
    kwargs = {k: v for k, v in kwargs.items() if k in REDIS_ALLOWED_KEYS}
    try:
        breaker.check(f"{host}:{port}")
        # url=: only then does redis-py build node pools that take connection_class.
        return RedisCluster(
            url=f"redis://{host}:{port}", retry=redis.retry.Retry(NoBackoff(), 0),
            connection_class=_guard(cls, _SyncGuard),
            max_connections=app_settings.MAX_CONNECTIONS, **kwargs,
        )  # fmt: skip
    except (redis.RedisError, OSError, *cluster.FAILURES) as exc:
        breaker.trip(exc, f"{host}:{port}")
        raise unavailable(exc) from exc


def _async_cluster_client() -> Any:
    """redis.asyncio's RedisCluster, with the same timeouts, no retries and guarded node
    connections (the breaker and the round-trip count, as on the sync path).

    Unlike the sync client it takes no ``connection_class``: it builds every node's
    connections from the class in its shared ``connection_kwargs`` (read again for
    each node it discovers). That class is swapped for its guarded subclass before
    the first command, in the kwargs and on the startup node already made, so every
    node connection, those of the topology discovery too, is guarded.
    """
    _, kwargs = _cluster_kwargs()
    accepted = _init_params(AsyncRedisCluster)
    kwargs = {k: v for k, v in kwargs.items() if k in accepted and k != "retry"}
    # Every node the sync client knows seeds the discovery too: the configured node may
    # be the master that just died (a new event loop builds a new client).
    known: list[Any] = _sync_client.get_nodes() if isinstance(_sync_client, RedisCluster) else []
    seeds = [AsyncClusterNode(node.host, node.port) for node in known]
    client = AsyncRedisCluster(retry=aredis.retry.Retry(NoBackoff(), 0), startup_nodes=seeds,
                               max_connections=app_settings.MAX_CONNECTIONS, **kwargs)  # fmt: skip
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
    global _sync_client, _generation
    with _lock:
        _generation += 1
        old = getattr(_local, "conn", None)
        if old is not None:
            old.disconnect()
            _local.conn = None
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


# -- sending commands -----------------------------------------------------------------
def unavailable(exc: BaseException, commands: Sequence[Sequence[Any]] = ()) -> RedisUnavailable:
    """``UnknownOutcome`` when ``commands`` may have run (see ``_note_outcome``), else
    ``RedisUnavailable``: the commands certainly did not run."""
    if getattr(exc, MAY_HAVE_RUN, False):
        return UnknownOutcome(
            f"Redis did not answer after the commands were sent ({exc}); they may or may "
            "not have run, and they were not retried.",
            attempted=[tuple(command) for command in commands],
        )
    return RedisUnavailable(f"Redis is unavailable: {exc}")


def run(
    client: redis.Redis, commands: Sequence[Sequence[Any]], *, raise_errors: bool = True
) -> list[Any]:
    """Send ``commands`` in ONE round trip (no MULTI) and return their replies.

    A reply that is an error is raised after all replies are read, except NOSCRIPT
    for an EVALSHA: the script is loaded and only that command is sent again (it ran
    nothing the first time, so this cannot apply anything twice). The resent script
    then runs after the commands that followed it in the list: callers whose later
    commands depend on a script's effect load it first (only a restarted or flushed
    server has no scripts; see ``scripts.all_scripts``). With
    ``raise_errors=False`` error replies are returned in their place instead.
    On a cluster client the list goes to ``cluster.run`` (per-slot steps).
    """
    if isinstance(client, RedisCluster):
        return _run_cluster(client, commands, raise_errors)
    try:
        if len(commands) == 1:
            try:
                replies = [client.execute_command(*commands[0])]
            except redis.exceptions.NoScriptError:
                replies = [_reload_and_retry(client, commands[0])]
            except redis.ResponseError as exc:
                replies = [exc]
            _raise_first(replies, raise_errors)
            return replies
        pipe = client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        replies = pipe.execute(raise_on_error=False)
        for i, reply in enumerate(replies):
            if isinstance(reply, redis.exceptions.NoScriptError):
                replies[i] = _reload_and_retry(client, commands[i])
        _raise_first(replies, raise_errors)
        return replies
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise unavailable(exc, commands) from exc


def _run_cluster(client: Any, commands: Sequence[Sequence[Any]], raise_errors: bool) -> list[Any]:
    try:
        replies = cluster.run(client, commands)
    except cluster.FAILURES as exc:
        raise unavailable(exc) from exc
    return _cluster_replies(replies, raise_errors)


def _cluster_replies(replies: list[Any], raise_errors: bool) -> list[Any]:
    """A cluster pipeline returns a node's connection failure (a timeout, a refused
    connect) in place of the replies it lost: raised as ``RedisUnavailable`` (or
    ``UnknownOutcome``) even with ``raise_errors=False``, as on a single server."""
    for reply in replies:
        if isinstance(reply, cluster.FAILURES):
            raise unavailable(reply) from reply
    _raise_first(replies, raise_errors)
    return replies


def _raise_first(replies: list[Any], raise_errors: bool) -> None:
    if raise_errors:
        for reply in replies:
            if isinstance(reply, Exception):
                if _refused_for_memory(reply):
                    # A full Redis refused the write (nothing applied): the same answer
                    # as an unreachable one (503, or the caches' uncached fallback).
                    raise RedisUnavailable(f"Redis refused a write: {reply}") from reply
                raise reply


def _refused_for_memory(reply: Exception) -> bool:
    from .integrity import is_out_of_memory

    return is_out_of_memory(reply)


_local = threading.local()
_generation = 0  # bumped by reset(): per-thread connections of older settings are dropped


def _thread_connection(client: redis.Redis) -> Any:
    """This thread's own connection to ``client``'s server (made on first use).

    The session hot path skips the pool's checkout/checkin bookkeeping: one
    connection per thread (a sync worker has one thread), never shared, replaced
    after a fork, a settings change or an error.
    """
    conn = getattr(_local, "conn", None)
    if conn is not None and _local.key == (os.getpid(), _generation, id(client)):
        return conn
    pool = client.connection_pool
    conn = pool.connection_class(**pool.connection_kwargs)
    _local.conn, _local.key = conn, (os.getpid(), _generation, id(client))
    return conn


def run_raw(
    client: redis.Redis, commands: Sequence[Sequence[Any]], *, raise_errors: bool = True
) -> list[Any]:
    """``run`` for the session hot path: the same one round trip, less client overhead.

    Writes the packed commands on this thread's connection and reads the raw replies,
    with no pipeline object and no reply callbacks: only for commands whose raw
    replies are what the caller wants (GET, SET, ZADD, EXISTS, EVALSHA returning
    integers or bytes). Error replies are raised after every reply has been read, so
    the connection stays in step; NOSCRIPT is handled as in ``run``.
    """
    if isinstance(client, RedisCluster):
        return _run_cluster(client, commands, raise_errors)
    conn = _thread_connection(client)
    replies: list[Any] = []
    try:
        if conn._sock is None:
            # connect() as a pool would: a lazy connect on send skips it, and a
            # Sentinel-managed connection asks the sentinels for the master only there.
            conn.connect()
        conn.send_packed_command(conn.pack_commands(commands))
        for _ in commands:
            try:
                replies.append(conn.read_response())
            except redis.ResponseError as exc:
                replies.append(exc)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        conn.disconnect()
        _local.conn = None
        raise unavailable(exc, commands) from exc
    for i, reply in enumerate(replies):
        if isinstance(reply, redis.exceptions.NoScriptError):
            replies[i] = run(client, [commands[i]], raise_errors=raise_errors)[0]
    _raise_first(replies, raise_errors)
    return replies


class InFlight:
    """Command lists sent ahead of their replies on one pooled connection of its own.

    Each ``send`` is ONE round trip (counted as one); the next list may go before the
    previous one's replies are read, so that the caller's work overlaps Redis's
    (``clean_sessions`` keeps two batches in flight). Redis runs the lists in the
    order sent. ``read`` returns the oldest list's raw replies (no callbacks), error
    replies in place, NOSCRIPT included: a later list may depend on an earlier one,
    so only the caller knows what to send again. Not the thread's ``run_raw``
    connection: code run between a send and its read (a signal receiver) may use that
    one. On a cluster client each list runs at ``send`` (``run``'s per-slot steps)
    and ``read`` hands its replies back: the same order, without the overlap.
    Use as a context manager; a list still unread at exit drops the connection.
    """

    def __init__(self, client: redis.Redis) -> None:
        self.client, self.conn = client, cast(Any, None)
        self.pending: list[tuple[Sequence[Sequence[Any]], list[Any] | None]] = []

    def __enter__(self) -> InFlight:
        if not isinstance(self.client, RedisCluster):
            try:
                self.conn = self.client.connection_pool.get_connection()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise unavailable(exc) from exc
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.conn is not None:
            if self.pending:
                self.conn.disconnect()  # replies still on the wire: out of step
            self.client.connection_pool.release(self.conn)
            self.conn = None

    def send(self, commands: Sequence[Sequence[Any]]) -> None:
        if self.conn is None:
            self.pending.append((commands, run(self.client, commands, raise_errors=False)))
            return
        self.pending.append((commands, None))
        try:
            self.conn.send_packed_command(self.conn.pack_commands(commands))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise self._failed(exc) from exc

    def read(self) -> list[Any]:
        commands, replies = self.pending[0]
        if replies is None:
            replies = []
            try:
                for _ in commands:
                    try:
                        replies.append(self.conn.read_response())
                    except redis.ResponseError as exc:
                        replies.append(exc)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise self._failed(exc) from exc
        del self.pending[0]
        return replies

    def _failed(self, exc: BaseException) -> RedisUnavailable:
        if len(self.pending) > 1:
            setattr(exc, MAY_HAVE_RUN, True)  # lists sent before may have run
        attempted = [command for commands, _ in self.pending for command in commands]
        return unavailable(exc, attempted)


async def arun(
    client: aredis.Redis, commands: Sequence[Sequence[Any]], *, raise_errors: bool = True
) -> list[Any]:
    """``run`` for redis.asyncio."""
    if isinstance(client, AsyncRedisCluster):
        try:
            replies = await cluster.arun(client, commands)
        except cluster.FAILURES as exc:
            raise unavailable(exc) from exc
        return _cluster_replies(replies, raise_errors)
    try:
        if len(commands) == 1:
            try:
                replies = [await client.execute_command(*commands[0])]
            except redis.exceptions.NoScriptError:
                replies = [await _areload_and_retry(client, commands[0])]
            except redis.ResponseError as exc:
                replies = [exc]
            _raise_first(replies, raise_errors)
            return replies
        pipe = client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        replies = await pipe.execute(raise_on_error=False)
        for i, reply in enumerate(replies):
            if isinstance(reply, redis.exceptions.NoScriptError):
                replies[i] = await _areload_and_retry(client, commands[i])
        _raise_first(replies, raise_errors)
        return replies
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise unavailable(exc, commands) from exc


def _reload_and_retry(client: redis.Redis, command: Sequence[Any]) -> Any:
    """The script's reply, or its error reply (returned, like a pipeline's)."""
    from .scripts import by_sha

    client.script_load(by_sha(command[1]).source)
    try:
        return client.execute_command(*command)
    except redis.ResponseError as exc:
        return exc


async def _areload_and_retry(client: aredis.Redis, command: Sequence[Any]) -> Any:
    from .scripts import by_sha

    await client.script_load(by_sha(command[1]).source)
    try:
        return await client.execute_command(*command)
    except redis.ResponseError as exc:
        return exc
