"""Settings for bench/faults.py: bench/load.py's, plus the topology under test.

* ``FAULTS_SENTINEL="service@host:port"``: the app and Django's cache follow a Sentinel
  (django-redis ``SentinelClient``), as docs/reliability.md shows;
* ``FAULTS_CLUSTER="redis://…,redis://…"``: the seed nodes of a Redis Cluster
  (``REDIS_URL``, one of them, is what Django's cache framework gets).
"""

from __future__ import annotations

import os

from bench.load_settings import *  # noqa: F403

_sentinel = os.environ.get("FAULTS_SENTINEL")
if _sentinel:
    _service, _, _address = _sentinel.partition("@")
    _host, _, _port = _address.rpartition(":")
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://{_service}/0",
            "KEY_PREFIX": os.environ.get("REDIS_KEY_PREFIX", "demo"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.SentinelClient",
                "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
                "SENTINELS": [(_host, int(_port))],
                "SOCKET_TIMEOUT": 0.5,
                "SOCKET_CONNECT_TIMEOUT": 0.5,
            },
        }
    }

if os.environ.get("FAULTS_CLUSTER"):
    REDIS_SESSIONS = {**REDIS_SESSIONS, "NODES": os.environ["FAULTS_CLUSTER"], "CLUSTER": True}  # noqa: F405
