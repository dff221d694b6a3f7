"""Whether the installed ``redis_sessions`` files are this distribution's: E030.

The unrelated PyPI package django-redis-sessions installs a top-level package of the
same name; installed after this one, it overwrites ``redis_sessions/__init__.py`` and
pip says nothing. Uninstalling either one then deletes files of the other. The
judgement below reads only installed metadata (RECORD files), never imports anything,
and costs a few milliseconds: it reads each distribution's RECORD as text and parses
only those that name ``redis_sessions/__init__.py``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.core import checks

import redis_sessions

DISTRIBUTION = "django-redis-anatomy"
_INIT = "redis_sessions/__init__.py"
_SITE_DIRS = ("site-packages", "dist-packages")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _listed_paths(dist: metadata.Distribution) -> list[str]:
    """The files ``dist`` installed, relative to its site directory (RECORD for
    wheels; an egg's installed-files.txt, which Python 3.11 does not read, by hand)."""
    paths = [str(entry) for entry in dist.files or ()]
    legacy = dist.read_text("installed-files.txt") or ""
    # its entries are relative to the .egg-info directory, in the site directory
    paths += [line[3:] for line in legacy.splitlines() if line.startswith("../")]
    return paths


def _is_init(dist: metadata.Distribution, listed: str, init: Path) -> bool:
    if not listed.replace("\\", "/").endswith(_INIT):
        return False
    try:
        return Path(str(dist.locate_file(listed))).resolve() == init
    except OSError:
        return False


def _claims(dist: metadata.Distribution, init: Path) -> bool:
    """``dist`` installed ``init`` (the very file, not one of the same name elsewhere)."""
    lists = [
        dist.read_text(name) or "" for name in ("RECORD", "installed-files.txt", "SOURCES.txt")
    ]
    if not any(_INIT in text.replace("\\", "/") for text in lists):
        return False  # the cheap test that spares parsing every distribution's RECORD
    return any(_is_init(dist, listed, init) for listed in _listed_paths(dist))


def _recorded_hash(dist: metadata.Distribution, init: Path) -> metadata.FileHash | None:
    for entry in dist.files or ():
        if entry.hash is not None and _is_init(dist, str(entry), init):
            return entry.hash
    return None


def _digest(path: Path, mode: str) -> str:
    raw = hashlib.new(mode, path.read_bytes()).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def installation_problems(
    init_file: Path, search_path: Sequence[str]
) -> list[tuple[str, list[str]]]:
    """``[(problem, names of the other distributions involved)]``; ``[]`` when the
    package whose ``__init__.py`` is ``init_file`` is this distribution's alone, judged
    from the distributions found on ``search_path`` (``sys.path``).

    Three signs of trouble: another distribution's RECORD claims that ``__init__.py``;
    this distribution's RECORD gives it another hash (it was overwritten); or the
    package sits in a site-packages directory with no metadata of this distribution
    at all. An editable install (the package in a source checkout, RECORD naming only
    a ``.pth`` file) shows none of them.
    """
    init = init_file.resolve()
    path = list(search_path)
    others: list[str] = []
    for dist in metadata.distributions(path=path):
        if _claims(dist, init):
            name = dist.metadata["Name"] or dist.read_text("top_level.txt") or "?"
            if _normal(name) != _normal(DISTRIBUTION):
                others.append(name)
    # the first on the path is the one importlib.metadata.version() would report
    ours = next(iter(metadata.Distribution.discover(name=DISTRIBUTION, path=path)), None)
    where = init.parent.parent
    if others:
        listed = ", ".join(others)
        return [
            (
                f"redis_sessions/__init__.py in {where} is also installed by {listed}, an "
                f"unrelated package with the same import name: one overwrote the other's files.",
                others,
            )
        ]
    if ours is None:
        if where.name not in _SITE_DIRS:
            return []  # a source checkout on sys.path: nothing installed to judge
        return [
            (
                f"redis_sessions is installed in {where}, but {DISTRIBUTION}'s metadata is "
                "missing: these files belong to another package, or a half-removed install.",
                [],
            )
        ]
    recorded = _recorded_hash(ours, init)
    if recorded is None:
        return []  # editable install, or a checkout shadowing an installed copy
    if _digest(init, recorded.mode) != recorded.value:
        return [
            (
                f"redis_sessions/__init__.py in {where} is not the file {DISTRIBUTION} "
                "installed: another package overwrote it.",
                [],
            )
        ]
    return []


def check_installation(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Any]:
    """The ``redis_sessions`` package on disk is this distribution's alone (E030)."""
    init = Path(redis_sessions.__file__ or "__init__.py")
    errors: list[Any] = []
    for problem, others in installation_problems(init, sys.path):
        culprits = " ".join(others or ["django-redis-sessions"])  # the usual one
        errors.append(
            checks.Error(
                problem,
                hint=f"Uninstall both, then install this one again: pip uninstall {culprits} "
                f"{DISTRIBUTION}; pip install {DISTRIBUTION}. The two cannot be installed "
                "together (one import name).",
                id="redis_sessions.E030",
            )
        )
    return errors
