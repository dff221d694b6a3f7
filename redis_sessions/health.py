"""A small health endpoint for load balancers and monitoring.

``health_view`` answers JSON: whether Redis is reachable, the time of one round trip
and the age of each background loop's last pass. It answers 503 when Redis is
unreachable (the app cannot serve sessions), 200 otherwise: stale loops are reported
but do not take the web tier out of rotation, since requests still work without them.

Wire it in the project's urls: ``path("health/", health_view)``. It never touches the
session (no cookie, no session load), so a probe creates nothing in Redis.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from redis_sessions import keys
from redis_sessions.connection import get_redis, run
from redis_sessions.connection.outages import Outage
from redis_sessions.exceptions import RedisUnavailable

#: The loops that write heartbeats (see ``loops.LoopRunner``).
LOOPS = ("clean_sessions", "rescale_viewed", "cache_rows")


logger = logging.getLogger("redis_sessions")
_outage = Outage(logger)


def loop_status(raw: bytes | None, now: float) -> dict[str, Any] | None:
    """A heartbeat as ``{"age": seconds, "pass": n, "duration": s}``; None if absent."""
    if raw is None:
        return None
    try:
        beat = json.loads(raw)
        return {
            "age": round(now - float(beat["time"]), 1),
            "pass": beat.get("pass"),
            "duration": beat.get("duration"),
        }
    except (ValueError, TypeError, KeyError):
        return {"age": None, "error": "unreadable heartbeat"}


def health() -> dict[str, Any]:
    """Redis reachability and latency, and the loops' heartbeats, in ONE round trip."""
    started = time.perf_counter()
    try:
        # No MULTI: a read-only probe; PING and MGET just share the round trip.
        _, beats = run(get_redis(), [("PING",), ("MGET", *(keys.heartbeat(n) for n in LOOPS))])
    except RedisUnavailable as exc:
        # A fixed text: this endpoint is public, and the error names hosts and ports.
        # Logged once per outage: a load balancer probes every few seconds.
        _outage.failed(logging.WARNING, "health: Redis unavailable: %s", exc)
        return {"ok": False, "redis": {"reachable": False, "error": "unavailable"}, "loops": {}}
    except redis.ResponseError as exc:  # e.g. an ACL user without MGET: still not usable
        logger.warning("health: Redis refused the probe: %s", exc)
        return {"ok": False, "redis": {"reachable": True, "error": "refused"}, "loops": {}}
    latency_ms = (time.perf_counter() - started) * 1000
    _outage.ok()
    now = time.time()
    return {
        "ok": True,
        "redis": {"reachable": True, "latency_ms": round(latency_ms, 3)},
        "loops": {name: loop_status(raw, now) for name, raw in zip(LOOPS, beats, strict=True)},
    }


@never_cache
@require_GET
def health_view(request: HttpRequest) -> JsonResponse:
    """``GET /health/``: 200 with the status, or 503 when Redis is unreachable."""
    status = health()
    return JsonResponse(status, status=200 if status["ok"] else 503)
