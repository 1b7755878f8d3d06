# SPDX-License-Identifier: MIT
"""Callbacks due after a delay, all run by one daemon thread (_session._bounded's deadline).

A thread of its own for each (``threading.Timer``) cost about 170 µs of CPU to start and
end, which every ``for`` loop left early over a stream paid: its finalizer ends the stream
within a bound. Here a deadline costs a heap push and, only when it is due before the time
the thread sleeps until, a wake-up. The thread ends once nothing is due (it starts again
with the next deadline); a forked child starts its own.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from typing import Any, Callable, List, Optional

__all__ = ["after"]

_IDLE_SECONDS = 1.0  # how long the thread waits for another deadline before it ends

# Reentrant: after() may run in a finalizer that the collector started on a thread that is
# inside after() itself (the wait is the thread's own, never a finalizer's).
_cond = threading.Condition(threading.RLock())
_due: List[List[Any]] = []  # a heap of [when, number, fn]
_numbers = itertools.count()
_running = False  # the thread runs (in this process)
_sleep_until = 0.0  # when the thread wakes up by itself


def after(seconds: float, fn: Callable[[], None]) -> Callable[[], None]:
    """Runs ``fn()`` on the deadlines thread about ``seconds`` from now, unless the function
    returned is called before it is due."""
    global _running
    entry = [time.monotonic() + seconds, next(_numbers), fn]
    with _cond:
        heapq.heappush(_due, entry)
        if not _running:
            _running = True
            threading.Thread(target=_run, name="PostPyro deadlines", daemon=True).start()
        elif entry[0] < _sleep_until:
            _cond.notify()

    def cancel() -> None:
        entry[2] = None  # the thread drops it when it is due
    return cancel


def _next() -> Optional[Callable[[], None]]:
    """(Lock held.) Waits until a deadline is due and returns its fn (None: cancelled); or
    None with _running False after _IDLE_SECONDS with nothing due."""
    global _running, _sleep_until
    idle_since = None
    while True:
        now = time.monotonic()
        if _due:
            if _due[0][0] <= now:
                return heapq.heappop(_due)[2]
            idle_since = None
            _sleep_until = _due[0][0]
        else:
            if idle_since is None:
                idle_since = now
            elif now - idle_since >= _IDLE_SECONDS:
                _running = False  # the next after() starts another thread
                return None
            _sleep_until = idle_since + _IDLE_SECONDS
        _cond.wait(_sleep_until - now)


def _run() -> None:
    while True:
        with _cond:
            fn = _next()
            if not _running:
                return
        if fn is not None:
            try:
                fn()
            except Exception:  # a deadline's failure is nobody's to see
                pass


def _after_fork_in_child() -> None:
    # the parent's thread does not exist here, and its lock may have been held at the fork
    global _cond, _due, _running
    _cond = threading.Condition(threading.RLock())
    _due = []
    _running = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
