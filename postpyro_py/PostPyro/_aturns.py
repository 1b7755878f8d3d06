# SPDX-License-Identifier: MIT
"""Whose turn it is on an AsyncConnection: tasks queue in order, a transaction is one task's.

The async twin of :mod:`PostPyro._turns`. A task takes the turn for each call; when the
connection is free and no other task's transaction is open it takes it at once, without
awaiting anything (:meth:`AsyncTurns.free_for`: most calls of most programs). Otherwise
it queues (first come, first served; the turn is handed to the next task, so nobody
overtakes it meanwhile). A task whose turn comes while another task's
transaction is open steps aside until that transaction ends. A task cancelled while it
waits leaves no trace (a turn handed to it just then goes to the next one).

A task that ends with its transaction open (``asyncio.wait_for`` before Python 3.12 and
``create_task`` run a call in a task of their own) gives it to the next task that takes the
turn, which goes on with it: its statements were the caller's. Tasks set aside look again
every _ASIDE_LOOK seconds, as nothing tells them that the owner ended.

What a finalizer left for the owner's transaction (``Turns.pending``: an AsyncCopy or an
AsyncStream dropped and collected, on any thread: a finalizer of an AsyncConnection's object
never does I/O, see ``Turns.defer``) does not keep a task aside: the task
whose turn it is runs it first, on the connection's fiber (``end_dropped``). A stream or
COPY that began the transaction (autocommit) ends it, and the task goes on; inside a
transaction the owner opened (``begin()``, PEP 249 mode) only the cursor or the COPY ends
(an aborted COPY FROM fails that transaction), and the task waits until the owner ends it, as
it would for any open transaction: an owner that awaits such a task meanwhile waits for
ever, by its own program.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Awaitable, Callable, List, Optional

__all__ = ["AsyncTurns", "end_dropped", "end_pending"]

_ASIDE_LOOK = 0.25


class AsyncTurns:
    """The turn: ``busy`` (a task has it), ``queue`` (the events of tasks waiting for it)
    and ``owner`` (the task whose transaction is open, or None). ``backend``: the event
    loop library's (see _aio); ``tx_open()``: whether a transaction is open on the server;
    ``dropped()``: awaited in a task's turn, runs the ends finalizers left (end_dropped)."""

    __slots__ = ("busy", "queue", "owner", "_b", "_tx_open", "_aside", "_dropped")

    def __init__(self, backend: Any, tx_open: Callable[[], bool],
                 dropped: Optional[Callable[[], Awaitable[bool]]] = None) -> None:
        self.busy = False
        self.queue: deque = deque()
        self.owner: Any = None
        self._b = backend
        self._tx_open = tx_open
        self._aside: List[Any] = []  # events of tasks waiting for a transaction to end
        self._dropped = dropped

    def free_for(self, holder: Any) -> bool:
        """True when the calling task may take the turn at once, without awaiting: the
        caller then takes it (``busy = True``) itself, in its own frame, with no call
        between that and the ``try`` that gives it back (a signal handler's exception runs
        at a call's return: one raised after this function took the turn would leave it
        taken for good). Otherwise it must ``await acquire(holder)``."""
        if self.busy or self.queue:
            return False
        owner = self.owner
        if owner is not None:
            b = self._b
            me = b.current_task()
            if owner is not me:
                if owner is not holder and not b.task_done(owner):
                    return False
                self.owner = me  # the holder's object moves it; an ended task's passes
        return True

    async def acquire(self, holder: Any) -> Any:
        """Wait for the turn: the connection is free and no other task's transaction is
        open. ``holder``: the task that made the object (a transaction, a stream, …) whose
        method runs; when it owns the open transaction, the transaction moves to the
        caller. Returns the calling task, the turn taken; an exception (a cancellation, a
        signal handler's) leaves it not taken."""
        b = self._b
        me = b.current_task()
        while True:
            if self.busy or self.queue:
                ev = b.event()
                self.queue.append(ev)
                try:
                    await ev.wait()
                except BaseException:
                    if ev.is_set():
                        self.hand_on()  # handed to this task as it was cancelled
                    else:
                        self.queue.remove(ev)
                    raise
            else:
                self.busy = True
            try:  # this task's turn (no call since it came: see free_for)
                owner = self.owner
                if owner is not None and (owner is holder or b.task_done(owner)):
                    owner = self.owner = me
                if owner is None or owner is me:
                    return me  # the caller's await takes it with no call in between
                if self._dropped is not None and self._tx_open():
                    await self._dropped()  # may end the owner's transaction (see above)
                if not self._tx_open():  # it ended (e.g. the connection closed)
                    self.owner = None
                    self._wake_aside()
                    return me
                ev = b.event()  # another task's transaction: wait until it ends
                self._aside.append(ev)
            except BaseException:
                self.hand_on()
                raise
            self.hand_on()
            try:
                await b.wait_event(ev, _ASIDE_LOOK)
            finally:
                if not ev.is_set():
                    self._aside.remove(ev)

    def release(self) -> None:
        """End the calling task's turn: it owns the transaction its statements left open,
        if any; when none is open, the tasks waiting for one to end queue again."""
        try:
            if self._tx_open():
                if self.owner is None:
                    self.owner = self._b.current_task()
            elif self.owner is not None:
                self.owner = None
                self._wake_aside()
        finally:
            self.hand_on()

    def _wake_aside(self) -> None:
        """No transaction is open: the tasks set aside queue again."""
        aside, self._aside = self._aside, []
        for ev in aside:
            ev.set()

    def hand_on(self) -> None:
        """Give the turn to the first waiting task (it stays busy), or free it."""
        if self.queue:
            self.queue.popleft().set()
        else:
            self.busy = False


async def end_dropped(conn: Any) -> bool:
    """``AsyncConnection._end_dropped``, in the calling task's turn: runs on the connection's
    fiber what finalizers left for its open transaction (``Turns.pending``:
    a dropped AsyncCopy's abort, an AsyncStream's end). False when nothing was left."""
    turns = conn._engine._lock
    if not turns.pending or turns.owner is None:
        return False
    await _settle(conn, None)
    return True


async def end_pending(conn: Any, timeout: Optional[float]) -> bool:
    """For a pool taking ``conn`` back: runs now, awaited, what finalizers left pending (a
    dropped AsyncCopy's abort, an AsyncStream's end), at most ``timeout`` seconds (then
    the server is asked to cancel it; None: no bound but the connection's own). Only when
    no call runs and no other task's transaction is open: False, with nothing done, when
    there was nothing to run or the connection is in use (the pool then closes it). An
    end's errors are dropped: the status it leaves tells the pool what it did."""
    turns = conn._turns
    if not conn._engine._lock.pending or not turns.free_for(None):
        return False
    turns.busy = True  # (see AsyncTurns.free_for)
    try:
        await _settle(conn, timeout)
    finally:
        turns.release()
    return True


async def _settle(conn: Any, timeout: Optional[float]) -> None:
    """``Turns.settle`` on the connection's fiber, awaited, in the caller's turn."""
    eng = conn._engine
    fiber = conn._fiber
    try:
        conn._prime(timeout)
        eng._fiber = fiber
        try:
            done, value = fiber.run(eng._lock.settle, ())
        finally:
            eng._fiber = None
        if not done:
            await conn._drive(value, timeout)
    except BaseException:
        if fiber.in_call:  # abandoned mid-call: it never ends, the connection is closed
            conn._fiber = fiber.renewed(eng.close)
        raise
