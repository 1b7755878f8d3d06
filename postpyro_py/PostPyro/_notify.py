# SPDX-License-Identifier: MIT
"""LISTEN/NOTIFY, the part every front end shares (core: no I/O, no waiting).

libpostpyro collects notifications in C whenever it reads from the server — during any
statement, and in ``pp_consume_input`` when the front end saw the idle socket turn readable —
into a bounded queue per connection that counts what it had to drop. :class:`NotifyCore`
(a base of ``Connection`` and ``AsyncConnection``) moves that queue into
:class:`Notify` objects, reports drops as :class:`~PostPyro.errors.NotificationsLost`, and
builds the SQL of ``listen``/``unlisten``/``notify``. The front ends add the waiting: the
sync one polls the socket, the async one awaits it on the event loop.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Deque, NamedTuple, Optional, Tuple

from . import errors as e
from ._ffi import PP_OK, ffi, lib
from ._raise import raise_error
from ._sql import quote_identifier

__all__ = ["Notify", "NotifyCore"]

# ffi.string without the Python-level wrapper of cffi's FFI class (as _ffi does for newp)
_cstring = ffi._backend.string

#: notify()'s statement: the channel and payload go as parameters, never into the SQL text.
NOTIFY_SQL = "SELECT pg_notify($1, $2)"

#: The longest channel name, in bytes of the server's encoding, that a server built with the
#: default NAMEDATALEN (64) keeps: LISTEN cuts a longer name (with a NOTICE only), pg_notify()
#: refuses it. Only a longer name makes the front ends ask the server (LIMIT_SQL) for its own.
MAX_CHANNEL_BYTES = 63
LIMIT_SQL = "SHOW max_identifier_length"

# PostgreSQL encoding names Python's codecs do not know by that name.
_CODEC_OF = {"UTF8": "utf-8", "SQL_ASCII": "utf-8",  # SQL_ASCII keeps the client's bytes
             "KOI8R": "koi8_r", "KOI8U": "koi8_u", "EUC_CN": "gb2312", "UHC": "cp949"}


class Notify(NamedTuple):
    """One notification: the ``channel`` it was sent on, its ``payload`` ("" when the NOTIFY
    had none) and the ``pid`` of the server process that sent it."""

    channel: str
    payload: str
    pid: int


def _take(conn: Any, queue: Deque[Notify]) -> None:
    """Moves every notification queued in C for ``conn`` (a pp_conn *) into ``queue``."""
    out = ffi.new("pp_notify **")
    take, free, string, null = lib.pp_notify_take, lib.pp_notify_free, _cstring, ffi.NULL
    append, new = queue.append, tuple.__new__  # Notify(…) without its Python-level __new__
    while True:
        if take(conn, out, null) != PP_OK:
            raise e.InterfaceError("could not take a notification (bad connection handle)")
        n = out[0]
        if n == null:
            return
        append(new(Notify, (string(n.channel).decode("utf-8", "replace"),
                            string(n.payload).decode("utf-8", "replace"), n.pid)))
        free(n)


def check_stop_after(stop_after: Optional[int]) -> None:
    if stop_after is not None and (not isinstance(stop_after, int) or stop_after < 1):
        raise e.ProgrammingError("stop_after must be a positive int or None, not %r"
                                 % (stop_after,))


def deadline_of(timeout: Optional[float]) -> Optional[float]:
    """notifies()'s end (time.monotonic()), None for no end."""
    if timeout is None:
        return None
    try:
        seconds = float(timeout)
    except (TypeError, ValueError):
        raise e.ProgrammingError("timeout must be a number of seconds or None, not %r"
                                 % (timeout,)) from None
    if not seconds >= 0:  # NaN too
        raise e.ProgrammingError("timeout must be >= 0, not %r" % (timeout,))
    return time.monotonic() + seconds


def remaining(deadline: Optional[float]) -> Optional[float]:
    """Seconds left until ``deadline`` (never below 0), None for no deadline."""
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())


class NotifyCore:
    """What a connection knows about notifications without waiting: the ones already
    taken from C (a connection's iteration may stop in the middle of a batch; the rest
    waits here for the next one), how many were lost, and the SQL of the calls."""

    _conn: Any
    _closed: bool
    _notify_queue: Optional[Deque[Notify]] = None
    _notify_lost_seen = 0  # pp_notify_dropped already reported

    def _next_notify(self) -> Optional[Notify]:
        """The oldest notification received and not yet handed out, or None. When the C
        queue overflowed since the last report, and everything kept has been handed out,
        raises NotificationsLost (once per overflow)."""
        queue = self._notify_queue
        if queue is None:
            queue = self._notify_queue = deque()
        if not queue and not self._closed:
            _take(self._conn, queue)
        if queue:
            return queue.popleft()
        if not self._closed:
            dropped = lib.pp_notify_dropped(self._conn)
            if dropped > self._notify_lost_seen:
                lost, self._notify_lost_seen = dropped - self._notify_lost_seen, dropped
                raise e.NotificationsLost(
                    "%d notification(s) were lost: the connection's queue was full "
                    "(notify_limit %d); the ones received before were delivered"
                    % (lost, self.notify_limit), lost=lost)
        return None

    def _consume_input(self, conn: Any) -> None:
        """After the idle socket turned readable: read what the server sent (notifications
        go to the C queue). OperationalError when the server closed the connection."""
        err = ffi.new("pp_error **")
        if lib.pp_consume_input(conn, err) != PP_OK:
            raise_error(err[0])

    @property
    def notify_limit(self) -> int:
        """How many received notifications the connection keeps until they are taken
        (default 65536). When more arrive, the newest are dropped, counted in
        :attr:`notifies_lost`, and ``notifies()`` raises NotificationsLost."""
        return self._notify_limit_value

    @notify_limit.setter
    def notify_limit(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 2**62:
            raise e.ProgrammingError("notify_limit must be a positive int, not %r" % (value,))
        conn = self._check_usable()  # type: ignore[attr-defined]
        err = ffi.new("pp_error **")
        if lib.pp_set_notify_limit(conn, value, err) != PP_OK:
            raise_error(err[0])
        self._notify_limit_value = value

    _notify_limit_value = 65536  # libpostpyro's default

    @property
    def notifies_lost(self) -> int:
        """Notifications dropped because the queue was full, since the connection
        opened."""
        if self._conn is None:
            return 0
        return int(lib.pp_notify_dropped(self._conn))

    _channel_limit: Optional[int] = None  # the server's max_identifier_length, once read
    _server_codec: Optional[str] = None

    def _channel_size(self, channel: Any) -> int:
        """How long a name would be (ProgrammingError: not a str) in bytes of the
        server's encoding; a lower bound (its characters) for encodings Python lacks."""
        _channel(channel)
        if channel.isascii():
            return len(channel)  # the same in every server encoding
        codec = self._server_codec
        if codec is None:
            name = lib.pp_parameter_status(self._conn, b"server_encoding")
            enc = "UTF8" if name == ffi.NULL else _cstring(name).decode("ascii", "replace")
            lib.pp_free(name)
            codec = _CODEC_OF.get(enc, "cp" + enc[3:] if enc.startswith("WIN") else enc)
            self._server_codec = codec
        try:
            return len(channel.encode(codec))
        except (LookupError, UnicodeError):
            return len(channel)

    def _check_channel(self, channel: Any, size: int, limit: int) -> None:
        """ProgrammingError when a name of ``size`` bytes is over the server's ``limit``."""
        self._channel_limit = limit
        if size > limit:
            raise e.ProgrammingError(
                "channel name %r is %d bytes long in the server's encoding: PostgreSQL "
                "channel names are identifiers of at most %d bytes (max_identifier_length; "
                "LISTEN would cut it, pg_notify() refuse it)" % (channel, size, limit))

    @staticmethod
    def _listen_sql(channel: str) -> str:
        return "LISTEN " + _channel(channel)

    @staticmethod
    def _unlisten_sql(channel: Optional[str]) -> str:
        return "UNLISTEN *" if channel is None else "UNLISTEN " + _channel(channel)

    @staticmethod
    def _notify_params(channel: str, payload: Optional[str]) -> Tuple[str, str]:
        _channel(channel)
        if payload is None:
            payload = ""
        elif not isinstance(payload, str):
            raise e.ProgrammingError("a notification's payload must be a str or None, not %s"
                                     % type(payload).__name__)
        return channel, payload


def _channel(channel: Any) -> str:
    """A channel name as a quoted identifier: exactly the name given (case, spaces, quotes
    kept). Its length was checked by the caller (NotifyCore._channel_size)."""
    if not isinstance(channel, str):
        raise e.ProgrammingError("a channel name must be a str, not %s"
                                 % type(channel).__name__)
    return quote_identifier(channel)
