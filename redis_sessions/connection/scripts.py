"""Lua scripts: a ``Script`` is a ``.lua`` file sent with EVALSHA.

Each feature keeps its scripts in a ``lua/`` folder beside its code and declares them
in its ``scripts.py`` (``Script(__file__, "name")``). A script is turned into a
command tuple (``Script.command``) so that it can travel in the same pipeline as other
commands; ``connection.run`` loads it on NOSCRIPT. On a Redis Cluster a script whose
keys span several hash slots is replaced by its *split* (``split=``, the dotted path
of a generator in the feature's ``splits.py``): the core routes by that path and
imports the feature's split only there, so it knows no feature.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

from django.utils.module_loading import import_string

Command = tuple[Any, ...]
#: A split: yields lists of single-slot commands, gets their replies back, and
#: returns what the script would have returned.
Step = Generator[list[Command], list[Any], Any]

_by_sha: dict[str, Script] = {}


class Script:
    """``lua/NAME.lua`` beside the module ``anchor`` (pass ``__file__``).

    ``split``: dotted path of its Cluster split, or None when its keys always share a
    slot. ``builds_keys``: the script builds key names inside Redis (from a head and a
    tail), so its declared keys may share a slot while the keys it touches do not: it
    is always split on a cluster. ``uses``: names of ``lua/`` files of local functions
    shared by several scripts, put before the script's own text (Redis runs one body;
    a Lua error's line number counts from the first of them).
    """

    def __init__(
        self,
        anchor: str,
        name: str,
        *,
        split: str | None = None,
        builds_keys: bool = False,
        uses: Sequence[str] = (),
    ) -> None:
        self.name = name
        folder = Path(anchor).with_name("lua")
        self.path = folder / f"{name}.lua"
        parts = [folder / f"{shared}.lua" for shared in uses] + [self.path]
        self.source = "".join(part.read_text() for part in parts)
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()
        self.split_path = split
        self.builds_keys = builds_keys
        self._split: Callable[[list[Any], list[Any]], Step] | None = None
        _by_sha[self.sha] = self

    def command(self, keys: Sequence[Any], args: Sequence[Any] = ()) -> Command:
        return ("EVALSHA", self.sha, len(keys), *keys, *args)

    def split(self) -> Callable[[list[Any], list[Any]], Step] | None:
        """The Cluster split (imported on first use), or None."""
        if self._split is None and self.split_path is not None:
            self._split = import_string(self.split_path)
        return self._split

    def __repr__(self) -> str:
        return f"<Script {self.name}>"


def by_sha(sha: str | bytes) -> Script:
    if isinstance(sha, bytes):
        sha = sha.decode()
    return _by_sha[sha]


def registered() -> list[Script]:
    """Every script declared so far (a feature's scripts once its package is imported):
    to preload them, e.g. at deploy or in tests."""
    return sorted(_by_sha.values(), key=lambda script: script.name)


LOCK_RELEASE = Script(__file__, "lock_release")
LOCK_RENEW = Script(__file__, "lock_renew")
