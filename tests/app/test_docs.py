"""The docs say what the code does: every setting, command, command option and key
function is documented."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from django.core.management import load_command_class
from django.core.management.base import BaseCommand

from redis_sessions import keys
from redis_sessions.conf import DEFAULTS, Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
COMMANDS = sorted(
    p.stem
    for p in (ROOT / "redis_sessions" / "management" / "commands").glob("*.py")
    if not p.stem.startswith("_")
)


def all_docs() -> str:
    return "\n".join(p.read_text() for p in sorted(DOCS.glob("*.md")))


def own_options(name: str) -> list[str]:
    """The option strings a command adds to Django's own (``--once``, ``--limit``, ...)."""
    command = load_command_class("redis_sessions", name)
    assert isinstance(command, BaseCommand)
    parser = command.create_parser("manage.py", name)
    common = {
        s
        for a in BaseCommand().create_parser("manage.py", "base")._actions
        for s in a.option_strings
    }
    strings = [s for a in parser._actions for s in a.option_strings]
    return sorted(s for s in strings if s.startswith("--") and s not in common)


def test_every_setting_is_documented_in_the_settings_page() -> None:
    table = (DOCS / "settings.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.M))
    assert documented == set(DEFAULTS)


def test_every_setting_has_a_typed_attribute_and_nothing_else_does() -> None:
    attributes = {n for n in vars(Settings) if n.isupper()}
    assert attributes == set(DEFAULTS)
    for name in DEFAULTS:
        getattr(Settings(), name)  # converts the default without an error


def test_the_command_list_is_not_empty() -> None:
    assert "clean_sessions" in COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_every_management_command_is_documented_with_every_option(name: str) -> None:
    docs = all_docs()
    assert f"manage.py {name}" in docs or f"`{name}`" in docs, f"{name} is not in docs/"
    undocumented = [o for o in own_options(name) if f"`{o}" not in docs]
    assert undocumented == [], f"{name}: options missing from docs/: {undocumented}"


def key_functions() -> list[str]:
    return sorted(
        name
        for name, fn in inspect.getmembers(keys, inspect.isfunction)
        if fn.__module__ == keys.__name__ and not name.startswith("_")
    )


def test_every_key_function_is_in_the_key_schema_page() -> None:
    page = (DOCS / "keys.md").read_text()
    assert len(key_functions()) > 20
    missing = [name for name in key_functions() if f"`keys.{name}(" not in page]
    assert missing == []


def test_every_docs_page_is_in_the_mkdocs_nav() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    missing = [p.name for p in DOCS.glob("*.md") if f": {p.name}" not in config]
    assert missing == []
