# SPDX-License-Identifier: MIT
"""``NullPool``: the Pool interface without keeping connections (for PgBouncer and serverless
databases, where the pooling happens elsewhere)."""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

from . import errors as e
from ._pool_checkout import Checkout, masked
from ._pool_core import PERMIT
from .pool import Pool, _monotonic

__all__ = ["NullPool"]


class NullPool(Pool):
    """The Pool interface without keeping connections: every checkout opens a new
    connection (in the calling thread) and every return closes it; at most ``max_size``
    are open at once, further checkouts wait in order. For PgBouncer and serverless
    databases, where the pooling happens elsewhere."""

    _null = True

    def __init__(self, dsn_or_callable: Union[str, Callable[[], str]] = "", min_size: int = 0,
                 max_size: int = 10, **kwargs: Any) -> None:
        super().__init__(dsn_or_callable, min_size=min_size, max_size=max_size, **kwargs)

    def _get(self, timeout: Optional[float], holder: Checkout) -> None:
        self._usable()
        w = None
        try:
            with masked(), self._lock:
                if self._state.closed:
                    raise e.InterfaceError("the pool %r is closed" % self.name)
                if self._state.reserve(_monotonic()):
                    holder._slot = PERMIT
                else:
                    w = self._enqueue(False)
            if w is not None:
                if timeout is None:
                    timeout = self.timeout
                self._wait(w, _monotonic() + timeout if timeout else None, holder)
        except BaseException:  # e.g. a signal that came while masked: leave the queue
            if w is not None:
                self._settle(w, None, holder)
            raise
        # holder has a permit: open its connection
        started = _monotonic()
        conn = error = None
        try:
            conn = self._new_connection()
        except BaseException as exc:
            error = exc
            raise
        finally:
            with masked(), self._lock:
                if holder._slot is PERMIT:
                    if conn is None:
                        self._release_permit(holder, error)
                    else:
                        slot = holder._slot = self._state.new_slot(conn, _monotonic())
                        slot.lend(holder)
                        self._state.connected(slot, _monotonic(), started)
