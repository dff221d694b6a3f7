"""The version matrix: ``nox`` runs it all; ``nox -l`` lists the cells.

Django 5.2 runs on Python 3.10, Django 4.2 and 5.2 on Python 3.11; Django 6.x needs
Python 3.12+ and runs where such an interpreter exists (nox skips a session whose
interpreter is missing, and says so). redis-py is tested at its current and previous
major.

Every cell installs the tools pinned in requirements/constraints.txt (less the two
packages the cell varies), except the cell ``latest``: today's releases of
everything, with mypy, so that a new release that breaks us shows up as that one
cell failing (``nox -s latest``), not as a broken CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nox

from dev import CONSTRAINTS, django_tests_dir

# pyenv installs interpreters side by side without putting them all on PATH.
for _bin in sorted(Path.home().glob(".pyenv/versions/3.*/bin")):
    os.environ["PATH"] = f"{os.environ['PATH']}{os.pathsep}{_bin}"

nox.options.error_on_missing_interpreters = False
nox.options.sessions = ["tests"]
ROOT = Path(__file__).parent

MATRIX = [
    ("3.10", "5.2", "8"),
    ("3.11", "4.2", "8"),
    ("3.11", "5.2", "8"),
    ("3.11", "5.2", "7"),
    ("3.12", "6.0", "8"),
    ("3.13", "6.1", "8"),
]


def _constraints(session: nox.Session, varied: set[str]) -> str:
    """The pinned constraints without the packages this cell varies."""
    kept = [
        line
        for line in CONSTRAINTS.read_text().splitlines()
        if line.split("==")[0].strip().lower() not in varied
    ]
    path = Path(session.create_tmp()) / "constraints.txt"
    path.write_text("\n".join(kept) + "\n")
    return str(path)


@nox.session(name="tests")
@nox.parametrize(("python", "django", "redis"), MATRIX)
def tests(session: nox.Session, django: str, redis: str) -> None:
    # django-redis too: its releases follow Django's (7.x needs Django 5.2).
    pins = _constraints(
        session, {"django", "redis", "django-redis", "django-stubs", "django-stubs-ext"}
    )
    session.install("-c", pins, "-e", ".[test,demo,hiredis]",
                    f"django~={django}.0", f"redis~={redis}.0")  # fmt: skip
    session.env["DJANGO_TESTS_DIR"] = str(django_tests_dir(Path(session.bin) / "python"))
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session(python="3.11")
def latest(session: nox.Session) -> None:
    """Today's releases of everything (no constraints): tests and mypy."""
    session.install("--upgrade", "-e", ".[test,demo,hiredis,dev]")
    session.env["DJANGO_TESTS_DIR"] = str(django_tests_dir(Path(session.bin) / "python"))
    session.run("python", "-m", "pytest", "-q", *session.posargs)
    # Without Django's session tests on the path: the stubs' plugin loads the test
    # settings, which would add their app, and mypy would check it too.
    session.run("mypy", env={"DJANGO_TESTS_DIR": ""})


if __name__ == "__main__":
    sys.exit(subprocess.call(["nox", *sys.argv[1:]]))
