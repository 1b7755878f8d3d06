# SPDX-License-Identifier: MIT
"""Connections (the sync front end): the seed's simple API (``query``, ``execute``, …) and
PEP 249's.

Every call here is: its no-I/O steps from the core (_session.BaseConnection for the state and
the C arguments, _result for reading results) → the C call → on PP_PENDING, :meth:`_wait`
(the only thing an async front end does differently) → the core's finish step. Here the C
call itself blocks; PP_PENDING only means a signal interrupted the wait, or 500 ms of it
(then each 100 ms) passed, so that a signal poll() missed is seen (its Python handler has
run, and may have raised): _wait just resumes.
"""

from __future__ import annotations

import threading
import weakref
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence

from . import _reclaim, _session
from . import _named
from . import errors as e
from ._chunks import ChunkReader
from ._ffi import (PP_MORE, PP_OK, PP_PENDING, T_ERROR_PP, T_INT32_P, T_RESULT_INFO_P, T_RESULT_PP,
                   ffi, lib, newp)
from ._listen import Notifications
from ._planned import PlannedQuery
from ._raise import SIGNALLED, later, raise_error
from ._result import (_PAUSE_CELLS, _QUERY_COLS, _Result, _free_out, _gc_paused,
                      _spare_buffers, add_chunk, call_buffers, end_chunks, finish_query, one_row,
                      take_buffers, take_counts, take_result)
from ._session import (_IN_TRANSACTION, CONNECTION_OPTIONS, BaseConnection, _timeout_ms,
                       connected, dsn_with, free_half_open)
from ._sql import Params
from ._turns import Turns
from .row import Row
from .transaction import Transaction, end_block

if TYPE_CHECKING:  # pragma: no cover
    from .cursor import Cursor

__all__ = ["Connection", "connect"]


# Ctrl-C ends a wait in C: at once when poll() sees the signal, else within 500 ms
_INTERRUPTIBLE = lib.PP_CONNECT_INTERRUPTIBLE | lib.PP_CONNECT_WAIT_SLICES


def wait_pending(rc: int, resume: Callable[..., int], *args: Any) -> int:
    """The sync waiter: a C call returned PP_PENDING because a signal interrupted its wait
    (its Python handler has run here, and may have raised); ``resume(*args)`` (pp_resume,
    pp_query_next, …) goes on waiting, in C, until the call is done."""
    while rc == PP_PENDING:
        rc = resume(*args)
    return rc


class Connection(PlannedQuery, BaseConnection, Notifications):
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

    def __init__(self, dsn: str, *, autocommit: bool = True, statement_cache: bool = True,
                 row_factory: Optional[Callable] = None,
                 timeout: Optional[float] = None) -> None:
        self._conn = None
        self._closed = True
        dsnb, flags = self._init_state(dsn, autocommit, statement_cache, row_factory)
        # held around every use of the server; also gives each transaction to one thread
        self._lock = Turns()
        self._reader: Optional[ChunkReader] = None  # the chunks being converted, if any
        timeout_ms = _timeout_ms(timeout)
        try:
            self._conn = _open(dsnb, flags, timeout_ms)
        except e.OperationalError as exc:
            self._conn = _reclaim.connect_again(exc, partial(_open, dsnb, flags, timeout_ms))
        self._attach(self._conn)

    def _attach(self, conn) -> None:
        """The state of a connection just opened (``conn``, a pp_conn *)."""
        self._conn = conn
        self._closed = False
        self._lock.status = partial(lib.pp_transaction_status, conn)
        # pp_query_reuse writes the transaction status there: leaving the lock then needs
        # no pp_transaction_status call
        self._lock.known = newp(T_INT32_P, -1)
        self._lock.orphaned = partial(_roll_back_orphan, weakref.ref(self))

    # ---- internals ------------------------------------------------------------------------

    # What a call does when C returns PP_PENDING: wait_pending(rc, resume, *args) -> rc.
    # The one seam between front ends (tests put a counting one here).
    _wait = staticmethod(wait_pending)

    @staticmethod
    def _cstr(text: bytes) -> Any:
        """A C string argument of a call that may return PP_PENDING, which borrows it until
        the call ends. Here the call ends before it returns: the bytes themselves."""
        return text

    def _handle(self):
        conn = self._check_usable()
        reader = self._reader
        if reader is not None and reader.thread == threading.get_ident():
            reader.drain()  # e.g. a loader's query while its statement still sends rows
        return conn

    def _abandon(self, conn, out, err) -> None:
        """After an exception during a statement's wait (KeyboardInterrupt, or what another
        signal's handler raised: SystemExit from SIGTERM, an alarm's): cancel it and wait
        until the server is done with it (its result or error is dropped), so the connection
        stays usable. Further Ctrl-C presses meanwhile are ignored: the cancel is on its way;
        another handler's exception meanwhile is raised once the statement has ended."""
        if out is None:
            out = ffi.new("pp_result **")
        _free_out(out, err)
        late: Optional[BaseException] = None
        while True:
            try:
                lib.pp_cancel(conn, ffi.NULL)  # pp_resume sends it again until the end
                break
            except SIGNALLED as exc:  # a signal's handler ran
                late = later(late, exc)
        while True:
            try:
                rc = lib.pp_resume(conn, out, err)
            except SIGNALLED as exc:
                late = later(late, exc)
                rc = PP_PENDING  # if it had finished, the next pp_resume just says so
            _free_out(out, err)
            if rc == PP_MORE:  # a chunked statement: drop the rest without decoding it
                lib.pp_query_close(conn, ffi.NULL)
                break
            if rc != PP_PENDING:
                break
        if late is not None:
            raise late

    def _exec(self, conn, sql: bytes, n: int, arr, flags: int):
        """pp_exec with the PP_PENDING / Ctrl-C protocol. Returns a pp_result * to free."""
        info, out, err = (newp(T_RESULT_INFO_P, None), newp(T_RESULT_PP, None),
                          newp(T_ERROR_PP, None))
        buffers = (info, ffi.NULL, out, err, None,
                   call_buffers(info, ffi.NULL, 0, out, err, ffi.NULL, 0), None)
        return self._query(conn, sql, n, arr, flags, buffers, 0)  # never chunked

    def _maybe_begin(self, conn) -> None:
        if self._needs_begin(conn):
            lib.pp_result_free(self._exec(conn, b"BEGIN", 0, ffi.NULL, 0))

    def _execute(self, sql: str, params: Params = None, flags: int = 0,
                 begin: bool = True, rest: Optional[list] = None,
                 describe: bool = True, adapters: Any = None) -> _Result:
        """Run one statement and read its whole result. With ``rest`` (a list), a string of
        several statements yields every result: the first is returned, the others are
        appended to ``rest`` (otherwise the last one is returned). ``describe``: see
        _result._convert. ``adapters``: the AdaptersMap (a cursor's; None: the
        connection's)."""
        conn = self._conn
        if self._closed or self._reader is not None \
                or self._generation != _session._fork_generation:
            conn = self._handle()  # which says what is wrong, or reads ahead for a loader
        if rest is not None:
            flags |= lib.PP_EXEC_ALL_RESULTS
        if adapters is None:
            adapters = self._adapters
        sql, params, sqlb, how, arr, n, keep = self._statement(sql, params, adapters)
        try:
            buffers = _spare_buffers.pop()  # take_buffers(), inlined: the hot path
        except IndexError:
            buffers = take_buffers()
        with self._lock.lock, self._lock:
            if begin and not self._autocommit:
                self._maybe_begin(conn)
            try:
                res = self._query(conn, sqlb, n, arr, flags | how, buffers, _QUERY_COLS)
            except e.ProgrammingError as exc:
                _named.explain_syntax_error(sql, params, exc)
                raise
            self._lock.known[0] = buffers[5].txstatus  # for leaving the lock
            del keep
            if res is None:  # PP_MORE: the first chunk of several
                return self._read_chunks(conn, buffers, describe, adapters)
        return take_result(res, buffers, describe, rest, adapters)

    def _read_chunks(self, conn, buffers, describe: bool, adapters: Any) -> _Result:
        """The whole result of a statement whose pp_query returned PP_MORE (its first chunk
        is in ``buffers``), converted chunk by chunk: the server sends the next rows while
        this converts the previous ones."""
        info, cols, out, _, _, _, _ = buffers
        chunk = (out[0], PP_MORE, info, cols)
        out[0] = ffi.NULL  # add_chunk frees it (not the buffer set's `out` when dropped)
        reader = self._reader = ChunkReader(conn, _QUERY_COLS, self._wait)
        whole = None
        try:
            with _gc_paused(_PAUSE_CELLS):  # for every chunk: they all stay alive
                while True:
                    res, rc, info, cols = chunk
                    whole = add_chunk(whole, res, info, cols, describe, adapters)
                    if rc != PP_MORE:
                        break
                    chunk = reader.next()
        except BaseException as exc:
            # a signal's exception cancels; a conversion's lets the statement end
            reader.close(cancel=isinstance(exc, KeyboardInterrupt) or reader.interrupted)
            raise
        finally:
            self._reader = None
        return end_chunks(whole)

    def _query(self, conn, sql: bytes, n: int, arr, flags: int, buffers, max_cols: int):
        """pp_query_call (free the result still in out[0], run, describe, decode up to
        max_cols columns, say the transaction status the statement left in call.txstatus:
        one C call) with the PP_PENDING / Ctrl-C protocol, into ``buffers`` (info, cols, out,
        err, pack, call, ints; call's max_cols is max_cols). Returns the pp_result * to free, or
        None for PP_MORE: the first chunk of a PP_EXEC_CHUNKED statement is in out[0], more
        to read."""
        info, cols, out, err, _, call, _ = buffers
        rc = None
        try:
            rc = lib.pp_query_call(conn, sql, n, arr, flags, call)
            if rc == PP_PENDING:
                rc = self._wait(rc, lib.pp_query_next, conn, out, info, cols, max_cols, err)
        except SIGNALLED:  # Ctrl-C, or another signal handler's exception
            self._interrupted(conn, rc, out, err)
            raise
        if rc == PP_OK:  # finish_query's common case, inlined: the hot path
            return out[0]
        return finish_query(rc, buffers)

    def _interrupted(self, conn, rc: Optional[int], out, err) -> None:
        """An exception (a signal handler's: Ctrl-C, SIGTERM's SystemExit, …) during a
        pp_query_reuse call (rc None: before it returned) or its wait (rc: the last return
        code): the statement is abandoned when it may still be running, else its result or
        error is freed."""
        if rc is None or rc == PP_PENDING or rc == PP_MORE:
            self._abandon(conn, out, err)
        else:
            _free_out(out, err)

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

    def _call_batch(self, conn, call: Callable[[], int], err, counts=None,
                    affected=None) -> int:
        """A call whose result is only a status (pp_exec_batch, pp_exec_many*, pp_prepare,
        the COPY calls, …) with the PP_PENDING / Ctrl-C protocol. A pipelined call that a
        signal interrupted gives its counts as pp_resume's result (into counts / affected);
        in nonblocking mode it writes them itself when it ends."""
        rc = None
        out = newp(T_RESULT_PP, None)
        try:
            rc = call()
            if rc == PP_PENDING:
                rc = self._wait(rc, lib.pp_resume, conn, out, err)
                if out[0] != ffi.NULL:  # after PP_PENDING the counts come as a result
                    take_counts(out[0], counts, affected)
                    lib.pp_result_free(out[0])
        except SIGNALLED:  # Ctrl-C, or another signal handler's exception
            if rc is None or rc == PP_PENDING:
                self._abandon(conn, out, err)
            raise
        return rc

    def _copy_read(self, conn, data, n, rows, err) -> int:
        """pp_copy_out_read with the PP_PENDING protocol (its 1 with *data NULL): 1 with a
        chunk in data/n, 0 at the end (rows set), -1 on error (in err). After Ctrl-C the
        COPY is cancelled and the read finished (the caller's abort reads what is left)."""
        rc = None
        out = newp(T_RESULT_PP, None)
        try:
            rc = lib.pp_copy_out_read(conn, data, n, rows, err)
            if rc == 1 and data[0] == ffi.NULL:
                rc = self._wait(PP_PENDING, lib.pp_resume, conn, out, err)
                if rc != PP_OK:
                    return -1
                return 1 if data[0] != ffi.NULL else 0
        except SIGNALLED:  # Ctrl-C, or another signal handler's exception
            if rc is None or (rc == 1 and data[0] == ffi.NULL):
                self._abandon(conn, out, err)
            raise
        return rc

    # ---- the seed's API -------------------------------------------------------------------

    def query_one(self, sql: str, params: Params = None) -> Row:
        """Run a statement that must return exactly one row, and return it. Raises
        NoRowError or MultipleRowsError (both DatabaseError) otherwise."""
        return one_row(self.query(sql, params))

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
        if not queries:
            return []
        n, sqls, counts, keep = self._batch_args(queries)
        err = newp(T_ERROR_PP, None)
        with self._lock.lock, self._lock:
            self._maybe_begin(conn)
            rc = self._call_batch(conn, lambda: lib.pp_exec_batch(conn, n, sqls, counts, err),
                                  err, counts)
        del keep
        if rc != PP_OK:
            raise_error(err[0])
        return [c if c > 0 else 0 for c in ffi.unpack(counts, n)]

    def executemany(self, sql: str, seq_of_params: Sequence[Params]) -> int:
        """Run one statement once per parameter row, pipelined (one round trip) and in one
        transaction: on failure nothing is kept and the error's ``index`` tells the row.
        Returns the total affected-row count."""
        return self._executemany(sql, seq_of_params)

    def _executemany(self, sql: str, seq_of_params: Sequence[Params],
                     adapters: Any = None) -> int:
        """executemany(), dumping with ``adapters`` (a cursor's; None: the connection's)."""
        conn = self._handle()
        text, seq_of_params, sqlb, by_columns, arr, nparams, nrows, keep = \
            self._many_args(sql, seq_of_params, adapters)
        if nrows == 0:
            return 0
        run = lib.pp_exec_many_columns if by_columns else lib.pp_exec_many
        sqlb = self._cstr(sqlb)
        affected = ffi.new("int64_t *")
        err = newp(T_ERROR_PP, None)
        with self._lock.lock, self._lock:
            self._maybe_begin(conn)
            rc = self._call_batch(
                conn, lambda: run(conn, sqlb, nparams, nrows, arr, affected, err), err,
                affected=affected)
        del keep
        if rc != PP_OK:
            try:
                raise_error(err[0])
            except e.ProgrammingError as exc:
                _named.explain_syntax_error(text, seq_of_params[0], exc)
                raise
        return max(affected[0], 0)

    def prepare(self, sql: str) -> str:
        """Prepare a statement on the server and return its id; pass the id instead of the
        SQL to :meth:`query`, :meth:`query_one`, :meth:`execute` (and executemany)."""
        conn = self._handle()
        name, sqlb = self._new_prepared(sql)
        nameb, sqlb = self._cstr(name.encode("ascii")), self._cstr(sqlb)
        err = newp(T_ERROR_PP, None)
        with self._lock.lock, self._lock:
            if self._call_batch(conn, lambda: lib.pp_prepare(conn, nameb, sqlb, err),
                                err) != PP_OK:
                raise_error(err[0])
        self._prepared_done(name, sql)
        return name

    def deallocate(self, stmt_id: str) -> None:
        """Drop a statement made by :meth:`prepare`."""
        conn = self._handle()
        if stmt_id not in self._prepared:
            raise e.ProgrammingError("no prepared statement %r on this connection"
                                     % (stmt_id,))
        idb = self._cstr(stmt_id.encode("ascii"))
        err = newp(T_ERROR_PP, None)
        with self._lock.lock, self._lock:
            if self._call_batch(conn, lambda: lib.pp_deallocate(conn, idb, err),
                                err) != PP_OK:
                raise_error(err[0])
        self._prepared_done(stmt_id, None)

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
        return self._info(self.ping)

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
        self._mark_closed()
        conn = self._conn
        if conn is not None:
            lib.pp_close(conn)

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

    def commit(self) -> None:
        """Commit the current transaction (nothing to do when none is open). Raises
        InFailedSqlTransaction when the transaction had failed and the server rolled it
        back instead, CommitUnknown when the connection broke during COMMIT, and
        InterfaceError when the connection is closed or broke before (nothing committed).
        Another thread's open transaction is not this thread's: this waits until it ends."""
        self._check_open_to_end("commit")
        conn = self._handle()
        with self._lock.lock, self._lock:
            if self._tx_stack:
                self._tx_stack[0].commit()
            elif lib.pp_transaction_status(conn) in _IN_TRANSACTION:
                self._commit_sql()

    def rollback(self) -> None:
        """Roll back the current transaction (nothing to do when none is open). On a closed
        or broken connection raises InterfaceError (the server rolled back on its own)."""
        self._check_open_to_end("roll back")
        conn = self._handle()
        with self._lock.lock, self._lock:
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

    def set_statement_cache_size(self, size: int) -> None:
        """How many statements to keep prepared (0: none, and drop those kept). Default
        256."""
        conn = self._handle()
        size = int(size)
        err = newp(T_ERROR_PP, None)
        with self._lock.lock, self._lock:
            if self._call_batch(conn, lambda: lib.pp_set_statement_cache_size(conn, size, err),
                                err) != PP_OK:
                raise_error(err[0])



def _roll_back_orphan(ref: "weakref.ref[Connection]", owner: Any) -> None:
    """Turns.orphaned: the thread that owned the open transaction ended without ending it,
    so nobody ever can; roll it back (as the server does when a connection closes), say so
    in the notices, and let the waiting thread go on."""
    conn = ref()
    if conn is None:
        return
    conn._orphan_rolled_back(owner)
    conn._execute("ROLLBACK", begin=False)


def _open(dsn: bytes, flags: int, timeout_ms: int):
    """Connect, waiting in C in a way Ctrl-C interrupts (PP_PENDING): KeyboardInterrupt
    frees the half-open connection. Every failure is an OperationalError (connect_error)."""
    out = ffi.new("pp_conn **")
    err = ffi.new("pp_error **")
    try:
        rc = lib.pp_connect_start(dsn, flags | _INTERRUPTIBLE, timeout_ms, out,
                                  err)
        if rc == PP_PENDING:  # a signal; its Python handler runs (and may raise) here
            rc = Connection._wait(rc, lambda: lib.pp_connect_resume(out[0], err))
    except BaseException:
        free_half_open(out)
        raise
    return connected(rc, out, err)


def connect(dsn: str = "", *, autocommit: bool = False, **kwargs: Any) -> Connection:
    """Open a connection the PEP 249 way: autocommit off, so the first statement opens a
    transaction that :meth:`Connection.commit` / :meth:`Connection.rollback` end. Same
    options as :class:`Connection` (``statement_cache``, ``row_factory``, ``timeout``). Other keywords
    are libpq connection parameters, as psycopg2 takes them: ``connect(host="db",
    dbname="app", user="me", password="…")`` (``database`` means ``dbname``; None values
    are left out); they are added to ``dsn`` and win over the same keys in it."""
    options = {k: kwargs.pop(k) for k in CONNECTION_OPTIONS if k in kwargs}
    if kwargs:
        dsn = dsn_with(dsn, kwargs)
    return Connection(dsn, autocommit=autocommit, **options)
