# SPDX-License-Identifier: MIT
"""Aborting a running COPY: for Copy.abort / an exception in its block, and for a COPY
dropped while running (its finalizer, or the connection's next statement when the
finalizer may not do I/O where it runs: see Copy._release and _turns). Also the bound of
any end a dropped COPY or stream left (``end_bounded``, ``PENDING_END_SECONDS``)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from . import errors as e
from ._ffi import PP_OK, ffi, lib
from ._session import _bounded

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection

__all__ = ["abort_copy", "abort_dropped", "end_bounded", "PENDING_END_SECONDS"]

_ACTIVE = 1  # pp_transaction_status: a COPY (or a statement) in progress

# The longest the end of a COPY or stream dropped half-way may wait for the server, in all,
# when its finalizer runs it (end_bounded) or a pool takes the connection back (_pool_base):
# then the server is asked to cancel it, and without an answer within 1 s the connection is
# closed (_session._bounded, pp_set_timeout). A finalizer never waits for ever.
PENDING_END_SECONDS = 5.0


def end_bounded(conn: "Connection", end: Any, answer: Any = None) -> Any:
    """Runs ``end()`` (a dropped COPY's abort or stream's end, from its finalizer: at any
    point of the program) within PENDING_END_SECONDS in all, even on a dead network and
    without a connection timeout. Returns ``answer`` (for Turns.if_free)."""
    with _bounded(conn._conn, PENDING_END_SECONDS):
        end()
    return answer


def abort_copy(conn: "Connection", h: Any, copy_in: bool, in_tx: bool, reason: str) -> None:
    """Abort the COPY running on ``h``: the server stores nothing of a COPY FROM, what is
    left of a COPY TO is dropped; the connection stays usable."""
    err = ffi.new("pp_error **")
    if copy_in:
        r = conn._cstr(reason.replace("\0", " ").encode("utf-8", "replace"))
        # The server reads the CopyFail only once it reads again: not while it waits
        # (a row lock, a full disk), so a cancel ends the COPY too (both fail it)
        lib.pp_cancel(h, ffi.NULL)
        with conn._lock.lock, conn._lock:
            rc = conn._call_batch(h, lambda: lib.pp_copy_end(h, r, ffi.NULL, err), err)
        if rc != PP_OK:  # the expected outcome: the server's "COPY … aborted" error
            lib.pp_error_free(err[0])
    else:
        # Outside a transaction, stop the server sending (a cancel); inside one, a
        # cancel would fail the transaction, so only read (and drop) what is left.
        if not in_tx:
            lib.pp_cancel(h, ffi.NULL)
        data = ffi.new("const char **")
        n = ffi.new("int64_t *")
        with conn._lock.lock, conn._lock:
            while True:
                rc = conn._copy_read(h, data, n, ffi.NULL, err)
                if rc != 1:
                    break
        if rc != 0 and err[0] != ffi.NULL:
            lib.pp_error_free(err[0])


def abort_dropped(conn_ref: Any, copy_in: bool, in_tx: bool, owner: Any) -> None:
    """A dropped COPY's abort (the lock held; from Copy._release or Turns.pending), on the
    thread that runs it, when the COPY still runs. A COPY outside a transaction blocks
    every thread: whichever comes takes it over; one inside a transaction waits for the
    next statement of the thread whose transaction it is. Errors are dropped: the statement
    that follows meets any that lasts."""
    conn = conn_ref()
    if conn is None or conn._closed:
        return
    h = conn._conn
    # not active: the COPY ended (pp_poll_status, not pp_transaction_status: the end may
    # have come with the last chunk read, which libpq counts as idle and libpostpyro not)
    if lib.pp_poll_status(h) != _ACTIVE:
        return
    turns = conn._lock
    me = turns.current()
    holder = turns.owner
    if holder is not me and (holder is not owner or in_tx) and holder is not None:
        end = partial(abort_dropped, conn_ref, copy_in, in_tx, owner)
        turns.pending.append((turns.tx, end, end))
        return
    turns.owner = me
    try:
        abort_copy(conn, h, copy_in, in_tx, "COPY abandoned by the client")
    except e.Error:
        pass
