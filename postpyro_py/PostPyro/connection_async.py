# SPDX-License-Identifier: MIT
"""AsyncConnection: the seed's API and PEP 249's, awaited, on asyncio or trio.

``AsyncConnection`` is :class:`~PostPyro.Connection` name for name, with ``await``. It does
not copy Connection's logic: it runs Connection's own code — in nonblocking mode, on a fiber
(see :mod:`PostPyro._fiber`) — and differs only where that code waits for the server
(``_wait``): the fiber switches back here, and this awaits the socket the running event
loop's way (asyncio: a reader that stays registered between waits, and ``add_writer``; trio:
``wait_readable``/``wait_writable``; see :mod:`PostPyro._aio`), then switches in again. One C
call per readiness event. The commonest calls, ``query()`` (``query_one()``) and ``execute()``
of a statement run before, need no fiber: Connection.query's steps run on the task's own stack
and the pending C call is stepped from here (see :mod:`PostPyro._aquery`).

Tasks sharing a connection queue in order (the library's Condition): statements never
interleave on the wire, and a transaction belongs to the task that opened it (another
task's statements wait until it ends; using the Transaction object from another task moves
it there, as with threads).

Cancelling a task (``task.cancel()``, ``asyncio.timeout``, ``wait_for``, a trio cancel scope)
while its statement runs sends the server a cancel request, waits (at most
``_SETTLE_SECONDS``, shielded) until the statement has ended, and re-raises the
cancellation: the connection is usable afterwards. When the statement ran inside a
transaction, that transaction is then failed on the server (InFailedSqlTransaction until it
is rolled back; leaving ``async with conn.begin()`` rolls it back, shielded from the
cancellation). A per-call ``timeout=`` does the same and raises QueryCanceled saying that
the timeout expired. When the server does not end the statement within the bound, the
connection is closed.
"""

from __future__ import annotations

import platform
import weakref
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence

from . import errors as e
from ._aconnect import connect_nb, resolved
from ._aio import Waker, backend, poll_wait
from ._aquery import COUNT, FIBER, QueryStep, run_planned
from ._ffi import PP_OK, PP_PENDING, T_ERROR_PP, ffi, lib, newp
from ._aturns import AsyncTurns, end_dropped, end_pending
from ._fiber import Fiber
from ._listen_async import AsyncNotifications
from ._result import _free_out, one_row
from ._session import BaseConnection, _timeout_ms, dsn_with
from ._sql import Params
from ._turns import Turns
from .connection import Connection
from .row import Row
from .transaction import end_block

if TYPE_CHECKING:  # pragma: no cover
    from .objects_async import AsyncCopy, AsyncCursor, AsyncStream, AsyncTransaction

__all__ = ["AsyncConnection"]

# PyPy's garbage collector moves objects (see _LoopConnection._cstr).
_MOVING_GC = platform.python_implementation() == "PyPy"
# pp_transaction_status values that mean "a transaction is open" (see _turns).
_OPEN = (1, 2, 3)
# How long a cancelled statement may take to end before the connection is given up.
_SETTLE_SECONDS = 5.0
# A cancel that changed nothing is sent again after this long: libpostpyro fails a statement
# whose cancel came during its Parse/Describe, but one that reaches the server after that
# check and before the backend reads the Bind is still ignored there.
_RESEND_SECONDS = 0.2


class _LoopConnection(Connection):
    """Connection's code in nonblocking mode, run on a fiber by an AsyncConnection: where it
    would wait for the server, the fiber switches back to the AsyncConnection."""

    def __init__(self, dsn: str, autocommit: bool, statement_cache: bool,
                 row_factory: Any) -> None:  # no I/O: AsyncConnection.connect connects
        self._conn = None
        self._closed = True
        self._dsnb, self._flags = self._init_state(dsn, autocommit, statement_cache,
                                                   row_factory)
        # tasks' turns are AsyncConnection's; a dropped stream's/COPY's end waits for the next call
        self._lock = Turns(defer=True)
        self._reader = None
        self._fiber: Optional[Fiber] = None  # the fiber running now, if any
        # the running call's wait without a loop trip while the loop is idle (see
        # AsyncioSocket.idle_wait), or None: trio, a timeout=, a connection timeout
        self._idle: Optional[Callable[[], bool]] = None
        self._waits = 0  # calls that waited so far (a cancel is resent for the same one)

    def _wait(self, rc: int, resume: Callable[..., int], *args: Any) -> int:
        fiber = self._fiber
        if fiber is None:  # not on a fiber (the garbage collector ending a stream)
            return poll_wait(self._conn, rc, resume, args)
        conn = self._conn
        self._waits += 1
        idle = self._idle
        while rc == PP_PENDING:
            events = lib.pp_wait_events(conn)
            if idle is None or not idle(events):
                fiber.suspend(events)  # wait the loop's way (AsyncConnection._drive)
            rc = resume(*args)
        return rc

    if _MOVING_GC:
        @staticmethod
        def _cstr(text: bytes) -> Any:
            # PyPy passes bytes to C through a buffer valid only during the call; a call
            # that returns PP_PENDING goes on reading it: give it memory that stays put
            return ffi.new("char[]", text)

        def _query(self, conn, sql, *args: Any) -> Any:
            return Connection._query(self, conn, ffi.new("char[]", sql), *args)

    def _abandon(self, conn, out, err) -> None:
        # KeyboardInterrupt inside a call: nothing can wait here for the cancel to end it
        _free_out(out, err)
        self.close()

    def ping(self) -> bool:
        try:
            lib.pp_result_free(self._exec(self._handle(), b"", 0, ffi.NULL, 0))
            return True
        except Exception:
            return False


class AsyncConnection(AsyncNotifications):
    """A connection to a PostgreSQL server for asyncio or trio: ``conn = await
    AsyncConnection.connect(dsn, **options)``. Same options, rows, exceptions, types and
    statement cache as :class:`~PostPyro.Connection`; every call that talks to the server is
    awaited, and most take ``timeout=`` (seconds). See :mod:`PostPyro.connection_async`."""

    # PEP 249's exception classes as attributes, as on Connection
    Warning = BaseConnection.Warning
    Error = BaseConnection.Error
    InterfaceError = BaseConnection.InterfaceError
    DatabaseError = BaseConnection.DatabaseError
    DataError = BaseConnection.DataError
    OperationalError = BaseConnection.OperationalError
    IntegrityError = BaseConnection.IntegrityError
    InternalError = BaseConnection.InternalError
    ProgrammingError = BaseConnection.ProgrammingError
    NotSupportedError = BaseConnection.NotSupportedError

    def __init__(self, engine: _LoopConnection, b: Any) -> None:
        """Use ``await AsyncConnection.connect(…)``."""
        self._engine = engine
        self._b = b
        self._sock = b.socket(lib.pp_socket(engine._conn))  # what the waits wait on
        # a connection dropped without close(): the loop forgets its socket (see _aio)
        weakref.finalize(self, self._sock.release_soon)
        self._fiber = Fiber()             # runs the calls, one after another
        self._turns = AsyncTurns(b, self._tx_open, self._end_dropped)
        self._checkpoint = b.checkpoint   # awaited first by every call (trio)
        self._waker = Waker()
        self._running = False       # a call is waiting for the server
        self._closing = False       # close() was called
        self._timed = lib.pp_timeout(engine._conn) > 0
        self._set_idle()
        self._arm = getattr(self._sock, "arm", None)  # set before each call, asyncio

    def _set_idle(self) -> None:  # what a call without timeout= waits with first (_wait)
        self._idle = None if self._timed else getattr(self._sock, "idle_wait", None)

    @classmethod
    async def connect(cls, dsn: str = "", *, autocommit: bool = True,
                      statement_cache: bool = True, row_factory: Optional[Callable] = None,
                      timeout: Optional[float] = None, **kwargs: Any) -> "AsyncConnection":
        """Connect without blocking the event loop. Options as :class:`~PostPyro.Connection`
        (autocommit on by default); other keywords are libpq parameters, as for
        :func:`~PostPyro.connect`. Host names are resolved with the event loop's
        getaddrinfo (``host`` is kept for TLS and the password file)."""
        if kwargs:
            dsn = dsn_with(dsn, kwargs)
        b = backend()
        engine = _LoopConnection(dsn, autocommit, statement_cache, row_factory)
        dsnb = await resolved(b, dsn, engine._dsnb)
        engine._attach(await connect_nb(b, dsnb, engine._flags, _timeout_ms(timeout)))
        return cls(engine, b)

    # ---- running the sync code on a fiber -------------------------------------------------

    async def _run(self, fn: Optional[Callable[..., Any]], *args: Any,
                   timeout: Optional[float] = None, holder: Any = None) -> Any:
        """``fn(*args)`` (Connection code) in this task's turn, waiting the loop's way.
        ``holder``: the task that made the object whose method this is (see AsyncTurns).
        A free turn and an answer there at once: nothing awaits (trio: a checkpoint).
        ``fn`` None: ``query(*args)``, COUNT: ``execute(*args)``, on this task's stack when
        its plan is known (see _aquery), else on the fiber."""
        if self._checkpoint is not None:
            await self._checkpoint()
        turns = self._turns
        if not turns.busy and not turns.queue and turns.owner is None:
            turns.busy = True  # free_for(holder)'s commonest case, without its call
        elif turns.free_for(holder):
            turns.busy = True  # here, not in free_for: see there
        else:
            await turns.acquire(holder)
        eng = self._engine
        try:
            self._prime(timeout)
            if fn is None or fn is COUNT:
                got = eng._query_args(*args)
                if got is not None:
                    value = await run_planned(self, got, args[0], args[1], timeout, fn)
                    if value is not FIBER:
                        return value
                fn = eng.query if fn is None else eng.execute
            eng._fiber = fiber = self._fiber
            try:
                done, value = fiber.run(fn, args)
            finally:
                eng._fiber = None
            if done:
                return value
            return await self._drive(value, timeout)
        except BaseException:
            if self._fiber.in_call:  # abandoned mid-call (the coroutine was closed, …): that
                self._fiber = self._fiber.renewed(eng.close)  # call never ends: closed
            if eng._closed or lib.pp_is_closed(eng._conn):  # libpq closed its socket
                self._sock.release_soon()
            raise
        finally:
            if self._closing:
                self._fiber.end()  # the last call of a closed connection
            # the engine's Turns (every statement runs in it) knows if a transaction may be open
            if turns.queue or turns.owner is not None or eng._lock.owner is not None:
                turns.release()
            else:  # what release() does when nobody waits and no transaction is open
                turns.busy = False

    def _prime(self, timeout: Optional[float]) -> None:
        """Before a call starts on the fiber: how its waits begin (_LoopConnection._wait);
        asyncio: the first ones in C while the loop is idle (see AsyncioSocket.arm)."""
        eng = self._engine
        eng._idle = idle = self._idle if timeout is None else None
        if self._arm is not None and not eng._closed:
            self._arm(eng._conn, idle is not None)

    async def _acquire(self, holder: Any) -> Any:
        """Wait for this task's turn (see AsyncTurns.acquire); returns the task."""
        turns = self._turns
        me = self._b.current_task()
        if turns.free_for(holder):
            turns.busy = True  # here, with no call before the caller's try: see free_for
            return me
        return await turns.acquire(holder)

    def _release(self, me: Any) -> None:
        self._turns.release()

    _end_dropped, _end_pending = end_dropped, end_pending  # finalizers' ends (see _aturns)

    def _tx_open(self) -> bool:
        eng = self._engine
        return not eng._closed and lib.pp_transaction_status(eng._conn) in _OPEN

    def _step(self, query: Optional[QueryStep] = None) -> Any:
        """Go on with the call suspended on the fiber: (done, value) as Fiber.switch.
        ``query``: a planned statement's call, stepped from here until its chunks are read
        on the fiber (see _aquery)."""
        eng = self._engine
        try:
            if query is not None and not query.on_fiber:
                return query.step()
            eng._fiber = fiber = self._fiber
            try:
                return fiber.switch()
            finally:
                eng._fiber = None
        except e.Error as exc:
            if self._closing:  # its statement was cancelled by close()
                raise e.InterfaceError("connection is closed (close() was called while "
                                       "this call ran)") from exc
            raise

    async def _drive(self, events: int, timeout: Optional[float],
                     query: Optional[QueryStep] = None) -> Any:
        """The call on the fiber (``query``: a planned statement's, see _step) waits for
        ``events`` on the socket: wait, step it, until it ends."""
        b = self._b
        wait = self._sock.wait
        self._running = True
        try:
            deadline = None if timeout is None else b.now() + timeout
            while True:
                t = lib.pp_wait_timeout_ms(self._engine._conn)  # also with no timeout
                if deadline is not None:
                    left = max(0, int((deadline - b.now()) * 1000))
                    t = left if t < 0 else min(t, left)
                try:
                    await wait(events, t, self._waker)
                except b.cancelled:
                    await self._settle(events, query)
                    raise
                except GeneratorExit:  # the coroutine was closed: nothing can wait now
                    self._engine.close()
                    raise
                if deadline is not None and b.now() >= deadline:
                    return await self._timed_out(events, timeout, query)
                done, events = self._step(query)
                if done:
                    return events
        finally:
            self._running = False

    async def _settle(self, events: int, query: Optional[QueryStep] = None) -> Any:
        """The running statement is cancelled on the server, and its call (see _drive)
        driven until it ends (its error, QueryCanceled, is expected): (True, its result) or (False, its
        exception). Shielded, bounded by _SETTLE_SECONDS: then the connection is closed."""
        b = self._b
        eng = self._engine
        with b.shielded():
            call = eng._waits
            await self._send_cancel()
            sent = b.now()
            give_up = sent + _SETTLE_SECONDS
            while True:
                now = b.now()
                if now >= give_up:
                    self._engine.close()
                else:
                    try:
                        await self._sock.wait(events, 100, self._waker)
                    except b.cancelled:  # cancelled again (asyncio): the cleanup goes on
                        pass
                try:
                    done, events = self._step(query)
                except BaseException as exc:
                    return False, exc
                if done:
                    return True, events
                if eng._waits == call and b.now() - sent > _RESEND_SECONDS and not eng._closed:
                    await self._send_cancel()  # the first one cancelled nothing
                    sent = b.now()

    async def _send_cancel(self) -> bool:
        """A cancel request for the running statement, delivered without blocking (bounded
        by _SETTLE_SECONDS). True when it was delivered."""
        b = self._b
        conn = self._engine._conn
        fd = ffi.new("int32_t *")
        ev = ffi.new("int32_t *")
        err = newp(T_ERROR_PP, None)
        rc = lib.pp_cancel_start(conn, fd, ev, err)
        give_up = b.now() + _SETTLE_SECONDS
        # shielded: in a cancelled trio scope (close() there) every wait would raise at once
        with b.shielded():
            while rc == PP_PENDING and b.now() < give_up:
                try:
                    await b.wait_fd(fd[0], ev[0], 250, Waker())
                except b.cancelled:  # cancelled again (asyncio): the delivery goes on
                    pass
                rc = lib.pp_cancel_poll(conn, fd, ev, err)
        if err[0] != ffi.NULL:
            lib.pp_error_free(err[0])
        return rc == PP_OK

    async def _timed_out(self, events: int, timeout: float,
                         query: Optional[QueryStep] = None) -> Any:
        ok, value = await self._settle(events, query)
        if ok:
            return value  # it ended by itself meanwhile
        if isinstance(value, e.QueryCanceled):
            exc = e.QueryCanceled("the statement timed out: it ran longer than timeout=%g s, "
                                  "so it was cancelled on the server" % timeout,
                                  sqlstate="57014")
            raise exc from value
        raise value

    async def _wait_readable(self, timeout: Optional[float]) -> bool:
        """Wait, while no call runs, until the socket is readable (True: e.g. a
        notification came; then call pp_consume_input) or ``timeout`` seconds passed (None:
        no limit). Call it in this task's turn (``me = await self._acquire(None)`` …
        ``self._release(me)``): nothing else may wait on the socket meanwhile."""
        t = -1 if timeout is None else max(0, int(timeout * 1000))
        self._engine._handle()
        return await self._sock.wait(lib.PP_WAIT_READ, t, self._waker)

    # ---- the seed's API ------------------------------------------------------------------

    async def query(self, sql: str, params: Params = None, *,
                    timeout: Optional[float] = None) -> List[Row]:
        """All the rows of a statement (see :meth:`Connection.query`)."""
        return await self._run(None, sql, params, timeout=timeout)

    async def query_one(self, sql: str, params: Params = None, *,
                        timeout: Optional[float] = None) -> Row:
        """The only row of a statement (see :meth:`Connection.query_one`)."""
        return one_row(await self._run(None, sql, params, timeout=timeout))

    async def execute(self, sql: str, params: Params = None, *,
                      timeout: Optional[float] = None) -> int:
        """Run a statement; the number of rows it affected."""
        return await self._run(COUNT, sql, params, timeout=timeout)

    async def execute_batch(self, queries: Sequence[str], *,
                            timeout: Optional[float] = None) -> List[int]:
        """Several SQL strings pipelined, in one transaction (see
        :meth:`Connection.execute_batch`)."""
        return await self._run(self._engine.execute_batch, queries, timeout=timeout)

    async def executemany(self, sql: str, seq_of_params: Sequence[Params], *,
                          timeout: Optional[float] = None) -> int:
        """One statement per parameter row, pipelined, in one transaction."""
        return await self._run(self._engine.executemany, sql, seq_of_params, timeout=timeout)

    async def prepare(self, sql: str) -> str:
        """Prepare a statement; pass its id instead of the SQL."""
        return await self._run(self._engine.prepare, sql)

    async def deallocate(self, stmt_id: str) -> None:
        """Drop a statement made by :meth:`prepare`."""
        await self._run(self._engine.deallocate, stmt_id)

    async def ping(self) -> bool:
        """True when the server answers a round trip; False when closed or dead."""
        if self._engine._closed:
            return False
        try:
            return await self._run(self._engine.ping)
        except e.Error:
            return False

    def info(self) -> Dict[str, Any]:
        """As :meth:`Connection.info`, without a round trip: ``healthy`` says whether the
        connection is open and not broken (``await ping()`` asks the server)."""
        eng = self._engine
        return eng._info(lambda: not lib.pp_is_closed(eng._conn))

    def begin(self, isolation_level: Optional[str] = None, read_only: bool = False,
              deferrable: bool = False) -> "AsyncTransaction":
        """A transaction (a savepoint inside one): ``async with conn.begin() as tx:`` or
        ``tx = await conn.begin()``."""
        from .objects_async import AsyncTransaction
        return AsyncTransaction(self, dict(isolation_level=isolation_level,
                                           read_only=read_only, deferrable=deferrable))

    def transaction(self, *args: Any, **kwargs: Any) -> "AsyncTransaction":
        """Alias of :meth:`begin`."""
        return self.begin(*args, **kwargs)

    async def close(self) -> None:
        """Close the connection (safe twice). A call another task is waiting in fails at
        once with InterfaceError (its statement is cancelled on the server)."""
        eng = self._engine
        if eng._closed:
            return
        self._closing = True
        if self._running:
            await self._send_cancel()  # delivered, awaited (pp_close sends one, never waits)
        else:
            self._fiber.end()  # no idle fiber left to the collector (see Fiber.end)
        self._sock.release()  # the loop forgets the socket before libpq closes it
        if self._waker.wake is not None:
            self._waker.wake()  # a wait in progress ends (a call, notifies())
        eng.close()

    async def __aenter__(self) -> "AsyncConnection":
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if not self._engine._closed and not self._engine._autocommit:
                with self._b.shielded():
                    await self._run(end_block, self._engine, exc_type is not None)
        finally:
            await self.close()

    # ---- PEP 249 -------------------------------------------------------------------------

    async def commit(self) -> None:
        """Commit the current transaction (see :meth:`Connection.commit`)."""
        await self._run(self._engine.commit)

    async def rollback(self) -> None:
        """Roll back the current transaction."""
        await self._run(self._engine.rollback)

    def cursor(self, row_factory: Any = None, *, name: Optional[str] = None,
               itersize: int = 2000) -> "AsyncCursor":
        """A cursor whose calls are awaited (``await cur.execute(…)``, ``await
        cur.fetchone()``, ``async for row in cur``); with ``name`` a server-side one."""
        from .objects_async import AsyncCursor
        return AsyncCursor(self, self._engine.cursor(row_factory, name=name,
                                                     itersize=itersize))

    # ---- COPY and streaming ---------------------------------------------------------------

    def copy(self, sql: str) -> "AsyncCopy":
        """A COPY in progress: ``async with conn.copy(sql) as cp:`` (``await cp.write(…)``,
        ``await cp.write_rows(…)``; ``async for chunk in cp`` for COPY TO)."""
        from .objects_async import AsyncCopy
        return AsyncCopy(self, self._engine.copy(sql))

    async def copy_records_to_table(self, table: str, records: Any, columns: Any = None,
                                    schema_name: Optional[str] = None,
                                    format: Optional[str] = None) -> int:
        """See :meth:`Connection.copy_records_to_table` (``records``: any iterable)."""
        return await self._run(self._engine.copy_records_to_table, table, records, columns,
                               schema_name, format)

    async def copy_from(self, table_or_sql: str, source: Any, columns: Any = None,
                        schema_name: Optional[str] = None) -> int:
        """See :meth:`Connection.copy_from` (``source``: a file object, bytes/str or an
        iterable of them, read on the loop)."""
        return await self._run(self._engine.copy_from, table_or_sql, source, columns,
                               schema_name)

    async def copy_to(self, table_or_sql: str, file: Any, columns: Any = None,
                      schema_name: Optional[str] = None) -> int:
        """See :meth:`Connection.copy_to` (``file`` is written on the loop)."""
        return await self._run(self._engine.copy_to, table_or_sql, file, columns,
                               schema_name)

    def stream(self, sql: str, params: Params = None, chunk_size: int = 10000) -> "AsyncStream":
        """``async for row in conn.stream(sql, params)``: a server-side cursor fetched
        ``chunk_size`` rows at a time (``async with`` closes it early)."""
        from .objects_async import AsyncStream
        return AsyncStream(self, self._engine.stream(sql, params, chunk_size))

    # ---- more ----------------------------------------------------------------------------

    async def cancel(self) -> None:
        """Ask the server to cancel the statement running on this connection (from any
        task); that statement fails with QueryCanceled and the connection stays usable."""
        self._engine._handle()
        if not await self._send_cancel():
            raise e.OperationalError("the cancel request could not be delivered")

    async def set_statement_cache_size(self, size: int) -> None:
        """How many statements to keep prepared (0: none)."""
        await self._run(self._engine.set_statement_cache_size, size)

    def is_closed(self) -> bool:
        return self._engine.is_closed()

    @property
    def closed(self) -> bool:
        return self._engine.is_closed()

    @property
    def transaction_status(self) -> str:
        """As :attr:`Connection.transaction_status`: no round trip, never waits; "active"
        while a call runs, "unknown" once closed or found dead."""
        return self._engine.transaction_status

    @property
    def autocommit(self) -> bool:
        return self._engine.autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._engine.autocommit = value

    @property
    def row_factory(self) -> Any:
        return self._engine.row_factory

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        self._engine.row_factory = value

    @property
    def notices(self) -> List[str]:
        return self._engine.notices

    @property
    def timeout(self) -> Optional[float]:
        """The bound, in seconds, of every wait for the server (see
        :attr:`Connection.timeout`)."""
        return self._engine.timeout

    @timeout.setter
    def timeout(self, seconds: Optional[float]) -> None:
        self._engine.timeout = seconds
        self._timed = seconds is not None and seconds > 0
        self._set_idle()

    def __repr__(self) -> str:
        return repr(self._engine).replace("PostPyro.Connection", "PostPyro.AsyncConnection")

