# SPDX-License-Identifier: MIT
"""Connection pools for threads: ``Pool`` (``NullPool`` is in null_pool.py).

::

    pool = pg.Pool("postgresql://app@db/app", min_size=4, max_size=10)
    with pool.connection() as conn:     # a Connection, given back at the end of the block
        conn.execute("INSERT INTO t VALUES ($1)", [1])

The bookkeeping (who waits, what to open or close, statistics) is ``_pool_core.PoolState``;
this module waits (a lock per waiting checkout, first come first served), opens connections
in one background thread, and looks after connections as they come back.
"""

from __future__ import annotations

import signal
import threading
import time
import weakref
from typing import Any, Dict, List, Optional, Tuple

from . import errors as e
from ._pool_base import PoolBase, forked as _forked, logger
from ._pool_checkout import Checkout, masked
from ._pool_core import PERMIT, Slot, Waiter
from ._pool_session import (check_connection, close_quietly as _close_quietly, reset_session,
                            restore_client_settings)
from .connection import Connection, connect

__all__ = ["Pool"]

_monotonic = time.monotonic

# The longest the filler sleeps between looks at the pool (it also ends when the pool is
# garbage: it only holds a weak reference between looks).
_FILLER_NAP = 2.0


class Pool(PoolBase):
    """A pool of connections shared by threads.

    ``dsn_or_callable``: a connection string, or a function returning one (called for
    every new connection: rotating credentials). ``connect_options``: what
    :func:`PostPyro.connect` takes besides (``autocommit`` — ``True`` unless given,
    ``statement_cache``, ``row_factory``, ``timeout``, libpq parameters such as
    ``application_name``). See docs/python-api.md, "Connection pools", for the rest.
    """

    def _init_io(self) -> None:
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)  # the filler sleeps on it
        # for the filler: lent slots to cancel and close, (slot, lost, bad)
        self._to_close: List[Tuple[Slot, bool, bool]] = []
        self._filler: Optional[threading.Thread] = None

    def _open_at_once(self) -> None:
        self.open()

    # ---- life -------------------------------------------------------------------------------

    def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        """Start the pool: the background thread opens ``min_size`` connections. With
        ``wait``, return once they are there (``PoolTimeout`` after ``timeout`` s)."""
        self._usable(opening=True)
        with self._lock:
            if self._state.closed:
                raise e.InterfaceError("the pool %r is closed; make a new one" % self.name)
            if not self._opened:
                self._opened = True
                self._start_filler()
        if wait:
            self.wait(timeout)

    def _start_filler(self) -> None:
        if self._null:
            return
        t = threading.Thread(target=_fill, args=(weakref.ref(self),),
                             name="%s-filler" % self.name, daemon=True)
        self._filler = t
        t.start()

    def wait(self, timeout: float = 30.0) -> None:
        """Wait until the pool holds ``min_size`` connections; ``PoolTimeout`` after
        ``timeout`` seconds (the pool stays open and keeps trying)."""
        self._usable()
        deadline = _monotonic() + timeout
        with self._lock:
            while self._state.nconns < self._state.min_size:
                if self._state.closed:
                    raise e.InterfaceError("the pool %r is closed" % self.name)
                left = deadline - _monotonic()
                if left <= 0:
                    raise self._too_few(timeout)
                self._wakeup.wait(left)  # notified when a connection opens or fails

    def close(self, timeout: float = 5.0) -> None:
        """Close the pool: waiting checkouts fail (``InterfaceError``), idle connections
        close now, lent ones when they come back or, after ``timeout`` seconds, under
        their borrower. Safe to call twice. In a forked child it only forgets the pool:
        the parent's sessions are left alone."""
        if _forked(self):
            self._state.closed = True  # never the lock: a parent thread may have held it
            return
        with self._lock:
            if self._state.closed:
                return
            idle = self._state.close()
            waiters = self._state.take_waiters(
                e.InterfaceError("the pool %r was closed" % self.name))
            self._wakeup.notify_all()
        for w in waiters:
            w.wake.release()
        for slot in idle:
            _close_quietly(slot.conn)
        if self._filler is not None and self._filler is not threading.current_thread():
            self._filler.join(timeout)
        deadline = _monotonic() + timeout
        while True:  # the filler is gone: leaked connections are looked for here
            self._reclaim_orphans()
            with self._lock:
                left = deadline - _monotonic()
                if not self._state.lent or left <= 0:
                    stragglers = [slot.conn for slot in self._state.out]
                    break
                self._wakeup.wait(min(left, _FILLER_NAP))  # notified by each return
        for conn in stragglers:  # still lent after timeout: closed under the borrower
            _close_quietly(conn)

    def __enter__(self) -> "Pool":
        if not self._opened:
            self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- checkout ---------------------------------------------------------------------------

    def connection(self, timeout: Optional[float] = None) -> Checkout:
        """A connection for a ``with`` block: ``with pool.connection() as conn:``. Waits
        (first come, first served) up to ``timeout`` seconds (default: the pool's) for one,
        then raises ``PoolTimeout``. At the end of the block the connection goes back:
        in PEP 249 mode (``autocommit=False``) an open transaction is committed when the
        block ended normally; every other open transaction is rolled back."""
        return Checkout(self, timeout)

    def _get(self, timeout: Optional[float], holder: Checkout) -> None:
        """Lend a connection to ``holder`` (sets ``holder._slot``)."""
        self._usable()
        if timeout is None:
            timeout = self.timeout
        state = self._state
        deadline = None
        front = False
        while True:
            w = None
            try:
                with masked(), self._lock:
                    if state.closed:
                        raise e.InterfaceError("the pool %r is closed" % self.name)
                    slot = holder._slot = state.take(_monotonic())
                    if slot is None:
                        w = self._enqueue(front)
                    else:
                        slot.lend(holder)
                if slot is None:
                    if deadline is None:
                        deadline = _monotonic() + timeout if timeout else None
                    self._reclaim_orphans()
                    self._wait(w, deadline, holder)
            except BaseException:  # e.g. a signal that came while masked: leave the queue
                if w is not None:
                    self._settle(w, None, holder)
                raise
            if self._checked(holder):
                return
            front = True  # served a dead one: keep the place in the queue

    def _enqueue(self, front: bool) -> Waiter:
        """Lock held."""
        wake = threading.Lock()
        wake.acquire()
        w = self._state.enqueue(_monotonic(), front, wake)
        if self._state.to_open(0.0) > 0:
            self._wakeup.notify_all()
        return w

    def _wait(self, w: Waiter, deadline: Optional[float], holder: Checkout) -> None:
        """Wait for w's turn; the slot it is served goes to ``holder``."""
        got = None
        try:
            if deadline is None:
                got = w.wake.acquire()
            else:
                got = w.wake.acquire(True, max(0.0, deadline - _monotonic()))
        finally:  # also on KeyboardInterrupt: a slot served meanwhile goes to holder
            slot = self._settle(w, got, holder)
        if slot is not None:
            return
        if w.error is not None:
            raise w.error
        raise self._none_in_time(w)

    def _reclaim_orphans(self) -> None:
        """Count gone the connections lent and never given back that nothing references
        any more (the checkout object and the connection both dropped): the collector
        closed them (see _pool_core.Slot); replacements open."""
        if not self._state.out:
            return
        with masked(), self._lock:  # found and counted gone at once: Ctrl-C cannot part them
            orphans = self._state.orphans()
            now = _monotonic()
            woken = [self._state.drop(slot, now, bad=True) for slot in orphans]
            if orphans:
                self._wakeup.notify_all()
        for w in woken:
            if w is not None:
                w.wake.release()
        for _ in orphans:
            logger.warning("pool %r: a checkout was dropped without giving its connection "
                           "back; the connection is closed", self.name)

    def _settle(self, w: Waiter, got: Optional[bool], holder: Checkout) -> Optional[Slot]:
        """The end of w's wait (``got``: woken; False: timed out; None: interrupted): out
        of the queue, and what it was served, if anything, goes to holder."""
        with masked(), self._lock:
            if w.done:
                return holder._slot
            w.done = True
            now = _monotonic()
            if got:
                self._state.served(w, now)
                slot = w.slot
            else:
                slot = self._state.cancel(w, now, timed_out=got is False)
            holder._slot = slot  # (served just as the time ran out: used)
            if slot is not None and slot is not PERMIT:
                slot.lend(holder)
        return slot

    def _release_permit(self, holder: Checkout, error: Optional[BaseException]) -> None:
        """NullPool, signals masked and lock held: holder's permit, not used (its connect
        failed: ``error``), passes on."""
        holder._slot = None
        w = self._permit_unused(error)
        if w is not None:
            w.wake.release()

    def _checked(self, holder: Checkout) -> bool:
        """An idle connection just lent: alive (no round trip) and, when the pool has a
        ``check``, passing it. Otherwise it is closed (and the idle ones too)."""
        slot = holder._slot
        conn = slot.conn
        if _monotonic() >= slot.expires:  # past max_lifetime while idle
            self._drop(holder, lost=False, bad=False)
            return False
        try:
            status = conn.transaction_status
            if status == "idle":
                if self._check is None:
                    return True
                self._check(conn)
                if conn.transaction_status == "idle":
                    return True
                status = conn.transaction_status
        except Exception as exc:
            logger.warning("pool %r: check failed, connection closed: %s", self.name, exc)
            status = conn.transaction_status
        self._drop(holder, lost=status == "unknown", bad=False,
                   invalidate=status == "unknown")
        return False

    def _drop(self, holder: Any, lost: bool, bad: bool, cancel: bool = False,
              invalidate: bool = False) -> None:
        """Close the connection lent to ``holder``, then count it gone (so a replacement
        never opens before it is closed); with ``invalidate`` (it was found dead on its way
        out of the pool) the idle ones too. With ``cancel`` (a statement still runs on it)
        the filler thread cancels and closes it: that may wait on the network."""
        slot = holder._slot
        if cancel and not self._null:
            with masked(), self._lock:
                self._to_close.append((slot, lost, bad))
                slot.unlend()
                holder._slot = None  # the filler's now
                self._wakeup.notify_all()
            return
        stale: List[Slot] = []
        if invalidate:
            with self._lock:
                stale = self._state.invalidate_idle()
        _close_quietly(slot.conn, cancel=cancel)
        dead = 0
        for s in stale:
            dead += s.conn.transaction_status == "unknown"
            _close_quietly(s.conn)
        self._forget(slot, lost, bad, stale, dead, holder)

    def _forget(self, slot: Slot, lost: bool, bad: bool, stale: List[Slot] = (),
                dead: int = 0, holder: Any = None) -> None:
        """The bookkeeping of _drop, once the connections are closed."""
        with masked(), self._lock:
            if holder is not None:
                if holder._slot is not slot:
                    return  # done already (a return interrupted and run again)
                holder._slot = None
            w = self._state.drop(slot, _monotonic(), lost=lost, bad=bad)
            self._state.closed_idle(len(stale), dead)
            self._wakeup.notify_all()
        if w is not None:
            w.wake.release()

    # ---- return -----------------------------------------------------------------------------

    def _put(self, holder: Checkout) -> None:
        """Take back the connection lent to ``holder`` (clears ``holder._slot``). Can be
        run again when interrupted: it finishes what is left."""
        slot = holder._slot
        conn = slot.conn
        if _forked(self):
            holder._slot = None
            return  # the parent's: never touched here
        if slot is PERMIT:  # NullPool: interrupted before its connection was open
            with masked(), self._lock:
                if holder._slot is PERMIT:
                    self._release_permit(holder, None)
            return
        ok = lost = bad = cancel = False
        try:
            status = conn.transaction_status
            if status == "active" and not (self._null or self._state.closed) and \
                    self._end_pending(conn):
                status = conn.transaction_status
            if status == "unknown":
                lost = bad = True
            elif status == "active":  # a statement still runs (another thread, a stream)
                bad = cancel = True
            elif self._null or self._state.closed:
                pass  # closed below; the server ends the transaction
            else:
                if status != "idle":
                    conn.rollback()
                    with self._lock:
                        self._state.bad_return()
                if not self._state.expired(slot, _monotonic()):
                    self._restore(conn)
                    ok = conn.transaction_status == "idle"
                    bad = not ok
        except Exception as exc:
            logger.warning("pool %r: a returned connection could not be cleaned up, closed: "
                           "%s", self.name, exc)
            lost = conn.closed
            bad = True
        finally:
            if ok:
                self._give_back(holder, slot, conn)
            else:
                self._drop(holder, lost=lost, bad=bad, cancel=cancel)

    def _give_back(self, holder: Checkout, slot: Any, conn: Connection) -> None:
        """``conn``, lent to ``holder``, is clean: idle again, or handed to the first waiting
        checkout; when the pool closed meanwhile, closed here (it is no longer counted)."""
        with masked(), self._lock:
            holder._slot = None
            w = self._state.give_back(slot, _monotonic())
            closing = self._state.closed
            if closing:
                self._wakeup.notify_all()  # close() waits for the lent ones
        if w is not None:
            w.wake.release()
        elif closing:
            _close_quietly(conn)

    def _restore(self, conn: Connection) -> None:
        """What the next borrower must not see: client-side settings, notices, then the
        session (``reset``)."""
        restore_client_settings(conn, self._autocommit, self._row_factory, self._conn_timeout)
        if self._reset:
            self._reset(conn)

    reset_session = staticmethod(reset_session)
    check_connection = staticmethod(check_connection)

    # ---- opening connections (the filler thread) --------------------------------------------

    def _new_connection(self) -> Connection:
        dsn = self._dsn() if callable(self._dsn) else self._dsn
        conn = connect(dsn, autocommit=self._autocommit, **self._options)
        try:
            if self._configure is not None:
                self._configure(conn)
                self._configured(conn)
            conn.notices.clear()
        except BaseException:
            _close_quietly(conn)
            raise
        return conn

    def _fill_once(self) -> bool:
        """One round of the filler: close what is to close, open one connection when the
        pool lacks one, else sleep until there is work. False once the pool is closed."""
        state = self._state
        self._reclaim_orphans()
        with self._lock:
            now = _monotonic()
            closing = self._to_close
            self._to_close = []
            expired = state.expire(now)
            opening = state.start_connect(now)
            if not closing and not expired and not opening:
                if state.closed:
                    return False
                nap = state.next_event(now)
                self._wakeup.wait(_FILLER_NAP if nap is None else min(nap, _FILLER_NAP))
                return True
        for slot, lost, bad in closing:
            _close_quietly(slot.conn, cancel=True)
            self._forget(slot, lost, bad)
        for slot in expired:
            _close_quietly(slot.conn)
        if opening:
            self._open_one()
        return True

    def _open_one(self) -> None:
        started = _monotonic()
        try:
            conn = self._new_connection()
        except Exception as exc:
            logger.warning("pool %r: connect failed: %s", self.name, exc)
            with self._lock:
                delay = self._state.connect_failed(_monotonic(), exc)
                self._wakeup.notify_all()  # wait() callers look again
            if delay is None and self._reconnect_failed is not None:
                try:
                    self._reconnect_failed(self)
                except Exception:
                    logger.exception("pool %r: reconnect_failed raised", self.name)
            return
        with self._lock:
            if self._state.closed:
                self._state.connect_aborted()
                w = None
            else:
                now = _monotonic()
                w = self._state.connected(self._state.new_slot(conn, now), now, started)
            self._wakeup.notify_all()
            closed = self._state.closed
        if closed:
            _close_quietly(conn)
        elif w is not None:
            w.wake.release()

    # ---- upkeep -----------------------------------------------------------------------------

    def check(self) -> None:
        """Check every idle connection now with a round trip: the dead ones are closed and
        replaced."""
        self._usable()
        with self._lock:
            slots = self._state.take_idle(_monotonic())
        for slot in slots:
            holder = Checkout(self, None)
            holder._slot = slot
            alive = False
            try:
                alive = slot.conn.ping()
            finally:
                if alive:
                    self._give_back(holder, slot, slot.conn)
                else:
                    self._drop(holder, lost=True, bad=False)

    def resize(self, min_size: int, max_size: Optional[int] = None) -> None:
        """Change the sizes (``max_size`` None: unchanged, or ``min_size`` if larger).
        Growing opens connections in the background; shrinking closes idle ones as they
        pass ``max_idle``."""
        self._usable(opening=True)
        with self._lock:
            self._resize_state(min_size, max_size)
            self._wakeup.notify_all()

    def stats(self) -> Dict[str, int]:
        """As :meth:`PoolBase.stats` (the counters listed there), read under the lock."""
        with self._lock:
            return self._state.stats()


def _fill(ref: "weakref.ref[Pool]") -> None:
    """The filler thread: one per pool, so connections open one at a time. It blocks
    signals: a signal meant for the main thread (Ctrl-C) is not caught here."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    while True:
        pool = ref()
        if pool is None or _forked(pool):
            return
        if not pool._fill_once():
            return
        del pool
