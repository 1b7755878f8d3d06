# SPDX-License-Identifier: MIT
"""DB-API 2.0 (PEP 249) cursors.

A cursor runs statements on its connection and hands out the rows of the last one.
Placeholders are PostgreSQL's ``$1, $2, …`` with a list or a tuple of parameters
(paramstyle "numeric"), or ``$name`` with a mapping. Results are read whole when the
statement runs (no server-side cursor). A string of several statements
(``"SELECT 1; SELECT 2"``, no parameters) keeps every statement's result: the first is
current, :meth:`Cursor.nextset` moves to the next.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from . import _named
from . import errors as e
from ._sql import quote_ident
from .rows import check_row_factory

if TYPE_CHECKING:  # pragma: no cover
    from ._sql import Params
    from ._result import _Result
    from .connection import Connection

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


_UNSET: Any = object()


def _run_all(conn: "Connection", sql: Any, params: Any,
             adapters: Any = None) -> List["_Result"]:
    """Run one SQL string and read every result it produced (several for a string of
    several statements), in order."""
    rest: List["_Result"] = []
    first = conn._execute(sql, params, rest=rest, adapters=adapters)
    return [first] + rest


def _sql_text(conn: "Connection", sql: Any) -> Optional[str]:
    """The SQL the server runs for ``sql`` (the statement of a prepared statement's id)."""
    if not isinstance(sql, str):
        return None
    stored = conn._prepared.get(sql)
    return sql if stored is None else _named.positional_sql(stored)


# A procedure or function name as callproc() accepts it: one or two dotted parts, each a
# plain SQL identifier (folded to lower case, as in SQL) or a double-quoted one.
_NAME_PART = r'(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"\0]|"")+")'
_PROC_NAME = re.compile(r"%s(?:\.%s)?\Z" % (_NAME_PART, _NAME_PART))
_PART = re.compile(_NAME_PART)


def _proc_name(procname: Any) -> Tuple[str, Optional[str], str]:
    """(SQL name, schema or None, name) of a callproc() name."""
    if not isinstance(procname, str) or not procname:
        raise e.ProgrammingError("callproc() needs the procedure's name as a non-empty str")
    if _PROC_NAME.match(procname):
        parts = _PART.findall(procname)
        sql_name = procname
    else:  # anything else is one name, quoted
        parts = [quote_ident(procname)]
        sql_name = parts[0]
    plain = [p[1:-1].replace('""', '"') if p.startswith('"') else p.lower() for p in parts]
    if len(plain) == 2:
        return sql_name, plain[0], plain[1]
    return sql_name, None, plain[0]


# Every routine callproc() may mean: its kind ('f' function, 'p' procedure, …), whether it
# returns a set, its argument modes (NULL when all are IN) and names.
_PROC_INFO_SQL = (
    "SELECT p.prokind::text, p.proretset, p.proargmodes::text[], p.proargnames "
    "FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
    "WHERE p.proname = $1 AND CASE WHEN $2::text IS NULL "
    "THEN n.nspname = ANY (pg_catalog.current_schemas(true)) ELSE n.nspname = $2::text END")


def _put_outputs(copy: Any, is_procedure: bool, modes: List[str],
                 argnames: Optional[List[str]], values: List[Any]) -> None:
    """Write the output values (the one result row) into callproc()'s copy of the
    parameters: at the positions (or names) of the INOUT and OUT arguments."""
    call_pos = out_pos = 0
    for k, mode in enumerate(modes):
        is_out = mode in ("o", "b", "t")
        is_arg = mode != "t" if is_procedure else mode in ("i", "b", "v")
        if is_out and out_pos < len(values) and mode in ("o", "b"):
            if isinstance(copy, dict):
                name = argnames[k] if argnames and k < len(argnames) else None
                if name and name in copy:
                    copy[name] = values[out_pos]
            elif is_arg and call_pos < len(copy):
                copy[call_pos] = values[out_pos]
        out_pos += is_out
        call_pos += is_arg


class Cursor:
    """A PEP 249 cursor; make one with ``conn.cursor()``.

    ``row_factory`` (default: the connection's) says what rows are: see
    :mod:`PostPyro.rows`."""

    def __init__(self, connection: "Connection", row_factory: Any = _UNSET) -> None:
        self._conn: "Connection" = connection
        self._closed = False
        self.row_factory = connection._row_factory if row_factory is _UNSET else row_factory
        self._arraysize = 1
        self._query: Optional[str] = None
        self._adapters: Any = None  # made on first use of .adapters
        self._reset()

    def _reset(self) -> None:
        self._rows: Optional[list] = None
        self._pos = 0
        self._description: Optional[List[Column]] = None
        self._rowcount = -1
        self._command: Optional[str] = None
        self._pending: List["_Result"] = []  # the result sets after the current one
        self._current: Optional["_Result"] = None
        self._nsets = 0                      # result sets of the last execute()
        self._has_set = False                # ... and whether one of them had rows

    # ---- attributes ---------------------------------------------------------------------------

    @property
    def connection(self) -> "Connection":
        """The connection this cursor was made on (also after close())."""
        return self._conn

    @property
    def adapters(self) -> Any:
        """This cursor's loaders and dumpers (an AdaptersMap below its connection's):
        ``cur.adapters.register_loader(...)`` and friends change them for this cursor only."""
        if self._adapters is None:
            self._adapters = self._conn.adapters.child()
        return self._adapters

    @property
    def row_factory(self) -> Any:
        """What rows are (None: :class:`~PostPyro.Row`); applies to the next execute()."""
        return self._row_factory

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        self._row_factory = check_row_factory(value)

    @property
    def arraysize(self) -> int:
        """How many rows fetchmany() returns by default (1 unless set)."""
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        if type(value) is not int or value < 1:
            raise e.ProgrammingError("arraysize must be an int >= 1, not %r" % (value,))
        self._arraysize = value

    @property
    def description(self) -> Optional[List[Column]]:
        """One 7-tuple (name, type_code, display_size, internal_size, precision, scale,
        null_ok) per column of the current result set; None when the last statement
        returned no rows (DDL, INSERT without RETURNING, …) or nothing ran yet."""
        return self._description

    @property
    def rowcount(self) -> int:
        """Rows returned (SELECT, … RETURNING) or affected (INSERT, UPDATE, DELETE, MERGE)
        by the last statement; the total for executemany(); -1 when unknown (DDL, nothing
        ran yet, the last statement failed — COPY among them: it runs through the COPY
        API, not execute()). Still readable after close()."""
        return self._rowcount

    @property
    def lastrowid(self) -> None:
        """Always None: PostgreSQL tables have no row ids (OIDs are gone since PostgreSQL
        12). Use ``INSERT … RETURNING id`` and fetch it."""
        return None

    @property
    def query(self) -> Optional[str]:
        """The SQL text of the last execute*() or callproc(), as sent to the server (after
        ``$name`` placeholders were numbered); None before any."""
        return self._query

    @property
    def statusmessage(self) -> Optional[str]:
        """The command tag of the current result ("INSERT 0 1", "CREATE TABLE", …)."""
        return self._command

    @property
    def rownumber(self) -> Optional[int]:
        """0-based index of the next row fetchone() returns in the current result set;
        None when there is no result set."""
        return None if self._rows is None else self._pos

    @property
    def closed(self) -> bool:
        """True after close(), or once the connection is closed."""
        return self._closed or self._conn._closed

    def _check(self) -> "Connection":
        if self._closed:
            raise e.InterfaceError("cursor is closed")
        conn = self._conn
        if conn._closed:
            raise e.InterfaceError("the cursor's connection is closed")
        return conn

    # ---- running statements ------------------------------------------------------------

    def execute(self, sql: str, params: "Params" = None) -> "Cursor":
        """Run a statement (``$1`` placeholders with a list or tuple, ``$name`` with a
        mapping); its rows are then read with fetch*(). Returns the cursor. In a
        connection with autocommit off, the first statement opens a transaction."""
        conn = self._check()
        self._reset()
        if params is not None and type(params) is not list and type(params) is not tuple:
            sql, params = _named.bind(sql, params, conn._prepared)
        elif params and type(sql) is str and ":" in sql and sql not in conn._prepared:
            sql = _named.numeric_sql(sql)  # paramstyle "numeric": :1 is $1
        self._query = _sql_text(conn, sql)
        results = _run_all(conn, sql, params, self._adapters)
        self._nsets = len(results)
        self._has_set = any(r.has_rows for r in results)
        if results:
            self._show(results[0])
            self._pending = results[1:]
        return self

    def _show(self, r: "_Result") -> None:
        self._current = r
        if r.has_rows:
            self._rows = r.rows(self._row_factory)
            self._description = [_column(n, t, m)
                                 for n, t, m in zip(r.names, r.types, r.typmods)]
        else:
            self._rows = None
            self._description = None
        self._pos = 0
        self._rowcount = r.rowcount
        self._command = r.command

    def executemany(self, sql: str, seq_of_params: Sequence["Params"]) -> "Cursor":
        """Run a statement once per parameter row, pipelined (one round trip) and all or
        nothing (the error's ``index`` tells the failing row); ``rowcount`` is the total of
        affected rows. Rows are lists/tuples (``$1``) or mappings (``$name``). No result
        set: fetch*() and nextset() raise afterwards."""
        conn = self._check()
        self._reset()
        if type(sql) is str and ":" in sql and sql not in conn._prepared:
            sql = _named.numeric_sql(sql)  # paramstyle "numeric": :1 is $1
        text = _sql_text(conn, sql)
        self._query = None if text is None else _named.positional_sql(text)
        self._rowcount = conn._executemany(sql, seq_of_params, self._adapters)
        return self

    def callproc(self, procname: str, params: Any = None) -> Any:
        """Call a stored function (``SELECT * FROM name($1, …)``) or procedure
        (``CALL name($1, …)``) and keep its result for fetch*(): the function's rows, or
        one row of a procedure's INOUT/OUT values. ``params`` is a sequence (positional
        arguments) or a mapping (named arguments, ``name => $1``). Returns a copy of
        ``params`` (a list, or a dict) in which the INOUT and OUT arguments hold the values
        the call returned, when the name is not overloaded and the call returned one row;
        IN arguments are left untouched."""
        conn = self._check()
        sql_name, schema, name = _proc_name(procname)
        if params is None:
            args: list = []
            placeholders = ""
            copy: Any = None
        elif isinstance(params, Mapping):
            keys = list(params)
            args = [params[k] for k in keys]
            placeholders = ", ".join("%s => $%d" % (quote_ident(k), i + 1)
                                     for i, k in enumerate(keys))
            copy = dict(params)
        elif isinstance(params, (list, tuple)):
            args = list(params)
            placeholders = ", ".join("$%d" % (i + 1) for i in range(len(args)))
            copy = list(params)
        else:
            raise e.ProgrammingError("callproc() parameters must be a list, a tuple or a "
                                     "mapping, not %s" % type(params).__name__)
        found = conn._execute(_PROC_INFO_SQL, [name, schema]).rows(None)
        is_procedure = bool(found) and all(r[0] == "p" for r in found)
        verb = "CALL %s(%s)" if is_procedure else "SELECT * FROM %s(%s)"
        self.execute(verb % (sql_name, placeholders), args)
        # One routine of that name (no overloads to guess between), with output arguments,
        # and one row: its values replace the INOUT/OUT arguments in the returned copy.
        current = self._current
        if len(found) == 1 and found[0][2] and not found[0][1] and copy is not None \
                and current is not None and current.has_rows and current.nrows == 1:
            _put_outputs(copy, is_procedure, found[0][2], found[0][3],
                         [col[0] for col in current.columns])
        return copy

    def nextset(self) -> Optional[bool]:
        """Move to the next result set of the last execute() (a string of several
        statements gives one per statement, in order): True, or None when there is none
        (the current one stays). Raises ProgrammingError when the last call produced no
        result set at all (nothing executed, executemany(), a single statement without
        rows)."""
        self._check()
        if self._nsets == 0 or (self._nsets == 1 and not self._has_set):
            raise e.ProgrammingError("nextset(): the last statement produced no result set "
                                     "(or nothing was executed)")
        if not self._pending:
            return None
        self._show(self._pending.pop(0))
        return True

    # ---- fetching ------------------------------------------------------------------------

    def _result(self) -> list:
        self._check()
        rows = self._rows
        if rows is None:
            if self._query is None:
                raise e.ProgrammingError("no rows to fetch: nothing was executed on this "
                                         "cursor")
            what = " (%s)" % self._command if self._command else ""
            raise e.ProgrammingError("no rows to fetch: the last statement returned none%s"
                                     % what)
        return rows

    def fetchone(self) -> Optional[Any]:
        """The next row of the current result set, or None when there are no more."""
        rows = self._result()
        if self._pos >= len(rows):
            return None
        row = rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: Optional[int] = None) -> list:
        """The next ``size`` rows (default ``arraysize``); fewer at the end, [] after."""
        rows = self._result()
        if size is None:
            size = self._arraysize
        elif type(size) is not int or size < 0:
            raise e.ProgrammingError("fetchmany() size must be an int >= 0, not %r"
                                     % (size,))
        out = rows[self._pos:self._pos + size]
        self._pos += len(out)
        return out

    def fetchall(self) -> list:
        """All remaining rows of the current result set ([] when none remain)."""
        rows = self._result()
        out = rows[self._pos:]
        self._pos = len(rows)
        return out

    def scroll(self, value: int, mode: str = "relative") -> None:
        """Move the position in the current result set (mode 'relative' or 'absolute').
        IndexError (the result set stays where it was) when that leaves the result set."""
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
        return self

    def __next__(self) -> Any:
        rows = self._result()
        pos = self._pos
        if pos >= len(rows):
            raise StopIteration
        self._pos = pos + 1
        return rows[pos]

    def next(self) -> Any:
        """The next row; StopIteration at the end (PEP 249's optional ``next()``)."""
        return self.__next__()

    # ---- misc ---------------------------------------------------------------------------

    def setinputsizes(self, sizes: Any) -> None:
        """Does nothing: parameter types come from the server (PEP 249 allows this)."""
        self._check()

    def setoutputsize(self, size: Any, column: Optional[int] = None) -> None:
        """Does nothing: results are read whole (PEP 249 allows this)."""
        self._check()

    def close(self) -> None:
        """Close the cursor (the connection stays open). Safe to call twice; any other use
        afterwards raises InterfaceError. ``rowcount`` stays readable (as in psycopg2: the
        count of the last statement, often read after a ``with`` block)."""
        self._closed = True
        rowcount = self._rowcount
        self._reset()
        self._rowcount = rowcount

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<PostPyro.Cursor %s>" % ("closed" if self.closed else "open")

