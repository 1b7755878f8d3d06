# SPDX-License-Identifier: MIT
"""Connection pools for asyncio and trio tasks: ``AsyncPool`` (``AsyncNullPool`` is in
null_pool_async.py).

::

    async with pg.AsyncPool("postgresql://app@db/app", min_size=4, max_size=10) as pool:
        async with pool.connection() as conn:    # an AsyncConnection, given back at the end
            await conn.execute("INSERT INTO t VALUES ($1)", [1])

The bookkeeping is ``_pool_core.PoolState``, the same as ``Pool``'s. On one event loop each
of its calls runs whole (no task switch inside), so no lock is needed; a waiting checkout
awaits its own waker (a future, a trio Event) and one filler task opens connections.

Cancellation (see also _pool_checkout_async): a task is cancelled only where it awaits. Each
hand-over — the pool's bookkeeping together with setting or clearing ``AsyncCheckout._slot``
— has no await in it; a wait cut short gives back what it was served meanwhile; a return cut
short (a rollback or reset interrupted) closes the connection and counts it before the
cancellation goes on.
"""

from __future__ import annotations

import time
from inspect import isawaitable
from typing import Any, List, Optional

from . import errors as e
from ._pool_base import PoolBase, forked as _forked, logger
from ._pool_checkout_async import AsyncCheckout
from ._pool_core import PERMIT, Slot, Waiter
from ._pool_loop import running_loop
from ._pool_session import (check_connection_async, close_quietly_async as _close,
                            reset_session_async, restore_client_settings)
from .connection_async import AsyncConnection

__all__ = ["AsyncPool", "AsyncCheckout"]

_monotonic = time.monotonic

# The longest the filler task sleeps between looks at the pool.
_FILLER_NAP = 2.0


class AsyncPool(PoolBase):
    """A pool of AsyncConnections shared by the tasks of one event loop (asyncio or trio).

    Same arguments as :class:`~PostPyro.Pool`; ``dsn_or_callable``, ``check``,
    ``configure``, ``reset`` and ``reconnect_failed`` may also be coroutine functions. The
    pool starts (its filler task) in ``async with`` or ``await pool.open()``, or at once when
    made with ``open=True`` inside a running loop. See docs/python-api.md, "Connection
    pools"."""

    _open_hint = "await open() or use it in an async with block"

    def _init_io(self) -> None:
        self._loop: Any = None      # the event-loop library's primitives (_pool_loop)
        self._shield: Any = None    # trio: a shielded scope for returns
        self._filler: Any = None
        self._nudge: Any = None     # the filler's waker while it sleeps
        # the wakers of wait() and close() calls: woken when a connection opens, fails to
        # open, comes back or goes, and when the pool closes
        self._watchers: List[Any] = []

    def _open_at_once(self) -> None:
        self._start(running_loop())

    # ---- life -------------------------------------------------------------------------------

    def _start(self, loop: Any) -> None:
        if self._opened or loop is None:
            return
        self._loop = loop
        self._shield = getattr(loop, "shield", None)
        self._opened = True
        if not self._null:
            self._filler = loop.spawn(self._fill, "%s-filler" % self.name)

    async def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        """Start the pool: its filler task opens ``min_size`` connections. With ``wait``,
        return once they are there (``PoolTimeout`` after ``timeout`` s)."""
        self._usable(opening=True)
        if self._state.closed:
            raise e.InterfaceError("the pool %r is closed; make a new one" % self.name)
        self._start(running_loop())
        if wait:
            await self.wait(timeout)

    async def wait(self, timeout: float = 30.0) -> None:
        """Wait until the pool holds ``min_size`` connections; ``PoolTimeout`` after
        ``timeout`` seconds (the pool stays open and keeps trying)."""
        self._usable()
        deadline = _monotonic() + timeout
        state = self._state
        while state.nconns < state.min_size:
            if state.closed:
                raise e.InterfaceError("the pool %r is closed" % self.name)
            left = deadline - _monotonic()
            if left <= 0:
                raise self._too_few(timeout)
            await self._next_change(left)

    async def close(self, timeout: float = 5.0) -> None:
        """Close the pool: waiting checkouts fail (``InterfaceError``), idle connections
        close now, lent ones when they come back or, after ``timeout`` seconds, under their
        borrower. Safe to call twice. In a forked child it only forgets the pool."""
        state = self._state
        if _forked(self):
            state.closed = True
            return
        if state.closed:
            return
        idle = state.close()
        for w in state.take_waiters(e.InterfaceError("the pool %r was closed" % self.name)):
            self._loop.wake(w.wake)
        self._changed()
        if self._filler is not None:
            await self._loop.stop(self._filler, timeout)
        for slot in idle:
            await _close(slot.conn)
        await self._reclaim_orphans()
        deadline = _monotonic() + timeout
        while state.lent and _monotonic() < deadline:  # (no filler: leaked ones looked for here)
            await self._next_change(min(deadline - _monotonic(), _FILLER_NAP))
            await self._reclaim_orphans()
        for slot in list(state.out):  # still lent after timeout: closed under the borrower
            await _close(slot.conn)

    async def __aenter__(self) -> "AsyncPool":
        await self.open()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # ---- checkout ---------------------------------------------------------------------------

    def connection(self, timeout: Optional[float] = None) -> AsyncCheckout:
        """A connection for an ``async with`` block: ``async with pool.connection() as
        conn:``. Waits (first come, first served) up to ``timeout`` seconds (default: the
        pool's) for one, then raises ``PoolTimeout``. At the end of the block it goes back
        as with :meth:`Pool.connection`."""
        return AsyncCheckout(self, timeout)

    async def _get(self, timeout: Optional[float], holder: AsyncCheckout) -> None:
        """Lend a connection to ``holder`` (sets ``holder._slot``)."""
        if not self._opened or _forked(self):
            self._usable()
        if timeout is None:
            timeout = self.timeout
        state = self._state
        deadline = None
        front = False
        while True:
            if state.closed:
                raise e.InterfaceError("the pool %r is closed" % self.name)
            slot = state.take(_monotonic())
            if slot is not None:
                holder._slot = slot
                slot.lend(holder)
            else:
                if deadline is None and timeout:
                    deadline = _monotonic() + timeout
                await self._wait(holder, front, deadline)
            if await self._checked(holder):
                return
            front = True  # served a dead one: keep the place in the queue

    async def _wait(self, holder: AsyncCheckout, front: bool, deadline: Optional[float]) -> None:
        """Queue up and wait for a turn; what is served goes to ``holder``."""
        state = self._state
        w = state.enqueue(_monotonic(), front, self._loop.waker())
        if state.to_open(0.0) > 0:
            self._poke()
        got = None
        try:
            got = await self._loop.wait(
                w.wake, None if deadline is None else deadline - _monotonic())
        finally:
            slot = self._settle(w, got, holder)
        if slot is not None:
            return
        if w.error is not None:
            raise w.error
        raise self._none_in_time(w)

    def _settle(self, w: Waiter, got: Optional[bool], holder: AsyncCheckout) -> Optional[Slot]:
        """The end of w's wait (``got``: woken; False: timed out; None: cancelled): out of
        the queue. What it was served goes to holder — or, when cancelled, straight back."""
        now = _monotonic()
        if got:
            self._state.served(w, now)
            slot = w.slot
        else:
            slot = self._state.cancel(w, now, timed_out=got is False)
        if slot is None:
            return None
        if got is None:  # cancelled: the connection was not used, nothing to clean
            if slot is PERMIT:
                self._release_permit(None)
            else:
                self._hand_on(slot, self._state.give_back(slot, now))
            return None
        holder._slot = slot
        if slot is not PERMIT:
            slot.lend(holder)
        return slot

    async def _next_change(self, timeout: float) -> None:
        """Wait until the pool's connections change (see ``_watchers``), at most
        ``timeout`` seconds."""
        waker = self._loop.waker()
        self._watchers.append(waker)
        try:
            await self._loop.wait(waker, timeout)
        finally:
            try:
                self._watchers.remove(waker)
            except ValueError:  # woken: _changed took it
                pass

    def _changed(self) -> None:
        """A connection opened, failed to open, came back or went, or the pool closed:
        wait() and close() look again."""
        if self._watchers:
            watchers, self._watchers = self._watchers, []
            for waker in watchers:
                self._loop.wake(waker)

    def _hand_on(self, slot: Slot, w: Optional[Waiter]) -> None:
        self._changed()
        if w is not None:
            self._loop.wake(w.wake)
        elif self._state.closed:  # the pool closed meanwhile: closed, not kept
            self._loop.spawn(lambda: _close(slot.conn), "%s-close" % self.name)

    def _poke(self) -> None:
        """Wake the filler task (the pool lacks a connection, or has one to close)."""
        nudge = self._nudge
        if nudge is not None:
            self._loop.wake(nudge)

    def _release_permit(self, error: Optional[BaseException]) -> None:
        """AsyncNullPool: a permit not used (its connect failed: ``error``) passes on."""
        w = self._permit_unused(error)
        if w is not None:
            self._loop.wake(w.wake)

    async def _checked(self, holder: AsyncCheckout) -> bool:
        """An idle connection just lent: alive (no round trip) and, when the pool has a
        ``check``, passing it. Otherwise it is closed (and the idle ones too)."""
        slot = holder._slot
        conn = slot.conn  # type: ignore[union-attr]
        if _monotonic() >= slot.expires:  # type: ignore[union-attr]  # past max_lifetime
            await self._drop(holder, lost=False, bad=False)
            return False
        try:
            status = conn.transaction_status
            if status == "idle":
                if self._check is None:
                    return True
                done = self._check(conn)
                if isawaitable(done):
                    await done
                status = conn.transaction_status
                if status == "idle":
                    return True
        except Exception as exc:
            logger.warning("pool %r: check failed, connection closed: %s", self.name, exc)
            status = conn.transaction_status
        await self._drop(holder, lost=status == "unknown", bad=False,
                         invalidate=status == "unknown")
        return False

    # ---- return -----------------------------------------------------------------------------

    async def _put(self, holder: AsyncCheckout) -> None:
        """Take back the connection lent to ``holder`` (clears ``holder._slot``). When
        cancelled half-way it closes the connection (see AsyncCheckout._give_back)."""
        slot = holder._slot
        conn = slot.conn  # type: ignore[union-attr]
        if _forked(self):
            holder._slot = None
            return  # the parent's: never touched here
        ok = lost = False
        bad = True  # until the connection is known clean
        try:
            status = conn.transaction_status
            if status == "active" and not (self._null or self._state.closed) and \
                    await self._end_pending(conn):
                status = conn.transaction_status
            if status == "unknown":
                lost = True
            elif status == "active":  # a call still runs (another task): close cancels it
                pass
            elif self._null or self._state.closed:
                bad = False  # closed below; the server ends the transaction
            else:
                if status != "idle":
                    await conn.rollback()
                    self._state.bad_return()
                if self._state.expired(slot, _monotonic()):  # type: ignore[arg-type]
                    bad = False
                else:
                    restore_client_settings(conn, self._autocommit, self._row_factory,
                                            self._conn_timeout)
                    reset = self._reset
                    if reset:
                        done = reset(conn)
                        if isawaitable(done):
                            await done
                        ok = conn.transaction_status == "idle"
                    else:
                        ok = True  # idle, or rolled back
                    bad = not ok
        except Exception as exc:
            logger.warning("pool %r: a returned connection could not be cleaned up, closed: "
                           "%s", self.name, exc)
            lost = conn.closed
        finally:
            if ok:
                holder._slot = None
                self._hand_on(slot, self._state.give_back(slot, _monotonic()))  # type: ignore
            else:
                await self._drop(holder, lost=lost, bad=bad)

    async def _drop(self, holder: AsyncCheckout, lost: bool, bad: bool,
                    invalidate: bool = False) -> None:
        """Close the connection lent to ``holder``, then count it gone (a replacement never
        opens before it is closed); with ``invalidate`` (it was found dead on its way out of
        the pool) the idle ones too: they are likely dead as well."""
        slot = holder._slot
        stale: List[Slot] = self._state.invalidate_idle() if invalidate else []
        dead = 0
        try:
            await _close(slot.conn)  # type: ignore[union-attr]
            for s in stale:
                dead += s.conn.transaction_status == "unknown"
                await _close(s.conn)
        finally:
            self._forget(holder, slot, lost, bad, stale, dead)  # type: ignore[arg-type]

    def _drop_now(self, holder: AsyncCheckout) -> None:
        """_drop for a coroutine being closed (GeneratorExit), which cannot wait: close the
        connection without awaiting (its call, if one ran, ended with the coroutine)."""
        slot = holder._slot
        coro = slot.conn.close()  # type: ignore[union-attr]
        try:
            coro.send(None)
        except BaseException:  # StopIteration: closed
            pass
        else:  # it needs to wait for a call to end: not possible here
            coro.close()
        self._forget(holder, slot, lost=False, bad=True)  # type: ignore[arg-type]

    def _forget(self, holder: Optional[AsyncCheckout], slot: Slot, lost: bool, bad: bool,
                stale: List[Slot] = (), dead: int = 0) -> None:  # type: ignore[assignment]
        """The bookkeeping of _drop, once the connections are closed."""
        if holder is not None:
            if holder._slot is not slot:
                return  # done already
            holder._slot = None
        w = self._state.drop(slot, _monotonic(), lost=lost, bad=bad)
        self._state.closed_idle(len(stale), dead)
        if w is not None:
            self._loop.wake(w.wake)
        self._changed()
        self._poke()

    async def _reclaim_orphans(self) -> None:
        """Count gone the connections lent and never given back that nothing references
        any more (``pool.connection().__aenter__()`` called by hand, the checkout object
        and the connection dropped): the collector closed them (see _pool_core.Slot)."""
        if not self._state.out:
            return
        for slot in self._state.orphans():
            logger.warning("pool %r: a checkout was dropped without giving its connection "
                           "back; the connection is closed", self.name)
            self._forget(None, slot, lost=False, bad=True)

    reset_session = staticmethod(reset_session_async)
    check_connection = staticmethod(check_connection_async)

    # ---- opening connections (the filler task) ----------------------------------------------

    async def _new_connection(self) -> AsyncConnection:
        dsn = self._dsn() if callable(self._dsn) else self._dsn
        if isawaitable(dsn):
            dsn = await dsn
        conn = await AsyncConnection.connect(dsn, autocommit=self._autocommit, **self._options)
        try:
            if self._configure is not None:
                done = self._configure(conn)
                if isawaitable(done):
                    await done
                self._configured(conn)
            conn.notices.clear()
        except BaseException:
            await _close(conn)
            raise
        return conn

    async def _fill(self) -> None:
        """The filler task: one per pool, so connections open one at a time."""
        state = self._state
        while not _forked(self):
            try:
                if not await self._fill_once():
                    return
            except Exception:  # never dies of a bug in a hook: log and go on
                logger.exception("pool %r: the filler task failed", self.name)
                await self._loop.sleep(1.0)
            if state.closed:
                return

    async def _fill_once(self) -> bool:
        """Close what is to close, open one connection when the pool lacks one, else sleep
        until there is work. False once the pool is closed."""
        state = self._state
        await self._reclaim_orphans()
        now = _monotonic()
        expired = state.expire(now)
        for slot in expired:
            await _close(slot.conn)
        # no await between start_connect and _open_one: a cancellation there would leave
        # the connect counted as in progress
        if state.start_connect(_monotonic()):
            await self._open_one()
            return True
        if expired:
            return True
        if state.closed:
            return False
        nap = state.next_event(now)
        self._nudge = nudge = self._loop.waker()
        try:
            await self._loop.wait(nudge, _FILLER_NAP if nap is None else min(nap, _FILLER_NAP))
        finally:
            self._nudge = None
        return True

    async def _open_one(self) -> None:
        state = self._state
        started = _monotonic()
        try:
            conn = await self._new_connection()
        except Exception as exc:
            logger.warning("pool %r: connect failed: %s", self.name, exc)
            delay = state.connect_failed(_monotonic(), exc)
            self._changed()
            if delay is None and self._reconnect_failed is not None:
                try:
                    done = self._reconnect_failed(self)
                    if isawaitable(done):
                        await done
                except Exception:
                    logger.exception("pool %r: reconnect_failed raised", self.name)
            return
        except BaseException:  # cancelled (the pool closes)
            state.connect_aborted()
            raise
        if state.closed:
            state.connect_aborted()
            await _close(conn)
            return
        now = _monotonic()
        w = state.connected(state.new_slot(conn, now), now, started)
        self._changed()
        if w is not None:
            self._loop.wake(w.wake)

    # ---- upkeep -----------------------------------------------------------------------------

    async def check(self) -> None:
        """Check every idle connection now with a round trip: the dead ones are closed and
        replaced."""
        self._usable()
        slots = self._state.take_idle(_monotonic())
        try:
            while slots:
                holder = AsyncCheckout(self, None)
                holder._slot = slot = slots[-1]
                if await slot.conn.ping():
                    slots.pop()
                    holder._slot = None
                    self._hand_on(slot, self._state.give_back(slot, _monotonic()))
                else:
                    slots.pop()
                    await self._drop(holder, lost=slot.conn.transaction_status == "unknown",
                                     bad=False)
        finally:  # cancelled: those not checked yet go back as they are
            for slot in slots:
                self._hand_on(slot, self._state.give_back(slot, _monotonic()))

    async def resize(self, min_size: int, max_size: Optional[int] = None) -> None:
        """Change the sizes (``max_size`` None: unchanged, or ``min_size`` if larger).
        Growing opens connections in the background; shrinking closes idle ones as they
        pass ``max_idle``."""
        self._usable(opening=True)
        self._resize_state(min_size, max_size)
        self._poke()
