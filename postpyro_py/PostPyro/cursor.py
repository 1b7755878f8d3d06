"""DB-API 2.0 (PEP 249) cursors.

A cursor runs statements on its connection (placeholders ``$1, $2, …``: paramstyle
"numeric") and hands out the rows of the last one. Results are read whole when the statement
runs (no server-side cursor).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, List, NamedTuple, Optional, Sequence

from . import errors as e

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection, Params

__all__ = ["Cursor", "Column"]


class Column(NamedTuple):
    """One entry of ``Cursor.description`` (the PEP 249 7-tuple, with names)."""

    name: str
    type_code: int
    display_size: Optional[int]
    internal_size: Optional[int]
    precision: Optional[int]
    scale: Optional[int]
    null_ok: Optional[bool]


_NUMERIC = 1700
_SIZED = {1042, 1043, 1560, 1562}  # bpchar, varchar, bit, varbit: typmod is the length
_FIXED_SIZE = {16: 1, 20: 8, 21: 2, 23: 4, 26: 4, 700: 4, 701: 8, 1082: 4, 1083: 8,
               1114: 8, 1184: 8, 1186: 16, 1266: 12, 2950: 16}


def _column(name: str, oid: int, typmod: int) -> Column:
    precision = scale = None
    size = _FIXED_SIZE.get(oid)
    if oid == _NUMERIC and typmod >= 4:
        precision = ((typmod - 4) >> 16) & 0xFFFF
        scale = (typmod - 4) & 0xFFFF
    elif oid in _SIZED and typmod >= 0:
        size = typmod - 4 if oid in (1042, 1043) else typmod
    return Column(name, oid, None, size, precision, scale, None)


class Cursor:
    """A PEP 249 cursor; make one with ``conn.cursor()``."""

    def __init__(self, connection: "Connection") -> None:
        self._conn: Optional["Connection"] = connection
        self._rows: Optional[list] = None
        self._pos = 0
        self._description: Optional[List[Column]] = None
        self._rowcount = -1
        self._command: Optional[str] = None
        #: How many rows fetchmany() returns by default.
        self.arraysize = 1

    # ---- attributes ---------------------------------------------------------------------------

    @property
    def connection(self) -> "Connection":
        return self._check()

    @property
    def description(self) -> Optional[List[Column]]:
        """One 7-tuple (name, type_code, display_size, internal_size, precision, scale,
        null_ok) per column of the last statement's rows; None when it returned no rows."""
        return self._description

    @property
    def rowcount(self) -> int:
        """Rows returned or affected by the last statement; -1 when unknown."""
        return self._rowcount

    @property
    def statusmessage(self) -> Optional[str]:
        """The command tag of the last statement ("INSERT 0 1", …)."""
        return self._command

    @property
    def rownumber(self) -> Optional[int]:
        """Index of the next row fetchone() returns (None without a result)."""
        return None if self._rows is None else self._pos

    @property
    def closed(self) -> bool:
        return self._conn is None

    def _check(self) -> "Connection":
        if self._conn is None:
            raise e.InterfaceError("cursor is closed")
        return self._conn

    # ---- running statements ------------------------------------------------------------

    def execute(self, sql: str, params: "Params" = None) -> "Cursor":
        """Run a statement; its rows (if any) are then fetched with fetch*()."""
        conn = self._check()
        r = conn._execute(sql, params)
        if r.has_rows:
            self._rows = r.rows(conn._row_factory)
            self._description = [_column(n, t, m)
                                 for n, t, m in zip(r.names, r.types, r.typmods)]
        else:
            self._rows = None
            self._description = None
        self._pos = 0
        self._rowcount = r.rowcount
        self._command = r.command
        return self

    def executemany(self, sql: str, seq_of_params: Sequence["Params"]) -> "Cursor":
        """Run a statement once per parameter row (pipelined, all or nothing);
        ``rowcount`` is the total of affected rows."""
        conn = self._check()
        self._rows = None
        self._description = None
        self._pos = 0
        self._command = None
        self._rowcount = conn.executemany(sql, seq_of_params)
        return self

    def callproc(self, procname: str, params: "Params" = None) -> "Params":
        """Call a function ``procname($1, …)`` and keep its result for fetch*()."""
        from .transaction import quote_ident
        params = list(params or ())
        names = ".".join(quote_ident(part) for part in procname.split("."))
        placeholders = ", ".join("$%d" % (i + 1) for i in range(len(params)))
        self.execute("SELECT * FROM %s(%s)" % (names, placeholders), params)
        return params

    # ---- fetching ------------------------------------------------------------------------

    def _result(self) -> list:
        self._check()
        if self._rows is None:
            raise e.ProgrammingError("no rows to fetch: the last statement returned none "
                                     "(or nothing was executed)")
        return self._rows

    def fetchone(self) -> Optional[Any]:
        """The next row, or None when there are no more."""
        rows = self._result()
        if self._pos >= len(rows):
            return None
        row = rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: Optional[int] = None) -> list:
        """The next ``size`` rows (default ``arraysize``); fewer at the end."""
        rows = self._result()
        if size is None:
            size = self.arraysize
        out = rows[self._pos:self._pos + size]
        self._pos += len(out)
        return out

    def fetchall(self) -> list:
        """All remaining rows."""
        rows = self._result()
        out = rows[self._pos:]
        self._pos = len(rows)
        return out

    def scroll(self, value: int, mode: str = "relative") -> None:
        """Move the position in the result (mode 'relative' or 'absolute')."""
        rows = self._result()
        if mode == "relative":
            pos = self._pos + value
        elif mode == "absolute":
            pos = value
        else:
            raise e.ProgrammingError("scroll mode must be 'relative' or 'absolute'")
        if not 0 <= pos <= len(rows):
            raise IndexError("scroll position %d out of range" % pos)
        self._pos = pos

    def __iter__(self) -> Iterator[Any]:
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    # ---- misc ---------------------------------------------------------------------------

    def setinputsizes(self, sizes: Any) -> None:
        """Does nothing (PEP 249)."""

    def setoutputsize(self, size: Any, column: Optional[int] = None) -> None:
        """Does nothing (PEP 249)."""

    def close(self) -> None:
        """Close the cursor (the connection stays open). Safe to call twice."""
        self._conn = None
        self._rows = None

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<PostPyro.Cursor %s>" % ("closed" if self._conn is None else "open")
