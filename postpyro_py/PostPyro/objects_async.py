# SPDX-License-Identifier: MIT
"""What an AsyncConnection hands out: transactions, cursors, streams and COPYs whose calls
are awaited.

Each wraps the sync front end's own object (Transaction, Cursor / ServerCursor, Stream,
Copy) made on the AsyncConnection's Connection code, and runs its methods through
``AsyncConnection._run`` (on a fiber, in the task's turn). No logic is repeated here: only
which methods talk to the server (awaited) and the ``async with`` / ``async for`` forms.
Like the sync objects, one used from another task than the one that made it moves the
transaction it holds to that task.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence

from . import errors as e
from .transaction import Transaction, end_block

if TYPE_CHECKING:  # pragma: no cover
    from ._sql import Params
    from .connection_async import AsyncConnection
    from .row import Row

__all__ = ["AsyncTransaction", "AsyncCursor", "AsyncStream", "AsyncCopy"]


class _Held:
    """An object of the sync front end, used through an AsyncConnection."""

    _aconn: "AsyncConnection"
    _owner: Any = None  # the task that used it last

    async def _call(self, fn: Callable[..., Any], *args: Any, timeout: Any = None) -> Any:
        aconn = self._aconn
        me = aconn._b.current_task()
        holder = self._owner if self._owner is not me else None
        result = await aconn._run(fn, *args, timeout=timeout, holder=holder)
        self._owner = me
        return result


class AsyncTransaction(_Held):
    """A transaction or savepoint of an AsyncConnection (see :class:`~PostPyro.Transaction`):
    ``async with conn.begin() as tx:`` commits on success and rolls back on an exception
    (also on a cancellation, shielded from it); ``tx = await conn.begin()`` starts it
    without ``async with``."""

    def __init__(self, aconn: "AsyncConnection", options: Optional[dict] = None,
                 parent: Optional["AsyncTransaction"] = None,
                 name: Optional[str] = None) -> None:
        self._aconn = aconn
        self._options = options or {}
        self._parent = parent
        self._name = name
        self._tx: Optional[Transaction] = None

    async def _start(self) -> "AsyncTransaction":
        if self._tx is None:
            parent = self._parent
            if parent is None:
                self._tx = await self._call(partial(Transaction, self._aconn._engine,
                                                    **self._options))
            else:
                self._tx = await parent._call(parent._sync().savepoint, self._name)
                self._owner = parent._owner
        return self

    def __await__(self) -> Any:
        return self._start().__await__()

    def _sync(self) -> Transaction:
        if self._tx is None:
            raise e.InterfaceError("the transaction has not started: use `async with "
                                   "conn.begin()` or `tx = await conn.begin()`")
        return self._tx

    async def __aenter__(self) -> "AsyncTransaction":
        return await self._start()

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        tx = self._tx
        if tx is not None and tx._state in ("active", "broken"):  # a broken one's commit raises
            with self._aconn._b.shielded():
                await self._call(end_block, tx, exc_type is not None)
        return False

    @property
    def connection(self) -> "AsyncConnection":
        return self._aconn

    @property
    def savepoint_name(self) -> Optional[str]:
        return self._sync().savepoint_name

    @property
    def active(self) -> bool:
        return self._tx is not None and self._tx.active

    @property
    def status(self) -> str:
        return "new" if self._tx is None else self._tx.status

    async def execute(self, sql: str, params: "Params" = None, *, timeout: Any = None) -> int:
        return await self._call(self._sync().execute, sql, params, timeout=timeout)

    async def query(self, sql: str, params: "Params" = None, *,
                    timeout: Any = None) -> List["Row"]:
        return await self._call(self._sync().query, sql, params, timeout=timeout)

    async def query_one(self, sql: str, params: "Params" = None, *,
                        timeout: Any = None) -> "Row":
        return await self._call(self._sync().query_one, sql, params, timeout=timeout)

    async def executemany(self, sql: str, seq_of_params: Sequence["Params"], *,
                          timeout: Any = None) -> int:
        return await self._call(self._sync().executemany, sql, seq_of_params, timeout=timeout)

    async def execute_batch(self, queries: Sequence[str], *, timeout: Any = None) -> List[int]:
        return await self._call(self._sync().execute_batch, queries, timeout=timeout)

    def savepoint(self, name: Optional[str] = None) -> "AsyncTransaction":
        """A savepoint inside this transaction (``async with tx.savepoint():``)."""
        self._sync()
        return AsyncTransaction(self._aconn, parent=self, name=name)

    async def commit(self) -> None:
        await self._call(self._sync().commit)

    async def rollback(self) -> None:
        await self._call(self._sync().rollback)

    def __repr__(self) -> str:
        if self._tx is None:
            return "<PostPyro.AsyncTransaction new>"
        return repr(self._tx).replace("PostPyro.Transaction", "PostPyro.AsyncTransaction")


class AsyncCursor(_Held):
    """A PEP 249 cursor of an AsyncConnection: ``await cur.execute(…)``, ``await
    cur.fetchone()`` / ``fetchmany`` / ``fetchall``, ``async for row in cur``. Attributes
    (description, rowcount, arraysize, …) as on :class:`~PostPyro.Cursor`."""

    _AWAITED = frozenset(("callproc", "nextset", "fetchone", "fetchmany", "fetchall",
                          "scroll", "close"))

    def __init__(self, aconn: "AsyncConnection", cursor: Any) -> None:
        object.__setattr__(self, "_aconn", aconn)
        object.__setattr__(self, "_cur", cursor)

    async def execute(self, sql: str, params: "Params" = None, *,
                      timeout: Any = None) -> "AsyncCursor":
        await self._call(self._cur.execute, sql, params, timeout=timeout)
        return self

    async def executemany(self, sql: str, seq_of_params: Any, *,
                          timeout: Any = None) -> "AsyncCursor":
        await self._call(self._cur.executemany, sql, seq_of_params, timeout=timeout)
        return self

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._cur, name)
        if name in self._AWAITED:
            return lambda *args, **kwargs: self._call(partial(value, *args, **kwargs))
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_owner":
            object.__setattr__(self, name, value)
        else:
            setattr(self._cur, name, value)  # arraysize, itersize, row_factory

    @property
    def connection(self) -> "AsyncConnection":
        self._cur.connection  # raises when closed
        return self._aconn

    def __aiter__(self) -> "AsyncCursor":
        return self

    async def __anext__(self) -> Any:
        row = await self._call(self._cur.fetchone)
        if row is None:
            raise StopAsyncIteration
        return row

    async def __aenter__(self) -> "AsyncCursor":
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        with self._aconn._b.shielded():
            await self._call(self._cur.close)

    def __repr__(self) -> str:
        return "<PostPyro.Async%s" % repr(self._cur)[len("<PostPyro."):]


class AsyncStream(_Held):
    """The rows of one query through a server-side cursor (see :class:`PostPyro.stream.
    Stream`): ``async for row in conn.stream(…)``; ``async with`` (or :meth:`close`) ends it
    early."""

    def __init__(self, aconn: "AsyncConnection", stream: Any) -> None:
        self._aconn = aconn
        self._stream = stream
        self._buf: list = []
        self._pos = 0

    async def open(self) -> "AsyncStream":
        await self._call(self._stream.open)
        return self

    async def fetch_chunk(self) -> list:
        """The next rows (at most chunk_size); ``[]`` at the end (the stream is then
        closed)."""
        return await self._call(self._stream.fetch_chunk)

    def __aiter__(self) -> "AsyncStream":
        return self

    async def __anext__(self) -> Any:
        if self._pos >= len(self._buf):
            self._buf = await self.fetch_chunk()
            self._pos = 0
            if not self._buf:
                raise StopAsyncIteration
        row = self._buf[self._pos]
        self._pos += 1
        return row

    async def close(self) -> None:
        """End the stream (commit the transaction it began). Safe twice."""
        if not self._stream.closed:
            with self._aconn._b.shielded():
                await self._call(self._stream.close)

    async def __aenter__(self) -> "AsyncStream":
        return await self.open()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        await self.close()

    def __getattr__(self, name: str) -> Any:  # name, rownumber, names, types, typmods, closed
        return getattr(self._stream, name)

    def __repr__(self) -> str:
        return repr(self._stream).replace("PostPyro.Stream", "PostPyro.AsyncStream")


class AsyncCopy(_Held):
    """A COPY in progress (see :class:`PostPyro.copy.Copy`): ``async with conn.copy(sql) as
    cp:`` then ``await cp.write(…)`` / ``write_row`` / ``write_rows`` (COPY FROM STDIN), or
    ``async for chunk in cp`` / ``await cp.read()`` (COPY TO STDOUT)."""

    def __init__(self, aconn: "AsyncConnection", copy: Any) -> None:
        self._aconn = aconn
        self._copy = copy

    async def start(self) -> "AsyncCopy":
        await self._call(self._copy.start)
        return self

    async def __aenter__(self) -> "AsyncCopy":
        await self._call(self._copy.__enter__)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        with self._aconn._b.shielded():
            await self._call(self._copy.__exit__, exc_type, exc, tb)

    async def write(self, data: Any) -> None:
        await self._call(self._copy.write, data)

    async def write_row(self, row: Sequence[Any]) -> None:
        await self._call(self._copy.write_row, row)

    async def write_rows(self, rows: Any) -> None:
        await self._call(self._copy.write_rows, rows)

    async def use_binary(self, types: Sequence[Any]) -> None:
        await self._call(self._copy.use_binary, types)

    async def finish(self) -> int:
        return await self._call(self._copy.finish)

    async def abort(self, reason: str = "COPY aborted by the client") -> None:
        await self._call(self._copy.abort, reason)

    async def read(self) -> bytes:
        return await self._call(self._copy.read)

    def __aiter__(self) -> "AsyncCopy":
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.read()
        if not chunk:
            raise StopAsyncIteration
        return chunk

    def __getattr__(self, name: str) -> Any:  # rowcount, direction, sql
        return getattr(self._copy, name)

    def __repr__(self) -> str:
        return repr(self._copy).replace("PostPyro.Copy", "PostPyro.AsyncCopy")
