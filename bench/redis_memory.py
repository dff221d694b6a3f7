"""Reading Redis memory for the memory benches (memory.py, memory_levers.py,
view_window.py): one copy of the settled reading."""

from __future__ import annotations

import time

import redis


def settled_used_memory(client: redis.Redis) -> int:
    """``used_memory`` without client buffers, once two reads 0.3 s apart agree."""
    last = -1
    for _ in range(30):
        info = client.info("memory")
        now = int(info["used_memory"]) - int(info["mem_clients_normal"])
        if now == last:
            return now
        last = now
        time.sleep(0.3)
    return last
