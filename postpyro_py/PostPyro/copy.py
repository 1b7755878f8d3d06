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
InterfaceError until the COPY ends.
"""

from __future__ import annotations

import io
import re
import sys
from array import array
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID
from itertools import accumulate, chain, islice, repeat
from operator import is_, itemgetter
from typing import TYPE_CHECKING, Any, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import errors as e
from . import types as _types
from ._ffi import PP_OK, ffi, lib
from ._raise import raise_error
from .connection import _sql_bytes

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

_PP_NULL = lib.PP_NULL
_PP_BOOL = lib.PP_BOOL
_PP_INT = lib.PP_INT
_PP_FLOAT = lib.PP_FLOAT
_PP_TEXT = lib.PP_TEXT

_IS_PYPY = sys.implementation.name == "pypy"


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (always quoted, so case and keywords are
    kept as given). Refuses an empty name and NUL characters."""
    if not isinstance(name, str):
        raise e.ProgrammingError("an identifier must be a str, not %s" % type(name).__name__)
    if not name:
        raise e.ProgrammingError("an identifier cannot be empty")
    if "\0" in name:
        raise e.DataError("identifier contains a NUL character")
    _check_utf8(name, "identifier")
    return '"' + name.replace('"', '""') + '"'


def _check_utf8(s: str, what: str) -> bytes:
    """s as UTF-8; DataError for a str that has no UTF-8 form (a lone surrogate)."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise e.DataError("%s cannot be encoded as UTF-8: %s" % (what, exc)) from exc


def _table_sql(table: str, columns: Optional[Sequence[str]], schema_name: Optional[str],
               direction: str) -> str:
    name = quote_identifier(table)
    if schema_name is not None:
        name = quote_identifier(schema_name) + "." + name
    cols = ""
    if columns is not None:
        if isinstance(columns, str):
            raise e.ProgrammingError("columns must be a list of names, not a str")
        columns = list(columns)
        if not columns:
            raise e.ProgrammingError("columns, when given, cannot be empty")
        cols = " (" + ", ".join(quote_identifier(c) for c in columns) + ")"
    return "COPY %s%s %s" % (name, cols, direction)


_COPY_SQL = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*copy\b", re.I | re.S)
_TO_STDOUT = re.compile(r"\bto\s+stdout\b", re.I)
_FROM_STDIN_OPTIONS = re.compile(r"\bfrom\s+stdin\b(.*)\Z", re.I | re.S)
_NOT_TEXT = re.compile(r"\b(csv|binary)\b", re.I)


def _is_copy_sql(s: str) -> bool:
    return _COPY_SQL.match(s) is not None


# ---- rows of Python values -> pp_value[] ---------------------------------------------------

_VSIZE = ffi.sizeof("pp_value")
_OFF_TAG = ffi.offsetof("pp_value", "tag")
_OFF_I = ffi.offsetof("pp_value", "i")
_OFF_F = ffi.offsetof("pp_value", "f")
_OFF_PTR = ffi.offsetof("pp_value", "ptr")
_OFF_LEN = ffi.offsetof("pp_value", "len")
# The bulk layout writes fields through memoryviews of the array: it needs the fields at
# offsets that are multiples of their size, and 64-bit pointers.
_BULK_OK = (_VSIZE % 8 == 0 and _OFF_TAG % 4 == 0 and _OFF_I % 8 == 0 and _OFF_F % 8 == 0
            and _OFF_PTR % 8 == 0 and _OFF_LEN % 8 == 0 and ffi.sizeof("void *") == 8
            and array("q").itemsize == 8 and array("i").itemsize == 4
            and array("d").itemsize == 8)

_NoneType = type(None)


def _builtin_dumper(cls: type) -> bool:
    """True when values of exactly ``cls`` are dumped by PostPyro's own dumper (no
    register_dumper override), so the bulk layout gives the same pp_value."""
    dumpers = getattr(_types, "_dumpers", None)
    builtin = getattr(_types, "_BUILTIN_DUMPERS", None)
    if dumpers is None or builtin is None:
        return False
    fn = builtin.get(cls)
    return fn is not None and dumpers.get(cls, fn) is fn


class _Bulk(Exception):
    """A column the bulk layout cannot take: fill it value by value."""


def _fill_column_bulk(views, col: list, j: int, ncols: int, keep: list) -> None:
    i32, q, d = views
    n = len(col)
    kinds = set(map(type, col))
    has_null = _NoneType in kinds
    kinds.discard(_NoneType)
    if not kinds:
        return  # all NULL: the zeroed pp_values already are
    if len(kinds) != 1:
        raise _Bulk
    kind = kinds.pop()
    if not _builtin_dumper(kind):
        raise _Bulk
    step4 = ncols * _VSIZE // 4
    step8 = ncols * _VSIZE // 8
    base = j * _VSIZE
    if kind is int or kind is bool:
        tag = _PP_INT if kind is int else _PP_BOOL
        vals = [0 if x is None else x for x in col] if has_null else col
        try:
            q[(base + _OFF_I) // 8::step8] = array("q", vals)
        except OverflowError:
            raise _Bulk from None  # beyond int64: numeric, value by value
    elif kind is float:
        tag = _PP_FLOAT
        vals = [0.0 if x is None else x for x in col] if has_null else col
        d[(base + _OFF_F) // 8::step8] = array("d", vals)
    elif kind is str:
        tag = _PP_TEXT
        vals = ["" if x is None else x for x in col] if has_null else col
        joined = "".join(vals)
        if "\0" in joined:
            raise _Bulk  # a NUL inside a value: the value-by-value path says which
        if joined.isascii():
            data = joined.encode("ascii")
            lens = list(map(len, vals))
        else:
            try:
                parts = [s.encode("utf-8") for s in vals]
            except UnicodeEncodeError:
                raise _Bulk from None
            data = b"".join(parts)
            lens = list(map(len, parts))
        buf = ffi.from_buffer(data)
        keep.append(data)
        keep.append(buf)
        start = int(ffi.cast("intptr_t", buf))
        # the values lie back to back: value k starts at start + the lengths before it
        ptrs = array("q", accumulate(chain((start,), lens)))
        ptrs.pop()
        q[(base + _OFF_PTR) // 8::step8] = ptrs
        q[(base + _OFF_LEN) // 8::step8] = array("q", lens)
    else:
        raise _Bulk
    tags = array("i", (tag,)) * n
    if has_null:
        for k, x in enumerate(col):
            if x is None:
                tags[k] = _PP_NULL
    i32[(base + _OFF_TAG) // 4::step4] = tags


def _fill_column_each(arr, col, j: int, ncols: int, keep: list,
                      first_row: Optional[int]) -> None:
    dump = _types.dump_value
    k = j
    try:
        for x in col:
            dump(x, arr[k], keep, j + 1)
            k += ncols
    except e.Error as exc:
        if first_row is None:
            raise
        row = first_row + (k - j) // ncols
        raise type(exc)("COPY row %d, column %d: %s" % (row, j + 1, exc)) from exc.__cause__


def _check_rows(rows: Sequence[Sequence[Any]], ncols: Optional[int],
                first_row: Optional[int]) -> Tuple[Sequence[Sequence[Any]], int]:
    """(rows, ncols) once every row has ncols values (None: the first row's count)."""
    try:
        widths = set(map(len, rows))
    except TypeError:
        rows = [tuple(r) for r in rows]
        widths = set(map(len, rows))
    if ncols is None:
        ncols = next(iter(widths)) if widths else 0
    if widths != {ncols}:
        for k, r in enumerate(rows):
            if len(r) != ncols:
                raise e.ProgrammingError("COPY row %d has %d values; expected %d"
                                         % ((first_row or 0) + k, len(r), ncols))
    if ncols == 0:
        raise e.ProgrammingError("COPY rows must have at least one value")
    return rows, ncols


def _transpose(rows: Sequence[Sequence[Any]], ncols: int) -> List[list]:
    if _IS_PYPY:
        return [[r[j] for r in rows] for j in range(ncols)]
    # not zip(*rows): its thousands of iterators make the garbage collector run
    return [list(map(itemgetter(j), rows)) for j in range(ncols)]


def encode_rows(rows: Sequence[Sequence[Any]], ncols: Optional[int],
                first_row: Optional[int] = 0) -> Tuple[Any, int, list]:
    """Rows of Python values as a ``pp_value[]`` (row after row) for pp_copy_put_rows.
    Returns (array, ncols, keep-alive list). ``first_row`` numbers rows in errors (None:
    the errors of dump_value as they are)."""
    rows, ncols = _check_rows(rows, ncols, first_row)
    return _encode_rows(rows, ncols, first_row, _transpose(rows, ncols))


def _encode_rows(rows: Sequence[Sequence[Any]], ncols: int, first_row: Optional[int],
                 columns: List[list]) -> Tuple[Any, int, list]:
    n = len(rows)
    arr = ffi.new("pp_value[]", n * ncols)  # zeroed: every value starts as PP_NULL
    keep = [arr]
    views = None
    if _BULK_OK and not _IS_PYPY:
        mv = memoryview(ffi.buffer(arr))
        views = (mv.cast("i"), mv.cast("q"), mv.cast("d"))
    for j, col in enumerate(columns):
        if views is not None:
            try:
                _fill_column_bulk(views, col, j, ncols, keep)
                continue
            except _Bulk:
                pass
        _fill_column_each(arr, col, j, ncols, keep, first_row)
    return arr, ncols, keep


# ---- rows of Python values -> pp_column[] (pp_copy_put_columns) ------------------------------

_ZERO = {int: 0, bool: False, float: 0.0, str: ""}


def _encode_columns(columns: List[list], n: int) -> Optional[Tuple[Any, list]]:
    """The columns as a ``pp_column[]`` for pp_copy_put_columns: one array per column, laid
    out by a few bulk operations. None when a column holds anything but exactly int, bool,
    float or str (each with PostPyro's own dumper) and None, or a value those arrays cannot
    hold as the pp_value path would send it (an int beyond int64, a str with a NUL or a
    lone surrogate): the caller then lays the rows out value by value."""
    if n == 0:
        return None
    cols = ffi.new("pp_column[]", len(columns))
    keep = [cols]
    for c, col in zip(cols, columns):
        kinds = set(map(type, col))
        has_null = _NoneType in kinds
        kinds.discard(_NoneType)
        c.count = n
        if not kinds:
            c.tag = _PP_NULL
            continue
        if len(kinds) != 1:
            return None
        kind = kinds.pop()
        if kind not in _ZERO or not _builtin_dumper(kind):
            return None
        if has_null:
            zero = _ZERO[kind]
            nulls = bytes(map(is_, col, repeat(None)))
            keep.append(nulls)
            c.nulls = ffi.from_buffer("uint8_t[]", nulls)
            col = [zero if x is None else x for x in col]
        if kind is str:
            c.tag = _PP_TEXT
            joined = "\0".join(col)
            if joined.count("\0") != n - 1:
                return None  # a NUL inside a value: the value-by-value path says which
            try:
                # every value followed by a NUL byte: no offsets to compute
                data = joined.encode("utf-8") + b"\0"
            except UnicodeEncodeError:
                return None
            keep.append(data)
            c.data = ffi.from_buffer(data)
            c.data_len = len(data)
        elif kind is float:
            c.tag = _PP_FLOAT
            floats = array("d", col)
            keep.append(floats)
            c.floats = ffi.from_buffer("double[]", floats)
        else:
            c.tag = _PP_INT if kind is int else _PP_BOOL
            try:
                ints = array("q", col)
            except OverflowError:
                return None  # beyond int64: numeric text, value by value
            keep.append(ints)
            c.ints = ffi.from_buffer("int64_t[]", ints)
    return cols, keep


def layout_rows(rows: Sequence[Sequence[Any]], ncols: Optional[int],
                first_row: int = 0) -> Tuple[bool, Any, int, int, list]:
    """A chunk of COPY rows laid out for the C library: column by column (a
    ``pp_column[]`` for pp_copy_put_columns) when every column allows it, else row by row
    (a ``pp_value[]`` for pp_copy_put_rows). Returns (by_columns, array, ncols, nrows,
    keep-alive list)."""
    rows, ncols = _check_rows(rows, ncols, first_row)
    columns = _transpose(rows, ncols)
    n = len(rows)
    if COLUMNS:
        laid = _encode_columns(columns, n)
        if laid is not None:
            return True, laid[0], ncols, n, laid[1]
    arr, ncols, keep = _encode_rows(rows, ncols, first_row, columns)
    return False, arr, ncols, n, keep


def dump_many(seq_of_params: Any) -> Tuple[bool, Any, int, int, list]:
    """Rows of parameters for executemany, laid out like COPY rows: column by column (a
    ``pp_column[]`` for pp_exec_many_columns) when every column allows it, else row by row
    (the pp_values of :func:`PostPyro.types.dump_many` for pp_exec_many). Returns
    (by_columns, array, nparams, nrows, keep-alive list)."""
    check = _types.check_params
    rows = [check(p) for p in seq_of_params]
    nrows = len(rows)
    if nrows == 0:
        return False, ffi.NULL, 0, 0, []
    nparams = len(rows[0])
    if set(map(len, rows)) != {nparams}:
        for k, row in enumerate(rows):
            if len(row) != nparams:
                raise e.ProgrammingError("executemany: row %d has %d parameters, row 0 has "
                                         "%d" % (k, len(row), nparams))
    if nparams == 0:
        return False, ffi.NULL, 0, nrows, []
    columns = _transpose(rows, nparams)
    if COLUMNS:
        laid = _encode_columns(columns, nrows)
        if laid is not None:
            return True, laid[0], nparams, nrows, laid[1]
    if _IS_PYPY or not _BULK_OK:
        arr, nparams, nrows, keep = _types.dump_many(rows)
        return False, arr, nparams, nrows, keep
    arr, _, keep = _encode_rows(rows, nparams, None, columns)
    return False, arr, nparams, nrows, keep


# ---- the COPY object ---------------------------------------------------------------------

class Copy:
    """A COPY statement in progress; make one with ``conn.copy(sql)`` and use it in a
    ``with`` block. For ``COPY … FROM STDIN``: :meth:`write`, :meth:`write_row`,
    :meth:`write_rows`; leaving the block normally ends the COPY (:attr:`rowcount` then
    says how many rows were stored), with an exception aborts it (nothing is stored). For
    ``COPY … TO STDOUT``: :meth:`read` or iterate for chunks of bytes (whole rows)."""

    def __init__(self, conn: "Connection", sql: str, chunk_rows: Optional[int] = None) -> None:
        self._conn = conn
        self._sqlb = _sql_bytes(sql)
        self.sql = sql
        self.direction = "out" if _TO_STDOUT.search(sql) else "in"
        m = _FROM_STDIN_OPTIONS.search(sql)
        fmt = _NOT_TEXT.search(m.group(1)) if m else None
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

    # -- life cycle --

    def start(self) -> "Copy":
        """Send the COPY statement (``with`` does it)."""
        if self._state != "new":
            raise e.InterfaceError("this COPY was already started")
        conn = self._conn
        h = conn._handle()
        err = ffi.new("pp_error **")
        with conn._lock:
            conn._maybe_begin(h)
            self._in_tx = lib.pp_transaction_status(h) in (2, 3)
            if self.direction == "in":
                rc = lib.pp_copy_in_start(h, self._sqlb, err)
            else:
                rc = lib.pp_copy_out_start(h, self._sqlb, err)
        if rc != PP_OK:
            self._state = "done"
            raise_error(err[0])
        self._h = h
        self._state = "running"
        self._owner = conn._lock.current()  # the thread using it (see _turns)
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
        with self._conn._lock:
            rc = lib.pp_copy_end(h, ffi.NULL, rows, err)
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
        h = self._h
        self._owner = self._conn._lock.take_over(self._owner)
        self._state = "done"
        self._rows = []
        err = ffi.new("pp_error **")
        if self.direction == "in":
            r = reason.replace("\0", " ").encode("utf-8", "replace")
            with self._conn._lock:
                rc = lib.pp_copy_end(h, r, ffi.NULL, err)
            if rc != PP_OK:  # the expected outcome: the server's "COPY … aborted" error
                lib.pp_error_free(err[0])
        else:
            # Outside a transaction, stop the server sending (a cancel); inside one, a
            # cancel would fail the transaction, so only read (and drop) what is left.
            if not self._in_tx:
                lib.pp_cancel(h, ffi.NULL)
            data = ffi.new("const char **")
            n = ffi.new("int64_t *")
            with self._conn._lock:
                while True:
                    rc = lib.pp_copy_out_read(h, data, n, ffi.NULL, err)
                    if rc != 1:
                        break
            if rc != 0 and err[0] != ffi.NULL:
                lib.pp_error_free(err[0])

    def __del__(self) -> None:
        # Not ended (no `with`, and dropped): abort, so the connection is usable again.
        try:
            if self._state == "running" and not self._conn._closed:
                self._abandon("COPY abandoned by the client")
        except Exception:
            pass

    # -- COPY FROM STDIN --

    def write(self, data: Union[bytes, bytearray, memoryview, str]) -> None:
        """Send raw COPY data (bytes, or str sent as UTF-8) in the COPY's format. Pieces
        need not end on a row boundary."""
        h = self._running("in")
        if isinstance(data, str):
            data = _check_utf8(data, "COPY data")
        elif not isinstance(data, (bytes, bytearray, memoryview)):
            raise e.ProgrammingError("COPY data must be bytes or str, not %s"
                                     % type(data).__name__)
        if self._rows:
            self._flush_rows()
        if not data:
            return
        buf = ffi.from_buffer(data)
        err = ffi.new("pp_error **")
        with self._conn._lock:
            rc = lib.pp_copy_put(h, buf, len(buf), err)
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
        with self._conn._lock:
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
        laid = layout_rows(rows, self._ncols, self._sent_rows)
        self._ncols = laid[2]
        self._put(laid)

    def _put(self, laid: Tuple[bool, Any, int, int, list]) -> None:
        by_columns, arr, ncols, n, keep = laid
        put = lib.pp_copy_put_columns if by_columns else lib.pp_copy_put_rows
        err = ffi.new("pp_error **")
        with self._conn._lock:
            rc = put(self._h, ncols, n, arr, err)
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
        from concurrent.futures import ThreadPoolExecutor
        ncols = self._ncols
        queued = self._sent_rows
        with ThreadPoolExecutor(1, thread_name_prefix="PostPyro-copy") as worker:
            pending = worker.submit(layout_rows, second, ncols, queued)
            queued += len(second)
            try:
                for chunk in chunks:
                    laid = pending.result()
                    pending = worker.submit(layout_rows, chunk, ncols, queued)
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
        with self._conn._lock:
            rc = lib.pp_copy_out_read(h, data, n, rows, err)
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

# Base types whose values the C library encodes for a binary COPY, with the Python types
# (exactly) that go there in binary; anything else makes copy_records_to_table use text.
_TEXTUAL = frozenset((str,))
_BINARY_TYPES = {
    16: frozenset((bool,)),
    17: frozenset((bytes, bytearray, memoryview)),
    19: _TEXTUAL, 25: _TEXTUAL, 1042: _TEXTUAL, 1043: _TEXTUAL,
    20: frozenset((int,)), 21: frozenset((int,)), 23: frozenset((int,)), 26: frozenset((int,)),
    700: frozenset((float, int)), 701: frozenset((float, int)),
    1700: frozenset((Decimal, int, float)),
    114: frozenset((str, dict, _types.Json)), 3802: frozenset((str, dict, _types.Json)),
    1082: frozenset((date,)), 1083: frozenset((time,)), 1266: frozenset((time,)),
    1114: frozenset((datetime,)), 1184: frozenset((datetime,)),
    1186: frozenset((timedelta,)), 2950: frozenset((UUID,)),
}

_COLUMNS_SQL = (
    "SELECT a.attname::text, CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid "
    "END::int8 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
    "WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped "
    "AND a.attgenerated = '' ORDER BY a.attnum")


def _table_columns(conn: "Connection", qualified: str) -> List[Tuple[str, int]]:
    """(name, base type OID) of the columns a COPY without a column list fills."""
    r = conn._execute(_COLUMNS_SQL, [qualified])
    return [(row[0], row[1]) for row in r.rows()]


def _fits_binary(oid: int, col: Sequence[Any]) -> bool:
    allowed = _BINARY_TYPES.get(oid)
    if allowed is None:
        return False
    kinds = set(map(type, col))
    kinds.discard(_NoneType)
    if not kinds <= allowed:
        return False
    if not all(_builtin_dumper(k) for k in kinds):
        return False
    if oid in (1114, 1184, 1083):  # naive timestamp / aware timestamptz / naive time
        want_aware = oid == 1184
        return all((x.utcoffset() is not None) == want_aware for x in col if x is not None)
    if oid == 1266:
        return all(x.utcoffset() is not None for x in col if x is not None)
    if oid in (700, 701) and int in kinds:  # exactly representable, else C refuses
        limit = 1 << (24 if oid == 700 else 53)
        return all(-limit <= x <= limit for x in col if type(x) is int)
    return True


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
                binary = fits and all(_fits_binary(oid, col)
                                      for oid, col in zip(oids, zip(*first)))
    sql = _table_sql(table, columns, schema_name, "FROM STDIN")
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
    if _is_copy_sql(target):
        if columns is not None or schema_name is not None:
            raise e.ProgrammingError("columns and schema_name go with a table name, not with "
                                     "a COPY statement")
        sql = target
    else:
        sql = _table_sql(target, columns, schema_name, "FROM STDIN")
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
                    piece = _check_utf8(piece, "COPY data")
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
    if _is_copy_sql(source):
        if columns is not None or schema_name is not None:
            raise e.ProgrammingError("columns and schema_name go with a table name, not with "
                                     "a COPY statement")
        sql = source
    elif re.match(r"\s*(select|with|values|table)\b", source, re.I) and \
            columns is None and schema_name is None:
        sql = "COPY (%s) TO STDOUT" % source
    else:
        sql = _table_sql(source, columns, schema_name, "TO STDOUT")
    text = isinstance(file, io.TextIOBase)
    write = file.write
    with Copy(conn, sql) as cp:
        if cp.direction != "out":
            raise e.ProgrammingError("copy_to() needs a COPY … TO STDOUT")
        for chunk in cp:
            write(chunk.decode("utf-8") if text else chunk)
    return cp.rowcount
