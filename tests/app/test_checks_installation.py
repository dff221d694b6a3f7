"""E030: the installed ``redis_sessions`` files are this distribution's alone.

The decision is tested on real metadata: ``.dist-info`` directories (METADATA and a
RECORD with real hashes) written into temporary site directories, which
``importlib.metadata`` reads as it reads any installed distribution. The slow test
installs real wheels into a throwaway virtualenv, as a user's pip would.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from redis_sessions import checks
from redis_sessions.checks.installation import DISTRIBUTION, installation_problems

ROOT = Path(__file__).resolve().parents[2]
OURS = b'"""django-redis-anatomy"""\n__version__ = "0.1.0"\n'
THEIRS = b"__version__ = '0.6.2'\n"  # django-redis-sessions' whole __init__.py


def record_line(path: str, content: bytes | None) -> str:
    if content is None:
        return f"{path},,"
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(content)}"


def dist_info(site: Path, name: str, version: str, files: dict[str, bytes | None]) -> None:
    """A distribution's metadata as pip leaves it: METADATA and RECORD."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = [record_line(path, content) for path, content in files.items()]
    lines += [f"{folder.name}/METADATA,,", f"{folder.name}/RECORD,,"]
    (folder / "RECORD").write_text("\n".join(lines) + "\n")


def package(site: Path, init: bytes = OURS) -> Path:
    """``redis_sessions/__init__.py`` with ``init`` in ``site``; its path."""
    path = site / "redis_sessions" / "__init__.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(init)
    (site / "redis_sessions" / "conf.py").write_text("")
    return path


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "lib" / "python3" / "site-packages"


def problems(init: Path, *sites: Path) -> list[tuple[str, list[str]]]:
    return installation_problems(init, [str(s) for s in sites])


def test_our_files_alone_with_their_recorded_hash_pass(site: Path) -> None:
    init = package(site)
    dist_info(site, DISTRIBUTION, "0.1.0", {"redis_sessions/__init__.py": OURS,
                                            "redis_sessions/conf.py": b""})  # fmt: skip
    assert problems(init, site) == []


def test_another_distribution_that_claims_our_init_file_is_named(site: Path) -> None:
    init = package(site, THEIRS)  # installed after us: its __init__.py won
    dist_info(site, DISTRIBUTION, "0.1.0", {"redis_sessions/__init__.py": OURS})
    theirs = {"redis_sessions/__init__.py": THEIRS, "redis_sessions/session.py": b"x"}
    dist_info(site, "django-redis-sessions", "0.6.2", theirs)
    [(problem, others)] = problems(init, site)
    assert others == ["django-redis-sessions"]
    assert "django-redis-sessions" in problem and str(site) in problem


def test_another_distribution_installed_before_us_is_named_too(site: Path) -> None:
    init = package(site, OURS)  # we were installed last: our file won, theirs is gone
    dist_info(site, DISTRIBUTION, "0.1.0", {"redis_sessions/__init__.py": OURS})
    dist_info(site, "django-redis-sessions", "0.6.2", {"redis_sessions/__init__.py": THEIRS})
    assert [others for _, others in problems(init, site)] == [["django-redis-sessions"]]


def test_an_init_file_that_is_not_the_one_we_installed_is_an_error(site: Path) -> None:
    init = package(site, THEIRS)  # overwritten, and the culprit's metadata is gone
    dist_info(site, DISTRIBUTION, "0.1.0", {"redis_sessions/__init__.py": OURS})
    [(problem, others)] = problems(init, site)
    assert "overwrote" in problem and others == []


def test_our_package_in_site_packages_without_our_metadata_is_an_error(site: Path) -> None:
    init = package(site)
    [(problem, _)] = problems(init, site)
    assert f"{DISTRIBUTION}'s metadata is missing" in problem


def test_an_egg_install_of_the_other_package_is_recognised_too(site: Path) -> None:
    init = package(site, THEIRS)
    dist_info(site, DISTRIBUTION, "0.1.0", {"redis_sessions/__init__.py": OURS})
    egg = site / "django_redis_sessions-0.6.2-py3.11.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: django-redis-sessions\n")
    (egg / "installed-files.txt").write_text("../redis_sessions/__init__.py\nPKG-INFO\n")
    assert [others for _, others in problems(init, site)] == [["django-redis-sessions"]]


def test_an_editable_install_passes(tmp_path: Path, site: Path) -> None:
    checkout = tmp_path / "checkout"
    init = package(checkout)  # the source tree, put on sys.path by a .pth file
    dist_info(site, DISTRIBUTION, "0.1.0", {"_editable_impl_django_redis_anatomy.pth": b"x"})
    assert problems(init, checkout, site) == []


def test_a_source_checkout_without_any_install_passes(tmp_path: Path) -> None:
    init = package(tmp_path / "checkout")
    assert problems(init, tmp_path / "checkout") == []


def test_a_checkout_shadowing_an_installed_copy_passes(tmp_path: Path, site: Path) -> None:
    init = package(tmp_path / "checkout", b"# being edited\n")
    package(site)
    dist_info(site, DISTRIBUTION, "0.1.0", {"redis_sessions/__init__.py": OURS})
    assert problems(init, tmp_path / "checkout", site) == []


def test_another_package_of_that_name_elsewhere_on_the_path_is_not_ours_to_judge(
    tmp_path: Path, site: Path
) -> None:
    init = package(site)
    dist_info(site, DISTRIBUTION, "0.1.0", {"redis_sessions/__init__.py": OURS})
    other = tmp_path / "other-site"
    package(other, THEIRS)
    dist_info(other, "django-redis-sessions", "0.6.2", {"redis_sessions/__init__.py": THEIRS})
    assert problems(init, site, other) == []


def test_the_check_passes_in_the_environment_running_the_tests() -> None:
    assert checks.check_installation() == []


# -- for real: pip, a throwaway virtualenv, wheels ----------------------------------------

SETTINGS = """
SECRET_KEY = "x"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth",
                  "django.contrib.sessions", "redis_sessions"]
REDIS_SESSIONS = {"URL": "redis://localhost:6379/0"}
"""


def stand_in_wheel(folder: Path) -> Path:
    """A wheel with django-redis-sessions 0.6.2's name and files (built here: no
    download), which pip installs as it installs the real one."""
    name = "django_redis_sessions-0.6.2"
    files = {
        "redis_sessions/__init__.py": THEIRS,
        "redis_sessions/session.py": b"# the other package's session engine\n",
        "redis_sessions/settings.py": b"",
        f"{name}.dist-info/METADATA": b"Metadata-Version: 2.1\nName: django-redis-sessions\n"
        b"Version: 0.6.2\n",
        f"{name}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: "
        b"true\nTag: py3-none-any\n",
        f"{name}.dist-info/top_level.txt": b"redis_sessions\n",
    }
    record = [record_line(path, content) for path, content in files.items()]
    path = folder / f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, content in files.items():
            wheel.writestr(member, content)
        wheel.writestr(
            f"{name}.dist-info/RECORD", "\n".join([*record, f"{name}.dist-info/RECORD,,"])
        )
    return path


@pytest.mark.slow
@pytest.mark.single_server("no Redis involved: the single-server pass covers it")
def test_pip_installing_the_other_package_fails_the_check_until_both_are_reinstalled(
    tmp_path: Path,
) -> None:
    from hatchling.builders.wheel import WheelBuilder

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # pip, Django and redis-py from this run's environment, after the venv's own files
    # (pip refuses to uninstall anything outside the venv: the dev install is safe)
    Path(purelib, "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheels = tmp_path / "wheels"
    [built] = WheelBuilder(str(ROOT)).build(directory=str(wheels), versions=["standard"])
    ours, theirs = Path(built), stand_in_wheel(wheels)
    pip = [python, "-m", "pip", "-q", "--disable-pip-version-check"]
    project = tmp_path / "project"
    project.mkdir()
    (project / "check_settings.py").write_text(SETTINGS)
    environ = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")
    }

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, "-m", "django", "check", "--settings=check_settings"],
            cwd=project, capture_output=True, text=True, env=environ,
        )  # fmt: skip

    def install(wheel: Path) -> None:
        subprocess.run(
            [*pip, "install", "--no-deps", "--no-index", str(wheel)], check=True, env=environ
        )

    install(ours)
    install(theirs)  # pip says nothing: it overwrites redis_sessions/__init__.py
    assert Path(purelib, "redis_sessions", "__init__.py").read_bytes() == THEIRS
    failed = check()
    assert failed.returncode == 1
    assert "redis_sessions.E030" in failed.stderr and "django-redis-sessions" in failed.stderr
    # the documented fix
    uninstall = [*pip, "uninstall", "-y", "django-redis-sessions", DISTRIBUTION]
    subprocess.run(uninstall, check=True, env=environ)
    install(ours)
    fixed = check()
    assert fixed.returncode == 0, fixed.stderr
