# SPDX-License-Identifier: MIT
"""Whose turn it is on a shared connection: a transaction belongs to the thread that opened it.

A connection may be shared between threads (threadsafety 2), a transaction may not. Once a
statement leaves a transaction open on the server (``begin()``, the implicit BEGIN of PEP 249
mode, raw ``BEGIN``, a COPY or a stream in progress), the connection is that thread's until
the transaction ends; other threads' statements wait, so none ever runs inside another
thread's transaction (a ``begin()`` there would silently become a savepoint of it).

The owner is whatever ``owner()`` returns — the current thread here; an async front end
would give the current task. A ``Transaction`` object used from another thread moves the
transaction there (``take_over``): passing the object on is explicit; so do a stream and a
COPY in progress. ``alive(owner)`` tells whether it can still end its
transaction: a transaction whose thread ended without ending it is rolled back by the next
thread that waits for it (the connection's ``orphaned`` callback), instead of blocking every
other thread forever.

What a finalizer cannot do where it runs (a stream or a COPY dropped while open: the garbage
collector may run on any thread, inside any operation) waits in ``pending``, tagged with the
transaction it belongs to (``tx``, a count of the transactions opened): the next statement
that enters while that transaction is open runs it first (``wait_turn``), on its own thread,
in its own turn. An exception there (Ctrl-C) keeps the entries not run yet for the statement
after; the one it interrupted is kept only in the form that is safe to run twice. With
``defer`` (an AsyncConnection's: every wait there must be the event loop's, and the collector
runs on the loop's thread too) a finalizer never ends anything itself: everything waits in
``pending`` for the connection's next call, which runs it awaited.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

__all__ = ["Turns"]

# PQtransactionStatus values (pp_transaction_status) that mean "a transaction is open".
_OPEN = (1, 2, 3)  # active (a COPY in progress, rows still coming), in transaction, failed

# How often a waiting thread looks whether the owner ended or the connection closed.
_RECHECK_SECONDS = 0.5


def _thread_alive(owner: Any) -> bool:
    return owner.is_alive()


class Turns:
    """The connection's turns. Every use of the server holds ``lock`` (reentrant) and is in
    the turn: ``with turns.lock, turns:``. Entering the turn waits until no other owner's
    transaction is open; leaving it records who owns the transaction the statements left
    open, if any.

    The lock is taken by its own ``with`` (a C method: nothing runs between the acquire and
    the start of the block that releases it), never by a Python ``__enter__``: CPython runs
    a pending signal handler right after a C call returns, so a handler's exception
    (Ctrl-C) raised there, after ``lock.acquire()`` but before the block began, would leave
    the lock held for ever. The turn's bookkeeping, Python, runs inside that block."""

    __slots__ = ("lock", "_cond", "status", "known", "orphaned", "owner", "_owner_of",
                 "_alive", "tx", "pending", "defer", "_ending")

    def __init__(self, owner_of: Callable[[], Any] = threading.current_thread,
                 alive: Callable[[Any], bool] = _thread_alive, defer: bool = False) -> None:
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        #: pp_transaction_status of the connection (set once it is connected).
        self.status: Callable[[], int] = lambda: 4
        #: Where the last call of the holder wrote the status it left (``known[0]``, a
        #: pp_query_reuse txstatus), -1 when not known: leaving then asks ``status()``.
        #: Leaving resets it to -1. None: always ask.
        self.known: Any = None
        #: Called (lock held, owner already cleared) with a dead owner whose transaction is
        #: still open: it must end that transaction.
        self.orphaned: Optional[Callable[[Any], None]] = None
        #: The owner of the open transaction, or None.
        self.owner: Any = None
        self._owner_of = owner_of
        self._alive = alive
        #: Transactions opened so far (the one open now, while ``owner`` is set).
        self.tx = 0
        #: (tx, fn, again) left by finalizers: fn() runs, lock held, before the next statement
        #: of transaction tx (dropped when another transaction is open by then); ``again``:
        #: what to keep in its place when an exception interrupts it (None: nothing).
        self.pending: list = []
        #: True: a finalizer leaves its end in ``pending`` even on the thread that used the
        #: object between two operations (no blocking I/O in a finalizer: an event loop's).
        self.defer = defer
        self._ending = False  # run_pending is running an end

    def current(self) -> Any:
        """The calling owner (the current thread)."""
        return self._owner_of()

    def __enter__(self) -> "Turns":
        if self.owner is not None:
            self.wait_turn()
        return self

    def __exit__(self, *exc: Any) -> None:
        known = self.known
        if known is None:
            self.record(-1)
        else:
            st = known[0]
            known[0] = -1
            if st != 0 or self.owner is not None:  # else idle and nobody's: nothing to do
                self.record(st)

    # query()'s fast path writes both out inline, inside its ``with turns.lock:``: it calls
    # wait_turn() when ``owner`` is not None, and record() before leaving unless the status
    # it read is 0 (idle) and ``owner`` is None.

    def record(self, st: int) -> None:
        """With the lock held, before it is released: record who owns the transaction the
        holder's statements left open, if any. ``st`` is the transaction status they left
        (``known[0]``), -1 when not known (``status()`` is asked)."""
        if st < 0:
            st = self.status()
        if st in _OPEN:
            if self.owner is None:
                self.owner = self._owner_of()
                self.tx += 1
        elif self.owner is not None:
            self.owner = None
            if self.pending:
                self.pending = []  # their transaction ended
            self._cond.notify_all()

    def take_over(self, holder: Any) -> Any:
        """An object that holds the open transaction (a Transaction, a stream, a COPY),
        made by ``holder``, is used by the calling owner: when that is another one, the
        transaction moves to the caller (passing the object on is explicit, not a silent
        merge; the previous owner's other statements now wait). Returns the caller."""
        me = self._owner_of()
        if holder is not me:
            with self.lock:
                if self.owner is holder:
                    self.owner = me
        return me

    def wait_turn(self) -> None:
        """With the lock held and ``owner`` set: wait until the caller may use the
        connection (no other owner's transaction is open). Runs ``pending`` first."""
        if self.pending:
            self.run_pending()
        me = self._owner_of()
        # Bounded by nothing yet: a connection timeout, when there is one, applies here.
        while self.owner is not None and self.owner is not me:
            if self.status() not in _OPEN:  # it ended (e.g. the connection closed)
                self.owner = None
                self._cond.notify_all()
                break
            if not self._alive(self.owner):
                dead, self.owner = self.owner, None
                if self.orphaned is not None:
                    self.orphaned(dead)
                self._cond.notify_all()
                continue
            self._cond.wait(_RECHECK_SECONDS)

    def settle(self) -> None:
        """Runs ``pending`` now, in the caller's turn, and records the status the ends left:
        for a task that would otherwise wait for the transaction they end."""
        with self.lock:
            try:
                self.run_pending()
            finally:
                self.__exit__()  # records the status they left

    def end_now(self, bounded: Any) -> bool:
        """Runs ``pending`` now (as settle), for a pool taking the connection back, only
        when no thread uses the connection (see if_free), inside ``bounded`` (a context
        manager: the bound of their waits). False, with nothing done, when nothing was
        left or the connection is in use."""
        if not self.pending:
            return False

        def ends() -> bool:
            try:
                with bounded:
                    self.run_pending()
            finally:
                self.__exit__()  # records the status they left
            return True
        return self.if_free(ends)

    def if_free(self, fn: Callable[[], bool]) -> bool:
        """``fn()``'s answer, run holding the lock, only when no thread holds it (the caller
        neither: a finalizer may run inside any operation); False, with nothing run, when
        one does. A non-blocking acquire has no ``with`` of its own (see the class): when a
        signal handler's exception comes as the acquire returns, it is released here."""
        lock = self.lock
        if lock._is_owned():
            return False
        try:
            if not lock.acquire(blocking=False):
                return False
            try:
                return fn()
            finally:
                lock.release()
        except BaseException:
            while lock._is_owned():  # taken above (it was not before): not released yet
                lock.release()
            raise

    def run_pending(self) -> None:
        """(Lock held.) Runs what finalizers left for the open transaction (``pending``),
        each once, in the order they were left; the others are stale: dropped. An exception
        (Ctrl-C) leaves the entries not run yet, and the interrupted one's ``again``, for
        the next statement (else a transaction a dropped stream began stayed open)."""
        if self._ending:
            return  # an end's own statements (they enter the turn): not the others
        # Taken from the list in place, never a new list: a finalizer on another thread
        # may have read the list and append to it after (an end swapped out was lost). Only
        # the entries there now: an end that re-queues itself waits for the next statement.
        pending = self.pending
        self._ending = True
        try:
            for _ in range(len(pending)):
                tx, fn, again = pending.pop(0)
                if tx == self.tx and self.owner is not None:
                    try:
                        fn()
                    except BaseException:
                        if again is not None:
                            pending.insert(0, (tx, again, again))
                        raise
        finally:
            self._ending = False
