"""Lua scripts, kept as ``lua/*.lua`` next to this module and sent with EVALSHA.

A script is turned into a command tuple (``Script.command``) so that it can travel in
the same pipeline as other commands; ``connection.run`` loads it on NOSCRIPT.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

_DIR = Path(__file__).with_name("lua")
_by_sha: dict[str, Script] = {}


class Script:
    def __init__(self, name: str) -> None:
        self.name = name
        self.source = (_DIR / f"{name}.lua").read_text()
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()
        _by_sha[self.sha] = self

    def command(self, keys: Sequence[Any], args: Sequence[Any] = ()) -> tuple[Any, ...]:
        return ("EVALSHA", self.sha, len(keys), *keys, *args)


@cache
def get(name: str) -> Script:
    """The script ``lua/NAME.lua`` (read once per process)."""
    return Script(name)


def by_sha(sha: str | bytes) -> Script:
    if isinstance(sha, bytes):
        sha = sha.decode()
    return _by_sha[sha]


def all_scripts() -> list[Script]:
    """Every script shipped in lua/ (to preload them, e.g. at deploy or in tests)."""
    return [get(path.stem) for path in sorted(_DIR.glob("*.lua"))]
