# SPDX-License-Identifier: MIT
"""LISTEN/NOTIFY for the sync ``Connection`` (a front end: it waits with ``poll()``).

The queue, the conversion and the loss report are the core's (_notify.NotifyCore); this adds
the calls that run statements and the wait of :meth:`Notifications.notifies`.
"""

from __future__ import annotations

import select
from typing import Iterator, Optional

from ._ffi import lib
from ._notify import (LIMIT_SQL, MAX_CHANNEL_BYTES, NOTIFY_SQL, Notify, NotifyCore,
                      check_stop_after, deadline_of, remaining)

__all__ = ["Notifications"]

# notifies() looks at least this often whether the connection was closed meanwhile.
_SLICE_SECONDS = 1.0


class Notifications(NotifyCore):
    """The LISTEN/NOTIFY methods of ``Connection``."""

    def listen(self, channel: str) -> None:
        """Start receiving notifications sent on ``channel`` (the exact name: it is quoted
        as an identifier; ProgrammingError when longer than the server's identifiers, 63
        bytes). With ``autocommit=False`` it takes effect at commit."""
        self._valid_channel(channel)
        self.execute(self._listen_sql(channel))  # type: ignore[attr-defined]

    def unlisten(self, channel: Optional[str] = None) -> None:
        """Stop receiving notifications on ``channel`` (every channel when None).
        Notifications already received stay queued."""
        if channel is not None:
            self._valid_channel(channel)
        self.execute(self._unlisten_sql(channel))  # type: ignore[attr-defined]

    def notify(self, channel: str, payload: Optional[str] = None) -> None:
        """Send a notification on ``channel`` (``pg_notify``: both go as parameters). Inside
        a transaction it is delivered at commit."""
        self._valid_channel(channel)
        self.execute(NOTIFY_SQL, self._notify_params(channel, payload))  # type: ignore

    def _valid_channel(self, channel: str) -> None:
        size = self._channel_size(channel)
        if size > MAX_CHANNEL_BYTES:
            limit = self._channel_limit
            if limit is None:
                limit = int(self.query_one(LIMIT_SQL)[0])  # type: ignore[attr-defined]
            self._check_channel(channel, size, limit)

    def notifies(self, timeout: Optional[float] = None,
                 stop_after: Optional[int] = None) -> Iterator[Notify]:
        """Iterate over the notifications received, oldest first: those that arrived since
        :meth:`listen` (also during other statements) first, then each as it arrives.
        Stops when ``timeout`` seconds have passed since the iteration started (None: never;
        0: only what has arrived) or after ``stop_after`` notifications. Waiting is
        interruptible (Ctrl-C). Raises NotificationsLost when the queue overflowed (see
        ``notify_limit``), after the notifications kept before."""
        check_stop_after(stop_after)
        deadline = deadline_of(timeout)
        self._handle()  # type: ignore[attr-defined]
        return self._iter_notifies(deadline, stop_after)

    def _iter_notifies(self, deadline: Optional[float],
                       stop_after: Optional[int]) -> Iterator[Notify]:
        got = 0
        poller = None
        expired = False
        while stop_after is None or got < stop_after:
            n = self._next_notify()
            if n is not None:
                got += 1
                yield n
                continue
            if expired:
                return
            left = remaining(deadline)
            expired = left == 0.0  # one last look at the socket (timeout=0: only that)
            conn = self._handle()  # type: ignore[attr-defined]
            if poller is None:
                poller = select.poll()
                poller.register(lib.pp_socket(conn), select.POLLIN)
            wait = _SLICE_SECONDS if left is None else min(left, _SLICE_SECONDS)
            # Ctrl-C: poll() runs the handler, whose KeyboardInterrupt ends the iteration
            if poller.poll(int(wait * 1000.0 + 0.999)):
                with self._lock.lock, self._lock:  # type: ignore[attr-defined]
                    self._consume_input(conn)
