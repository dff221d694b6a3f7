"""The version matrix: ``nox`` runs it all; ``nox -l`` lists the cells.

Django 5.2 runs on Python 3.10, Django 4.2 and 5.2 on Python 3.11; Django 6.x needs
Python 3.12+ and runs where such an interpreter exists (nox skips a session whose
interpreter is missing, and says so). redis-py is tested at its current and previous
major.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nox

from dev import django_tests_dir

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


@nox.session(name="tests")
@nox.parametrize(("python", "django", "redis"), MATRIX)
def tests(session: nox.Session, django: str, redis: str) -> None:
    session.install("-e", ".[test,demo,hiredis]", f"django~={django}.0", f"redis~={redis}.0")
    session.env["DJANGO_TESTS_DIR"] = str(django_tests_dir(Path(session.bin) / "python"))
    session.run("python", "-m", "pytest", "-q", *session.posargs)


if __name__ == "__main__":
    sys.exit(subprocess.call(["nox", *sys.argv[1:]]))
