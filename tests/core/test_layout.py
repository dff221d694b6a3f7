"""The layout's rules: the core knows no feature, each feature pulls in only the core
and the features it declares, and no module imports itself back through another."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "redis_sessions"
FEATURES = ("sessions", "cart", "pagecache", "analytics", "rowcache", "inspection")
CORE = ("conf", "keys", "exceptions", "signals", "loops", "embedded", "pks", "connection")
# What each feature may import besides the core (docs/architecture.md says why).
DEPENDS = {
    "sessions": {"analytics"},  # a session's load and save carry its queued page views
    "cart": set(),
    "pagecache": {"analytics"},  # a hit counts the view that keeps the item popular
    "analytics": set(),
    "rowcache": set(),
}


def loaded_by(*modules: str) -> set[str]:
    """The top-level redis_sessions packages and modules a fresh interpreter loads
    when it imports ``modules`` (settings configured, apps not loaded)."""
    code = (
        "import json, sys, django.conf\n"
        "django.conf.settings.configure()\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print(json.dumps(sorted({n.split('.')[1] for n in sys.modules"
        " if n.startswith('redis_sessions.')})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_the_core_imports_no_feature() -> None:
    every = [f"redis_sessions.connection.{p.stem}" for p in (PACKAGE / "connection").glob("*.py")]
    loaded = loaded_by(*(f"redis_sessions.{m}" for m in CORE), *every)
    assert loaded & set(FEATURES) == set()


# inspection/ is the operators' view of every feature (its modules need the app
# registry, so it is left out here): it may import them all.
@pytest.mark.parametrize("feature", [f for f in FEATURES if f != "inspection"])
def test_a_feature_pulls_in_only_the_core_and_the_features_it_declares(feature: str) -> None:
    loaded = loaded_by(f"redis_sessions.{feature}")
    assert feature in loaded
    assert loaded - set(CORE) - {feature} - DEPENDS[feature] == set()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def known_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def top_level_imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The redis_sessions modules ``path`` imports when it is imported (module level;
    ``from package import submodule`` counts as the submodule)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module in known:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return found


def test_no_module_imports_itself_back_through_others() -> None:
    known = known_modules()
    graph = {name: top_level_imports(path, known) for name, path in known.items()}
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        for target in graph[name]:
            if target in trail:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in done:
                visit(target, [*trail, target])
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert cycles == []


def test_every_import_inside_a_function_says_why() -> None:
    unexplained: list[str] = []
    for name, path in known_modules().items():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith(
                    "redis_sessions"
                ):
                    # The reason: a comment in the function before the import.
                    above = "\n".join(lines[node.lineno - 1 : inner.lineno])
                    if "#" not in above:
                        unexplained.append(f"{name}:{inner.lineno}")
    assert unexplained == []
