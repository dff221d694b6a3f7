"""A small shop that keeps its sessions, carts, caches and view analytics in Redis.

Not part of the distribution: it exists to run, demonstrate and benchmark
``redis_sessions``.
"""
