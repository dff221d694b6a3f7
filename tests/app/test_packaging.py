"""The wheel holds the whole app (modules, templates, Lua scripts) and nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import django
from django.conf import settings
settings.configure(INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                                   "django.contrib.sessions", "redis_sessions"])
django.setup()
import redis_sessions
names = [m.name for m in pkgutil.walk_packages(redis_sessions.__path__, "redis_sessions.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"file": redis_sessions.__file__, "modules": names}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    return next(out.glob("django_redis_anatomy-*.whl"))


def test_wheel_contains_the_app_and_no_project_files(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tracked = subprocess.run(
        ["git", "ls-files", "redis_sessions"], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout.split()  # fmt: skip
    missing = [path for path in tracked if path not in names]
    assert missing == []
    assert "redis_sessions/py.typed" in names
    assert not [n for n in names if n.split("/")[0] in ("tests", "demo_project", "bench", "docs")]


def test_wheel_installs_on_its_own_and_every_module_imports(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(wheel)],
        check=True,
    )  # fmt: skip
    # -S: no site-packages processing, so neither the checkout nor an editable install
    # is on the path; dependencies come from this environment, the app from the wheel.
    deps = sysconfig.get_paths()["purelib"]
    code = f"import sys; sys.path[:0] = [{str(target)!r}, {deps!r}]\n" + IMPORT_ALL
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["file"].startswith(str(target))
    assert "redis_sessions.backends.redis" in report["modules"]


def test_sdist_holds_the_app_and_its_metadata_only(tmp_path: Path) -> None:
    pytest.importorskip("build", reason="the `build` package (dev extra) makes the sdist")
    import tarfile

    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(tmp_path),
         str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    sdist = next(tmp_path.glob("django_redis_anatomy-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        tops = {name.split("/")[1] for name in tar.getnames() if name.count("/") >= 1}
    assert tops <= {"redis_sessions", "README.md", "CHANGELOG.md", "LICENSE",
                    "pyproject.toml", "PKG-INFO", ".gitignore"}  # fmt: skip
    assert "redis_sessions" in tops and "LICENSE" in tops
