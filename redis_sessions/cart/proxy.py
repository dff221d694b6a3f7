"""The shopping cart: a model-aware proxy over the book's ``cart:`` hash.

``Cart(request)`` (or ``request.cart`` with ``CartMiddleware``) is the visitor's cart;
``owner.py`` says where it lives. Nothing is sent to Redis until the cart is used,
and a visitor without a session who only looks at the cart never gets one. This module
holds ``Cart``'s constructors and writes; its reads, and the snapshot they share, are
in its base, ``reads.CartReads``.

Round trips: every write is one (a Lua script checks the limits, writes and keeps the
``carts:`` index in step, atomically) plus, for an item given by id with
``CART_VALIDATE_ITEMS``, one ``exists()`` query.

Async code has the ``a*`` twins (``redis.asyncio``, the ORM's async API). A sync write
called on a thread that runs an event loop raises ``SynchronousOnlyOperation`` naming
the async method to use.
"""

from __future__ import annotations

from typing import Any

from redis_sessions import keys
from redis_sessions.cart import lines as ops
from redis_sessions.cart.lines import CartLine
from redis_sessions.cart.owner import Target, session_target, user_target
from redis_sessions.cart.reads import CartReads, _refuse_on_event_loop
from redis_sessions.connection import arun, arun_raw, get_async_redis, get_redis, run, run_raw
from redis_sessions.exceptions import CartWrite, UnknownOutcome

__all__ = ["Cart", "CartLine"]


class Cart(CartReads):
    """A visitor's cart, or a cart named by ``for_session_key`` / ``for_user``.

    Items are model instances of ``CART_MODEL`` or their primary keys; ids are stored
    as strings. Bad input raises ``ValueError`` and changes nothing.
    """

    @classmethod
    def for_session_key(cls, session_key: str) -> Cart:
        """The anonymous cart of a session, for code outside a request."""
        if not keys.is_session_key(session_key):
            raise ValueError(f"{session_key!r} is not a session key.")
        return cls(target=session_target(session_key))

    @classmethod
    def for_user(cls, user: Any) -> Cart:
        """The cart of ``user`` (a user or a user id), for code outside a request."""
        return cls(target=user_target(getattr(user, "pk", user)))

    # -- writes ----------------------------------------------------------------------
    def add(self, item: Any, quantity: int = 1) -> int:
        """Add ``quantity`` units (HINCRBY within the limits); returns the new quantity."""
        _refuse_on_event_loop("add()", "aadd()")
        item_id, check = ops.clean_item(item)
        quantity = ops.clean_quantity(quantity, minimum=1)
        model = ops.model_to_check(check)
        if model is not None and not model._default_manager.filter(pk=item_id).exists():
            raise ops.unknown_item(model, item_id)
        return self._write("add", item_id, quantity, self._target(create=True))

    def set(self, item: Any, quantity: int) -> int:
        """Set a line's quantity; 0 removes the line. Returns the quantity set."""
        _refuse_on_event_loop("set()", "aset()")
        item_id, check = ops.clean_item(item)
        quantity = ops.clean_quantity(quantity, minimum=0)
        model = ops.model_to_check(check and quantity > 0)
        if model is not None and not model._default_manager.filter(pk=item_id).exists():
            raise ops.unknown_item(model, item_id)
        return self._write("set", item_id, quantity, self._target(create=quantity > 0))

    def remove(self, item: Any) -> None:
        """Remove a line (an item that no longer exists can still be removed)."""
        _refuse_on_event_loop("remove()", "aremove()")
        self._remove([ops.clean_item(item)[0]])

    def clear(self) -> int:
        """Empty the cart; returns the number of lines removed."""
        _refuse_on_event_loop("clear()", "aclear()")
        return self._remove(None)

    def _write(self, script: str, item_id: str, qty: int, target: Target | None) -> int:
        self.refresh()
        if target is None:  # set(item, 0) for a visitor without a session: nothing to do
            return 0
        # run_raw: the hot path's lean client (raw replies; the script answers ints)
        command = ops.write_command(script, target, item_id, qty)
        try:
            reply = run_raw(get_redis(), [command])[0]
        except UnknownOutcome as exc:
            raise _unknown(script, target, item_id, qty) from exc
        return ops.check_write(reply, item_id, qty, adding=script == "add")

    def _remove(self, item_ids: list[str] | None) -> int:
        target = self._target(create=False)
        self.refresh()
        if target is None:
            return 0
        return int(run(get_redis(), [ops.remove_command(target, item_ids)])[0])

    # -- async twins (redis.asyncio; the ORM through its a* methods) -------------------
    async def aadd(self, item: Any, quantity: int = 1) -> int:
        item_id, check = ops.clean_item(item)
        quantity = ops.clean_quantity(quantity, minimum=1)
        model = ops.model_to_check(check)
        if model is not None and not await model._default_manager.filter(pk=item_id).aexists():
            raise ops.unknown_item(model, item_id)
        return await self._awrite("add", item_id, quantity, await self._atarget(True))

    async def aset(self, item: Any, quantity: int) -> int:
        item_id, check = ops.clean_item(item)
        quantity = ops.clean_quantity(quantity, minimum=0)
        model = ops.model_to_check(check and quantity > 0)
        if model is not None and not await model._default_manager.filter(pk=item_id).aexists():
            raise ops.unknown_item(model, item_id)
        return await self._awrite("set", item_id, quantity, await self._atarget(quantity > 0))

    async def aremove(self, item: Any) -> None:
        await self._aremove([ops.clean_item(item)[0]])

    async def aclear(self) -> int:
        return await self._aremove(None)

    async def _awrite(self, script: str, item_id: str, qty: int, target: Target | None) -> int:
        self.refresh()
        if target is None:
            return 0
        command = ops.write_command(script, target, item_id, qty)
        try:
            reply = (await arun_raw(get_async_redis(), [command]))[0]
        except UnknownOutcome as exc:
            raise _unknown(script, target, item_id, qty) from exc
        return ops.check_write(reply, item_id, qty, adding=script == "add")

    async def _aremove(self, item_ids: list[str] | None) -> int:
        target = await self._atarget(False)
        self.refresh()
        if target is None:
            return 0
        return int((await arun(get_async_redis(), [ops.remove_command(target, item_ids)]))[0])


def _unknown(script: str, target: Target, item_id: str, qty: int) -> UnknownOutcome:
    # Never retried here or by the client: a second add could apply twice.
    write = CartWrite(script, target.key, item_id, qty)
    verb = f"add {qty} x" if write.operation == "add" else f"set to {qty}"
    return UnknownOutcome(
        f"Cart {write.operation} ({verb} {item_id!r}) sent, but Redis did not answer in time: "
        "it may or may not have been applied, and it was not retried. Read the cart "
        "(quantities()) before trying again.",
        attempted=write,
    )
