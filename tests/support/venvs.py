"""A fresh virtualenv holding the wheel built from this checkout, with no network.

The wheel is built by hatchling in-process (as ``tests/app/test_checks_installation.py``
does) and installed by pip with ``--no-deps --no-index``. Its dependencies (Django,
django-redis, redis-py) and pip itself come from this run's environment through a
``.pth`` file, read after the venv's own ``site-packages``: the path it adds is not a
site directory, so the ``.pth`` files in it (this checkout's editable install) are not
read, and ``redis_sessions`` is imported from the wheel alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build_wheel(folder: Path) -> Path:
    from hatchling.builders.wheel import WheelBuilder

    [built] = WheelBuilder(str(ROOT)).build(directory=str(folder), versions=["standard"])
    return Path(built)


def clean_environ(**extra: str) -> dict[str, str]:
    """This process's environment without what would point a child at the checkout or
    at the test suite's settings."""
    drop = ("PYTHONPATH", "DJANGO_SETTINGS_MODULE", "PYTHONHOME")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def venv_with_wheel(folder: Path, wheel: Path) -> Path:
    """A virtualenv in ``folder`` with ``wheel`` installed; returns its ``python``."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--no-deps", "--no-index", str(wheel)],
        check=True, env=clean_environ(),
    )  # fmt: skip
    return python
