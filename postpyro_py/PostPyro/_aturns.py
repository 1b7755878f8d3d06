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
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, List

__all__ = ["AsyncTurns"]

_ASIDE_LOOK = 0.25


class AsyncTurns:
    """The turn: ``busy`` (a task has it), ``queue`` (the events of tasks waiting for it)
    and ``owner`` (the task whose transaction is open, or None). ``backend``: the event
    loop library's (see _aio); ``tx_open()``: whether a transaction is open on the server."""

    __slots__ = ("busy", "queue", "owner", "_b", "_tx_open", "_aside")

    def __init__(self, backend: Any, tx_open: Callable[[], bool]) -> None:
        self.busy = False
        self.queue: deque = deque()
        self.owner: Any = None
        self._b = backend
        self._tx_open = tx_open
        self._aside: List[Any] = []  # events of tasks waiting for a transaction to end

    def free_for(self, holder: Any) -> bool:
        """True when the calling task may take the turn at once, without awaiting (then it
        has it); otherwise it must ``await acquire(holder)``."""
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
        self.busy = True
        return True

    async def acquire(self, holder: Any) -> Any:
        """Wait for the turn: the connection is free and no other task's transaction is
        open. ``holder``: the task that made the object (a transaction, a stream, …) whose
        method runs; when it owns the open transaction, the transaction moves to the
        caller. Returns the calling task."""
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
            # this task's turn
            owner = self.owner
            if owner is not None and (owner is holder or b.task_done(owner)):
                owner = self.owner = me
            if owner is None or owner is me:
                return me
            if not self._tx_open():  # it ended (e.g. the connection closed)
                self.owner = None
                return me
            ev = b.event()  # another task's transaction: wait until it ends
            self._aside.append(ev)
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
                aside, self._aside = self._aside, []
                for ev in aside:
                    ev.set()
        finally:
            self.hand_on()

    def hand_on(self) -> None:
        """Give the turn to the first waiting task (it stays busy), or free it."""
        if self.queue:
            self.queue.popleft().set()
        else:
            self.busy = False
