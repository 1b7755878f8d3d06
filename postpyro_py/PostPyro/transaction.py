# SPDX-License-Identifier: MIT
"""Transactions: ``with conn.begin() as tx: …`` commits on success, rolls back on error.

``conn.begin()`` sends BEGIN at once, so the object also works without ``with``
(``tx = conn.begin(); tx.execute(…); tx.commit()``). Inside an open transaction, ``begin()``
(or ``tx.savepoint()``) makes a savepoint instead: its commit releases the savepoint, its
rollback undoes only what ran since it.

After a statement fails inside a transaction the server ignores everything until it ends:
the next statement raises InFailedSqlTransaction, and leaving the ``with`` block rolls back.
A COMMIT the server answers with ROLLBACK (the transaction had failed) raises
InFailedSqlTransaction: a failed transaction is never reported as committed. Likewise a
savepoint whose block swallowed a failure is rolled back to (not released) when the block
ends, and InFailedSqlTransaction says so; the enclosing transaction stays usable.

Serialization failures and deadlocks raise TransactionRollbackError (SerializationFailure,
DeadlockDetected, …): run the whole transaction again (docs/python-api.md has a helper).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Sequence

from . import errors as e
from ._sql import quote_ident

if TYPE_CHECKING:  # pragma: no cover
    from ._sql import Params
    from .connection import Connection
    from .row import Row

__all__ = ["Transaction"]

_ISOLATION_LEVELS = {
    "read uncommitted": "READ UNCOMMITTED",
    "read committed": "READ COMMITTED",
    "repeatable read": "REPEATABLE READ",
    "serializable": "SERIALIZABLE",
}


def _isolation_sql(level: Optional[str]) -> Optional[str]:
    if level is None:
        return None
    if not isinstance(level, str):
        raise e.ProgrammingError("isolation_level must be a str such as 'serializable', "
                                 "not %s" % type(level).__name__)
    key = " ".join(level.replace("_", " ").lower().split())
    try:
        return _ISOLATION_LEVELS[key]
    except KeyError:
        raise e.ProgrammingError("unknown isolation level %r (expected one of: %s)"
                                 % (level, ", ".join(_ISOLATION_LEVELS))) from None


def end_block(target: Any, failed: bool) -> None:
    """The end of a ``with`` block over a transaction (or a PEP 249 connection): commit it,
    or, when the block raised, roll it back; a failed rollback is not raised over the
    block's exception, which matters more (e.g. the connection died)."""
    if not failed:
        target.commit()
        return
    try:
        target.rollback()
    except e.Error:
        pass


class Transaction:
    """A transaction (or a savepoint inside one) on a :class:`Connection`."""

    def __init__(self, conn: "Connection", isolation_level: Optional[str] = None,
                 read_only: bool = False, deferrable: bool = False,
                 savepoint_name: Optional[str] = None) -> None:
        self._conn = conn
        self._state = "new"
        self._savepoint: Optional[str] = None
        self._owner = conn._lock.current()
        conn._handle()
        level = _isolation_sql(isolation_level)
        with conn._lock.lock, conn._lock:  # waits while another thread's transaction is open
            nested = conn._in_transaction()
            if nested:
                if level or read_only or deferrable:
                    raise e.ProgrammingError(
                        "isolation_level, read_only and deferrable apply to the outermost "
                        "transaction only; a transaction is already open on this connection")
                name = savepoint_name if savepoint_name is not None \
                    else conn._next_savepoint()
                sql = "SAVEPOINT " + quote_ident(name)
                conn._execute(sql, begin=False)
                self._savepoint = name
            else:
                sql = "BEGIN"
                if level:
                    sql += " ISOLATION LEVEL " + level
                if read_only:
                    sql += " READ ONLY"
                if deferrable:
                    sql += " DEFERRABLE"
                conn._execute(sql, begin=False)
            conn._tx_stack.append(self)
            self._state = "active"

    # ---- state -----------------------------------------------------------------------------

    @property
    def connection(self) -> "Connection":
        return self._conn

    @property
    def savepoint_name(self) -> Optional[str]:
        """The savepoint's name, or None for an outermost transaction."""
        return self._savepoint

    @property
    def active(self) -> bool:
        """True until commit() or rollback() (or the connection's close() or break)."""
        return self.status == "active"

    @property
    def status(self) -> str:
        """'active', 'committed', 'rolled back', 'failed' (a savepoint whose release failed),
        'unknown' (the connection broke during COMMIT), 'broken' (the connection broke
        before: the server rolled the transaction back) or 'closed'."""
        if self._state == "active":
            self._conn._link_lost()  # which ends it as "broken"
        return self._state

    def _check(self, ending: bool = False) -> "Connection":
        """The connection, when the transaction is active. ``ending`` (commit, rollback):
        first look whether the connection broke (a statement would find out by itself)."""
        if ending and self._state == "active":
            self._conn._link_lost()
        if self._state == "active" and self._owner is not self._conn._lock.current():
            self._move_here()
        if self._state != "active":
            if self._state == "closed":
                raise e.InterfaceError("connection is closed")
            if self._state == "broken":
                raise e.InterfaceError("connection is closed: it broke while the transaction "
                                       "was open, so nothing of it was committed (the server "
                                       "rolled it back)")
            raise e.InterfaceError("the transaction is already %s" % self._state)
        return self._conn

    def _move_here(self) -> None:
        """Used from another thread than its owner's: the transaction (with its savepoints)
        moves to this thread, whose statements then run in it; the previous owner's
        statements outside this object wait like any other thread's."""
        conn = self._conn
        me = conn._lock.take_over(self._owner)
        for tx in conn._tx_stack:
            tx._owner = me
        self._owner = me

    def _finish(self, state: str) -> None:
        stack = self._conn._tx_stack
        if self in stack:
            k = stack.index(self)
            for tx in stack[k + 1:]:
                tx._state = state
            del stack[k:]
        self._state = state

    # ---- statements --------------------------------------------------------------------------

    def execute(self, sql: str, params: "Params" = None) -> int:
        """Run a statement in the transaction; the number of rows it affected."""
        return self._check().execute(sql, params)

    def query(self, sql: str, params: "Params" = None) -> List["Row"]:
        """Run a statement in the transaction; all its rows."""
        return self._check().query(sql, params)

    def query_one(self, sql: str, params: "Params" = None) -> "Row":
        """Run a statement in the transaction; its only row (error unless exactly one)."""
        return self._check().query_one(sql, params)

    def executemany(self, sql: str, seq_of_params: Sequence["Params"]) -> int:
        """Run a statement once per parameter row in the transaction."""
        return self._check().executemany(sql, seq_of_params)

    def execute_batch(self, queries: Sequence[str]) -> List[int]:
        """Run several SQL strings pipelined in the transaction."""
        return self._check().execute_batch(queries)

    def savepoint(self, name: Optional[str] = None) -> "Transaction":
        """A savepoint inside this transaction, used like a transaction."""
        conn = self._check()
        return Transaction(conn, savepoint_name=name)

    # ---- end -----------------------------------------------------------------------------

    def commit(self) -> None:
        """Commit (release the savepoint). Raises InFailedSqlTransaction when a statement
        had failed inside: the server rolled the transaction back instead (a savepoint is
        rolled back to, so the enclosing transaction stays usable)."""
        conn = self._check(ending=True)
        with conn._lock.lock, conn._lock:
            failed_inside = None
            try:
                if self._savepoint is not None:
                    failed_inside = self._release(conn)
                else:
                    conn._commit_sql()
            except e.OperationalError as exc:
                lost = isinstance(exc, e.CommitUnknown) or (exc.sqlstate or "").startswith("08")
                if self._savepoint is None and lost:
                    self._finish("unknown")
                else:
                    self._finish("rolled back" if self._savepoint is None else "failed")
                raise
            except BaseException:
                self._finish("rolled back" if self._savepoint is None else "failed")
                raise
            if failed_inside is not None:
                self._finish("rolled back")
                raise failed_inside
            self._finish("committed")

    def _release(self, conn: "Connection") -> Optional[e.Error]:
        """RELEASE the savepoint. When a statement had failed inside it (its error caught),
        roll back to the savepoint instead and return the error to raise."""
        ident = quote_ident(self._savepoint or "")
        try:
            conn._execute("RELEASE SAVEPOINT " + ident, begin=False)
            return None
        except e.Error as exc:
            if exc.sqlstate != "25P02":
                raise
            cause = exc
        conn._execute("ROLLBACK TO SAVEPOINT " + ident, begin=False)
        conn._execute("RELEASE SAVEPOINT " + ident, begin=False)
        error = e.lookup("25P02")(
            "savepoint %s was rolled back, not released: a statement inside it had failed"
            % self._savepoint, sqlstate="25P02")
        error.__cause__ = cause
        return error

    def rollback(self) -> None:
        """Roll back (to the savepoint, which is then released)."""
        conn = self._check(ending=True)
        with conn._lock.lock, conn._lock:
            try:
                if self._savepoint is not None:
                    ident = quote_ident(self._savepoint)
                    conn._execute("ROLLBACK TO SAVEPOINT " + ident, begin=False)
                    conn._execute("RELEASE SAVEPOINT " + ident, begin=False)
                else:
                    conn._execute("ROLLBACK", begin=False)
            finally:
                self._finish("rolled back")

    def __enter__(self) -> "Transaction":
        self._check()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._state in ("active", "broken"):  # a broken one's commit() raises
            end_block(self, exc_type is not None)
        return False

    def __repr__(self) -> str:
        what = "savepoint %s" % self._savepoint if self._savepoint else "transaction"
        return "<PostPyro.Transaction %s %s>" % (what, self._state)

