"""What a cart reads: ``CartReads``, the base of ``proxy.Cart``, with whose cart it is
and the snapshot its reads share (``Cart`` adds the constructors and the writes).

Round trips: ``quantities()`` is always one fresh ``HGETALL``; the other reads
(``len``, ``count``, iteration, ``total``) share one snapshot per cart object, dropped
by every write through it, so a page that shows the badge, the lines and the total
costs one round trip and one query.

A sync method called on a thread that runs an event loop (an async view, a template
rendered by ``render()`` in one) never blocks it on Redis: it answers from what ``await
cart.aprefetch()`` loaded, or raises ``SynchronousOnlyOperation`` naming the async
method to use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import TypeVar

from django.core.exceptions import SynchronousOnlyOperation
from django.http import HttpRequest

from redis_sessions.cart import lines as ops
from redis_sessions.cart.lines import CartLine
from redis_sessions.cart.owner import Target, arequest_target, request_target
from redis_sessions.connection import arun, arun_raw, get_async_redis, get_redis, run, run_raw

# aprefetch() returns the cart it was called on: a Cart, not just its base.
_Cart = TypeVar("_Cart", bound="CartReads")


class CartReads:
    """The base of ``Cart``: its owner, its reads (sync, async, and on the event loop
    from what ``aprefetch`` loaded) and the snapshot they share."""

    def __init__(self, request: HttpRequest | None = None, *, target: Target | None = None):
        if request is None and target is None:
            raise TypeError("Cart() needs a request; see Cart.for_session_key / for_user.")
        self._request = request
        self._fixed = target
        self._snapshot: tuple[str, dict[str, int]] | None = None
        self._lines: tuple[str, list[CartLine]] | None = None
        # The owner aprefetch() found, for reads on the event loop: (target,) or None.
        self._prefetched: tuple[Target | None] | None = None

    def _target(self, create: bool) -> Target | None:
        # Resolved on every call, not once: login and logout change whose cart it is.
        return self._fixed or request_target(self._request, create=create)

    async def _atarget(self, create: bool) -> Target | None:
        return self._fixed or await arequest_target(self._request, create=create)

    @property
    def key(self) -> str | None:
        """The Redis key of this cart, or None while the visitor has no session."""
        if _on_event_loop():
            return self._prefetched_target("Cart.key", "aprefetch() before reading it")
        target = self._target(create=False)
        return None if target is None else target.key

    def refresh(self) -> None:
        """Forget the snapshot: the next read asks Redis again."""
        self._snapshot = self._lines = None
        self._prefetched = None

    def _keep(self, target: Target, quantities: dict[str, int]) -> dict[str, int]:
        self._snapshot, self._lines = (target.key, quantities), None
        return dict(quantities)

    # -- reads -----------------------------------------------------------------------
    def quantities(self) -> dict[str, int]:
        """``{item id: quantity}``, fresh from Redis in one round trip."""
        _refuse_on_event_loop("quantities()", "aquantities()")
        target = self._target(create=False)
        if target is None:
            return {}
        raw = run_raw(get_redis(), [ops.read_command(target)])[0]
        return self._keep(target, ops.parse_quantities(raw))

    def _current(self, method: str, twin: str) -> tuple[Target | None, dict[str, int]]:
        if _on_event_loop():
            return self._prefetched_quantities(method, twin)
        target = self._target(create=False)
        if target is None:
            return None, {}
        if self._snapshot is None or self._snapshot[0] != target.key:
            self.quantities()
        assert self._snapshot is not None
        return target, self._snapshot[1]

    def __len__(self) -> int:
        """Number of lines (distinct items)."""
        return len(self._current("len(cart)", "alen()")[1])

    def count(self) -> int:
        """Total units in the cart (the header badge)."""
        return sum(self._current("Cart.count()", "acount()")[1].values())

    def lines(self) -> list[CartLine]:
        """The lines in primary key order, their items loaded with ONE query.

        Lines whose item no longer exists are dropped, from Redis too.
        """
        target, quantities = self._current("Cart.lines()", "alines()")
        if target is None:
            return []
        if self._lines is not None and self._lines[0] == target.key:
            return self._lines[1]
        if _on_event_loop():
            raise _blocking("Cart.lines()", "alines()", "aprefetch(lines=True) before rendering")
        model = ops.require_model()
        usable, junk = ops.lookup_ids(model, list(quantities))
        found = model._default_manager.in_bulk(list(usable.values())) if usable else {}
        lines, gone = ops.build_lines(quantities, usable, junk, found)
        if gone:
            run(get_redis(), [ops.remove_command(target, gone)])
        return self._keep_lines(target, quantities, lines, gone)

    def _keep_lines(
        self, target: Target, quantities: dict[str, int], lines: list[CartLine], gone: list[str]
    ) -> list[CartLine]:
        self._keep(target, {k: v for k, v in quantities.items() if k not in gone})
        self._lines = (target.key, lines)
        return lines

    def __iter__(self) -> Iterator[CartLine]:
        return iter(self.lines())

    def total(self) -> Decimal | None:
        """Sum of the line totals; None when the model has no price field."""
        return ops.sum_totals(self.lines())

    # -- reads on the event loop (a template rendered by an async view) ----------------
    async def aprefetch(self: _Cart, *, lines: bool = False) -> _Cart:
        """Load what a template reads, so that ``{{ cart.count }}``, ``len`` (and with
        ``lines=True`` the lines, their items and ``total``) render on the event loop
        without blocking it: one round trip (and one async query for the lines). Call
        it again after a write or a login. Returns the cart."""
        target = await self._atarget(False)
        if target is not None:
            await self._aread(target)
            if lines:
                await self.alines()
        self._prefetched = (target,)
        return self

    def _prefetched_target(self, method: str, *instead: str) -> str | None:
        if self._prefetched is None:
            raise _blocking(method, *instead)
        target = self._prefetched[0]
        return None if target is None else target.key

    def _prefetched_quantities(
        self, method: str, twin: str
    ) -> tuple[Target | None, dict[str, int]]:
        key = self._prefetched_target(method, twin, "aprefetch() before rendering")
        if key is None:
            return None, {}
        if self._snapshot is None or self._snapshot[0] != key:  # read since, for another owner
            raise _blocking(method, twin, "aprefetch() again")
        assert self._prefetched is not None
        return self._prefetched[0], self._snapshot[1]

    # -- async twins (redis.asyncio; the ORM through its a* methods) -------------------
    async def aquantities(self) -> dict[str, int]:
        target = await self._atarget(False)
        if target is None:
            return {}
        return await self._aread(target)

    async def _aread(self, target: Target) -> dict[str, int]:
        raw = (await arun_raw(get_async_redis(), [ops.read_command(target)]))[0]
        return self._keep(target, ops.parse_quantities(raw))

    async def _acurrent(self) -> tuple[Target | None, dict[str, int]]:
        target = await self._atarget(False)
        if target is None:
            return None, {}
        if self._snapshot is None or self._snapshot[0] != target.key:
            await self.aquantities()
        assert self._snapshot is not None
        return target, self._snapshot[1]

    async def alen(self) -> int:
        return len((await self._acurrent())[1])

    async def acount(self) -> int:
        return sum((await self._acurrent())[1].values())

    async def alines(self) -> list[CartLine]:
        target, quantities = await self._acurrent()
        if target is None:
            return []
        if self._lines is not None and self._lines[0] == target.key:
            return self._lines[1]
        model = ops.require_model()
        usable, junk = ops.lookup_ids(model, list(quantities))
        found = await model._default_manager.ain_bulk(list(usable.values())) if usable else {}
        lines, gone = ops.build_lines(quantities, usable, junk, found)
        if gone:
            await arun(get_async_redis(), [ops.remove_command(target, gone)])
        return self._keep_lines(target, quantities, lines, gone)

    async def atotal(self) -> Decimal | None:
        return ops.sum_totals(await self.alines())


def _on_event_loop() -> bool:
    """Whether this thread runs an event loop (sync I/O here would block it)."""
    return asyncio._get_running_loop() is not None


def _blocking(method: str, *instead: str) -> SynchronousOnlyOperation:
    """The error for a sync read or write on the event loop, naming what to await."""
    use = " or ".join(f"`await cart.{name}`" for name in instead)
    return SynchronousOnlyOperation(
        f"{method} was called on the event loop (in an async view, or a template "
        f"rendered there) and would block it on Redis: use {use}."
    )


def _refuse_on_event_loop(method: str, twin: str) -> None:
    if _on_event_loop():
        raise _blocking(f"Cart.{method}", twin)
