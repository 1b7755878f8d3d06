# SPDX-License-Identifier: MIT
"""An AsyncPool checkout's ``async with`` block, and a return that a cancellation cannot cut
in two.

A task is cancelled only where it awaits, so the pool's hand-overs (no await inside) are
whole. The return awaits (rollback, reset): cancelled there, it closes the connection and
counts it before the cancellation goes on (on trio it runs shielded, so it always ends); a
coroutine being closed (GeneratorExit) cannot await at all, so its connection is closed at
once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from . import errors as e

if TYPE_CHECKING:  # pragma: no cover
    from ._pool_core import Slot
    from .connection_async import AsyncConnection

__all__ = ["AsyncCheckout"]


class AsyncCheckout:
    """``pool.connection()``: the connection for an ``async with`` block."""

    __slots__ = ("_pool", "_timeout", "_slot", "_conn")

    def __init__(self, pool: Any, timeout: Optional[float]) -> None:
        self._pool = pool
        self._timeout = timeout
        self._slot: Optional["Slot"] = None  # set and cleared by the pool, never across an await
        self._conn: Any = None  # the connection lent (the pool's reference is weak: Slot)

    async def __aenter__(self) -> "AsyncConnection":
        if self._slot is not None:
            raise e.InterfaceError("this pool.connection() block is already in use")
        try:
            await self._pool._get(self._timeout, self)
        except BaseException as exc:
            if self._slot is not None:  # cancelled in check(): the connection was ours
                await self._give_back(isinstance(exc, GeneratorExit))
            raise
        return self._slot.conn  # type: ignore[union-attr]

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        slot = self._slot
        if slot is None:
            return
        closing = exc_type is GeneratorExit  # the coroutine is being closed: no waiting
        try:
            conn = slot.conn
            # PEP 249 mode: commit at the end of a block that ended normally (as Pool)
            if exc_type is None and not conn.autocommit:
                status = conn.transaction_status
                if status == "active" and await self._pool._end_pending(conn):  # dropped COPY
                    status = conn.transaction_status
                if status in ("intransaction", "inerror"):
                    await conn.commit()
        finally:
            await self._give_back(closing)

    async def _give_back(self, closing: bool = False) -> None:
        """Return the connection; a cancellation during the return finishes it first (the
        connection is then closed, as its state is not known)."""
        pool = self._pool
        pending = None
        while self._slot is not None:
            try:
                if closing:
                    pool._drop_now(self)
                elif pool._shield is None:
                    await pool._put(self)
                else:
                    with pool._shield():
                        await pool._put(self)
            except BaseException as exc:
                closing = closing or isinstance(exc, GeneratorExit)
                if pending is None:
                    pending = exc
        self._conn = None
        if pending is not None:
            raise pending
