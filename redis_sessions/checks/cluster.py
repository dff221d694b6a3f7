"""What a Redis Cluster needs of ``REDIS_SESSIONS``: E006, E010, E013 (``NODES``).

A value of the wrong type is ``values``' E004, and nothing more is said of it here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.core import checks

from redis_sessions.checks.values import RULES, _parse_url, _url_errors, has_kind, setting
from redis_sessions.conf import DEFAULTS, raw_user_settings


def check_cluster(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    user = raw_user_settings()
    if not isinstance(user, dict):
        return []  # unset, or E001
    errors: list[Any] = []
    if user.get("CLUSTER") is True:
        errors.extend(_cluster_errors(user))
    nodes = user.get("NODES")
    if nodes is not None and has_kind(nodes, RULES["NODES"]):
        errors.extend(_nodes_errors(nodes))
        if nodes:
            errors.extend(_nodes_context_errors(user))
    return errors


def _cluster_errors(user: dict[str, Any]) -> list[Any]:
    """E006 and E010: what a Redis Cluster needs of the other settings."""
    errors: list[Any] = []
    breaker = user.get("CIRCUIT_BREAKER_SECONDS", DEFAULTS["CIRCUIT_BREAKER_SECONDS"])
    if has_kind(breaker, RULES["CIRCUIT_BREAKER_SECONDS"]) and breaker == 0:  # < 0: E007
        # redis-py's cluster pipeline sends a command again after a timed-out reply;
        # only an open breaker stops that second send (a second increment).
        errors.append(
            checks.Error(
                f"{setting('CLUSTER')} needs CIRCUIT_BREAKER_SECONDS above 0.",
                hint="On a cluster, the open breaker is what keeps a write whose reply "
                "timed out from being sent twice. Keep the default (2.0).",
                id="redis_sessions.E006",
            )
        )
    url = user.get("URL")
    if not isinstance(url, str) or not url or _url_errors(url):
        return errors
    hint = "Name one node of the cluster: redis://host:port or rediss://host:port."
    if urlsplit(url).scheme == "unix":
        errors.append(
            checks.Error(
                f"{setting('URL')} is a unix socket: a Redis Cluster is reached by host and port.",
                hint=hint,
                id="redis_sessions.E010",
            )
        )
    db = _parse_url(url).get("db")
    if db:
        errors.append(
            checks.Error(
                f"{setting('URL')} names database {db}: a Redis Cluster has only database 0.",
                hint=hint + " Drop the /N (or ?db=N).",
                id="redis_sessions.E010",
            )
        )
    return errors


_NODES_HINT = (
    "List the cluster's seed nodes as URLs, e.g. ['redis://10.0.0.1:7000', "
    "'redis://10.0.0.2:7000'] (rediss:// for TLS, the same user and password in each), "
    "or one string of them separated by commas."
)


def _node_urls(value: Any) -> list[Any]:
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [part.strip() if isinstance(part, str) else part for part in parts]


def _nodes_errors(value: Any) -> list[Any]:
    """E013: every entry of ``NODES`` is a redis:// or rediss:// URL of one node, with
    no database, and they all share the first one's scheme and credentials."""
    found: list[str] = []
    urls = _node_urls(value)
    if not [url for url in urls if url]:
        found.append("it names no node")
    first: tuple[str, Any, Any] | None = None
    for url in urls:
        if not isinstance(url, str) or not url:
            found.append(f"{url!r} is not a URL")
            continue
        try:
            options = _parse_url(url)
        except ValueError as exc:
            found.append(f"{url!r} cannot be used: {str(exc).rstrip('.')}")
            continue
        if "path" in options:
            found.append(f"{url!r} is a unix socket: cluster nodes are reached by host and port")
            continue
        if options.get("db"):
            found.append(f"{url!r} names database {options['db']}: a cluster has only database 0")
        shared = (urlsplit(url).scheme, options.get("username"), options.get("password"))
        if first is None:
            first = shared
        elif shared != first:
            found.append(f"{url!r} differs from the first node in its scheme, user or password")
    return [
        checks.Error(
            f"{setting('NODES')} cannot be used: {problem}.",
            hint=_NODES_HINT,
            id="redis_sessions.E013",
        )
        for problem in found
    ]


def _nodes_context_errors(user: dict[str, Any]) -> list[Any]:
    """E013: ``NODES`` is for a Redis Cluster, and replaces ``URL``."""
    errors = []
    if user.get("CLUSTER") is not True:
        errors.append(
            checks.Error(
                f"{setting('NODES')} is set but {setting('CLUSTER')} is not True.",
                hint="NODES lists the seed nodes of a Redis Cluster: set CLUSTER to True, "
                "or name a single server with URL.",
                id="redis_sessions.E013",
            )
        )
    if user.get("URL"):
        errors.append(
            checks.Error(
                f"Both {setting('URL')} and {setting('NODES')} are set.",
                hint="Put the URL's node in NODES (every seed there) and remove URL.",
                id="redis_sessions.E013",
            )
        )
    return errors
