"""Settings for bench/partitions.py: bench/load.py's settings with the app pointed at a
Redis Cluster node ($REDIS_URL, ``CLUSTER: True``); ``PARTITIONS`` comes from
$REDIS_PARTITIONS and ``KEY_PREFIX`` from $REDIS_KEY_PREFIX (demo_project/settings.py)."""

from __future__ import annotations

import os

from bench.load_settings import *  # noqa: F403
from bench.load_settings import REDIS_SESSIONS

REDIS_SESSIONS = {**REDIS_SESSIONS, "URL": os.environ["REDIS_URL"], "CLUSTER": True}
