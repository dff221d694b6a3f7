"""The values in ``REDIS_SESSIONS``: E001, E002, E004, E007-E009, E011, E024.

``RULES`` says what each setting's value must be; a test keeps it in step with
``conf.DEFAULTS``. A value of the wrong type is E004 and nothing more is said of it;
otherwise each of its problems is reported.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.core import checks
from django.utils.module_loading import import_string
from redis.connection import parse_url

from redis_sessions.conf import DEFAULTS, raw_user_settings

MERGE_STRATEGIES = ("add", "replace", "keep_higher")
KEY_PREFIX_FORBIDDEN = "{}*?[] "


class Rule(NamedTuple):
    """What a setting's value must be: its type (E004) and its range (E007)."""

    kind: type | tuple[type, ...]
    low: float | None = None  # the smallest value allowed
    above: bool = False  # ``low`` itself is not allowed
    optional: bool = False  # None is allowed
    example: str = ""  # for the hint, when the default is None


_NUMBER = (int, float)
_COUNT = Rule(int, low=1)
_SECONDS = Rule(_NUMBER, low=0, above=True, optional=True)

RULES: dict[str, Rule] = {
    "CACHE_ALIAS": Rule(str),
    "URL": Rule(str, optional=True, example="'redis://localhost:6379/0'"),
    "SOCKET_TIMEOUT": _SECONDS,
    "SOCKET_CONNECT_TIMEOUT": _SECONDS,
    "MAX_CONNECTIONS": _COUNT,
    "CIRCUIT_BREAKER_SECONDS": Rule(_NUMBER, low=0),
    "KEY_PREFIX": Rule(str),
    "VIEWED_LIMIT": _COUNT,
    "ITEM_ID_MAX_LENGTH": _COUNT,
    "SESSION_LIMIT": _COUNT,
    "CLEAN_BATCH_SIZE": _COUNT,
    "CLEAN_BATCH_TIME": Rule(_NUMBER, low=0),
    "CART_MODEL": Rule(str, optional=True, example="'shop.Product'"),
    "CART_PRICE_FIELD": Rule(str, optional=True),
    "CART_MAX_QUANTITY": _COUNT,
    "CART_MAX_LINES": _COUNT,
    "CART_VALIDATE_ITEMS": Rule(bool),
    "CART_USER_TTL": _COUNT,
    "CART_MERGE_STRATEGY": Rule(str),
    "VIEWED_MAX_ITEMS": _COUNT,
    "RESCALE_INTERVAL": Rule(_NUMBER, low=0, above=True),
    "CACHE_TOP_N": _COUNT,
    "PAGE_CACHE_TIMEOUT": _COUNT,
    "PAGE_CACHE_GRACE": Rule(int, low=0),
    "PAGE_CACHE_MAX_VARIANTS": _COUNT,
    "PAGE_CACHE_MODELS": Rule(dict),
    "X_CACHE_HEADER": Rule(bool),
    "DAILY_VIEWS_DAYS": _COUNT,
    "VIEW_WINDOW": Rule(int, low=0),
    "VISITOR_ID": Rule(str, optional=True, example="'myproject.visitors.client_address'"),
    "ROW_CACHE_MODELS": Rule(dict),
    "LOCK_TIMEOUT": _COUNT,
    "CLUSTER": Rule(bool),
    "NODES": Rule((list, tuple, str), optional=True,
                  example="['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000']"),
}  # fmt: skip


def setting(name: str) -> str:
    """How messages name a setting: ``REDIS_SESSIONS['URL']``."""
    return f"REDIS_SESSIONS[{name!r}]"


def did_you_mean(word: object, choices: Sequence[str], cutoff: float = 0.6) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=cutoff)
    return f"Did you mean {close[0]!r}? " if close else ""


def has_kind(value: object, rule: Rule) -> bool:
    if value is None:
        return rule.optional
    if isinstance(value, bool) and rule.kind is not bool:
        return False  # True is an int to Python, never a count or a duration here
    return isinstance(value, rule.kind)


def valid_value(name: str) -> Any:
    """A setting's value (or its default), or None when it or ``REDIS_SESSIONS``
    itself is of the wrong type: E001/E004 say so, and the checks that read it next
    must not trip over it."""
    user = raw_user_settings()
    if user is not None and not isinstance(user, dict):
        return None
    value = (user or {}).get(name, DEFAULTS[name])
    return value if has_kind(value, RULES[name]) else None


def check_settings(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    user = raw_user_settings()
    if user is None:
        return []
    if not isinstance(user, dict):
        return [
            checks.Error(
                f"REDIS_SESSIONS must be a dict, not {type(user).__name__}.",
                hint='Write it as REDIS_SESSIONS = {"SETTING": value, ...}.',
                id="redis_sessions.E001",
            )
        ]
    errors: list[Any] = []
    for name in sorted(set(user) - set(DEFAULTS), key=str):
        errors.append(
            checks.Error(
                f"Unknown setting {setting(name)}.",
                hint=did_you_mean(name, list(DEFAULTS))
                + "Every setting is listed in docs/settings.md.",
                id="redis_sessions.E002",
            )
        )
    for name in DEFAULTS:
        if name in user:
            errors.extend(_value_errors(name, user[name]))
    return errors


def _kind_text(rule: Rule) -> str:
    kinds = {int: "an int", bool: "True or False", str: "a string", dict: "a dict"}
    text = kinds.get(rule.kind, "a number") if isinstance(rule.kind, type) else "a number"
    if rule.kind == (list, tuple, str):
        text = "a list of URLs (or one string of them separated by commas)"
    return f"{text} or None" if rule.optional else text


def _default_text(name: str) -> str:
    default, rule = DEFAULTS[name], RULES[name]
    if default is None:
        return f"e.g. {rule.example}, or None (the default)" if rule.example else "or None"
    return f"e.g. {default!r} (the default)"


def _value_errors(name: str, value: Any) -> list[Any]:
    """The problems of one setting's value."""
    rule = RULES[name]
    if not has_kind(value, rule):
        return [
            checks.Error(
                f"{setting(name)} is {value!r} ({type(value).__name__}); it must be "
                f"{_kind_text(rule)}.",
                hint=f"Write it as {_kind_text(rule)}, {_default_text(name)}.",
                id="redis_sessions.E004",
            )
        ]
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, _NUMBER):
        return _range_errors(name, value, rule)
    if name == "CART_MERGE_STRATEGY" and value not in MERGE_STRATEGIES:
        return [
            checks.Error(
                f"{setting(name)} is {value!r}, not one of {', '.join(MERGE_STRATEGIES)}.",
                hint=did_you_mean(value, MERGE_STRATEGIES) + "'add' sums the quantities per "
                "line (the default), 'keep_higher' keeps the larger one, 'replace' keeps the "
                "anonymous cart.",
                id="redis_sessions.E008",
            )
        ]
    if name == "KEY_PREFIX":
        return _key_prefix_errors(value)
    if name == "URL" and value:
        return _url_errors(value)
    if name == "VISITOR_ID":
        return _visitor_id_errors(value)
    return []


def _range_errors(name: str, value: float, rule: Rule) -> list[Any]:
    assert rule.low is not None  # every number setting has a floor
    low = rule.low
    if math.isfinite(value) and (value > low if rule.above else value >= low):
        return []
    bound = f"above {low:g}" if rule.above else f"at least {low:g}"
    return [
        checks.Error(
            f"{setting(name)} is {value!r}; it must be {bound}"
            + (" (or None)." if rule.optional else "."),
            hint=f"Use {_kind_text(rule)} {bound}, {_default_text(name)}.",
            id="redis_sessions.E007",
        )
    ]


def _key_prefix_errors(prefix: str) -> list[Any]:
    bad = [c for c in KEY_PREFIX_FORBIDDEN if c in prefix]
    if prefix and not bad:
        return []
    what = f"has {', '.join(map(repr, bad))} in it" if bad else "is empty"
    return [
        checks.Error(
            f"{setting('KEY_PREFIX')} is {prefix!r}: it {what}.",
            hint="Use a non-empty prefix without {, }, *, ?, [, ] or spaces, e.g. 'rs' (the "
            "default): braces would choose the Cluster slot, the rest are SCAN wildcards.",
            id="redis_sessions.E011",
        )
    ]


def _parse_url(url: str) -> dict[str, Any]:
    """redis-py's own reading of a URL (``ValueError`` for what it refuses)."""
    return parse_url(url)  # type: ignore[no-untyped-call,no-any-return]


def _url_errors(url: str) -> list[Any]:
    """What redis-py cannot use in ``URL`` (E009): its own parser is the judge."""
    found: list[str] = []
    try:
        _parse_url(url)
    except ValueError as exc:
        found.append(str(exc).rstrip("."))
    parts = urlsplit(url)
    db = parts.path.strip("/")
    if parts.scheme in ("redis", "rediss") and db and not db.isdigit():
        found.append(f"its database part {parts.path!r} is not a number (redis-py ignores it)")
    return [
        checks.Error(
            f"{setting('URL')} cannot be used: {problem}.",
            hint="Use redis://[[user]:password@]host[:port][/db], rediss://... (TLS) or "
            "unix:///path/to/socket[?db=N].",
            id="redis_sessions.E009",
        )
        for problem in found
    ]


def _visitor_id_errors(path: str) -> list[Any]:
    """E024: ``VISITOR_ID`` imports and is a callable that takes the request."""
    problem = ""
    try:
        function = import_string(path)
    except ImportError as exc:  # a bad path, a missing module or attribute
        problem = f"it does not import ({exc})"
    except Exception as exc:  # the module itself fails to import
        problem = f"importing it raised {type(exc).__name__}: {exc}"
    else:
        if not callable(function):
            problem = f"it is a {type(function).__name__}, not a callable"
        else:
            try:
                inspect.signature(function).bind(object())
            except TypeError:
                problem = "it cannot be called with the request as its one argument"
            except ValueError:
                pass  # no signature to read (some builtins): called as it is
    if not problem:
        return []
    return [
        checks.Error(
            f"{setting('VISITOR_ID')} is {path!r}: {problem}.",
            hint="Name a function (request) -> str that returns the client (e.g. its "
            "address), as 'package.module.function', or None for REMOTE_ADDR.",
            id="redis_sessions.E024",
        )
    ]
