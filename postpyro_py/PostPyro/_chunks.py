# SPDX-License-Identifier: MIT
"""The chunks of one result read with PP_EXEC_CHUNKED (see Connection._read_chunks).

While the chunks are converted the statement is still running, so the connection serves
nothing else. When the converting thread itself needs the connection (a loader that runs a
query), :meth:`ChunkReader.drain` first reads every remaining chunk (decoded in C, not yet
converted): the connection is free again and the conversion goes on from memory.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Deque, Optional, Tuple

from . import errors as e
from ._ffi import (PP_MORE, PP_OK, PP_PENDING, T_COLUMN_ARRAY, T_ERROR_PP, T_RESULT_INFO_P,
                   T_RESULT_PP, ffi, lib, newp)
from ._raise import SIGNALLED, raise_error

# (pp_result *, status, its pp_result_info *, its pp_column[])
Chunk = Tuple[Any, int, Any, Any]


class ChunkReader:
    """Reads the chunks after the first; owns those not yet handed out."""

    __slots__ = ("_conn", "thread", "_max_cols", "_queue", "_failure", "_done", "_wait",
                 "interrupted")

    def __init__(self, conn: Any, max_cols: int, wait: Callable[..., int]) -> None:
        self._conn = conn
        self._wait = wait  # the front end's waiter (see Connection._wait)
        self.thread = threading.get_ident()
        self._max_cols = max_cols
        self._queue: Deque[Chunk] = deque()
        self._failure: Optional[e.Error] = None  # the statement's error, read ahead by drain()
        self._done = False        # the last chunk (or the error) has been read
        self.interrupted = False  # an exception (a signal handler's) came during a wait

    def _read(self) -> Chunk:
        """The next chunk from the server; raises the statement's error."""
        out = newp(T_RESULT_PP, None)
        err = newp(T_ERROR_PP, None)
        info = newp(T_RESULT_INFO_P, None)
        cols = newp(T_COLUMN_ARRAY, self._max_cols)
        try:
            rc = lib.pp_query_next(self._conn, out, info, cols, self._max_cols, err)
            if rc == PP_PENDING:  # the front end's wait (sync: a signal's handler ran)
                rc = self._wait(rc, lib.pp_query_next, self._conn, out, info, cols,
                                self._max_cols, err)
        except SIGNALLED:
            self.interrupted = True
            raise
        if rc != PP_OK and rc != PP_MORE:
            self._done = True
            raise_error(err[0])
        self._done = rc == PP_OK
        return out[0], rc, info, cols

    def next(self) -> Chunk:
        """The next chunk (the caller frees its pp_result): read ahead, or from the server."""
        if self._queue:
            return self._queue.popleft()
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        return self._read()

    def drain(self) -> None:
        """Read every remaining chunk now, so that the connection is free."""
        while not self._done:
            try:
                self._queue.append(self._read())
            except e.Error as exc:
                self._failure = exc  # next() raises it once the chunks before it are done

    def close(self, cancel: bool) -> None:
        """Drop what is left: chunks read ahead, and the rest of the statement (cancelled
        first with ``cancel``, else run to its end, as when it is read whole)."""
        while self._queue:
            lib.pp_result_free(self._queue.popleft()[0])
        self._failure = None
        if not self._done:
            if cancel:
                lib.pp_cancel(self._conn, ffi.NULL)
            self._done = True
            err = newp(T_ERROR_PP, None)
            if lib.pp_query_close(self._conn, err) == PP_PENDING:
                self._wait(PP_PENDING, lib.pp_resume, self._conn, newp(T_RESULT_PP, None), err)
            if err[0] != ffi.NULL:
                lib.pp_error_free(err[0])

