# SPDX-License-Identifier: MIT
"""``AsyncNullPool``: the AsyncPool interface without keeping connections (for PgBouncer and
serverless databases, where the pooling happens elsewhere)."""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

from . import errors as e
from ._pool_core import PERMIT
from .pool_async import AsyncCheckout, AsyncPool, _monotonic

__all__ = ["AsyncNullPool"]


class AsyncNullPool(AsyncPool):
    """The AsyncPool interface without keeping connections: every checkout opens a new
    connection (in the calling task) and every return closes it; at most ``max_size`` are
    open at once, further checkouts wait in order."""

    _null = True

    def __init__(self, dsn_or_callable: Union[str, Callable[[], Any]] = "", min_size: int = 0,
                 max_size: int = 10, **kwargs: Any) -> None:
        super().__init__(dsn_or_callable, min_size=min_size, max_size=max_size, **kwargs)

    async def _get(self, timeout: Optional[float], holder: AsyncCheckout) -> None:
        self._usable()
        state = self._state
        if state.closed:
            raise e.InterfaceError("the pool %r is closed" % self.name)
        if state.reserve(_monotonic()):
            holder._slot = PERMIT
        else:
            if timeout is None:
                timeout = self.timeout
            await self._wait(holder, False, _monotonic() + timeout if timeout else None)
        # holder has a permit: open its connection
        started = _monotonic()
        conn = error = None
        try:
            conn = await self._new_connection()
        except BaseException as exc:
            error = exc
            raise
        finally:
            if holder._slot is PERMIT:
                if conn is None:  # a cancelled connect is no connect error
                    holder._slot = None
                    self._release_permit(error if isinstance(error, Exception) else None)
                else:
                    now = _monotonic()
                    slot = holder._slot = state.new_slot(conn, now)
                    slot.lend(holder)
                    state.connected(slot, now, started)
