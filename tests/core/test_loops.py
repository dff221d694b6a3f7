from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from redis_sessions import keys
from redis_sessions.loops import LoopRunner, read_heartbeat


def test_once_runs_one_pass_writes_heartbeat_and_releases_lock(redis: Any) -> None:
    runner = LoopRunner("demo", once=True)
    summaries = runner.run(lambda r: {"removed": 3})
    assert summaries == [{"removed": 3}]
    beat = read_heartbeat("demo")
    assert beat is not None and beat["summary"] == {"removed": 3} and beat["pass"] == 1
    assert not redis.exists(keys.loop_lock("demo"))


def test_second_instance_waits_until_the_first_releases(redis: Any) -> None:
    first = LoopRunner("solo", once=True)
    first._acquire()
    messages: list[str] = []
    second = LoopRunner("solo", once=True, log=messages.append)
    done: list[float] = []
    thread = threading.Thread(target=lambda: done.append(len(second.run(lambda r: {}))))
    thread.start()
    time.sleep(0.5)
    assert done == []
    assert any("another instance holds the lock" in m for m in messages)
    first._release()
    thread.join(5)
    assert done == [1]


def test_stop_request_ends_the_loop_after_the_current_pass(redis: Any) -> None:
    runner = LoopRunner("stopper", interval=0.05)
    calls: list[int] = []

    def one_pass(r: LoopRunner) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 3:
            r.request_stop()
        assert r.keep_going() is (len(calls) < 3)
        return {"n": len(calls)}

    assert [s["n"] for s in runner.run(one_pass)] == [1, 2, 3]


@pytest.mark.single_server("pauses a single Redis of its own")
def test_a_redis_outage_while_the_loop_sleeps_does_not_end_it(settings: Any) -> None:
    from redis_sessions import embedded

    server = embedded.start()
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "URL": server.url,
                               "CIRCUIT_BREAKER_SECONDS": 0}  # fmt: skip
    runner = LoopRunner("sleeper", interval=0.6, lock_timeout=1)
    passes: list[float] = []

    def one_pass(r: LoopRunner) -> dict[str, Any]:
        passes.append(time.monotonic())
        if len(passes) == 1:  # after this pass and its heartbeat, Redis hangs for 1 s:
            # the lock renewals during the sleep fail (SIGSTOP, then SIGCONT)
            threading.Timer(0.15, lambda: server.process.send_signal(19)).start()
            threading.Timer(1.15, lambda: server.process.send_signal(18)).start()
        if len(passes) == 2:
            r.request_stop()
        return {}

    try:
        summaries = runner.run(one_pass)
    finally:
        server.process.send_signal(18)
        settings.REDIS_SESSIONS = {k: v for k, v in settings.REDIS_SESSIONS.items()
                                   if k not in ("URL", "CIRCUIT_BREAKER_SECONDS")}  # fmt: skip
        server.stop()
    assert len(summaries) == 2  # the loop went on after the outage


@pytest.mark.single_server("fills a single Redis of its own")
def test_a_full_redis_is_logged_once_per_outage_and_its_end_once(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis full (maxmemory, noeviction): each failed pass is retried with a back-off,
    but the log says it once, and once more when a pass succeeds again."""
    import logging

    import redis as redis_py

    from redis_sessions import embedded
    from redis_sessions.connection import get_redis, run

    server = embedded.start("--maxmemory-policy", "noeviction")
    admin = redis_py.Redis(unix_socket_path=str(server.socket))
    settings.REDIS_SESSIONS = {**settings.REDIS_SESSIONS, "URL": server.url}
    runner = LoopRunner("filler", interval=0, lock_timeout=5)
    backoffs: list[float] = []

    def sleep(seconds: float) -> None:  # the back-off's waits, counted, not slept
        if seconds >= 1:
            backoffs.append(seconds)
            if len(backoffs) == 3:  # room again after the third retry
                admin.config_set("maxmemory", 0)

    runner.sleep = sleep  # type: ignore[method-assign]
    passes: list[int] = []

    def one_pass(r: LoopRunner) -> dict[str, Any]:
        passes.append(1)
        if len(passes) == 1:  # full from the first pass's write on
            admin.config_set("maxmemory", 1)
        else:
            r.request_stop()
        run(get_redis(), [("SET", keys.prefix() + "filler", "x" * 1000)])
        return {}

    try:
        with caplog.at_level(logging.DEBUG, logger="redis_sessions.loops"):
            summaries = runner.run(one_pass)
    finally:
        admin.config_set("maxmemory", 0)
        settings.REDIS_SESSIONS = {k: v for k, v in settings.REDIS_SESSIONS.items()
                                   if k != "URL"}  # fmt: skip
        server.stop()
    assert backoffs == [1.0, 2.0, 4.0] and len(summaries) == 1
    mine = [r for r in caplog.records if r.name == "redis_sessions.loops"]
    warnings = [r.getMessage() for r in mine if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "refused a write" in warnings[0]
    retries = [r for r in mine if r.levelno == logging.DEBUG and "retrying in" in r.getMessage()]
    assert len(retries) == 2  # the second and third failures
    assert "filler: Redis answers again; passes resumed" in [
        r.getMessage() for r in mine if r.levelno == logging.INFO
    ]
