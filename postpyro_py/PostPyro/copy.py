# SPDX-License-Identifier: MIT
"""COPY: bulk load into a table and bulk read out of one.

The fastest way to move many rows in or out of PostgreSQL::

    n = conn.copy_records_to_table("items", [(1, "a", 0.5), (2, None, 1.5)],
                                   columns=["id", "name", "price"])

    conn.copy_from("items", open("items.tsv", "rb"))        # COPY text data from a file
    conn.copy_from("COPY items FROM STDIN (FORMAT csv)", csv_lines)   # any COPY … FROM STDIN

    with open("out.tsv", "wb") as f:
        conn.copy_to("SELECT * FROM items WHERE id > 10", f)   # a query, a table or COPY SQL

    with conn.copy("COPY items (id, name) FROM STDIN") as cp:
        cp.write_row((3, "c"))              # a row of Python values
        cp.write(b"4\\td\\n")               # raw COPY data
    # leaving the block with an exception aborts the COPY: nothing is stored

    with conn.copy("COPY items TO STDOUT") as cp:
        for chunk in cp:                    # bytes, whole rows each
            ...

Rows of Python values go to the C library a chunk at a time: as one array per column
(pp_copy_put_columns) when every column of the chunk holds one exact type among int, bool,
float and str, with or without None; otherwise as ``pp_value`` arrays (pp_copy_put_rows).
``copy_records_to_table`` uses binary COPY when every column's type has a binary encoding and
the first rows hold each column's own Python type (int for integers, str for text, aware
datetimes for timestamptz, …): the C library encodes each value and the server parses
nothing. Otherwise — or with ``format="text"`` —
each value goes in its text form (``None`` is NULL; any type a statement parameter accepts,
lists as arrays, and str for any column, which the server parses). ``conn.copy()`` rows use
the COPY's own format (text, or binary after ``use_binary(types)``). In the ``pp_value``
layout too, columns of one exact type are filled with a few bulk operations (on CPython;
value by value on PyPy, where that is faster). From the second chunk on a helper thread lays
out the next chunk while the C library sends the current one.

While a COPY runs its connection does nothing else: other statements on it fail with
InterfaceError until the COPY ends. A COPY dropped while running (no ``with``) is aborted:
by its finalizer only on the thread that used it, between two operations on the connection;
anywhere else, and always for an AsyncConnection's COPY (no blocking wait on the event
loop's thread), the connection's next statement aborts it first (``Turns.pending``).
"""

from __future__ import annotations

import io
import re
import weakref
from functools import partial
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import errors as e
from . import _deadlines
from . import types as _types
from ._ffi import PP_OK, ffi, lib
from ._raise import raise_error
from ._layout import check_rows, encode_columns, encode_row_values, transpose
from ._copyend import abort_copy, abort_dropped, end_bounded
from ._copysql import (COLUMNS_SQL, FROM_STDIN_OPTIONS, NOT_TEXT, TO_STDOUT, fits_binary,
                       is_copy_sql, table_sql)
from ._sql import check_utf8, quote_identifier, sql_bytes

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection

__all__ = ["Copy", "quote_identifier", "copy_records_to_table", "copy_from", "copy_to"]

#: Values (rows x columns) handed to the C library per call, and buffered by
#: Copy.write_row: about 4 MB of pp_value. A chunk has at most CHUNK_ROWS rows.
CHUNK_VALUES = 60000
CHUNK_ROWS = 20000
#: Lay out the next chunk of rows in a helper thread while one is sent (Copy._send_chunks).
THREADED = True
#: Send chunks of rows column by column (pp_copy_put_columns) when their values allow it.
COLUMNS = True
#: Bytes read from a file per pp_copy_put (copy_from).
READ_SIZE = 256 * 1024


# ---- rows of Python values, a chunk at a time (the layouts: _layout.py) -------------


def layout_rows(rows: Sequence[Sequence[Any]], ncols: Optional[int],
                first_row: int = 0, adapters: Any = None) -> Tuple[bool, Any, int, int, list]:
    """A chunk of COPY rows laid out for the C library: column by column (a
    ``pp_column[]`` for pp_copy_put_columns) when every column allows it, else row by row
    (a ``pp_value[]`` for pp_copy_put_rows), dumped with ``adapters`` (the connection's).
    Returns (by_columns, array, ncols, nrows, keep-alive list)."""
    rows, ncols = check_rows(rows, ncols, first_row)
    columns = transpose(rows, ncols)
    n = len(rows)
    if COLUMNS:
        laid = encode_columns(columns, n, adapters)
        if laid is not None:
            return True, laid[0], ncols, n, laid[1]
    arr, ncols, keep = encode_row_values(rows, ncols, first_row, columns, adapters)
    return False, arr, ncols, n, keep


# ---- the COPY object ---------------------------------------------------------------------

class Copy:
    """A COPY statement in progress; make one with ``conn.copy(sql)`` and use it in a
    ``with`` block. For ``COPY … FROM STDIN``: :meth:`write`, :meth:`write_row`,
    :meth:`write_rows`; leaving the block normally ends the COPY (:attr:`rowcount` then
    says how many rows were stored), with an exception aborts it (nothing is stored). For
    ``COPY … TO STDOUT``: :meth:`read` or iterate for chunks of bytes (whole rows)."""

    def __init__(self, conn: "Connection", sql: str, chunk_rows: Optional[int] = None) -> None:
        self._conn = conn
        self._sqlb = sql_bytes(sql)
        self.sql = sql
        self.direction = "out" if TO_STDOUT.search(sql) else "in"
        m = FROM_STDIN_OPTIONS.search(sql)
        fmt = NOT_TEXT.search(m.group(1)) if m else None
        self._text_format = fmt is None
        self._csv = fmt is not None and fmt.group(1).lower() == "csv"
        self._state = "new"
        self._rows: List[Any] = []
        self._ncols: Optional[int] = None
        self._sent_rows = 0
        self._chunk_rows_given = None if chunk_rows is None else max(1, int(chunk_rows))
        #: Rows stored (COPY FROM) or read (COPY TO), once the COPY has ended.
        self.rowcount = -1
        self._h = None
        self._in_tx = False
        self._binary = False
        self._owner = None
        self._tx = 0  # the connection's transaction it runs in (Turns.tx), once started
        _deadlines.start()  # here, not in the finalizer that may need it (end_bounded)

    # -- life cycle --

    def start(self) -> "Copy":
        """Send the COPY statement (``with`` does it)."""
        if self._state != "new":
            raise e.InterfaceError("this COPY was already started")
        conn = self._conn
        h = conn._handle()
        err = ffi.new("pp_error **")
        with conn._lock.lock, conn._lock:
            conn._maybe_begin(h)
            self._in_tx = lib.pp_transaction_status(h) in (2, 3)
            start = lib.pp_copy_in_start if self.direction == "in" else lib.pp_copy_out_start
            sqlb = conn._cstr(self._sqlb)
            rc = conn._call_batch(h, lambda: start(h, sqlb, err), err)
        if rc != PP_OK:
            self._state = "done"
            raise_error(err[0])
        self._h = h
        self._state = "running"
        self._owner = conn._lock.current()  # the thread using it (see _turns)
        self._tx = conn._lock.tx
        return self

    def __enter__(self) -> "Copy":
        if self._state == "new":
            self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._state != "running":
            return
        if exc_type is None:
            self.finish()
        else:
            self._abandon("COPY aborted by the client: %s" % (exc_type.__name__,))

    def _running(self, direction: str):
        if self._state != "running":
            raise e.InterfaceError("the COPY is not running (%s)"
                                   % ("not started" if self._state == "new" else "ended"))
        if self.direction != direction:
            raise e.ProgrammingError(
                "this is a COPY %s: it cannot be %s" %
                (("FROM STDIN", "read") if self.direction == "in" else ("TO STDOUT", "written")))
        self._owner = self._conn._lock.take_over(self._owner)  # used in another thread
        return self._h

    def finish(self) -> int:
        """End the COPY: for COPY FROM, send what is buffered and wait for the server to
        store it (raising its error if it refuses the data); for COPY TO, read and drop
        what is left. Returns :attr:`rowcount`."""
        if self._state != "running":
            if self._state == "done":
                return self.rowcount
            raise e.InterfaceError("the COPY was not started")
        if self.direction == "out":
            for _ in self:
                pass
            return self.rowcount
        h = self._h
        self._owner = self._conn._lock.take_over(self._owner)
        try:
            self._flush_rows()
        except BaseException:
            self._abandon("COPY aborted by the client: the data could not be sent")
            raise
        rows = ffi.new("int64_t *")
        err = ffi.new("pp_error **")
        self._state = "done"
        conn = self._conn
        with conn._lock.lock, conn._lock:
            rc = conn._call_batch(h, lambda: lib.pp_copy_end(h, ffi.NULL, rows, err), err)
        if rc != PP_OK:
            raise_error(err[0])
        self.rowcount = rows[0]
        return self.rowcount

    def abort(self, reason: str = "COPY aborted by the client") -> None:
        """Abort a COPY FROM (the server stores nothing) or stop reading a COPY TO. The
        connection stays usable."""
        if self._state == "running":
            self._abandon(reason)

    def _abandon(self, reason: str) -> None:
        self._owner = self._conn._lock.take_over(self._owner)
        self._state = "done"
        self._rows = []
        abort_copy(self._conn, self._h, self.direction == "in", self._in_tx, reason)

    def _release(self) -> None:
        """Abort a COPY dropped while running, from its finalizer: at once on the COPY's
        thread with no operation running on the connection (not an AsyncConnection's:
        ``Turns.defer``; bounded: ``end_bounded``), else by the connection's next statement
        (``Turns.pending``), with no I/O here."""
        if self._state != "running":
            return
        self._state = "done"
        conn = self._conn
        if conn._closed:
            return
        turns = conn._lock
        end = partial(abort_dropped, weakref.ref(conn), self.direction == "in", self._in_tx,
                      self._owner)
        # this thread, between two operations (no one else can be using it): at once
        if turns.current() is self._owner and not turns.defer \
                and turns.if_free(partial(end_bounded, conn, end, True)):
            return
        turns.pending.append((self._tx, end, end))

    def __del__(self) -> None:
        try:
            self._release()
        except Exception:  # a finalizer raises nowhere useful
            pass

    # -- COPY FROM STDIN --

    def write(self, data: Union[bytes, bytearray, memoryview, str]) -> None:
        """Send raw COPY data (bytes, or str sent as UTF-8) in the COPY's format. Pieces
        need not end on a row boundary."""
        h = self._running("in")
        if isinstance(data, str):
            data = check_utf8(data, "COPY data")
        elif not isinstance(data, (bytes, bytearray, memoryview)):
            raise e.ProgrammingError("COPY data must be bytes or str, not %s"
                                     % type(data).__name__)
        if self._rows:
            self._flush_rows()
        if not data:
            return
        buf = ffi.from_buffer(data)
        err = ffi.new("pp_error **")
        conn = self._conn
        with conn._lock.lock, conn._lock:
            rc = conn._call_batch(h, lambda: lib.pp_copy_put(h, buf, len(buf), err), err)
        if rc != PP_OK:
            raise_error(err[0])

    def use_binary(self, types: Sequence[Union[int, str]]) -> None:
        """Make this ``COPY … FROM STDIN (FORMAT binary)`` take rows of Python values
        (write_row / write_rows), encoded in binary by the C library: ``types`` gives each
        column's type, as OIDs or built-in names ("int4", "text", …). Binary COPY needs
        each value in its column's own Python type (no str for an integer column). Call it
        before the first row."""
        h = self._running("in")
        if self._text_format or self._csv:
            raise e.ProgrammingError("use_binary() needs a COPY … FROM STDIN (FORMAT binary)")
        if self._binary or self._sent_rows or self._rows:
            raise e.InterfaceError("use_binary() must come before the first row")
        oids = [_types.type_oid(t) if isinstance(t, str) else int(t) for t in types]
        if not oids:
            raise e.ProgrammingError("use_binary() needs the type of every column")
        arr = ffi.new("uint32_t[]", oids)
        err = ffi.new("pp_error **")
        with self._conn._lock.lock, self._conn._lock:
            rc = lib.pp_copy_use_binary(h, len(oids), arr, err)
        if rc != PP_OK:
            raise_error(err[0])
        self._binary = True
        self._ncols = len(oids)

    def write_row(self, row: Sequence[Any]) -> None:
        """Send one row of Python values (COPY text format only; buffered, sent in
        chunks)."""
        self._running("in")
        if not (self._text_format or self._binary):
            raise e.NotSupportedError("write_row() writes COPY's text format (or binary "
                                      "after use_binary()); this COPY uses another: use "
                                      "write()")
        self._rows.append(row)
        if len(self._rows) >= self._chunk_rows(row):
            self._flush_rows()

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        """Send many rows of Python values (COPY text format only)."""
        self._running("in")
        if not (self._text_format or self._binary):
            raise e.NotSupportedError("write_rows() writes COPY's text format (or binary "
                                      "after use_binary()); this COPY uses another: use "
                                      "write()")
        self._flush_rows()
        size = self._chunk_rows(rows[0] if isinstance(rows, (list, tuple)) and rows else None)
        if isinstance(rows, (list, tuple)):
            chunks: Iterator[Sequence[Any]] = (rows[s:s + size]
                                               for s in range(0, len(rows), size))
        else:
            it = iter(rows)
            chunks = iter(lambda: list(islice(it, size)), [])
        self._send_chunks(chunks)

    def _chunk_rows(self, sample: Any = None) -> int:
        if self._chunk_rows_given is not None:
            return self._chunk_rows_given
        ncols = self._ncols
        if ncols is None:
            try:
                ncols = len(sample)
            except TypeError:
                ncols = 1
        return max(100, min(CHUNK_ROWS, CHUNK_VALUES // max(ncols, 1)))

    def _flush_rows(self) -> None:
        if self._rows:
            rows, self._rows = self._rows, []
            self._send_rows(rows)

    def _send_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        laid = layout_rows(rows, self._ncols, self._sent_rows, self._conn._adapters)
        self._ncols = laid[2]
        self._put(laid)

    def _put(self, laid: Tuple[bool, Any, int, int, list]) -> None:
        by_columns, arr, ncols, n, keep = laid
        put = lib.pp_copy_put_columns if by_columns else lib.pp_copy_put_rows
        err = ffi.new("pp_error **")
        conn, h = self._conn, self._h
        with conn._lock.lock, conn._lock:
            rc = conn._call_batch(h, lambda: put(h, ncols, n, arr, err), err)
        if rc != PP_OK:
            raise_error(err[0])
        self._sent_rows += n

    def _send_chunks(self, chunks: Iterator[Sequence[Any]]) -> None:
        """Lay out and send chunks of rows. From the second chunk on, a helper thread lays
        out chunk k+1 while this thread is in the C call sending chunk k (which releases
        the GIL while it encodes and waits for the server), so Python's work overlaps the
        server's. The rows are only read here (user iterators run in this thread)."""
        first = next(chunks, None)
        if first is None:
            return
        self._send_rows(first)  # also settles the number of columns
        second = next(chunks, None)
        if second is None:
            return
        if not THREADED:
            self._send_rows(second)
            for chunk in chunks:
                self._send_rows(chunk)
            return
        from ._worker import Worker
        ncols = self._ncols
        queued = self._sent_rows
        with Worker("PostPyro-copy") as worker:
            adapters = self._conn._adapters
            pending = worker.submit(layout_rows, second, ncols, queued, adapters)
            queued += len(second)
            try:
                for chunk in chunks:
                    laid = pending.result()
                    pending = worker.submit(layout_rows, chunk, ncols, queued, adapters)
                    queued += len(chunk)
                    self._put(laid)
                    del laid
                self._put(pending.result())
            except BaseException:
                pending.cancel()
                raise

    # -- COPY TO STDOUT --

    def read(self) -> bytes:
        """The next chunk of COPY data (whole rows), or ``b""`` when the COPY is done."""
        if self._state == "done" and self.direction == "out":
            return b""
        h = self._running("out")
        data = ffi.new("const char **")
        n = ffi.new("int64_t *")
        rows = ffi.new("int64_t *")
        err = ffi.new("pp_error **")
        with self._conn._lock.lock, self._conn._lock:
            rc = self._conn._copy_read(h, data, n, rows, err)
            chunk = ffi.buffer(data[0], n[0])[:] if rc == 1 else b""
        if rc == 1:
            return chunk
        self._state = "done"
        if rc == 0:
            self.rowcount = rows[0]
            return b""
        raise_error(err[0])

    def __iter__(self) -> Iterator[bytes]:
        while True:
            chunk = self.read()
            if not chunk:
                return
            yield chunk

    def __repr__(self) -> str:
        return "<PostPyro.Copy %s %s>" % (self.direction, self._state)


# ---- one-call helpers (Connection.copy_records_to_table, copy_from, copy_to) -------------


def _table_columns(conn: "Connection", qualified: str) -> List[Tuple[str, int]]:
    """(name, base type OID) of the columns a COPY without a column list fills."""
    r = conn._execute(COLUMNS_SQL, [qualified])
    return [(row[0], row[1]) for row in r.rows()]


def copy_records_to_table(conn: "Connection", table: str, records: Iterable[Sequence[Any]],
                          columns: Optional[Sequence[str]] = None,
                          schema_name: Optional[str] = None,
                          chunk_rows: Optional[int] = None,
                          format: Optional[str] = None) -> int:
    """Rows of Python values into ``table`` with COPY; returns the number stored.

    ``format``: "binary" (values encoded by the C library for each column's type: the
    fastest, but each value must have its column's own Python type), "text" (each value's
    text form, parsed by the server: any value PostPyro can send), or None (the default):
    binary when every column has a binary encoding and the first rows fit it, else text."""
    if format not in (None, "binary", "text"):
        raise e.ProgrammingError("format must be None, 'binary' or 'text', not %r" % (format,))
    if columns is not None:
        if isinstance(columns, str):
            raise e.ProgrammingError("columns must be a list of names, not a str")
        columns = list(columns)
    qualified = quote_identifier(table)
    if schema_name is not None:
        qualified = quote_identifier(schema_name) + "." + qualified
    if isinstance(records, (list, tuple)):
        first = records[:1000]  # enough to decide on binary
        rest: Iterable[Sequence[Any]] = records[1000:] if len(records) > 1000 else ()
    else:
        rest = iter(records)
        first = list(islice(rest, 1000))
    binary = False
    oids: List[int] = []
    if format != "text":
        described = dict(_table_columns(conn, qualified))  # server errors propagate
        names = columns if columns is not None else list(described)
        if all(n in described for n in names):
            oids = [described[n] for n in names]
            columns = names
        elif format == "binary":
            raise e.ProgrammingError("table %s has no column %s" % (qualified, ", ".join(
                quote_identifier(n) for n in names if n not in described)))
        if oids:
            if format == "binary":
                binary = True
            else:
                try:
                    fits = bool(first) and all(len(r) == len(oids) for r in first)
                except TypeError:
                    fits = False
                binary = fits and all(fits_binary(oid, col, conn.adapters)
                                      for oid, col in zip(oids, zip(*first)))
    sql = table_sql(table, columns, schema_name, "FROM STDIN")
    if binary:
        sql += " (FORMAT binary)"
    with Copy(conn, sql, chunk_rows) as cp:
        if binary:
            cp.use_binary(oids)
        elif columns is not None:
            cp._ncols = len(columns)
        if isinstance(records, (list, tuple)):
            cp.write_rows(records)
        elif first:
            cp.write_rows(chain(first, rest))
    return cp.rowcount


def copy_from(conn: "Connection", target: str, source: Any,
              columns: Optional[Sequence[str]] = None, schema_name: Optional[str] = None) -> int:
    if is_copy_sql(target):
        if columns is not None or schema_name is not None:
            raise e.ProgrammingError("columns and schema_name go with a table name, not with "
                                     "a COPY statement")
        sql = target
    else:
        sql = table_sql(target, columns, schema_name, "FROM STDIN")
    with Copy(conn, sql) as cp:
        if cp.direction != "in":
            raise e.ProgrammingError("copy_from() needs a COPY … FROM STDIN")
        if isinstance(source, (bytes, bytearray, memoryview, str)):
            cp.write(source)
        elif hasattr(source, "read"):
            read = source.read
            while True:
                chunk = read(READ_SIZE)
                if not chunk:
                    break
                cp.write(chunk)
        else:
            pending: List[bytes] = []
            size = 0
            for piece in source:
                if isinstance(piece, str):
                    piece = check_utf8(piece, "COPY data")
                elif not isinstance(piece, (bytes, bytearray, memoryview)):
                    raise e.ProgrammingError("copy_from() source items must be bytes or str, "
                                             "not %s" % type(piece).__name__)
                pending.append(piece)
                size += len(piece)
                if size >= READ_SIZE:
                    cp.write(b"".join(pending))
                    pending = []
                    size = 0
            if pending:
                cp.write(b"".join(pending))
    return cp.rowcount


def copy_to(conn: "Connection", source: str, file: Any,
            columns: Optional[Sequence[str]] = None, schema_name: Optional[str] = None) -> int:
    if is_copy_sql(source):
        if columns is not None or schema_name is not None:
            raise e.ProgrammingError("columns and schema_name go with a table name, not with "
                                     "a COPY statement")
        sql = source
    elif re.match(r"\s*(select|with|values|table)\b", source, re.I) and \
            columns is None and schema_name is None:
        sql = "COPY (%s) TO STDOUT" % source
    else:
        sql = table_sql(source, columns, schema_name, "TO STDOUT")
    text = isinstance(file, io.TextIOBase)
    write = file.write
    with Copy(conn, sql) as cp:
        if cp.direction != "out":
            raise e.ProgrammingError("copy_to() needs a COPY … TO STDOUT")
        for chunk in cp:
            write(chunk.decode("utf-8") if text else chunk)
    return cp.rowcount
