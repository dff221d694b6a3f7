"""``manage.py clean_sessions``: options, exit codes, signals and being killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from redis_sessions import keys
from redis_sessions.loops import read_heartbeat
from redis_sessions.sessions.clean import clean_pass
from tests.support.populate import populate, session_key
from tests.support.sessions import assert_consistent, key_space

ROOT = Path(__file__).resolve().parents[2]


def clean(*args: str) -> str:
    out = StringIO()
    call_command("clean_sessions", *args, stdout=out)
    return out.getvalue()


def test_once_keeps_the_limit_prints_a_summary_and_writes_a_heartbeat(redis: Any) -> None:
    populate(12)
    out = clean("--once", "--limit", "5", "--batch-size", "4")
    assert "removed 7 sessions (0 expired, 7 beyond the limit)" in out
    assert redis.zcard(keys.recent()) == 5
    beat = read_heartbeat("clean_sessions")
    assert beat is not None and beat["summary"]["removed"] == 7
    assert not redis.exists(keys.loop_lock("clean_sessions"))


def test_verbosity_2_logs_every_batch(redis: Any) -> None:
    populate(9)
    out = clean("--once", "--limit", "0", "--batch-size", "4", "-v", "2")
    assert out.count("batch (limit)") == 3


def test_dry_run_counts_and_removes_nothing(redis: Any) -> None:
    populate(8)
    redis.zadd(keys.recent(), {session_key(0): 1.0})  # idle for decades
    before = key_space(redis)
    out = clean("--once", "--dry-run", "--limit", "3")
    assert "dry run: 8 sessions, 5 beyond the limit, 1 idle past SESSION_COOKIE_AGE" in out
    assert key_space(redis) == before


def test_unreachable_redis_in_once_mode_is_a_one_line_command_error(settings: Any) -> None:
    dead = {**settings.REDIS_SESSIONS, "URL": "redis://127.0.0.1:1/0"}
    with override_settings(REDIS_SESSIONS=dead), pytest.raises(CommandError) as error:
        clean("--once")
    assert "Redis is unavailable" in str(error.value) and "\n" not in str(error.value)


def test_a_negative_batch_size_is_refused() -> None:
    with pytest.raises(CommandError, match="--batch-size must be positive"):
        clean("--once", "--batch-size", "0")


def command(prefix: str, *args: str) -> subprocess.Popen[str]:
    """The real command in a child process, on this test's server and key prefix."""
    env = {**os.environ, "REDIS_KEY_PREFIX": prefix,
           "DJANGO_SETTINGS_MODULE": "demo_project.settings"}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "manage.py", "clean_sessions", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for(condition: Any, process: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the command never got there"
        time.sleep(0.01)


@pytest.mark.single_server("a manage.py subprocess, single server")
@pytest.mark.slow
def test_killed_mid_pass_leaves_no_half_deleted_session(redis: Any, redis_keyspace: str) -> None:
    total = 40_000
    populate(total)
    child = command(redis_keyspace, "--once", "--limit", "0", "--batch-size", "5")
    wait_for(lambda: redis.zcard(keys.recent()) < total - 2_000, child)
    child.send_signal(signal.SIGKILL)
    child.wait()

    left = redis.zcard(keys.recent())
    assert 0 < left < total  # killed mid-pass
    assert_consistent(redis)  # no orphan key, no index entry without its session
    assert clean_pass(limit=0)["removed"] == left
    assert key_space(redis) == set()


@pytest.mark.single_server("a manage.py subprocess, single server")
@pytest.mark.slow
def test_sigterm_finishes_the_batch_prints_a_summary_and_exits_0(
    redis: Any, redis_keyspace: str
) -> None:
    populate(20)
    child = command(redis_keyspace, "--interval", "0.1", "--limit", "10")
    wait_for(lambda: read_heartbeat("clean_sessions") is not None, child)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert "removed 10 sessions" in out
    assert redis.zcard(keys.recent()) == 10
    assert not redis.exists(keys.loop_lock("clean_sessions"))


def test_unreachable_redis_in_once_mode_exits_1_with_one_line(redis_keyspace: str) -> None:
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_KEY_PREFIX": redis_keyspace,
           "DJANGO_SETTINGS_MODULE": "demo_project.settings"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "manage.py", "clean_sessions", "--once"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("CommandError: Redis is unavailable")
