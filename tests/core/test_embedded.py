from __future__ import annotations

import os
import subprocess
import sys

import redis

from redis_sessions import embedded


def test_start_serves_a_private_unix_socket_and_stop_cleans_up() -> None:
    server = embedded.start()
    try:
        client = redis.Redis.from_url(server.url)
        assert client.ping()
        assert client.config_get("port")["port"] == "0"  # no TCP port opened
    finally:
        server.stop()
    assert not server.directory.exists()
    assert server.process.poll() is not None


def test_ensure_redis_url_prefers_the_environment(monkeypatch: object) -> None:
    env = dict(os.environ, REDIS_URL="redis://example.invalid:1/0")
    out = subprocess.run(
        [sys.executable, "-c",
         "from redis_sessions.embedded import ensure_redis_url; print(ensure_redis_url())"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "redis://example.invalid:1/0"


def test_server_started_for_a_process_dies_with_it() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    code = (
        "import os, sys\n"
        "from redis_sessions.embedded import ensure_redis_url\n"
        "print(ensure_redis_url(), flush=True)\n"
        "os._exit(0)\n"  # no atexit: only the parent-death signal can stop the server
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)  # fmt: skip
    url = out.stdout.strip()
    assert url.startswith("unix://")
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            client.ping()
        except redis.ConnectionError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the private server outlived the process that started it")
