#!/usr/bin/env python3
"""The two Quick start commands; each does all of its own set-up.

    python3 dev.py demo    # the demo shop at http://127.0.0.1:8000
    python3 dev.py test    # the whole test suite (extra arguments go to pytest)
    python3 dev.py lock    # re-pin requirements/constraints.txt to today's releases

Set-up: a virtualenv in .venv, the package with its test/demo extras at the versions
pinned in requirements/constraints.txt (reinstalled when either file changes), and
for tests Django's own session tests from the sdist matching the installed Django
(cached in .cache/). Redis: $REDIS_URL if set, else a
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
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
EXTRAS = "test,demo,hiredis,dev,docs,bench,postgres"


def say(message: str) -> None:
    print(f"dev.py: {message}", flush=True)


def ensure_venv() -> None:
    if not PY.exists():
        say(f"creating virtualenv {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    pinned = (ROOT / "pyproject.toml").read_bytes() + CONSTRAINTS.read_bytes()
    digest = hashlib.sha256(pinned + EXTRAS.encode()).hexdigest()
    stamp = VENV / f".installed-{digest[:16]}"
    if stamp.exists():
        return
    say(f"installing django-redis-anatomy[{EXTRAS}] as pinned (first run only)")
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-c", str(CONSTRAINTS), "-e", f"{ROOT}[{EXTRAS}]"], check=True)
    stamp.touch()


def lock() -> int:
    """Pin every extra's newest releases: a fresh virtualenv, then ``pip freeze``.

    Run on purpose (then run the tests, and commit the file with the fixes the new
    releases need); CI installs exactly what the file says.
    """
    with tempfile.TemporaryDirectory() as tmp:
        venv.EnvBuilder(with_pip=True).create(tmp)
        py = str(Path(tmp) / "bin" / "python")
        say(f"resolving django-redis-anatomy[{EXTRAS}] against today's releases")
        pip = [py, "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", f"{ROOT}[{EXTRAS}]"], check=True)
        frozen = subprocess.run(
            [*pip, "freeze", "--exclude", "django-redis-anatomy"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
    header = (
        "# Every tool and library of the dev/test/docs/bench extras, as last resolved by\n"
        "# `python3 dev.py lock` (Python 3.11). dev.py and CI install exactly these; the\n"
        "# nox cell 'latest' installs today's releases instead.\n"
    )
    CONSTRAINTS.write_text(header + frozen)
    say(f"wrote {CONSTRAINTS.relative_to(ROOT)}")
    return 0


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
    if not argv or argv[0] not in ("demo", "test", "lock"):
        print(__doc__)
        return 2
    if argv[0] == "lock":
        return lock()
    return demo() if argv[0] == "demo" else test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
