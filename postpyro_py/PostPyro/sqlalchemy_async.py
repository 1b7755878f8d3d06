# SPDX-License-Identifier: MIT
"""SQLAlchemy dialect ``postgresql+postpyro_async``: ``sqlalchemy.ext.asyncio`` on
:class:`PostPyro.AsyncConnection`.

::

    from sqlalchemy.ext.asyncio import create_async_engine
    engine = create_async_engine("postgresql+postpyro_async://user:pw@localhost/db")

SQLAlchemy's engine, pool and ORM are synchronous code; for an asyncio driver SQLAlchemy runs
that code in a greenlet and, where the driver must wait, ``await_only(coroutine)`` switches
to the task's own greenlet, which awaits the coroutine on the event loop and switches back
with its result (``sqlalchemy.util.concurrency``). The adapters here are the PEP 249
connection and cursors SQLAlchemy's sync code calls: each call that talks to the server is
one ``await_only`` of AsyncConnection's coroutine. Everything else (compiling to ``$n``,
casts, RETURNING pages, isolation levels, ``is_disconnect``, the DDL/statement-cache rule,
types) is the sync dialect's (:mod:`PostPyro.sqlalchemy`), unchanged.

The package metadata registers this module as the entry point ``postgresql.postpyro_async``;
importing it registers it too. With ``?async_fallback=true`` in the URL (SQLAlchemy's
testing mode) the engine may also be used from plain sync code, which then runs the event
loop itself (``await_fallback``).
"""

from __future__ import annotations

from typing import Any, List, Optional

from sqlalchemy import pool, util
from sqlalchemy.engine.interfaces import AdaptedConnection
# 2.0 keeps these names (await_fallback and the Fallback pool are deprecated there, gone in
# 2.1, which also moves AdaptedConnection to sqlalchemy.connectors.asyncio's adapters)
from sqlalchemy.util.concurrency import await_fallback, await_only

import PostPyro

from .connection_async import AsyncConnection
from .rows import tuple_row
from .sqlalchemy import PGDialect_postpyro

__all__ = ["dialect", "PGDialect_postpyro_async"]


class AsyncAdapt_postpyro_cursor:
    """A PEP 249 cursor over the connection's AsyncCursor. ``execute`` reads the whole
    result (as the sync Cursor does) in its one ``await_only``; fetching then needs no
    wait."""

    server_side = False
    arraysize = 1

    def __init__(self, adapt_connection: "AsyncAdapt_postpyro_connection") -> None:
        self._adapt = adapt_connection
        self._cursor = adapt_connection._cursor
        self._rows: List[Any] = []
        self._pos = 0
        self.description: Any = None
        self.rowcount = -1

    async def _execute(self, operation: str, parameters: Any) -> None:
        cur = self._cursor
        await cur.execute(operation, parameters)
        self.description = cur.description
        self.rowcount = cur.rowcount
        self._rows = await cur.fetchall() if cur.description is not None else []
        self._pos = 0

    def execute(self, operation: str, parameters: Any = None) -> None:
        adapt = self._adapt
        adapt._started = True
        adapt.await_(self._execute(operation, parameters))

    async def _executemany(self, operation: str, seq_of_parameters: Any) -> None:
        cur = self._cursor
        await cur.executemany(operation, seq_of_parameters)
        self.description = None
        self.rowcount = cur.rowcount
        self._rows = []
        self._pos = 0

    def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        adapt = self._adapt
        adapt._started = True
        adapt.await_(self._executemany(operation, seq_of_parameters))

    def setinputsizes(self, *sizes: Any) -> None:
        pass

    def fetchone(self) -> Any:
        pos = self._pos
        if pos >= len(self._rows):
            return None
        self._pos = pos + 1
        return self._rows[pos]

    def fetchmany(self, size: Optional[int] = None) -> list:
        if size is None:
            size = self.arraysize
        out = self._rows[self._pos:self._pos + size]
        self._pos += len(out)
        return out

    def fetchall(self) -> list:
        out = self._rows[self._pos:]
        self._pos = len(self._rows)
        return out

    def __iter__(self) -> Any:
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    def close(self) -> None:
        self._rows = []  # (a client-side cursor holds nothing on the server)


class AsyncAdapt_postpyro_ss_cursor(AsyncAdapt_postpyro_cursor):
    """A server-side cursor (``stream_results``, ``AsyncConnection.stream()``), like
    PostPyro's named cursor: ``DECLARE name NO SCROLL CURSOR FOR …``, then ``FETCH FORWARD
    itersize`` per ``await_only``; in AUTOCOMMIT mode inside a transaction of its own, which
    ends when the cursor closes. Run through the connection's one AsyncCursor, so that the
    transaction follows the task (see AsyncAdapt_postpyro_connection)."""

    server_side = True

    def __init__(self, adapt_connection: "AsyncAdapt_postpyro_connection", name: str,
                 itersize: int) -> None:
        super().__init__(adapt_connection)
        self.name = name
        self._qname = '"%s"' % name.replace('"', '""')
        self._fetch_sql = "FETCH FORWARD %d FROM %s" % (itersize, self._qname)
        self._itersize = itersize
        self._declared = False
        self._own_tx = False
        self._done = False

    async def _execute(self, operation: str, parameters: Any) -> None:
        cur = self._cursor
        if self._adapt._connection.autocommit:
            await cur.execute("BEGIN")
            self._own_tx = True
        try:
            await cur.execute("DECLARE %s NO SCROLL CURSOR FOR %s" % (self._qname, operation),
                              parameters)
            self._declared = True
            await self._fetch()  # the first rows, and the description
        except Exception:
            if self._own_tx:  # (nobody else ends it in AUTOCOMMIT mode)
                self._declared = self._own_tx = False
                await cur.execute("ROLLBACK")
            raise
        self.description = cur.description
        self.rowcount = -1

    async def _fetch(self) -> None:
        cur = self._cursor
        await cur.execute(self._fetch_sql)
        rows = await cur.fetchall()
        if len(rows) < self._itersize:
            self._done = True
        self._rows = self._rows[self._pos:] + rows if self._pos < len(self._rows) else rows
        self._pos = 0

    def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        raise PostPyro.NotSupportedError("executemany() on a server-side cursor")

    def _more(self, at_least: int) -> bool:
        """Fetch until ``at_least`` rows are buffered or the cursor is exhausted; False
        when nothing is buffered."""
        while not self._done and len(self._rows) - self._pos < at_least:
            self._adapt.await_(self._fetch())
        return self._pos < len(self._rows)

    def fetchone(self) -> Any:
        if not self._more(1):
            return None
        return super().fetchone()

    def fetchmany(self, size: Optional[int] = None) -> list:
        self._more(self.arraysize if size is None else size)
        return super().fetchmany(size)

    def fetchall(self) -> list:
        self._more(1 << 62)
        return super().fetchall()

    async def _close(self) -> None:
        cur = self._cursor
        if self._own_tx:
            await cur.execute("COMMIT")  # (closes the cursor too)
        else:
            await cur.execute("CLOSE " + self._qname)

    def close(self) -> None:
        self._rows = []
        if self._declared:
            self._declared = False
            self._adapt.await_(self._close())


class AsyncAdapt_postpyro_connection(AdaptedConnection):
    """A PEP 249 connection over an AsyncConnection (autocommit off: the first statement
    opens a transaction), for SQLAlchemy's sync code running in a greenlet.

    SQLAlchemy uses a connection from one task at a time, but not always the same task: it
    ends transactions in tasks of its own (``asyncio.shield`` in ``__aexit__``). An
    AsyncConnection's open transaction belongs to the task that opened it, and moves to
    another task that uses an object made by that task. So every statement, COMMIT and
    ROLLBACK goes through one AsyncCursor: whichever task calls now gets the transaction
    of the task that called before."""

    await_ = staticmethod(await_only)

    def __init__(self, dbapi: Any, connection: AsyncConnection) -> None:
        self.dbapi = dbapi
        self._connection = connection
        self._cursor = connection.cursor(row_factory=tuple_row)  # (as the sync dialect's)
        self._started = False  # a statement ran since the last COMMIT/ROLLBACK

    def cursor(self, row_factory: Any = None, *, name: Optional[str] = None,
               itersize: int = 2000) -> Any:
        # (rows are plain tuples, whatever row_factory says)
        if name is not None:
            return AsyncAdapt_postpyro_ss_cursor(self, name, itersize)
        return AsyncAdapt_postpyro_cursor(self)

    @property
    def autocommit(self) -> bool:
        return self._connection.autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._connection.autocommit = value

    @property
    def closed(self) -> bool:
        return self._connection.closed

    @property
    def notices(self) -> List[str]:
        return self._connection.notices

    def commit(self) -> None:
        self._end("COMMIT")

    def rollback(self) -> None:
        self._end("ROLLBACK")

    def _end(self, verb: str) -> None:
        # (libpostpyro raises InFailedSqlTransaction for a COMMIT the server answers with
        # ROLLBACK, as Connection.commit() does)
        if self._started and not self._connection.autocommit:
            self._started = False
            self.await_(self._cursor.execute(verb))

    def ping(self) -> bool:
        return self.await_(self._connection.ping())

    def set_statement_cache_size(self, size: int) -> None:
        self.await_(self._connection.set_statement_cache_size(size))

    def close(self) -> None:
        self.await_(self._connection.close())

    def terminate(self) -> None:
        """Close without an event loop (SQLAlchemy calls this when the garbage collector
        finds a connection that was not returned to the pool): AsyncConnection.close() only
        awaits when another call is running on the connection, to cancel it first; then the
        connection is left to its own finalizer."""
        coro = self._connection.close()
        try:
            coro.send(None)
        except StopIteration:
            return
        coro.close()


class AsyncAdaptFallback_postpyro_connection(AsyncAdapt_postpyro_connection):
    """For ``async_fallback=true``: usable outside a greenlet too (runs the loop)."""

    await_ = staticmethod(await_fallback)


class AsyncAdapt_postpyro_dbapi:
    """PostPyro as SQLAlchemy's async dialect sees its "DB-API module": PostPyro's own
    attributes (exceptions, type objects, …), and ``connect()`` giving an adapted
    AsyncConnection."""

    def __init__(self) -> None:
        self.paramstyle = PGDialect_postpyro.default_paramstyle

    def __getattr__(self, name: str) -> Any:
        return getattr(PostPyro, name)

    def connect(self, *args: Any, async_fallback: Any = False, **kwargs: Any) -> Any:
        kwargs.setdefault("autocommit", False)  # PEP 249's way, as SQLAlchemy expects
        if util.asbool(async_fallback):
            return AsyncAdaptFallback_postpyro_connection(
                self, await_fallback(AsyncConnection.connect(*args, **kwargs)))
        return AsyncAdapt_postpyro_connection(
            self, await_only(AsyncConnection.connect(*args, **kwargs)))


class PGDialect_postpyro_async(PGDialect_postpyro):
    """PostgreSQL through PostPyro's AsyncConnection, for ``sqlalchemy.ext.asyncio``. Same
    options and behaviour as ``postgresql+postpyro`` (see :class:`PGDialect_postpyro`); the
    URL may add ``async_fallback=true``."""

    driver = "postpyro_async"
    supports_statement_cache = True  # (SQLAlchemy asks every subclass to say it again)
    is_async = True
    has_terminate = True
    supports_server_side_cursors = True

    # 1.4 calls dbapi(); 2.0 import_dbapi()
    @classmethod
    def dbapi(cls):  # type: ignore[override]
        return AsyncAdapt_postpyro_dbapi()

    @classmethod
    def import_dbapi(cls):
        return AsyncAdapt_postpyro_dbapi()

    @classmethod
    def get_pool_class(cls, url):
        if util.asbool(url.query.get("async_fallback", False)):
            return pool.FallbackAsyncAdaptedQueuePool
        return pool.AsyncAdaptedQueuePool

    def get_driver_connection(self, connection):
        return connection._connection

    def do_terminate(self, dbapi_connection) -> None:
        dbapi_connection.terminate()


dialect = PGDialect_postpyro_async


def _register() -> None:
    """Make ``postgresql+postpyro_async`` known to SQLAlchemy without the entry point."""
    from sqlalchemy.dialects import registry
    registry.register("postgresql.postpyro_async", __name__, "dialect")


_register()
