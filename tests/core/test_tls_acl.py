"""ACL users (``user:password@``) and TLS (``rediss://``) through the same settings.

Each test starts its own server: an ACL user that may do what the app does and no
more (no ``@dangerous`` commands, only this test's key prefix), and, for TLS, a
throwaway CA and server certificate made with the ``openssl`` CLI.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
import redis
from django.test import Client

from redis_sessions import connection, embedded, keys
from redis_sessions.backends.redis import SessionStore
from redis_sessions.connection import get_redis, run
from redis_sessions.doctor import diagnose
from redis_sessions.exceptions import RedisUnavailable

pytestmark = pytest.mark.single_server("starts its own single Redis")

PASSWORD = "s3cret-pw"


def add_app_user(server: embedded.EmbeddedRedis, name: str = "app") -> None:
    """An ACL user limited to this test's keys, without the @dangerous commands
    (FLUSHALL, CONFIG, KEYS, INFO, ...); EVALSHA and SCRIPT LOAD stay allowed."""
    admin = redis.Redis(unix_socket_path=str(server.socket))
    pattern = keys.escape_glob(keys.prefix()) + "*"
    admin.execute_command(
        "ACL", "SETUSER", name, "on", f">{PASSWORD}", f"~{pattern}", "&*", "+@all", "-@dangerous"
    )
    admin.close()


def session_round_trip(tls: bool = False) -> None:
    """A visitor writes and reads a session through the request path, sync and async."""
    client = Client(raise_request_exception=True)
    assert client.get("/write/").status_code == 200
    assert client.get("/view/item-1/").content == b"1"
    assert client.get("/write/").status_code == 200
    key = client.cookies["sessionid"].value
    assert SessionStore(key)["n"] == 2

    async def async_twin() -> None:
        pool = connection.get_async_redis().connection_pool
        assert issubclass(pool.connection_class, redis.asyncio.SSLConnection) is tls
        store = SessionStore(key)
        assert await store.aget("n") == 2
        await store.aset("n", 3)
        await store.asave()

    if django.VERSION >= (5, 1):  # Django's async session API
        asyncio.run(async_twin())
        assert client.get("/read/").content == b"3"
    else:
        assert client.get("/read/").content == b"2"
    assert issubclass(get_redis().connection_pool.connection_class, redis.SSLConnection) is tls


@pytest.fixture
def private(settings: Any) -> Iterator[list[embedded.EmbeddedRedis]]:
    servers: list[embedded.EmbeddedRedis] = []
    yield servers
    settings.REDIS_SESSIONS = {k: v for k, v in settings.REDIS_SESSIONS.items() if k != "URL"}
    connection.reset()
    for server in servers:
        server.stop()


def test_acl_user_runs_sessions_through_a_unix_url_with_credentials(
    private: list[embedded.EmbeddedRedis], settings: Any
) -> None:
    server = embedded.start()
    private.append(server)
    add_app_user(server)
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS,
        "URL": f"unix://app:{PASSWORD}@{server.socket}",
    }
    session_round_trip()  # the first EVALSHA also goes through NOSCRIPT + SCRIPT LOAD
    with pytest.raises(redis.exceptions.NoPermissionError):
        run(get_redis(), [("FLUSHALL",)])  # the user really is limited
    with pytest.raises(redis.exceptions.NoPermissionError):
        run(get_redis(), [("SET", "outside-the-prefix", 1)])
    report = diagnose()  # INFO is refused: the doctor says it cannot tell, not FAIL
    assert not report.unsafe
    assert Client().get("/health/").status_code == 200


def test_acl_user_through_the_django_redis_alias(
    private: list[embedded.EmbeddedRedis], settings: Any
) -> None:
    server = embedded.start()
    private.append(server)
    add_app_user(server)
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"unix://app:{PASSWORD}@{server.socket}",
        },
    }
    session_round_trip()
    assert get_redis().connection_pool.connection_kwargs["username"] == "app"


def test_a_wrong_password_is_a_clear_fast_failure(
    private: list[embedded.EmbeddedRedis], settings: Any
) -> None:
    server = embedded.start()
    private.append(server)
    add_app_user(server)
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "URL": f"unix://app:nope@{server.socket}"}
    with pytest.raises(RedisUnavailable, match="invalid username-password"):
        SessionStore("abcdefgh12345678").load()
    assert diagnose().unsafe


# -- TLS ------------------------------------------------------------------------------
def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_certificates(directory: Path, name: str = "ca") -> dict[str, Path]:
    """A throwaway CA and a server certificate for localhost / 127.0.0.1."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    # Python 3.13 verifies strictly (VERIFY_X509_STRICT): a CA needs its key usage.
    openssl("req", "-x509", *ec, "-days", "1", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=directory)  # fmt: skip
    openssl("req", *ec, "-subj", "/CN=localhost", "-keyout", "server.key",
            "-out", "server.csr", cwd=directory)  # fmt: skip
    (directory / "san.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    openssl("x509", "-req", "-in", "server.csr", "-CA", f"{name}.crt", "-CAkey", f"{name}.key",
            "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "server.crt",
            cwd=directory)  # fmt: skip
    return {"ca": directory / f"{name}.crt", "cert": directory / "server.crt",
            "key": directory / "server.key"}  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_tls_server(directory: Path) -> tuple[embedded.EmbeddedRedis, int, dict[str, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("TLS test needs the openssl CLI to make a throwaway CA")
    certs = make_certificates(directory)
    port = free_port()
    try:
        server = embedded.start(
            "--tls-port", str(port), "--bind", "127.0.0.1",
            "--tls-cert-file", str(certs["cert"]), "--tls-key-file", str(certs["key"]),
            "--tls-ca-cert-file", str(certs["ca"]), "--tls-auth-clients", "no",
        )  # fmt: skip
    except embedded.EmbeddedRedisError as exc:
        message = str(exc).lower()
        if "tls" in message or "bad directive" in message:
            pytest.skip(f"this redis-server was built without TLS support: {exc}")
        raise
    return server, port, certs


def test_sessions_over_tls_with_an_acl_user_sync_and_async(
    private: list[embedded.EmbeddedRedis], settings: Any, tmp_path: Path
) -> None:
    server, port, certs = start_tls_server(tmp_path)
    private.append(server)
    add_app_user(server)
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS,
        "URL": f"rediss://app:{PASSWORD}@localhost:{port}/0"
        f"?ssl_cert_reqs=required&ssl_ca_certs={certs['ca']}",
    }
    session_round_trip(tls=True)
    assert isinstance(get_redis().connection_pool.connection_kwargs.get("ssl_ca_certs"), str)
    assert "(TLS) as app" in diagnose().findings[0].detail


def test_tls_through_the_django_redis_alias(
    private: list[embedded.EmbeddedRedis], settings: Any, tmp_path: Path
) -> None:
    server, port, certs = start_tls_server(tmp_path)
    private.append(server)
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"rediss://localhost:{port}/0",
            "OPTIONS": {
                "CONNECTION_POOL_KWARGS": {
                    "ssl_cert_reqs": "required",
                    "ssl_ca_certs": str(certs["ca"]),
                },
            },
        },
    }
    session_round_trip(tls=True)


def test_a_server_certificate_from_another_ca_is_refused(
    private: list[embedded.EmbeddedRedis], settings: Any, tmp_path: Path
) -> None:
    (tmp_path / "server").mkdir()
    (tmp_path / "other").mkdir()
    server, port, _ = start_tls_server(tmp_path / "server")
    private.append(server)
    other = make_certificates(Path(tmp_path / "other"), name="other-ca")
    settings.REDIS_SESSIONS = {
        **settings.REDIS_SESSIONS,
        "URL": f"rediss://localhost:{port}/0?ssl_cert_reqs=required&ssl_ca_certs={other['ca']}",
    }
    with pytest.raises(RedisUnavailable, match=r"(?i)certificate"):
        SessionStore("abcdefgh12345678").load()
    assert diagnose().unsafe
