# SPDX-License-Identifier: MIT
"""Connection pools for threads: ``Pool`` and ``NullPool``.

::

    pool = pg.Pool("postgresql://app@db/app", min_size=4, max_size=10)
    with pool.connection() as conn:     # a Connection, given back at the end of the block
        conn.execute("INSERT INTO t VALUES ($1)", [1])

The bookkeeping (who waits, what to open or close, statistics) is ``_pool_core.PoolState``;
this module waits (a lock per waiting checkout, first come first served), opens connections
in one background thread, and looks after connections as they come back.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import weakref
from typing import Any, Callable, Dict, List, Optional, Union

from . import errors as e
from ._pool_core import PERMIT, PoolState, Slot, Waiter
from .connection import Connection, connect

__all__ = ["Pool", "NullPool"]

_monotonic = time.monotonic

# Bumped in a forked child: a pool made by another process is never used there.
_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_names = itertools.count(1)

# What a session can carry from one borrower to the next, undone in one round trip (DISCARD
# ALL without DEALLOCATE ALL and DISCARD PLANS, which would throw the statement cache away).
_RESET = ("CLOSE ALL", "SET SESSION AUTHORIZATION DEFAULT", "RESET ALL", "UNLISTEN *",
          "SELECT pg_advisory_unlock_all()", "DISCARD TEMP", "DISCARD SEQUENCES")
_RESET_SQL = "; ".join(_RESET)

# The longest the filler sleeps between looks at the pool (it also ends when the pool is
# garbage: it only holds a weak reference between looks).
_FILLER_NAP = 2.0


def _close_quietly(conn: Connection, cancel: bool = False) -> None:
    try:
        if cancel:
            conn.cancel()
    except Exception:
        pass
    try:
        conn.close()
    except Exception:
        pass


class _Checkout:
    """``pool.connection()``: the connection for a ``with`` block."""

    __slots__ = ("_pool", "_timeout", "_slot")

    def __init__(self, pool: "Pool", timeout: Optional[float]) -> None:
        self._pool = pool
        self._timeout = timeout
        self._slot: Optional[Slot] = None

    def __enter__(self) -> Connection:
        if self._slot is not None:
            raise e.InterfaceError("this pool.connection() block is already in use")
        self._slot = self._pool._get(self._timeout)
        return self._slot.conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        slot, self._slot = self._slot, None
        if slot is None:
            return
        try:
            conn = slot.conn
            # PEP 249 mode: commit at the end of a block that ended normally (psycopg_pool's
            # and `with conn:`'s rule); on an exception the return rolls back
            if exc_type is None and not conn.autocommit \
                    and conn.transaction_status in ("intransaction", "inerror"):
                conn.commit()
        finally:
            self._pool._put(slot)


class Pool:
    """A pool of connections shared by threads.

    ``dsn_or_callable``: a connection string, or a function returning one (called for
    every new connection: rotating credentials). ``connect_options``: what
    :func:`PostPyro.connect` takes besides (``autocommit`` — ``True`` unless given,
    ``statement_cache``, ``row_factory``, ``timeout``, libpq parameters such as
    ``application_name``). See docs/python-api.md, "Connection pools", for the rest.
    """

    _null = False

    def __init__(self, dsn_or_callable: Union[str, Callable[[], str]] = "", min_size: int = 4,
                 max_size: int = 10, timeout: float = 30.0, max_waiting: int = 0,
                 max_idle: Optional[float] = 600.0, max_lifetime: Optional[float] = 3600.0,
                 check: Optional[Callable[[Connection], Any]] = None,
                 configure: Optional[Callable[[Connection], Any]] = None,
                 reset: Union[None, bool, Callable[[Connection], Any]] = None,
                 reconnect_timeout: float = 300.0,
                 reconnect_failed: Optional[Callable[["Pool"], Any]] = None,
                 name: Optional[str] = None, open: bool = True,
                 **connect_options: Any) -> None:
        if not isinstance(dsn_or_callable, str) and not callable(dsn_or_callable):
            raise e.ProgrammingError("dsn_or_callable must be a str or a function returning "
                                     "one, not %s" % type(dsn_or_callable).__name__)
        if reset is not None and reset is not False and not callable(reset):
            raise e.ProgrammingError("reset must be None (reset the session), False (do "
                                     "nothing) or a function, not %r" % (reset,))
        self._dsn = dsn_or_callable
        self.name = name if name is not None else "pool-%d" % next(_names)
        self.timeout = timeout
        self._check = check
        self._configure = configure
        self._reset = self.reset_session if reset is None else reset
        self._reconnect_failed = reconnect_failed
        self._autocommit = bool(connect_options.pop("autocommit", True))
        self._row_factory = connect_options.get("row_factory")
        self._conn_timeout = connect_options.get("timeout")
        self._options = connect_options
        self._state = PoolState(min_size, max_size, max_waiting=max_waiting, max_idle=max_idle,
                                max_lifetime=max_lifetime, reconnect_timeout=reconnect_timeout,
                                null=self._null)
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)  # the filler sleeps on it
        self._to_close: List[Connection] = []  # for the filler: cancel, then close
        self._filler: Optional[threading.Thread] = None
        self._opened = False
        self._generation = _fork_generation
        if open:
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
                    raise e.PoolTimeout("pool %r: %d of min_size %d connections after %.1f s%s"
                                        % (self.name, self._state.nconns,
                                           self._state.min_size, timeout, self._why()))
                self._wakeup.wait(min(left, 0.1))

    def close(self, timeout: float = 5.0) -> None:
        """Close the pool: waiting checkouts fail (``InterfaceError``), idle connections
        close now, lent ones when they come back or, after ``timeout`` seconds, under
        their borrower. Safe to call twice. In a forked child it only forgets the pool:
        the parent's sessions are left alone."""
        if self._generation != _fork_generation:
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
        with self._lock:
            while self._state.lent and _monotonic() < deadline:
                self._wakeup.wait(min(0.05, max(0.0, deadline - _monotonic())))
            stragglers = [slot.conn for slot in self._state.out]
        for conn in stragglers:  # still lent after timeout: closed under the borrower
            _close_quietly(conn)

    @property
    def closed(self) -> bool:
        return self._state.closed

    def __enter__(self) -> "Pool":
        if not self._opened:
            self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- checkout ---------------------------------------------------------------------------

    def connection(self, timeout: Optional[float] = None) -> _Checkout:
        """A connection for a ``with`` block: ``with pool.connection() as conn:``. Waits
        (first come, first served) up to ``timeout`` seconds (default: the pool's) for one,
        then raises ``PoolTimeout``. At the end of the block the connection goes back:
        in PEP 249 mode (``autocommit=False``) an open transaction is committed when the
        block ended normally; every other open transaction is rolled back."""
        return _Checkout(self, timeout)

    def _usable(self, opening: bool = False) -> None:
        if self._generation != _fork_generation:
            raise e.InterfaceError("the pool %r was made by the parent process before fork(); "
                                   "make a new pool in the child" % self.name)
        if not opening and not self._opened:
            raise e.InterfaceError("the pool %r is not open: call open() or use it in a "
                                   "with block" % self.name)

    def _get(self, timeout: Optional[float]) -> Slot:
        self._usable()
        if timeout is None:
            timeout = self.timeout
        state = self._state
        deadline = None
        front = False
        while True:
            with self._lock:
                if state.closed:
                    raise e.InterfaceError("the pool %r is closed" % self.name)
                slot = state.take(_monotonic())
                if slot is None:
                    w = self._enqueue(front)
            if slot is None:
                if deadline is None:
                    deadline = _monotonic() + timeout if timeout else None
                slot = self._wait(w, deadline)
            if self._checked(slot):
                return slot
            front = True  # served a dead one: keep the place in the queue

    def _enqueue(self, front: bool) -> Waiter:
        """Lock held."""
        w = self._state.enqueue(_monotonic(), front)
        w.wake = lock = threading.Lock()
        lock.acquire()
        if self._state.to_open(0.0) > 0:
            self._wakeup.notify_all()
        return w

    def _wait(self, w: Waiter, deadline: Optional[float]) -> Slot:
        try:
            if deadline is None:
                got = w.wake.acquire()
            else:
                got = w.wake.acquire(True, max(0.0, deadline - _monotonic()))
        except BaseException:  # e.g. KeyboardInterrupt: a slot served meanwhile goes back
            with self._lock:
                slot = self._state.cancel(w, _monotonic())
            if slot is not None:
                self._give_back_unused(slot)
            raise
        with self._lock:
            now = _monotonic()
            if got:
                self._state.served(w, now)
                slot = w.slot
            else:
                slot = self._state.cancel(w, now, timed_out=True)
        if slot is not None:
            return slot  # (served just as the time ran out: use it)
        if w.error is not None:
            raise w.error
        raise e.PoolTimeout("pool %r: no connection within %.1f s (%d in use of max_size "
                            "%d, %d waiting)%s" % (self.name, now - w.since, self._state.lent,
                                                   self._state.max_size,
                                                   len(self._state.waiters), self._why()))

    def _why(self) -> str:
        err = self._state.last_error
        return "; the last connect failed: %s" % (err,) if err is not None else ""

    def _give_back_unused(self, slot: Slot) -> None:
        """A slot served to a checkout that gave up before using it."""
        if slot is PERMIT:
            with self._lock:
                self._state.opening -= 1
                w = self._state.pass_after_failure()
            if w is not None:
                w.wake.release()
            return
        with self._lock:
            w = self._state.give_back(slot, _monotonic())
            if self._state.closed:
                w = None
        if w is not None:
            w.wake.release()
        elif self._state.closed:
            _close_quietly(slot.conn)

    def _checked(self, slot: Slot) -> bool:
        """An idle connection about to be lent: alive (no round trip) and, when the pool
        has a ``check``, passing it. Otherwise it is closed and the idle ones too."""
        conn = slot.conn
        if _monotonic() >= slot.expires:  # past max_lifetime while idle
            self._drop(slot, lost=False, bad=False)
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
        except Exception:
            status = conn.transaction_status
        except BaseException:
            self._drop(slot, lost=conn.closed, bad=False)
            raise
        self._drop(slot, lost=status == "unknown", bad=False, invalidate=status == "unknown")
        return False

    def _drop(self, slot: Slot, lost: bool, bad: bool, cancel: bool = False,
              invalidate: bool = False) -> None:
        """Close a lent slot's connection; with ``invalidate`` (it was found dead on its way
        out of the pool) the idle ones too."""
        with self._lock:
            w = self._state.drop(slot, _monotonic(), lost=lost, bad=bad)
            stale = self._state.invalidate_idle() if invalidate else []
            if cancel:
                self._to_close.append(slot.conn)
            self._wakeup.notify_all()
        if w is not None:
            w.wake.release()
        if not cancel:
            _close_quietly(slot.conn)
        if stale:
            dead = 0
            for s in stale:
                dead += s.conn.transaction_status == "unknown"
                _close_quietly(s.conn)
            with self._lock:
                self._state.count_lost(dead)

    def _open_for_caller(self) -> Slot:
        """NullPool: open the caller's connection (it holds a permit)."""
        started = _monotonic()
        try:
            conn = self._new_connection()
        except BaseException as exc:
            with self._lock:
                self._state.connect_failed(_monotonic(), exc)
                w = self._state.pass_after_failure()
            if w is not None:
                w.wake.release()
            raise
        with self._lock:
            slot = self._state.new_slot(conn, _monotonic())
            self._state.connected(slot, _monotonic(), started)
        return slot

    # ---- return -----------------------------------------------------------------------------

    def _put(self, slot: Slot) -> None:
        conn = slot.conn
        if self._generation != _fork_generation:
            return  # the parent's: never touched here
        ok = lost = bad = cancel = False
        try:
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
        except Exception:
            lost = conn.closed
            bad = True
        finally:
            if ok:
                with self._lock:
                    w = self._state.give_back(slot, _monotonic())
                    closing = self._state.closed
                if w is not None:
                    w.wake.release()
                elif closing:
                    _close_quietly(conn)
            else:
                self._drop(slot, lost=lost, bad=bad, cancel=cancel)

    def _restore(self, conn: Connection) -> None:
        """What the next borrower must not see: client-side settings, notices, then the
        session (``reset``)."""
        if conn.autocommit != self._autocommit:
            conn.autocommit = self._autocommit
        if conn.row_factory is not self._row_factory:
            conn.row_factory = self._row_factory
        if conn.timeout != self._conn_timeout:
            conn.timeout = self._conn_timeout
        notices = conn.notices
        if notices:
            del notices[:]
        if self._reset:
            self._reset(conn)

    @staticmethod
    def reset_session(conn: Connection) -> None:
        """The default ``reset``: undo what a session can carry — settings (``RESET ALL``,
        ``SET SESSION AUTHORIZATION DEFAULT``), ``LISTEN``, session advisory locks, temporary
        tables, held cursors, sequence state — in one round trip. Statements the server
        refuses (a hot standby refuses ``UNLISTEN``) are skipped: what they undo cannot exist
        there."""
        try:
            conn.execute(_RESET_SQL)
        except e.OperationalError:
            raise
        except e.DatabaseError:
            for sql in _RESET:
                try:
                    conn.execute(sql)
                except e.OperationalError:
                    raise
                except e.DatabaseError:
                    pass

    @staticmethod
    def check_connection(conn: Connection) -> None:
        """A ready-made ``check``: an empty round trip; raises OperationalError when the
        server does not answer."""
        if not conn.ping():
            raise e.OperationalError("the connection did not answer a ping")

    # ---- opening connections (the filler thread) --------------------------------------------

    def _new_connection(self) -> Connection:
        dsn = self._dsn() if callable(self._dsn) else self._dsn
        conn = connect(dsn, autocommit=self._autocommit, **self._options)
        try:
            if self._configure is not None:
                self._configure(conn)
                status = conn.transaction_status
                if status != "idle":
                    raise e.ProgrammingError("configure() left the connection %s: end its "
                                             "transaction" % status)
            conn.notices.clear()
        except BaseException:
            _close_quietly(conn)
            raise
        return conn

    def _fill_once(self) -> bool:
        """One round of the filler: close what is to close, open one connection when the
        pool lacks one, else sleep until there is work. False once the pool is closed."""
        state = self._state
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
        for conn in closing:
            _close_quietly(conn, cancel=True)
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
            with self._lock:
                delay = self._state.connect_failed(_monotonic(), exc)
                self._wakeup.notify_all()  # wait() callers look again
            if delay is None and self._reconnect_failed is not None:
                try:
                    self._reconnect_failed(self)
                except Exception:
                    pass
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
            try:
                alive = slot.conn.ping()
            except BaseException:
                self._drop(slot, lost=slot.conn.closed, bad=False)
                raise
            if alive:
                with self._lock:
                    w = self._state.give_back(slot, _monotonic())
                if w is not None:
                    w.wake.release()
            else:
                self._drop(slot, lost=True, bad=False)

    def resize(self, min_size: int, max_size: Optional[int] = None) -> None:
        """Change the sizes (``max_size`` None: unchanged, or ``min_size`` if larger).
        Growing opens connections in the background; shrinking closes idle ones as they
        pass ``max_idle``."""
        self._usable(opening=True)
        with self._lock:
            if max_size is None:
                max_size = max(min_size, self._state.max_size)
            self._state.resize(min_size, max_size)
            self._wakeup.notify_all()

    def stats(self) -> Dict[str, int]:
        """Counters since the pool opened and the pool's current shape: requests_num,
        requests_waiting, requests_wait_ms, requests_timeouts, requests_errors (refused by
        max_waiting), connections_num, connections_ms, connections_errors,
        connections_lost, returns_bad, usage_ms, pool_min, pool_max, pool_size,
        pool_available, pool_in_use, requests_queued."""
        with self._lock:
            return self._state.stats()

    def __repr__(self) -> str:
        s = self._state
        state = "closed" if s.closed else "open" if self._opened else "not open"
        return ("<PostPyro.%s %r %s size=%d available=%d in_use=%d waiting=%d min=%d max=%d>"
                % (type(self).__name__, self.name, state, s.nconns + s.opening, len(s.idle),
                   s.lent, len(s.waiters), s.min_size, s.max_size))


class NullPool(Pool):
    """The Pool interface without keeping connections: every checkout opens a new
    connection (in the calling thread) and every return closes it; at most ``max_size``
    are open at once, further checkouts wait in order. For PgBouncer and serverless
    databases, where the pooling happens elsewhere."""

    _null = True

    def __init__(self, dsn_or_callable: Union[str, Callable[[], str]] = "", min_size: int = 0,
                 max_size: int = 10, **kwargs: Any) -> None:
        super().__init__(dsn_or_callable, min_size=min_size, max_size=max_size, **kwargs)

    def _get(self, timeout: Optional[float]) -> Slot:
        self._usable()
        with self._lock:
            if self._state.closed:
                raise e.InterfaceError("the pool %r is closed" % self.name)
            if self._state.reserve(_monotonic()):
                w = None
            else:
                w = self._enqueue(False)
        if w is not None:
            if timeout is None:
                timeout = self.timeout
            slot = self._wait(w, _monotonic() + timeout if timeout else None)
            if slot is not PERMIT:  # pragma: no cover - a NullPool serves only permits
                raise e.InterfaceError("NullPool served a connection")
        return self._open_for_caller()


def _fill(ref: "weakref.ref[Pool]") -> None:
    """The filler thread: one per pool, so connections open one at a time."""
    while True:
        pool = ref()
        if pool is None or pool._generation != _fork_generation:
            return
        if not pool._fill_once():
            return
        del pool
