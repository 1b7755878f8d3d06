# SPDX-License-Identifier: MIT
"""LISTEN/NOTIFY for ``AsyncConnection`` (a front end: it awaits the socket on the event
loop, asyncio or trio).

The queue, the conversion and the loss report are the core's (_notify.NotifyCore, held by
the AsyncConnection's engine); this adds the awaited calls and the wait of
:meth:`AsyncNotifications.notifies`. Waiting on the socket needs the connection's turn
(no other call may wait on it meanwhile), so notifies() takes it for at most
``_SLICE_SECONDS`` at a time and lets other tasks' statements run in between.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Optional

from ._notify import (LIMIT_SQL, MAX_CHANNEL_BYTES, NOTIFY_SQL, Notify, NotifyCore,
                      check_stop_after, deadline_of, remaining)

__all__ = ["AsyncNotifications"]

# The longest notifies() holds the connection's turn while waiting: another task's statement
# on the same connection may wait that long for its turn.
_SLICE_SECONDS = 0.2


class AsyncNotifications:
    """The LISTEN/NOTIFY methods of ``AsyncConnection`` (which gives ``_engine``, the sync
    Connection code it runs, ``execute``, ``_acquire``/``_release`` and
    ``_wait_readable``)."""

    _engine: Any

    async def listen(self, channel: str) -> None:
        """Start receiving notifications sent on ``channel`` (see
        :meth:`Connection.listen`)."""
        await self._valid_channel(channel)
        await self.execute(NotifyCore._listen_sql(channel))  # type: ignore[attr-defined]

    async def unlisten(self, channel: Optional[str] = None) -> None:
        """Stop receiving notifications on ``channel`` (every channel when None)."""
        if channel is not None:
            await self._valid_channel(channel)
        await self.execute(NotifyCore._unlisten_sql(channel))  # type: ignore[attr-defined]

    async def notify(self, channel: str, payload: Optional[str] = None) -> None:
        """Send a notification on ``channel`` (``pg_notify``: both go as parameters)."""
        await self._valid_channel(channel)
        await self.execute(NOTIFY_SQL,  # type: ignore[attr-defined]
                           NotifyCore._notify_params(channel, payload))

    async def _valid_channel(self, channel: str) -> None:
        eng = self._engine
        size = eng._channel_size(channel)
        if size > MAX_CHANNEL_BYTES:
            limit = eng._channel_limit
            if limit is None:
                limit = int((await self.query_one(LIMIT_SQL))[0])  # type: ignore
            eng._check_channel(channel, size, limit)

    @property
    def notify_limit(self) -> int:
        """See :attr:`Connection.notify_limit`."""
        return self._engine.notify_limit

    @notify_limit.setter
    def notify_limit(self, value: int) -> None:
        self._engine.notify_limit = value

    @property
    def notifies_lost(self) -> int:
        """See :attr:`Connection.notifies_lost`."""
        return self._engine.notifies_lost

    def notifies(self, timeout: Optional[float] = None,
                 stop_after: Optional[int] = None) -> AsyncIterator[Notify]:
        """``async for n in conn.notifies(timeout=…, stop_after=…)``: as
        :meth:`Connection.notifies`, awaiting the socket on the event loop. Cancelling the
        task ends the wait; notifications not yet handed out stay queued."""
        check_stop_after(stop_after)
        deadline = deadline_of(timeout)
        self._engine._handle()
        return self._aiter_notifies(deadline, stop_after)

    async def _aiter_notifies(self, deadline: Optional[float],
                              stop_after: Optional[int]) -> AsyncIterator[Notify]:
        eng = self._engine
        got = 0
        expired = False
        while stop_after is None or got < stop_after:
            n = eng._next_notify()
            if n is not None:
                got += 1
                yield n
                continue
            if expired:
                return
            left = remaining(deadline)
            expired = left == 0.0  # one last look at the socket (timeout=0: only that)
            wait = _SLICE_SECONDS if left is None else min(left, _SLICE_SECONDS)
            me = await self._acquire(None)  # type: ignore[attr-defined]
            try:
                # at the end, read what is there without waiting (pp_consume_input never
                # waits): a wait of 0 may not look at the socket at all (trio)
                if expired or await self._wait_readable(wait):  # type: ignore[attr-defined]
                    eng._consume_input(eng._handle())
            finally:
                self._release(me)  # type: ignore[attr-defined]
