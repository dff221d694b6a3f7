#!/usr/bin/env python3
"""The two Quick start commands; each does all of its own set-up.

    python3 dev.py demo    # the demo shop at http://127.0.0.1:8000
    python3 dev.py test    # the whole test suite (extra arguments go to pytest)

Set-up: a virtualenv in .venv, the package with its test/demo extras (reinstalled
when pyproject.toml changes), and for tests Django's own session tests from the sdist
matching the installed Django (cached in .cache/). Redis: $REDIS_URL if set, else a
private redis-server that the settings start for the process tree. Database: SQLite,
or $DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
CACHE = ROOT / ".cache"
PY = VENV / "bin" / "python"


def say(message: str) -> None:
    print(f"dev.py: {message}", flush=True)


def ensure_venv() -> None:
    if not PY.exists():
        say(f"creating virtualenv {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    extras = "test,demo,hiredis,dev,docs,bench"
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        extras += ",postgres"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{digest[:16]}"
    if stamp.exists():
        return
    say(f"installing django-redis-anatomy[{extras}] (first run only)")
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-e", f"{ROOT}[{extras}]"], check=True)
    stamp.touch()


def django_tests_dir(python: Path = PY) -> Path:
    """tests/ of the Django sdist matching ``python``'s Django (sessions_tests only)."""
    version = subprocess.run(
        [str(python), "-c", "import django; print(django.__version__)"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    target = CACHE / f"django-{version}-tests"
    if (target / "sessions_tests" / "tests.py").exists():
        return target
    say(f"fetching Django {version}'s session tests from its sdist")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [str(python), "-m", "pip", "download", "--disable-pip-version-check", "-q",
             "--no-deps", "--no-binary", ":all:", f"django=={version}", "-d", tmp],
            check=True,
        )  # fmt: skip
        sdist = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers() if "/tests/sessions_tests/" in m.name]
            tar.extractall(tmp, members=members)
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(next(Path(tmp).glob("*/tests"))), target)
    return target


def manage(*args: str) -> None:
    subprocess.run([str(PY), str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)


def demo() -> int:
    ensure_venv()
    manage("migrate", "--noinput", "-v", "0")
    manage("seed_demo")
    say("demo shop at http://127.0.0.1:8000 (admin/admin, customer/customer; Ctrl-C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        manage("runserver", "127.0.0.1:8000")
    return 0


def test(pytest_args: list[str]) -> int:
    ensure_venv()
    env = dict(os.environ, DJANGO_TESTS_DIR=str(django_tests_dir()))
    return subprocess.run([str(PY), "-m", "pytest", *pytest_args], cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__)
        return 2
    return demo() if argv[0] == "demo" else test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
