# SPDX-License-Identifier: MIT
"""Connections dropped without close(): their server sessions come back in time.

A ``Connection`` nobody references any more is closed when the garbage collector frees its
handle. CPython does that at once (unless the connection sits in a reference cycle); PyPy
only at its next major collection, which it starts by the memory it sees — a handle looks
like a few bytes, though it holds a server process. So a program that drops connections in a
loop ran out of server slots ("too many clients") long before PyPy collected any. Two things
keep that from happening:

- ``own(conn)`` tells the collector that each handle stands for ``SESSION_SIZE`` bytes
  (``ffi.gc(size=)``; PyPy counts it, CPython ignores it), so it collects sooner;
- ``connect_again(...)``: when connecting fails while handles of dropped connections may be
  waiting for the collector, collect, and when that closed any, try again for a short while
  (the server needs a moment to see those sessions end). Nothing is retried for a program
  that closes its connections.
"""

from __future__ import annotations

import gc
import time
from typing import Any, Callable

from . import errors as e
from ._ffi import ffi, lib

__all__ = ["own", "connect_again"]

# What a connection "weighs" for the collector: the server process behind it (several MB),
# not its client-side memory. 1 MB was enough for PyPy to keep 2000 dropped connections
# under max_connections = 100.
SESSION_SIZE = 1 << 20

# How long connect_again keeps trying after the collector closed sessions.
_GRACE_SECONDS = 2.0

# Handles the collector freed while their session was open (dropped without close()).
_freed = 0
# Handles made and not yet freed.
_live = 0


def _free(conn) -> None:
    # runs inside the collector: every lib name it uses was looked up at import (_ffi)
    global _freed, _live
    _live -= 1
    if not lib.pp_is_closed(conn):
        _freed += 1
    lib.pp_conn_free(conn)


def own(conn) -> Any:
    """The pp_conn * to keep: freed (and closed) with pp_conn_free by the collector."""
    global _live
    _live += 1
    return ffi.gc(conn, _free, size=SESSION_SIZE)


def _refused(exc: e.Error) -> bool:
    """The server has no slot left: too_many_connections (53300), also when only its
    message tells (a libpq connection failure, 08006)."""
    if exc.sqlstate == "53300":
        return True
    text = str(exc)
    return exc.sqlstate == "08006" and ("too many clients" in text
                                        or "connection slots are reserved" in text)


def connect_again(exc: e.Error, connect: Callable[[], Any]) -> Any:
    """After a failed connect (``exc``): when collecting frees dropped connections, call
    ``connect()`` (a handle, or raises) again until it succeeds or the grace period ends;
    otherwise raise ``exc``."""
    if _live == 0 or not _refused(exc):
        raise exc
    before = _freed
    gc.collect()
    if _freed == before:
        raise exc
    deadline = time.monotonic() + _GRACE_SECONDS
    while True:
        try:
            return connect()
        except e.Error as again:
            if time.monotonic() >= deadline or not _refused(again):
                raise
        time.sleep(0.05)
