"""Connections: the seed's simple API (``query``, ``execute``, …) and PEP 249's."""

from __future__ import annotations

import gc
import itertools
import os
import platform
import threading
import weakref
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import _named
from . import errors as e
from ._ffi import (PP_MORE, PP_OK, PP_PENDING, T_COLUMN_ARRAY, T_ERROR_PP, T_RESULT_INFO_P,
                   T_RESULT_PP, ffi, lib, newp, take_string, unpack)
from ._chunks import ChunkReader
from . import _reclaim
from ._layout import dump_many
from ._raise import build_error, raise_error
from ._sql import Params, sql_bytes
from ._turns import Turns
from .row import Row, make_rows, row_class
from .transaction import Transaction, end_block
from .types._registry import convert_column, dump_params

if TYPE_CHECKING:  # pragma: no cover
    from .cursor import Cursor

__all__ = ["Connection", "connect"]

_IN_TRANSACTION = (2, 3)
_TX_STATUS = ("idle", "active", "intransaction", "inerror", "unknown")

# Bumped in a forked child: a connection made by another process is never used there.
_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# Building a big result allocates many objects at once; CPython's cyclic garbage collector
# would then run again and again over them (more than half of the time for large results),
# though none can be garbage. It is paused while a result is converted (and rows made), and
# restored after. PyPy's collector does not have this problem.
_PAUSE_GC = platform.python_implementation() == "CPython"
_PAUSE_GC_CELLS = 5000


class _gc_paused:
    __slots__ = ("on",)

    def __init__(self, cells: int) -> None:
        self.on = _PAUSE_GC and cells >= _PAUSE_GC_CELLS and gc.isenabled()

    def __enter__(self) -> None:
        if self.on:
            gc.disable()

    def __exit__(self, *exc: Any) -> None:
        if self.on:
            gc.enable()


class _Result:
    """Everything read from one pp_result (which is freed right after)."""

    __slots__ = ("command", "rowcount", "has_rows", "names", "row_cls", "types", "typmods",
                 "columns", "nrows")

    def rows(self, row_factory: Optional[Callable] = None) -> list:
        if not self.has_rows:
            return []
        if self.nrows * len(self.names) < _PAUSE_GC_CELLS:  # no pause object to make
            if row_factory is None and self.columns:  # make_rows' common case, inlined
                return list(map(self.row_cls, zip(*self.columns)))
            return make_rows(self.names, self.columns, self.nrows, row_factory)
        with _gc_paused(self.nrows * len(self.names)):
            return make_rows(self.names, self.columns, self.nrows, row_factory)


# Column names of recent result shapes, and their Row class, by the names' raw bytes: a
# statement run again does not decode and split its names again.
_names_cache: Dict[bytes, Tuple[Tuple[str, ...], type]] = {}


# pp_query decodes up to this many columns in the same call; wider results take one more.
_QUERY_COLS = 32
# Rows arrive in chunks: converting one overlaps with the server sending the next.
_CHUNKED = lib.PP_EXEC_CHUNKED

# Spare (pp_result_info *, pp_column[_QUERY_COLS], pp_result **, pp_error **) sets for
# pp_query, reused: making them (a zeroed 3.6 KB array) cost more than the rest of a small
# statement's Python. A statement takes a set (a nested one, e.g. a loader's query, takes
# another) and puts it back once its result is converted without an error (so *out and *err
# are NULL again).
_spare_buffers: List[Tuple[Any, Any, Any, Any]] = []


def _new_buffers() -> Tuple[Any, Any, Any, Any]:
    return (newp(T_RESULT_INFO_P, None), newp(T_COLUMN_ARRAY, _QUERY_COLS),
            newp(T_RESULT_PP, None), newp(T_ERROR_PP, None))


def read_result(res) -> _Result:
    """Read (and convert, column by column) a ``pp_result *``. Does not free it."""
    info = newp(T_RESULT_INFO_P, None)
    lib.pp_result_describe(res, info, ffi.NULL)
    return _convert(res, info, None)


def _convert(res, info, cols, describe: bool = True) -> _Result:
    """The _Result for res, described by info; cols holds its decoded columns when pp_query
    had room for them, else None (they are decoded here). Without ``describe`` the command
    tag and the column types are left out (None): query() has no use for them."""
    r = _Result()
    r.rowcount = info.rows_affected
    if describe:
        r.command = ffi.string(info.command).decode("utf-8", "replace")
    else:
        r.command = r.types = r.typmods = None
    if not info.has_rows:
        r.has_rows = False
        r.names = ()
        r.row_cls = None
        r.columns = []
        if describe:
            r.types = r.typmods = []
        r.nrows = 0
        return r
    r.has_rows = True
    ncols = info.ncols
    r.nrows = nrows = info.nrows
    raw = unpack(info.names, info.names_len)  # bytes: names is a char *
    shape = _names_cache.get(raw)
    if shape is None:
        names = tuple(raw.decode("utf-8", "replace").split("\0")[:ncols])
        shape = names, row_class(names)
        if len(_names_cache) >= 256:
            _names_cache.clear()
        _names_cache[raw] = shape
    r.names, r.row_cls = shape
    if describe:
        r.types = unpack(info.types, ncols)
        r.typmods = unpack(info.typmods, ncols)
    if cols is None or ncols > _QUERY_COLS:
        cols = newp(T_COLUMN_ARRAY, ncols)
        err = newp(T_ERROR_PP, None)
        if lib.pp_result_columns(res, cols, err) != PP_OK:
            raise_error(err[0])
    if nrows * ncols < _PAUSE_GC_CELLS:
        if ncols == 1:
            columns = [convert_column(cols[0])]  # without setting up a comprehension
        else:
            columns = [convert_column(cols[i]) for i in range(ncols)]
    else:
        with _gc_paused(nrows * ncols):
            columns = [convert_column(cols[i]) for i in range(ncols)]
    for values in columns:
        if len(values) != nrows:
            raise e.InterfaceError("column %d has %d values for %d rows"
                                   % (columns.index(values), len(values), nrows))
    r.columns = columns
    return r


def _free_out(out, err) -> None:
    if out is not None and out[0] != ffi.NULL:
        lib.pp_result_free(out[0])
        out[0] = ffi.NULL
    if err[0] != ffi.NULL:
        lib.pp_error_free(err[0])
        err[0] = ffi.NULL


class Connection:
    """A connection to a PostgreSQL server.

    ``dsn`` is anything libpq accepts: a URL (``postgresql://user:pw@host:5432/db?
    sslmode=require&connect_timeout=10``) or ``key=value`` pairs. Statements autocommit
    unless run inside :meth:`begin` (or with ``autocommit=False``, PEP 249's mode, where the
    first statement opens a transaction that :meth:`commit` or :meth:`rollback` ends).
    ``statement_cache=False`` never keeps prepared statements (for PgBouncer in transaction
    mode). ``row_factory(names) -> make(values)`` changes what rows are (default
    :class:`~PostPyro.Row`).

    A connection may be shared between threads (statements are serialized). Use it as a
    context manager, or call :meth:`close`.
    """

    # PEP 249's optional extension: the exception classes as attributes of the connection,
    # so code holding only a connection can catch them (``except conn.IntegrityError``).
    Warning = e.Warning
    Error = e.Error
    InterfaceError = e.InterfaceError
    DatabaseError = e.DatabaseError
    DataError = e.DataError
    OperationalError = e.OperationalError
    IntegrityError = e.IntegrityError
    InternalError = e.InternalError
    ProgrammingError = e.ProgrammingError
    NotSupportedError = e.NotSupportedError

    def __init__(self, dsn: str, *, autocommit: bool = True, statement_cache: bool = True,
                 row_factory: Optional[Callable] = None,
                 timeout: Optional[float] = None) -> None:
        self._conn = None
        self._closed = True
        if not isinstance(dsn, str):
            raise e.ProgrammingError("the connection string must be a str, not %s"
                                     % type(dsn).__name__)
        if "\0" in dsn:
            raise e.ProgrammingError("the connection string contains a NUL character")
        self._autocommit = bool(autocommit)
        self._row_factory = row_factory
        # held around every use of the server; also gives each transaction to one thread
        self._lock = Turns()
        self._prepared: Dict[str, str] = {}
        self._plans: Dict[Any, Tuple[bytes, int]] = {}  # see _plan
        self._stmt_ids = itertools.count(1)
        self._savepoint_ids = itertools.count(1)
        self._tx_stack: List[Any] = []  # open Transaction objects, outermost first
        self._commit_unknown = False  # the connection broke during COMMIT
        self._notices: List[str] = []
        self._generation = _fork_generation
        self._reader: Optional[ChunkReader] = None  # the chunks being converted, if any
        flags = 0 if statement_cache else lib.PP_CONNECT_NO_STATEMENT_CACHE
        try:
            dsnb = dsn.encode("utf-8")
        except UnicodeEncodeError as exc:
            # not chained: the original holds the whole string, password included
            raise e.ProgrammingError("the connection string cannot be encoded as UTF-8 "
                                     "(character %d: %s)" % (exc.start, exc.reason)) from None
        timeout_ms = _timeout_ms(timeout)
        try:
            self._conn = _open(dsnb, flags, timeout_ms)
        except e.OperationalError as exc:
            self._conn = _reclaim.connect_again(exc, partial(_open, dsnb, flags, timeout_ms))
        self._closed = False
        self._lock.status = partial(lib.pp_transaction_status, self._conn)
        self._lock.orphaned = partial(_roll_back_orphan, weakref.ref(self))

    # ---- internals ------------------------------------------------------------------------

    def _handle(self):
        if self._closed:
            raise e.InterfaceError("connection is closed")
        if self._generation != _fork_generation:
            raise e.InterfaceError("this connection was opened by the parent process before "
                                   "fork(); open a new connection in the child")
        reader = self._reader
        if reader is not None and reader.thread == threading.get_ident():
            reader.drain()  # e.g. a loader's query while its statement still sends rows
        return self._conn

    def _wait(self, conn, rc, out, err) -> int:
        """Finish a call that returned PP_PENDING (interrupted by a signal)."""
        while rc == PP_PENDING:
            rc = lib.pp_resume(conn, out, err)
        return rc

    def _abandon(self, conn, out, err) -> None:
        """After KeyboardInterrupt during a statement: cancel it and wait until the server
        is done with it (its result or error is dropped), so the connection stays usable.
        Further Ctrl-C presses meanwhile are ignored: the cancel is on its way."""
        if out is None:
            out = ffi.new("pp_result **")
        _free_out(out, err)
        while True:
            try:
                lib.pp_cancel(conn, ffi.NULL)
                break
            except KeyboardInterrupt:
                continue
        while True:
            try:
                rc = lib.pp_resume(conn, out, err)
            except KeyboardInterrupt:
                rc = PP_PENDING  # if it had finished, the next pp_resume just says so
            _free_out(out, err)
            if rc == PP_MORE:  # a chunked statement: drop the rest without decoding it
                lib.pp_query_close(conn, ffi.NULL)
                return
            if rc != PP_PENDING:
                return

    def _exec(self, conn, sql: bytes, n: int, arr, flags: int):
        """pp_exec with the PP_PENDING / Ctrl-C protocol. Returns a pp_result * to free."""
        buffers = (newp(T_RESULT_INFO_P, None), ffi.NULL, newp(T_RESULT_PP, None),
                   newp(T_ERROR_PP, None))
        return self._query(conn, sql, n, arr, flags, buffers, 0)  # never chunked

    def _maybe_begin(self, conn) -> None:
        if not self._autocommit and lib.pp_transaction_status(conn) == 0:
            lib.pp_result_free(self._exec(conn, b"BEGIN", 0, ffi.NULL, 0))

    def _execute(self, sql: str, params: Params = None, flags: int = 0,
                 begin: bool = True, rest: Optional[list] = None,
                 describe: bool = True) -> _Result:
        """Run one statement and read its whole result. With ``rest`` (a list), a string of
        several statements yields every result: the first is returned, the others are
        appended to ``rest`` (otherwise the last one is returned). ``describe``: see
        _convert."""
        conn = self._conn
        if self._closed or self._reader is not None or self._generation != _fork_generation:
            conn = self._handle()  # which says what is wrong, or reads ahead for a loader
        if rest is not None:
            flags |= lib.PP_EXEC_ALL_RESULTS
        if params is not None and type(params) is not list and type(params) is not tuple:
            sql, params = _named.bind(sql, params, self._prepared)  # $name with a mapping
        try:
            sqlb, how = self._plans[sql]
        except (KeyError, TypeError):
            sqlb, how = self._plan(sql)
        arr, n, keep = dump_params(params)
        try:
            buffers = _spare_buffers.pop()
        except IndexError:
            buffers = _new_buffers()
        with self._lock:
            if begin and not self._autocommit:
                self._maybe_begin(conn)
            try:
                res = self._query(conn, sqlb, n, arr, flags | how, buffers, _QUERY_COLS)
            except e.ProgrammingError as exc:
                _named.explain_syntax_error(sql, params, exc)
                raise
            del keep
            if res is None:  # PP_MORE: the first chunk of several
                return self._read_chunks(conn, buffers, describe)
        info = buffers[0]
        try:
            first = _convert(res, info, buffers[1], describe)
            while rest is not None:
                following = lib.pp_result_take_next(res)
                if following == ffi.NULL:
                    break
                lib.pp_result_free(res)
                res = following
                rest.append(read_result(res))
            return first
        finally:
            lib.pp_result_free(res)  # and the results still chained after it
            if len(_spare_buffers) < 8:
                buffers[2][0] = ffi.NULL  # freed: never to be freed again
                _spare_buffers.append(buffers)

    def _plan(self, sql: Any) -> Tuple[bytes, int]:
        """How _execute runs ``sql``: its UTF-8 and the flags it adds (a statement made by
        prepare() runs by name). Kept in self._plans, which prepare/deallocate clear."""
        sqlb = sql_bytes(sql)
        how = _CHUNKED | (lib.PP_EXEC_PREPARED if sql in self._prepared else 0)
        if len(self._plans) >= 512:
            self._plans.clear()
        self._plans[sql] = sqlb, how
        return sqlb, how

    def _read_chunks(self, conn, buffers, describe: bool) -> _Result:
        """The whole result of a statement whose pp_query returned PP_MORE (its first chunk
        is in ``buffers``), converted chunk by chunk: the server sends the next rows while
        this converts the previous ones."""
        info, cols, out, _ = buffers
        reader = self._reader = ChunkReader(conn, _QUERY_COLS)
        chunk = (out[0], PP_MORE, info, cols)
        whole = None
        try:
            with _gc_paused(_PAUSE_GC_CELLS):  # for every chunk: they all stay alive
                while True:
                    res, rc, info, cols = chunk
                    try:
                        part = _convert(res, info, cols, describe)
                    finally:
                        lib.pp_result_free(res)
                    if whole is None:
                        whole = part
                    else:
                        for values, more in zip(whole.columns, part.columns):
                            values.extend(more)
                        whole.nrows += part.nrows
                    if rc != PP_MORE:
                        break
                    chunk = reader.next()
        except BaseException as exc:
            reader.close(cancel=isinstance(exc, KeyboardInterrupt))
            raise
        finally:
            self._reader = None
        whole.command = part.command  # the last chunk's tag counts every row
        whole.rowcount = part.rowcount
        return whole

    def _query(self, conn, sql: bytes, n: int, arr, flags: int, buffers, max_cols: int):
        """pp_query (run, describe, decode up to max_cols columns: one C call) with the
        PP_PENDING / Ctrl-C protocol, into ``buffers`` (info, cols, out, err). Returns the
        pp_result * to free, or None for PP_MORE: the first chunk of a PP_EXEC_CHUNKED
        statement is in out[0], more to read."""
        info, cols, out, err = buffers
        rc = None
        try:
            rc = lib.pp_query(conn, sql, n, arr, flags, out, info, cols, max_cols, err)
            while rc == PP_PENDING:
                rc = lib.pp_query_next(conn, out, info, cols, max_cols, err)
        except KeyboardInterrupt:
            if rc is None or rc == PP_PENDING or rc == PP_MORE:
                self._abandon(conn, out, err)
            else:
                _free_out(out, err)
            raise
        if rc == PP_OK:
            return out[0]
        if rc != PP_MORE:
            raise_error(err[0])
        return None

    def _rows(self, sql: str, params: Params = None, flags: int = 0) -> list:
        """query() with PP_EXEC_* flags (the tests read the text-format path with it)."""
        return self._execute(sql, params, flags, describe=False).rows(self._row_factory)

    def _commit_sql(self) -> None:
        # libpostpyro turns a COMMIT answered with ROLLBACK (a failed transaction) into
        # InFailedSqlTransaction, and a link lost during COMMIT into CommitUnknown.
        try:
            self._execute("COMMIT", begin=False)
        except e.CommitUnknown:
            self._commit_unknown = True
            raise

    def _link_lost(self) -> bool:
        """True when the connection broke (the server or the network closed it) and was
        not closed by close(); the open Transaction objects then end as "broken"."""
        if self._closed or self._generation != _fork_generation \
                or not lib.pp_is_closed(self._conn):
            return False
        for tx in self._tx_stack:
            tx._state = "broken"
        del self._tx_stack[:]
        return True

    def _check_open_to_end(self, what: str) -> None:
        """commit()/rollback() on a closed or broken connection: InterfaceError saying what
        became of the transaction; nothing is ever reported as committed that the server
        did not confirm."""
        if not self._link_lost() and not self._closed:
            return
        if self._commit_unknown:
            outcome = ("the outcome of the last COMMIT is unknown (the connection broke "
                       "during it)")
        else:
            outcome = ("nothing was committed: the server rolls back the transaction of a "
                       "connection that closes")
        raise e.InterfaceError("connection is closed: cannot %s; %s" % (what, outcome))

    def _next_savepoint(self) -> str:
        return "pp_sp_%d" % next(self._savepoint_ids)

    def _in_transaction(self) -> bool:
        return bool(self._tx_stack) or \
            lib.pp_transaction_status(self._handle()) in _IN_TRANSACTION

    # ---- the seed's API -------------------------------------------------------------------

    def query(self, sql: str, params: Params = None) -> List[Row]:
        """Run a statement and return all its rows (``[]`` for a statement without rows).
        ``params`` ($1, $2, …) may be omitted, a list or a tuple."""
        return self._execute(sql, params, describe=False).rows(self._row_factory)

    def query_one(self, sql: str, params: Params = None) -> Row:
        """Run a statement that must return exactly one row, and return it. Raises
        NoRowError or MultipleRowsError (both DatabaseError) otherwise."""
        r = self._execute(sql, params, describe=False)
        return _one(r, self._row_factory)

    def execute(self, sql: str, params: Params = None) -> int:
        """Run a statement and return the number of rows it affected (also for
        ``INSERT … RETURNING``; 0 for statements that report no count, such as DDL)."""
        n = self._execute(sql, params, describe=False).rowcount
        return n if n > 0 else 0

    def execute_batch(self, queries: Sequence[str]) -> List[int]:
        """Run several SQL strings (without parameters) pipelined, in one round trip and one
        transaction: all take effect or none does. Returns each one's affected-row count
        (0 for statements that report none). On failure the error's ``index`` tells which
        statement failed."""
        if isinstance(queries, (str, bytes)) or not isinstance(queries, (list, tuple)):
            raise e.ProgrammingError("execute_batch() needs a list of SQL strings, not %s"
                                     % type(queries).__name__)
        conn = self._handle()
        n = len(queries)
        if n == 0:
            return []
        keep = [ffi.new("char[]", sql_bytes(q)) for q in queries]
        sqls = ffi.new("const char *[]", keep)
        counts = ffi.new("int64_t[]", n)
        err = ffi.new("pp_error **")
        with self._lock:
            self._maybe_begin(conn)
            rc = self._call_batch(conn, lambda: lib.pp_exec_batch(conn, n, sqls, counts, err),
                                  err)
        if rc != PP_OK:
            raise_error(err[0])
        return [c if c > 0 else 0 for c in ffi.unpack(counts, n)]

    def executemany(self, sql: str, seq_of_params: Sequence[Params]) -> int:
        """Run one statement once per parameter row, pipelined (one round trip) and in one
        transaction: on failure nothing is kept and the error's ``index`` tells the row.
        Returns the total affected-row count."""
        conn = self._handle()
        if isinstance(seq_of_params, (str, bytes)):
            raise e.ProgrammingError("executemany() needs a sequence of parameter rows")
        stored = self._prepared.get(sql) if isinstance(sql, str) else None
        text = sql if stored is None else stored
        text, seq_of_params = _named.bind_many(text, seq_of_params)  # mapping rows: $name
        if stored is not None:
            text = _named.positional_sql(text)
        sqlb = sql_bytes(text)
        by_columns, arr, nparams, nrows, keep = dump_many(seq_of_params)
        if nrows == 0:
            return 0
        run = lib.pp_exec_many_columns if by_columns else lib.pp_exec_many
        affected = ffi.new("int64_t *")
        err = ffi.new("pp_error **")
        with self._lock:
            self._maybe_begin(conn)
            rc = self._call_batch(
                conn, lambda: run(conn, sqlb, nparams, nrows, arr, affected, err), err)
        del keep
        if rc != PP_OK:
            try:
                raise_error(err[0])
            except e.ProgrammingError as exc:
                _named.explain_syntax_error(text, seq_of_params[0], exc)
                raise
        return max(affected[0], 0)

    def _call_batch(self, conn, call: Callable[[], int], err) -> int:
        rc = None
        out = ffi.new("pp_result **")
        try:
            rc = call()
            if rc == PP_PENDING:
                rc = self._wait(conn, rc, out, err)
                if out[0] != ffi.NULL:
                    lib.pp_result_free(out[0])
        except KeyboardInterrupt:
            if rc is None or rc == PP_PENDING:
                self._abandon(conn, out, err)
            raise
        return rc

    def prepare(self, sql: str) -> str:
        """Prepare a statement on the server and return its id; pass the id instead of the
        SQL to :meth:`query`, :meth:`query_one`, :meth:`execute` (and executemany)."""
        conn = self._handle()
        sqlb = sql_bytes(_named.positional_sql(sql) if isinstance(sql, str) else sql)
        name = "pp_stmt_%d" % next(self._stmt_ids)
        err = ffi.new("pp_error **")
        with self._lock:
            if lib.pp_prepare(conn, name.encode("ascii"), sqlb, err) != PP_OK:
                raise_error(err[0])
        self._prepared[name] = sql
        self._plans.clear()
        return name

    def deallocate(self, stmt_id: str) -> None:
        """Drop a statement made by :meth:`prepare`."""
        conn = self._handle()
        if stmt_id not in self._prepared:
            raise e.ProgrammingError("no prepared statement %r on this connection"
                                     % (stmt_id,))
        err = ffi.new("pp_error **")
        with self._lock:
            if lib.pp_deallocate(conn, stmt_id.encode("ascii"), err) != PP_OK:
                raise_error(err[0])
        del self._prepared[stmt_id]
        self._plans.clear()

    def ping(self) -> bool:
        """True when the server answers a round trip; False when closed or dead. Never
        raises."""
        try:
            return bool(lib.pp_ping(self._handle()))
        except Exception:
            return False

    def info(self) -> Dict[str, Any]:
        """Connection details: closed, healthy, server_version (int), host, port, database,
        user, backend_pid, transaction_status, encoding, ssl, application_name. Works on
        a closed connection. Never contains the password."""
        keys = ("server_version", "host", "port", "database", "user", "backend_pid",
                "transaction_status", "encoding", "ssl", "application_name")
        out: Dict[str, Any] = {"closed": self.closed, "healthy": False}
        out.update(dict.fromkeys(keys))
        if out["closed"] or self._generation != _fork_generation:
            out["closed"] = True
            return out
        out["healthy"] = self.ping()
        get = self._info_str
        out["server_version"] = _int_or_none(get("server_version"))
        out["host"] = get("host")
        port = get("port")
        out["port"] = _int_or_none(port) if port and port.isdigit() else port
        out["database"] = get("dbname")
        out["user"] = get("user")
        out["backend_pid"] = _int_or_none(get("backend_pid"))
        out["transaction_status"] = get("transaction_status")
        out["encoding"] = get("client_encoding")
        ssl = get("ssl")
        out["ssl"] = None if ssl is None else ssl == "on"
        out["application_name"] = get("application_name")
        return out

    @property
    def transaction_status(self) -> str:
        """"idle", "active" (a statement, COPY or stream is running, maybe in another
        thread), "intransaction", "inerror" or "unknown" (closed or broken). No round trip
        and never waits; it first reads what the server sent meanwhile, so a session the
        server ended (restart, failover) reads "unknown" and the connection is closed."""
        if self._closed or self._generation != _fork_generation:
            return "unknown"
        return _TX_STATUS[lib.pp_poll_status(self._conn)]

    def _info_str(self, key: str) -> Optional[str]:
        if self._closed:
            return None
        return take_string(lib.pp_conn_info(self._conn, key.encode("ascii")))

    def begin(self, isolation_level: Optional[str] = None, read_only: bool = False,
              deferrable: bool = False) -> "Transaction":
        """Start a transaction and return it. Use it as a context manager (commit on
        success, rollback on exception) or call its commit()/rollback(). Inside an open
        transaction this makes a savepoint instead. ``isolation_level``: "read committed",
        "repeatable read" or "serializable" (outermost transaction only)."""
        return Transaction(self, isolation_level=isolation_level, read_only=read_only,
                           deferrable=deferrable)

    def transaction(self, *args: Any, **kwargs: Any) -> "Transaction":
        """Alias of :meth:`begin`."""
        return self.begin(*args, **kwargs)

    def close(self) -> None:
        """Close the connection (work not committed is rolled back by the server). Safe to
        call twice. A call blocked on this connection in another thread fails at once with
        InterfaceError: close() never waits on the network. In a process forked from the one
        that connected, this only forgets the connection: the parent's session is left
        alone."""
        if self._closed:
            return
        self._link_lost()  # then its open transactions end "broken", not "closed"
        self._closed = True
        for tx in self._tx_stack:
            tx._state = "closed"
        del self._tx_stack[:]
        conn = self._conn
        if conn is not None:
            lib.pp_close(conn)

    def is_closed(self) -> bool:
        """True after close(), or when the connection to the server broke."""
        if self._closed:
            return True
        if self._generation != _fork_generation:
            return True
        return bool(lib.pp_is_closed(self._conn))

    @property
    def closed(self) -> bool:
        return self.is_closed()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            # a broken connection still goes to end_block: its commit() must raise
            if not self._closed and not self._autocommit:
                end_block(self, exc_type is not None)
        finally:
            self.close()

    # ---- PEP 249 ----------------------------------------------------------------------------

    @property
    def autocommit(self) -> bool:
        """True: each statement commits by itself (unless inside begin()). False (PEP 249):
        the first statement opens a transaction that commit()/rollback() end."""
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._handle()
        if self._link_lost():
            raise e.InterfaceError("connection is closed (the connection to the server was "
                                   "lost)")
        if bool(value) != self._autocommit and self._in_transaction():
            raise e.ProgrammingError("cannot change autocommit inside a transaction: commit "
                                     "or roll back first")
        self._autocommit = bool(value)

    def commit(self) -> None:
        """Commit the current transaction (nothing to do when none is open). Raises
        InFailedSqlTransaction when the transaction had failed and the server rolled it
        back instead, CommitUnknown when the connection broke during COMMIT, and
        InterfaceError when the connection is closed or broke before (nothing committed).
        Another thread's open transaction is not this thread's: this waits until it ends."""
        self._check_open_to_end("commit")
        conn = self._handle()
        with self._lock:
            if self._tx_stack:
                self._tx_stack[0].commit()
            elif lib.pp_transaction_status(conn) in _IN_TRANSACTION:
                self._commit_sql()

    def rollback(self) -> None:
        """Roll back the current transaction (nothing to do when none is open). On a closed
        or broken connection raises InterfaceError (the server rolled back on its own)."""
        self._check_open_to_end("roll back")
        conn = self._handle()
        with self._lock:
            if self._tx_stack:
                self._tx_stack[0].rollback()
            elif lib.pp_transaction_status(conn) in _IN_TRANSACTION:
                self._execute("ROLLBACK", begin=False)

    def cursor(self, row_factory: Any = None, *, name: Optional[str] = None,
               itersize: int = 2000) -> "Cursor":
        """A DB-API 2.0 cursor on this connection. Its rows are made by ``row_factory``
        when given, else by the connection's (see :mod:`PostPyro.rows`). With ``name``, a
        server-side cursor (:class:`~PostPyro.stream.ServerCursor`, like psycopg2's named
        cursors): rows stay on the server and are fetched ``itersize`` at a time."""
        from .cursor import Cursor
        self._handle()
        if name is not None:
            from .stream import ServerCursor
            return ServerCursor(self, name, itersize, row_factory=row_factory)  # type: ignore
        if row_factory is None:
            return Cursor(self)
        return Cursor(self, row_factory=row_factory)

    # ---- COPY and streaming (PostPyro.copy, PostPyro.stream) --------------------------------

    def copy(self, sql: str) -> Any:
        """A COPY in progress, for a ``with`` block: ``COPY … FROM STDIN`` (``write``,
        ``write_row``; an exception in the block aborts it) or ``COPY … TO STDOUT``
        (iterate for chunks of bytes). See :mod:`PostPyro.copy`."""
        from .copy import Copy
        self._handle()
        return Copy(self, sql)

    def copy_records_to_table(self, table: str, records: Any, columns: Any = None,
                              schema_name: Optional[str] = None,
                              format: Optional[str] = None) -> int:
        """Load rows of Python values into ``table`` (optionally only ``columns``) with
        COPY; returns the number of rows stored. All rows or none are stored."""
        from .copy import copy_records_to_table
        return copy_records_to_table(self, table, records, columns, schema_name,
                                     format=format)

    def copy_from(self, table_or_sql: str, source: Any, columns: Any = None,
                  schema_name: Optional[str] = None) -> int:
        """COPY data into a table (or run a ``COPY … FROM STDIN`` statement) from a file
        object, bytes/str, or an iterable of bytes/str chunks; returns the row count."""
        from .copy import copy_from
        return copy_from(self, table_or_sql, source, columns, schema_name)

    def copy_to(self, table_or_sql: str, file: Any, columns: Any = None,
                schema_name: Optional[str] = None) -> int:
        """COPY a table, a query (``SELECT …``) or a ``COPY … TO STDOUT`` statement out
        to ``file`` (a binary or text file object); returns the row count."""
        from .copy import copy_to
        return copy_to(self, table_or_sql, file, columns, schema_name)

    def stream(self, sql: str, params: Params = None, chunk_size: int = 10000) -> Any:
        """Iterate over the rows of a query without holding them all: a server-side cursor
        fetched ``chunk_size`` rows at a time. See :mod:`PostPyro.stream`."""
        from .stream import stream
        return stream(self, sql, params, chunk_size)

    @property
    def row_factory(self) -> Any:
        """What rows are for statements run from now on (None: :class:`~PostPyro.Row`; see
        :mod:`PostPyro.rows`). Cursors made later start with it."""
        return self._row_factory

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        from .rows import check_row_factory
        self._row_factory = check_row_factory(value)

    # ---- more -------------------------------------------------------------------------------

    def cancel(self) -> None:
        """Ask the server to cancel the statement running on this connection (from any
        thread). The statement fails with QueryCanceled; the connection stays usable. Waits
        at most ``timeout`` (5 s when None) for the request to be delivered, then raises
        ConnectionTimeout."""
        conn = self._handle()
        err = ffi.new("pp_error **")
        if lib.pp_cancel(conn, err) != PP_OK:
            raise_error(err[0])

    @property
    def notices(self) -> List[str]:
        """Messages (NOTICE, WARNING, …) the server sent, oldest first. The list is yours to
        clear."""
        if not self._closed:
            n = ffi.new("int64_t *")
            p = lib.pp_take_notices(self._conn, n)
            if p != ffi.NULL:
                try:
                    text = ffi.buffer(p, n[0])[:].decode("utf-8", "replace")
                finally:
                    lib.pp_free(p)
                parts = text.split("\0")
                if parts and parts[-1] == "":
                    parts.pop()
                self._notices.extend(parts)
        return self._notices

    @property
    def timeout(self) -> Optional[float]:
        """The bound, in seconds, of every wait for the server (None: no bound). When a
        call waits longer, PostPyro asks the server to cancel the statement and gives it
        one more second: a cancelled statement raises ``QueryCanceled`` (the connection
        stays usable); without an answer the connection is closed and the call raises
        ``ConnectionTimeout``. Set it at any time, from any thread."""
        ms = lib.pp_timeout(self._conn) if self._conn is not None else 0
        return ms / 1000.0 if ms else None

    @timeout.setter
    def timeout(self, seconds: Optional[float]) -> None:
        conn = self._handle()
        lib.pp_set_timeout(conn, _timeout_ms(seconds), ffi.NULL)

    def set_statement_cache_size(self, size: int) -> None:
        """How many statements to keep prepared (0: none, and drop those kept). Default
        256."""
        conn = self._handle()
        err = ffi.new("pp_error **")
        if lib.pp_set_statement_cache_size(conn, int(size), err) != PP_OK:
            raise_error(err[0])

    def __repr__(self) -> str:
        if self.is_closed():
            return "<PostPyro.Connection closed>"
        get = self._info_str
        return "<PostPyro.Connection host=%s port=%s dbname=%s user=%s status=%s>" % (
            get("host"), get("port"), get("dbname"), get("user"),
            get("transaction_status"))


def _roll_back_orphan(ref: "weakref.ref[Connection]", owner: Any) -> None:
    """Turns.orphaned: the thread that owned the open transaction ended without ending it,
    so nobody ever can; roll it back (as the server does when a connection closes), say so
    in the notices, and let the waiting thread go on."""
    conn = ref()
    if conn is None:
        return
    for tx in conn._tx_stack:
        tx._state = "rolled back"
    del conn._tx_stack[:]
    conn._notices.append("PostPyro: rolled back the transaction left open by %s, which "
                         "ended without committing or rolling it back"
                         % getattr(owner, "name", owner))
    conn._execute("ROLLBACK", begin=False)


def _one(r: _Result, row_factory: Optional[Callable]) -> Any:
    if not r.has_rows or r.nrows == 0:
        raise e.NoRowError("query_one() expected exactly one row; the statement returned "
                           "none")
    if r.nrows > 1:
        raise e.MultipleRowsError("query_one() expected exactly one row; the statement "
                                  "returned %d" % r.nrows)
    return r.rows(row_factory)[0]


def _int_or_none(s: Optional[str]) -> Optional[int]:
    try:
        return int(s) if s is not None else None
    except ValueError:
        return None


_CONNECTION_OPTIONS = ("statement_cache", "row_factory", "timeout")


def _timeout_ms(seconds: Optional[float]) -> int:
    """A timeout in seconds (None or 0: none) as libpostpyro's milliseconds."""
    if seconds is None:
        return 0
    try:
        ms = float(seconds) * 1000.0
    except (TypeError, ValueError):
        raise e.ProgrammingError("timeout must be a number of seconds or None, not %r"
                                 % (seconds,)) from None
    if not 0 <= ms <= 2**31 - 1:  # NaN fails too
        raise e.ProgrammingError("timeout must be between 0 and 2147483 seconds, not %r"
                                 % (seconds,))
    return max(1, int(ms + 0.999)) if ms > 0 else 0


def _open(dsn: bytes, flags: int, timeout_ms: int):
    """Connect, waiting in C in a way Ctrl-C interrupts (PP_PENDING): KeyboardInterrupt
    frees the half-open connection. Every failure is an OperationalError, with the server's
    SQLSTATE when it sent one (28P01: InvalidPassword)."""
    out = ffi.new("pp_conn **")
    err = ffi.new("pp_error **")
    try:
        rc = lib.pp_connect_start(dsn, flags | lib.PP_CONNECT_INTERRUPTIBLE, timeout_ms, out,
                                  err)
        while rc == PP_PENDING:  # a signal; its Python handler runs (and may raise) here
            rc = lib.pp_connect_resume(out[0], err)
    except BaseException:
        if out[0] != ffi.NULL:
            lib.pp_conn_free(out[0])
        raise
    if rc != PP_OK:
        if out[0] != ffi.NULL:
            lib.pp_conn_free(out[0])
        exc = build_error(err[0])
        if isinstance(exc, e.DatabaseError) and not isinstance(exc, e.OperationalError):
            exc = e.OperationalError(str(exc), sqlstate=exc.sqlstate, diag=exc.diag)
        raise exc
    return _reclaim.own(out[0])


def connect(dsn: str = "", *, autocommit: bool = False, **kwargs: Any) -> Connection:
    """Open a connection the PEP 249 way: autocommit off, so the first statement opens a
    transaction that :meth:`Connection.commit` / :meth:`Connection.rollback` end. Same
    options as :class:`Connection` (``statement_cache``, ``row_factory``, ``timeout``). Other keywords
    are libpq connection parameters, as psycopg2 takes them: ``connect(host="db",
    dbname="app", user="me", password="…")`` (``database`` means ``dbname``; None values
    are left out); they are added to ``dsn`` and win over the same keys in it."""
    options = {k: kwargs.pop(k) for k in _CONNECTION_OPTIONS if k in kwargs}
    if kwargs:
        dsn = _dsn_with(dsn, kwargs)
    return Connection(dsn, autocommit=autocommit, **options)


def _dsn_with(dsn: Any, params: Dict[str, Any]) -> str:
    """``dsn`` (key=value or URL form) with more libpq connection parameters."""
    if not isinstance(dsn, str):
        raise e.ProgrammingError("the connection string must be a str, not %s"
                                 % type(dsn).__name__)
    pairs = []
    for key, value in params.items():
        if value is None:
            continue
        key = "dbname" if key == "database" else key
        if not key.replace("_", "").isalnum() or not key.isascii():
            raise e.ProgrammingError("%r is not a connection parameter name" % (key,))
        pairs.append((key, str(value)))
    if not pairs:
        return dsn
    if dsn.startswith(("postgresql://", "postgres://")):
        from urllib.parse import quote
        sep = "&" if "?" in dsn else "?"
        return dsn + sep + "&".join("%s=%s" % (k, quote(v, safe="")) for k, v in pairs)
    quoted = ("%s='%s'" % (k, v.replace("\\", "\\\\").replace("'", "\\'"))
              for k, v in pairs)
    return " ".join([dsn] + list(quoted)) if dsn.strip() else " ".join(quoted)

