# SPDX-License-Identifier: MIT
"""A pool checkout's ``with`` block, and the hand-over of a connection between the pool and
its borrower that Ctrl-C cannot cut in two.

A signal handler's exception (KeyboardInterrupt) may be raised between any two steps of
Python code in the main thread. Were it raised after the pool counted a connection as lent
but before the borrower held it (or the other way round on return), the connection would be
lost to both. So each hand-over — the pool's bookkeeping together with setting or clearing
``Checkout._slot`` — runs with signals blocked in the main thread (``masked()``: a few
microseconds; other threads never run signal handlers), and a return interrupted before its
hand-over is finished first, then the interrupt is raised.
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Optional

from . import errors as e

__all__ = ["Checkout", "masked"]

_MAIN = threading.main_thread().ident
_get_ident = threading.get_ident
try:  # the builtin: signal.pthread_sigmask turns every answer into a set of enums (slow)
    from _signal import pthread_sigmask as _SIGMASK
except ImportError:  # pragma: no cover - not POSIX
    _SIGMASK = getattr(signal, "pthread_sigmask", None)
_ALL = signal.valid_signals() if _SIGMASK is not None else None


class _NoMask:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


class _Mask:
    __slots__ = ("old",)

    def __enter__(self) -> None:
        old = _SIGMASK(signal.SIG_BLOCK, ())  # the mask now (changes nothing)
        try:
            _SIGMASK(signal.SIG_BLOCK, _ALL)
        except BaseException:  # blocked, then a handler already due raised: undo
            _SIGMASK(signal.SIG_SETMASK, old)
            raise
        self.old = old

    def __exit__(self, *exc: Any) -> None:
        _SIGMASK(signal.SIG_SETMASK, self.old)  # a signal that came meanwhile runs now


_NOMASK = _NoMask()


def masked() -> Any:
    """A context in which no signal handler runs (in the main thread; elsewhere none ever
    does)."""
    if _SIGMASK is None or _get_ident() != _MAIN:
        return _NOMASK
    return _Mask()


class Checkout:
    """``pool.connection()``: the connection for a ``with`` block."""

    __slots__ = ("_pool", "_timeout", "_slot", "_conn")

    def __init__(self, pool: Any, timeout: Optional[float]) -> None:
        self._pool = pool
        self._timeout = timeout
        self._slot: Any = None  # set and cleared by the pool, signals masked
        self._conn: Any = None  # the connection lent (the pool's reference is weak: Slot)

    def __enter__(self) -> Any:
        if self._slot is not None:
            raise e.InterfaceError("this pool.connection() block is already in use")
        try:
            self._pool._get(self._timeout, self)
        except BaseException:
            if self._slot is not None:  # interrupted once the connection was ours
                self._give_back()
            raise
        return self._slot.conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._slot is None:
            return
        try:
            conn = self._slot.conn
            # PEP 249 mode: commit at the end of a block that ended normally (psycopg_pool's
            # and `with conn:`'s rule); on an exception the return rolls back
            if exc_type is None and not conn.autocommit:
                status = conn.transaction_status
                if status == "active" and self._pool._end_pending(conn):  # a dropped COPY
                    status = conn.transaction_status
                if status in ("intransaction", "inerror"):
                    conn.commit()
        finally:
            self._give_back()

    def _give_back(self) -> None:
        """Return the connection; an interrupt during the return finishes it first."""
        pending = None
        while self._slot is not None:
            try:
                self._pool._put(self)
            except BaseException as exc:
                if pending is None:
                    pending = exc
        self._conn = None
        if pending is not None:
            raise pending
