# SPDX-License-Identifier: MIT
"""Streaming results: iterate over rows without holding them all.

``conn.stream(sql, params)`` runs the query through a server-side cursor and hands out its
rows as they are fetched, ``chunk_size`` rows at a time, so memory stays flat however many
rows there are::

    for row in conn.stream("SELECT * FROM big_table WHERE day = $1", [day]):
        handle(row)

    with conn.stream("SELECT …", chunk_size=50_000) as rows:   # closed at the end of the block
        first = next(rows)

How: ``DECLARE <cursor> NO SCROLL CURSOR FOR <sql>`` and then ``FETCH FORWARD chunk_size``
until the rows run out, each FETCH a cached prepared statement whose rows come in binary and
are converted a column at a time like any other result. A cursor lives in a transaction:
when the connection is idle in autocommit mode the stream begins one and commits it when
the rows run out, when :meth:`Stream.close` is called, or when the stream is dropped
(statements you run on the connection meanwhile are part of that transaction);
inside your own transaction (``conn.begin()``, or PEP 249 mode) the stream uses it and only
closes its cursor. An error while fetching rolls back the transaction the stream began.

A stream dropped while open (a ``for`` loop left early, a stream never closed) is ended by its
finalizer only where that is safe: on the thread that uses it, between two operations on the
connection. Anywhere else (the garbage collector running on another thread, or in the middle
of an operation on the connection: PyPy runs finalizers at arbitrary points), and always for
an AsyncConnection's stream (no blocking wait on the event loop's thread), the finalizer
does no I/O: the connection's next statement in that transaction ends it first, on its own
thread (``Turns.pending``; an AsyncConnection's next call, awaited).

``conn.cursor(name="…")`` gives the same as a PEP 249 cursor (like psycopg2's named
cursors): :class:`ServerCursor`.
"""

from __future__ import annotations

import itertools
import weakref
from functools import partial
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, Optional

from . import _deadlines
from . import errors as e
from ._copyend import end_bounded
from ._ffi import lib
from ._sql import quote_identifier

if TYPE_CHECKING:  # pragma: no cover
    from ._sql import Params
    from .connection import Connection

__all__ = ["Stream", "ServerCursor"]

DEFAULT_CHUNK_SIZE = 10000

_ids = itertools.count(1)

_IDLE, _ACTIVE, _INTRANS, _INERROR = 0, 1, 2, 3


class Stream:
    """The rows of one query, fetched ``chunk_size`` at a time through a server-side cursor.
    Iterate over it (once); :meth:`close` (or ``with``) ends it early."""

    def __init__(self, conn: "Connection", sql: str, params: "Params" = None,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, name: Optional[str] = None,
                 row_factory: Optional[Callable] = None) -> None:
        if not isinstance(sql, str):
            raise e.ProgrammingError("SQL must be a str, not %s" % type(sql).__name__)
        try:
            chunk_size = int(chunk_size)
        except (TypeError, ValueError):
            raise e.ProgrammingError("chunk_size must be an int") from None
        if chunk_size < 1:
            raise e.ProgrammingError("chunk_size must be at least 1")
        self._conn: Optional["Connection"] = conn
        self._sql = sql
        self._params = params
        self._chunk = chunk_size
        self._named = name is not None
        self.name = name if name is not None else "pp_stream_%d" % next(_ids)
        self._qname = quote_identifier(self.name)
        self._row_factory = row_factory if row_factory is not None else conn._row_factory
        self._state = "new"      # new -> open -> closed
        self._own_tx = False     # the stream began the transaction (and ends it)
        self._owner = None       # the thread using it (see _turns), once open
        self._tx = 0             # the connection's transaction it is in (Turns.tx), once open
        self._buf: list = []     # rows fetched for __next__, not handed out yet
        self._pos = 0
        #: Rows fetched from the server so far.
        self.rownumber = 0
        #: The last chunk's column names, type OIDs and typmods (after the first fetch).
        self.names: tuple = ()
        self.types: list = []
        self.typmods: list = []
        _deadlines.start()  # here, not in the finalizer that may need it (end_bounded)

    # ---- life cycle --------------------------------------------------------------------

    def open(self) -> "Stream":
        """Declare the cursor (the first iteration does it)."""
        if self._state != "new":
            return self
        conn = self._conn
        h = conn._handle()
        with conn._lock.lock, conn._lock:
            status = lib.pp_transaction_status(h)
            if status == _IDLE:
                if conn._autocommit:
                    conn._execute("BEGIN", begin=False)
                    self._own_tx = True
                else:
                    conn._maybe_begin(h)
            try:
                conn._execute("DECLARE %s NO SCROLL CURSOR FOR %s" % (self._qname, self._sql),
                              self._params, begin=False)
            except BaseException:
                self._state = "closed"
                self._end_transaction(failed=True)
                raise
            self._state = "open"
            self._owner = conn._lock.current()
            self._tx = conn._lock.tx
        # The FETCH is a cached prepared statement whose result types were described for
        # this cursor: a later cursor of the same name (ServerCursor.execute again) must
        # not reuse it, so its text is made unique.
        self._fetch_sql = "FETCH FORWARD %d FROM %s" % (self._chunk, self._qname)
        if self._named:
            self._fetch_sql += " /* %d */" % next(_ids)
        return self

    def fetch_chunk(self) -> list:
        """The next chunk of rows (at most ``chunk_size``); ``[]`` when there are no more
        (the stream is then closed)."""
        if self._state == "new":
            self.open()
        if self._state != "open":
            return []
        conn = self._conn
        self._owner = conn._lock.take_over(self._owner)  # iterated in another thread
        try:
            r = conn._execute(self._fetch_sql, begin=False)
            rows = r.rows(self._row_factory)
        except BaseException:
            self._state = "closed"
            self._end_transaction(failed=True)
            raise
        self.names, self.types, self.typmods = r.names, r.types, r.typmods
        self.rownumber += len(rows)
        if len(rows) < self._chunk:
            self.close()  # the last chunk: end the transaction now, not at the next call
        return rows

    def _chunks(self) -> Iterator[list]:
        try:
            while True:
                rows = self.fetch_chunk()
                if not rows:
                    return
                yield rows
        finally:  # a `for` loop left early: this generator is finalized with the stream
            self._release()

    def __iter__(self) -> Iterator[Any]:
        # The iterator refers to the stream, not the other way round: when a `for` loop
        # over it ends early, both go away at once and the stream is closed (no cycle to
        # wait for the garbage collector).
        rest = self._buf[self._pos:]
        self._buf = []
        self._pos = 0
        return chain(rest, chain.from_iterable(self._chunks()))

    def __next__(self) -> Any:
        if self._pos >= len(self._buf):
            self._buf = self.fetch_chunk()
            self._pos = 0
            if not self._buf:
                raise StopIteration
        row = self._buf[self._pos]
        self._pos += 1
        return row

    def close(self) -> None:
        """End the stream: close the cursor (commit the transaction the stream began).
        Safe to call twice."""
        if self._state == "open":
            self._state = "closed"
            self._end_transaction(failed=False)
        elif self._state == "new":
            self._state = "closed"

    def _end_transaction(self, failed: bool) -> None:
        conn = self._conn
        if conn is None or conn._closed:
            return
        try:
            conn._handle()
        except e.Error:
            return
        if self._owner is not conn._lock.current():  # used last by another thread
            if not self._own_tx:
                return  # inside another thread's transaction: the cursor ends with it
            self._owner = conn._lock.take_over(self._owner)
        with conn._lock.lock, conn._lock:
            _end(conn, self._qname, self._own_tx, failed)

    def _release(self) -> None:
        """End a stream dropped while open, from a finalizer (``__del__``, or the generator
        of a ``for`` loop left early): at once when called on the stream's thread with no
        operation running on the connection (not an AsyncConnection's: ``Turns.defer``;
        bounded: ``end_bounded``), else by the connection's next statement in the stream's
        transaction (``Turns.pending``), with no I/O here."""
        if self._state != "open":
            return
        self._state = "closed"
        conn = self._conn
        if conn is None or conn._closed:
            return
        turns = conn._lock
        end = partial(_end_dropped, weakref.ref(conn), self._qname, self._own_tx, self._owner)
        me = turns.current()
        # this thread, between two operations (no one else can be using it): at once
        if me is self._owner and not turns.defer and \
                turns.if_free(partial(self._end_now, conn, end, me)):
            return
        turns.pending.append((self._tx, end, _again(end)))

    def _end_now(self, conn: "Connection", end: Any, me: Any) -> bool:
        """(_release, the lock held.) Ends the stream now when its thread holds its
        transaction; True when nothing is left to do (also when the transaction ended)."""
        holder = conn._lock.owner
        if holder is None or conn._lock.tx != self._tx:
            return True  # its transaction ended (the cursor with it)
        if holder is me:
            end_bounded(conn, end)
            return True
        return False

    def __enter__(self) -> "Stream":
        self.open()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._release()
        except Exception:  # a finalizer raises nowhere useful
            pass

    @property
    def closed(self) -> bool:
        return self._state == "closed"

    def __repr__(self) -> str:
        return "<PostPyro.Stream %s %s, %d rows fetched>" % (self.name, self._state,
                                                            self.rownumber)


def _end(conn: "Connection", qname: Optional[str], own_tx: bool, failed: bool) -> None:
    """(The connection's lock held, by the thread whose turn it is.) End a stream's cursor:
    end the transaction it began (COMMIT, or ROLLBACK when it failed), or CLOSE the cursor
    inside the caller's transaction (not when ``qname`` is None); nothing when the
    transaction already ended."""
    status = lib.pp_transaction_status(conn._conn)
    if status not in (_INTRANS, _INERROR):
        return  # the transaction already ended (the cursor with it)
    if own_tx and not conn._tx_stack:
        if status == _INERROR or failed:
            try:
                conn._execute("ROLLBACK", begin=False)
            except e.Error:
                pass
        else:
            conn._commit_sql()  # COMMIT also closes the cursor
    elif status == _INTRANS and not failed and qname is not None:
        conn._execute("CLOSE %s" % qname, begin=False)


def _end_dropped(conn_ref: Any, qname: Optional[str], own_tx: bool, owner: Any) -> None:
    """What a dropped stream's finalizer leaves to run (Turns.pending, lock held): end it
    as close() would, on the thread that runs it. A transaction the stream began, still
    held by the stream's thread, moves to the caller (as the garbage collector's close
    did: that thread may never come back); anything else waits for the next statement of
    the thread that holds the transaction. Errors are dropped: the statement that follows
    meets any that lasts."""
    conn = conn_ref()
    if conn is None or conn._closed:
        return
    turns = conn._lock
    me = turns.current()
    holder = turns.owner
    if lib.pp_poll_status(conn._conn) == _ACTIVE or (  # (the end of a COPY read or not)
            holder is not me and (holder is not owner or not own_tx)):
        # a COPY in progress, or a turn in that transaction that is not the caller's to
        # take: the next statement (after the COPY, of the thread whose turn it is) does it
        end = partial(_end_dropped, conn_ref, qname, own_tx, owner)
        turns.pending.append((turns.tx, end, _again(end)))
        return
    turns.owner = me
    try:
        _end(conn, qname, own_tx, False)
    except e.Error:
        pass


def _again(end: partial) -> Optional[partial]:
    """What of a dropped stream's end may run again after an exception interrupted it:
    ending the transaction the stream began (it looks whether it is still open), not a
    CLOSE (when it ran, a second one would fail the caller's transaction)."""
    conn_ref, qname, own_tx, owner = end.args
    return partial(_end_dropped, conn_ref, None, True, owner) if own_tx else None


def stream(conn: "Connection", sql: str, params: "Params" = None,
           chunk_size: int = DEFAULT_CHUNK_SIZE) -> Stream:
    """See :meth:`Connection.stream`."""
    conn._handle()
    return Stream(conn, sql, params, chunk_size)


# ---- a PEP 249 cursor over a server-side cursor ------------------------------------------------

def _description(names, types, typmods):
    try:
        from .cursor import _column
    except ImportError:  # pragma: no cover - cursor.py reorganized
        from .cursor import Column

        def _column(n, t, m):
            return Column(n, t, None, None, None, None, None)
    return [_column(n, t, m) for n, t, m in zip(names, types, typmods)]


class ServerCursor:
    """A PEP 249 cursor whose rows stay on the server until fetched (``conn.cursor(name=
    "…")``, like psycopg2's named cursors): ``execute`` declares a server-side cursor (and
    reads the first ``itersize`` rows), ``fetchone`` / ``fetchmany`` / ``fetchall`` and
    iteration fetch more, ``itersize`` rows per round trip. See :mod:`PostPyro.stream` for
    the transaction it needs."""

    def __init__(self, connection: "Connection", name: Optional[str] = None,
                 itersize: int = 2000, row_factory: Optional[Callable] = None) -> None:
        self._conn: Optional["Connection"] = connection
        self.name = name
        self._row_factory = row_factory
        #: Rows fetched per round trip.
        self.itersize = itersize
        #: How many rows fetchmany() returns by default.
        self.arraysize = 1
        self._stream: Optional[Stream] = None
        self._buf: List[Any] = []
        self._pos = 0
        self._description = None
        self._rowcount = -1

    @property
    def connection(self) -> "Connection":
        return self._check()

    @property
    def description(self):
        return self._description

    @property
    def rowcount(self) -> int:
        """Rows fetched from the server so far (-1 before execute)."""
        return self._rowcount

    @property
    def closed(self) -> bool:
        return self._conn is None

    def _check(self) -> "Connection":
        if self._conn is None:
            raise e.InterfaceError("cursor is closed")
        return self._conn

    def execute(self, sql: str, params: "Params" = None) -> "ServerCursor":
        conn = self._check()
        self._close_stream()
        s = Stream(conn, sql, params, self.itersize, name=self.name,
                   row_factory=self._row_factory)
        s.open()
        self._stream = s
        self._buf = s.fetch_chunk()
        self._pos = 0
        self._description = _description(s.names, s.types, s.typmods)
        self._rowcount = s.rownumber
        return self

    def executemany(self, sql: str, seq_of_params: Any) -> "ServerCursor":
        raise e.NotSupportedError("executemany() is not available on a server-side cursor")

    def _more(self) -> bool:
        s = self._stream
        if s is None:
            raise e.ProgrammingError("no rows to fetch: nothing was executed")
        if s.closed:
            return False
        self._buf = s.fetch_chunk()
        self._pos = 0
        self._rowcount = s.rownumber
        return bool(self._buf)

    def fetchone(self) -> Optional[Any]:
        self._check()
        if self._pos >= len(self._buf) and not self._more():
            return None
        row = self._buf[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: Optional[int] = None) -> list:
        self._check()
        if size is None:
            size = self.arraysize
        out: list = []
        while len(out) < size:
            if self._pos >= len(self._buf) and not self._more():
                break
            take = self._buf[self._pos:self._pos + size - len(out)]
            self._pos += len(take)
            out.extend(take)
        return out

    def fetchall(self) -> list:
        self._check()
        out = self._buf[self._pos:]
        self._pos = len(self._buf)
        while self._more():
            out.extend(self._buf)
            self._pos = len(self._buf)
        return out

    def __iter__(self) -> Iterator[Any]:
        self._check()
        while True:
            if self._pos >= len(self._buf) and not self._more():
                return
            buf, start = self._buf, self._pos
            self._pos = len(buf)
            yield from islice(buf, start, None)

    def setinputsizes(self, sizes: Any) -> None:
        """Does nothing (PEP 249)."""

    def setoutputsize(self, size: Any, column: Optional[int] = None) -> None:
        """Does nothing (PEP 249)."""

    def _close_stream(self) -> None:
        s, self._stream = self._stream, None
        self._buf = []
        self._pos = 0
        if s is not None:
            s.close()

    def close(self) -> None:
        """Close the server-side cursor (and commit the transaction it began). Safe to call
        twice."""
        if self._conn is not None:
            try:
                self._close_stream()
            finally:
                self._conn = None

    def __enter__(self) -> "ServerCursor":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<PostPyro.ServerCursor %r %s>" % (self.name,
                                                  "closed" if self._conn is None else "open")
