# SPDX-License-Identifier: MIT
"""A connection's state (core: no I/O, no waiting), shared by every front end.

:class:`BaseConnection` holds what a connection knows between calls — autocommit, the
prepared statements and statement plans, the open Transaction objects, notices, whether it
was opened before a fork() — and the steps of an operation that do not talk to the server:
checking the connection can be used, turning a statement and its parameters into C
arguments (:meth:`BaseConnection._statement`), the connect error. The sync
:class:`~PostPyro.connection.Connection` (and an async one) add the calls that talk to the
server and the way they wait.
"""

from __future__ import annotations

import itertools
import os
import threading
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from . import _deadlines, _named, _reclaim
from . import errors as e
from ._ffi import PP_OK, ffi, lib, take_string
from ._layout import dump_many
from ._raise import build_error
from ._result import query_stmt
from ._sql import Params, sql_bytes
from .types._adapters import AdaptersMap, global_adapters
from .types._dumpers import dump_list, dump_params

_IN_TRANSACTION = (2, 3)
# Per thread: the length pp_take_notices writes, made once (reading notices when there are
# none is then one C call). Not per connection: two threads reading one connection's
# notices at once would each overwrite the other's length.
_tls = threading.local()
# Rows arrive in chunks: converting one overlaps with the server sending the next.
_CHUNKED = lib.PP_EXEC_CHUNKED

# Bumped in a forked child: a connection made by another process is never used there.
_fork_generation = 0
# pp_poll_status / pp_transaction_status values (PP_TRANS_*), as transaction_status says them.
_TX_STATUS = ("idle", "active", "intransaction", "inerror", "unknown")


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Plan:
    """What a connection remembers about one SQL text: ``sqlb``, its UTF-8; ``csql``, the
    same as the C string argument of a call that may return PP_PENDING (the front end's
    ``_cstr``); ``how``, the PP_EXEC_* flags it runs with (a statement made by prepare()
    runs by name); ``shape``, the (raw column names, names, Row class) of its last result
    (_result.plan_rows), so a statement run again neither decodes nor looks up its
    names; ``fast``, the function that makes the rows of a small result with those
    columns (_fastrows.make_fast), or None; ``dump``, the
    function that dumps parameters of its last run's types (_fastrows.make_dump), or
    None; ``cstmt``, the ``pp_query_stmt *`` of pp_query_run (the connection's
    ``pp_conn *``, which outlives its plans' use: they run only while it is open; its own
    copy of the text, ``ctext``, at an address that stays put)."""

    __slots__ = ("sqlb", "csql", "how", "shape", "fast", "dump", "ctext", "cstmt")

    def __init__(self, sqlb: bytes, csql: Any, how: int, conn: Any = None) -> None:
        self.sqlb = sqlb
        self.csql = csql
        self.how = how
        self.ctext, self.cstmt = query_stmt(conn, sqlb, how)
        self.shape: Optional[Tuple[bytes, Tuple[str, ...], type]] = None
        self.fast: Optional[Any] = None
        self.dump: Optional[Any] = None


class BaseConnection:
    """What every connection front end shares: state, and the no-I/O steps of its calls."""

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

    _conn: Any = None
    _closed = True

    def _init_state(self, dsn: str, autocommit: bool, statement_cache: bool,
                    row_factory: Any) -> Tuple[bytes, int]:
        """Check ``dsn`` and set up the state of a connection not yet open; returns the
        dsn as bytes and the pp_connect_start flags."""
        if not isinstance(dsn, str):
            raise e.ProgrammingError("the connection string must be a str, not %s"
                                     % type(dsn).__name__)
        if "\0" in dsn:
            raise e.ProgrammingError("the connection string contains a NUL character")
        check_dsn_form(dsn)
        self._autocommit = bool(autocommit)
        self._row_factory = row_factory
        self._prepared: Dict[str, str] = {}
        self._plans: Dict[Any, Plan] = {}  # see _plan
        self._stmt_ids = itertools.count(1)
        self._savepoint_ids = itertools.count(1)
        self._tx_stack: List[Any] = []  # open Transaction objects, outermost first
        self._commit_unknown = False  # the connection broke during COMMIT
        self._notices: List[str] = []
        self._generation = _fork_generation
        # below the global map: this connection's own registrations (see adapters)
        self._adapters = AdaptersMap(global_adapters())
        flags = 0 if statement_cache else lib.PP_CONNECT_NO_STATEMENT_CACHE
        try:
            dsnb = dsn.encode("utf-8")
        except UnicodeEncodeError as exc:
            # not chained: the original holds the whole string, password included
            raise e.ProgrammingError("the connection string cannot be encoded as UTF-8 "
                                     "(character %d: %s)" % (exc.start, exc.reason)) from None
        return dsnb, flags

    def _check_usable(self):
        """The pp_conn *, or InterfaceError when closed or opened before a fork()."""
        if self._closed:
            raise e.InterfaceError("connection is closed")
        if self._generation != _fork_generation:
            raise e.InterfaceError("this connection was opened by the parent process before "
                                   "fork(); open a new connection in the child")
        return self._conn

    # ---- statements: from what the caller gave to the C call's arguments --------------------

    def _statement(self, sql: Any, params: Params, adapters: Any = None
                   ) -> Tuple[Any, Any, bytes, int, Any, int, Any]:
        """One statement's C arguments: (sql, params after $name binding, its UTF-8, the
        PP_EXEC_* flags its plan adds, pp_value array, count, keep-alive). ``adapters``: the
        AdaptersMap to dump with (a cursor's; None: the connection's)."""
        if params is not None and type(params) is not list and type(params) is not tuple:
            sql, params = _named.bind(sql, params, self._prepared)  # $name with a mapping
        try:
            plan = self._plans[sql]
        except (KeyError, TypeError):
            plan = self._plan(sql)
        if (type(params) is list or type(params) is tuple) and params:
            arr, keep = dump_list(params, adapters or self._adapters)
            return sql, params, plan.sqlb, plan.how, arr, len(params), keep
        arr, n, keep = dump_params(params, adapters or self._adapters)  # none, or refused
        return sql, params, plan.sqlb, plan.how, arr, n, keep

    def _plan(self, sql: Any) -> "Plan":
        """How a statement runs ``sql`` (see Plan). Kept in self._plans, which
        prepare/deallocate replace. Threads sharing the connection change it outside the
        connection's lock: a dict's set and clear are atomic on every interpreter, and an
        entry is only ever wrong for a statement id being deallocated at that moment (it
        then fails on the server, as it would a moment later)."""
        sqlb = sql_bytes(sql)
        plan = Plan(sqlb, self._cstr(sqlb),
                    _CHUNKED | (lib.PP_EXEC_PREPARED if sql in self._prepared else 0),
                    self._conn)
        if len(self._plans) >= 512:
            self._plans.clear()
        self._plans[sql] = plan
        return plan

    def _batch_args(self, queries: Sequence[str]) -> Tuple[int, Any, Any, list]:
        """execute_batch's C arguments: (count, const char *[], int64_t[] for the counts,
        keep-alive)."""
        n = len(queries)
        keep = [ffi.new("char[]", sql_bytes(q)) for q in queries]
        return n, ffi.new("const char *[]", keep), ffi.new("int64_t[]", n), keep

    def _many_args(self, sql: Any, seq_of_params: Sequence[Params],
                   adapters: Any = None) -> Tuple[Any, ...]:
        """executemany's C arguments: (SQL text after $name binding, the bound rows, its
        UTF-8, by_columns, array, nparams, nrows, keep-alive); dumped with ``adapters`` (a
        cursor's; None: the connection's)."""
        if isinstance(seq_of_params, (str, bytes)):
            raise e.ProgrammingError("executemany() needs a sequence of parameter rows")
        stored = self._prepared.get(sql) if isinstance(sql, str) else None
        text = sql if stored is None else stored
        text, seq_of_params = _named.bind_many(text, seq_of_params)  # mapping rows: $name
        if stored is not None:
            text = _named.positional_sql(text)
        sqlb = sql_bytes(text)
        by_columns, arr, nparams, nrows, keep = dump_many(seq_of_params, adapters or self._adapters)
        return text, seq_of_params, sqlb, by_columns, arr, nparams, nrows, keep

    def _new_prepared(self, sql: Any) -> Tuple[str, bytes]:
        """prepare()'s statement name and UTF-8 text."""
        sqlb = sql_bytes(_named.positional_sql(sql) if isinstance(sql, str) else sql)
        return "pp_stmt_%d" % next(self._stmt_ids), sqlb

    def _prepared_done(self, name: str, sql: Optional[Any]) -> None:
        """After prepare (sql) or deallocate (None) succeeded: plans made before are stale."""
        if sql is None:
            del self._prepared[name]
        else:
            self._prepared[name] = sql
        self._plans = {}  # a new dict: a plan being made for the old one goes with it

    # ---- transaction state ----------------------------------------------------------------

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

    def _mark_closed(self) -> None:
        """close()'s state change (the caller then frees the pp_conn)."""
        self._link_lost()  # then its open transactions end "broken", not "closed"
        self._closed = True
        for tx in self._tx_stack:
            tx._state = "closed"
        del self._tx_stack[:]

    def _end_pending(self, bound: float) -> bool:
        """For a pool taking the connection back: runs now, on this thread, what finalizers
        left pending (a dropped COPY's abort, a stream's end: ``Turns.end_now``), bounded
        by ``bound`` seconds in all (then cancelled, see _bounded). False, with nothing
        done, when nothing was left or another thread uses the connection."""
        return not self._closed and self._lock.end_now(_bounded(self._conn, bound))

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

    def _needs_begin(self, conn) -> bool:
        """PEP 249 mode and no transaction open: the next statement opens one."""
        return not self._autocommit and lib.pp_transaction_status(conn) == 0

    def _orphan_rolled_back(self, owner: Any) -> None:
        """Turns.orphaned's state change (the caller then runs ROLLBACK)."""
        for tx in self._tx_stack:
            tx._state = "rolled back"
        del self._tx_stack[:]
        self._notices.append("PostPyro: rolled back the transaction left open by %s, which "
                             "ended without committing or rolling it back"
                             % getattr(owner, "name", owner))

    # ---- what the connection knows without asking the server --------------------------------

    def is_closed(self) -> bool:
        """True after close(), or once a call found the connection to the server broken (it
        asks nothing of the server: after the server ended the session, the next call, e.g.
        ping(), notices)."""
        if self._closed:
            return True
        if self._generation != _fork_generation:
            return True
        return bool(lib.pp_is_closed(self._conn))

    @property
    def closed(self) -> bool:
        return self.is_closed()

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

    @property
    def adapters(self) -> AdaptersMap:
        """This connection's loaders and dumpers: ``conn.adapters.register_loader(...)``,
        ``register_dumper``, ``register_type`` change them for this connection (and its
        cursors) only; lookups fall back to the global registrations
        (``PostPyro.types.register_*``)."""
        return self._adapters

    @property
    def row_factory(self) -> Any:
        """What rows are for statements run from now on (None: :class:`~PostPyro.Row`; see
        :mod:`PostPyro.rows`). Cursors made later start with it."""
        return self._row_factory

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        from .rows import check_row_factory
        self._row_factory = check_row_factory(value)

    @property
    def notices(self) -> List[str]:
        """Messages (NOTICE, WARNING, …) the server sent, oldest first. The list is yours to
        clear."""
        if not self._closed:
            try:
                n = _tls.notices_len
            except AttributeError:
                n = _tls.notices_len = ffi.new("int64_t *")
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

    def _info(self, healthy: Any) -> Dict[str, Any]:
        """info()'s dict; ``healthy()`` (a ping) is called only on an open connection."""
        keys = ("server_version", "host", "port", "database", "user", "backend_pid",
                "transaction_status", "encoding", "ssl", "application_name")
        out: Dict[str, Any] = {"closed": self.closed, "healthy": False}
        out.update(dict.fromkeys(keys))
        if out["closed"] or self._generation != _fork_generation:
            out["closed"] = True
            return out
        out["healthy"] = healthy()
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

    def __repr__(self) -> str:
        if self.is_closed():
            return "<PostPyro.Connection closed>"
        get = self._info_str
        return "<PostPyro.Connection host=%s port=%s dbname=%s user=%s status=%s>" % (
            get("host"), get("port"), get("dbname"), get("user"),
            get("transaction_status"))


def connect_error(err) -> e.Error:
    """The exception for a failed pp_connect_start / pp_connect_resume: always an
    OperationalError, with the server's SQLSTATE when it sent one (28P01:
    InvalidPassword)."""
    exc = build_error(err[0])
    if isinstance(exc, e.DatabaseError) and not isinstance(exc, e.OperationalError):
        exc = e.OperationalError(str(exc), sqlstate=exc.sqlstate, diag=exc.diag)
    return exc


def free_half_open(out) -> None:
    """Frees the connection pp_connect_start left in ``out`` (if any): a connect abandoned
    (an exception while it waited) or failed."""
    if out[0] != ffi.NULL:
        lib.pp_conn_free(out[0])


def connected(rc: int, out, err) -> Any:
    """What pp_connect_start / pp_connect_resume ended with ``rc``: the connection (owned,
    freed when collected), or the half-open one freed and connect_error raised."""
    if rc != PP_OK:
        free_half_open(out)
        raise connect_error(err)
    return _reclaim.own(out[0])


_DSN_FORMS = ("a URL (postgresql://user:password@host:5432/dbname?sslmode=require), "
              "key=value pairs (host=localhost port=5432 dbname=mydb user=me) or a bare "
              "database name")


def check_dsn_form(dsn: str) -> None:
    """ProgrammingError for a connection string that is neither a URL, nor key=value pairs,
    nor a bare database name, e.g. ``localhost:5432/db`` (which libpq would silently take as
    the name of a database). The string itself is not shown: it may hold a password."""
    if "=" in dsn or dsn.startswith(("postgresql://", "postgres://")):
        return
    word = dsn.strip()
    if any(c in word for c in ":/@") or (word and word.split()[0] != word):
        raise e.ProgrammingError("the connection string is not in a form PostPyro (libpq) "
                                 "reads: use %s" % _DSN_FORMS)


def _int_or_none(s: Optional[str]) -> Optional[int]:
    try:
        return int(s) if s is not None else None
    except ValueError:
        return None


@contextmanager
def _bounded(conn: Any, seconds: float) -> Iterator[None]:
    """Meanwhile, each call at most ``seconds`` (the connection's timeout, pp_set_timeout,
    unless shorter), and all of them together about as long: once ``seconds`` have passed
    (a server trickling data keeps each call short), a helper thread sets the timeout to
    1 ms, so that the next call's first wait sends the cancel (see pp_set_timeout; the
    helper thread: _deadlines). Then the timeout it found comes back, unless another thread
    set one meanwhile (``Connection.timeout``, settable from any thread): that one stays."""
    ms = _timeout_ms(seconds)

    def while_bounded(now: int) -> int:  # the timeout meanwhile, from the one found
        return ms if now == 0 or now > ms else now
    own = _swap_timeout(conn, while_bounded)
    state = [own, while_bounded(own)]  # [the timeout to come back, the one set here last]
    guard = threading.Lock()  # the deadline never acts once the bounded code has ended
    ended = []

    def deadline() -> None:
        with guard:
            if not ended:
                now = _swap_timeout(conn, lambda now: 1)
                if now != state[1]:
                    state[0] = now  # another thread's, to come back
                state[1] = 1
    cancel = _deadlines.after(seconds, deadline)
    try:
        yield
    finally:
        cancel()
        with guard:
            ended.append(True)
            lib.pp_set_timeout_if(conn, state[1], state[0])  # unless another thread set one


def _swap_timeout(conn: Any, new_of: Callable[[int], int]) -> int:
    """Sets the timeout of ``conn`` to ``new_of(the one it has)`` and returns that one, in one
    compare-and-set (pp_set_timeout_if, again when another thread changed it in between):
    another thread's setting is never lost."""
    while True:
        now = lib.pp_timeout(conn)
        new = new_of(now)
        if new == now or lib.pp_set_timeout_if(conn, now, new) != 0:  # -1: conn NULL
            return now


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


CONNECTION_OPTIONS = ("statement_cache", "row_factory", "timeout")


def dsn_with(dsn: Any, params: Dict[str, Any]) -> str:
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
