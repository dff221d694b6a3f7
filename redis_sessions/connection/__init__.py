"""The one place that hands out Redis clients: ``get_redis()`` and ``get_async_redis()``.

Both talk to the server named by ``REDIS_SESSIONS["URL"]`` (on a Redis Cluster, the
seed nodes of ``NODES``) or, by default, to the server of the django-redis cache alias
``CACHE_ALIAS``. The app builds its own pools
from that configuration instead of borrowing django-redis's client because it needs
three things a shared cache client does not promise:

* short socket and connect timeouts (``SOCKET_TIMEOUT``): a dead Redis must fail a
  request in well under a second, not after redis-py's default of several seconds;
* no automatic retry: redis-py retries timeouts by default, and a retried HINCRBY or
  ZINCRBY is applied twice;
* a circuit breaker: after a failure, calls to that server fail at once instead of
  each waiting for its own timeout, and one call probes it every
  ``CIRCUIT_BREAKER_SECONDS``; the probe's reply closes it. It is kept per server
  address, so on a Redis Cluster a dead node does not stop the client from
  asking the other nodes for the new topology (redis-py does that after a connection
  error), nor requests to the healthy nodes.

Pools are shared per process (one per configuration) because a pool is what keeps
connections warm; a client per request would pay a connect on every request. The
async client is cached per event loop because redis.asyncio connections are bound to
the loop that opened them.
"""

from __future__ import annotations

from redis_sessions.connection.clients import get_async_redis, get_redis, primaries, reset
from redis_sessions.connection.commands import InFlight, arun, run
from redis_sessions.connection.guard import MAY_HAVE_RUN, round_trips, unavailable
from redis_sessions.connection.raw import arun_raw, run_raw

__all__ = [
    "MAY_HAVE_RUN", "InFlight", "arun", "arun_raw", "get_async_redis", "get_redis", "primaries",
    "reset", "round_trips", "run", "run_raw", "unavailable",
]  # fmt: skip
