# SPDX-License-Identifier: MIT
"""Callbacks due after a delay, all run by one daemon thread (_session._bounded's deadline).

A thread of its own for each (``threading.Timer``) cost about 170 µs of CPU to start and
end, which every ``for`` loop left early over a stream paid: its finalizer ends the stream
within a bound. Here a deadline costs a heap push and, only when it is due before the time
the thread sleeps until, a wake-up.

``after`` never starts the thread: it runs in finalizers, and ``Thread.start`` takes
threading's locks, which are not reentrant (a finalizer run by the collector inside another
``Thread.start`` on the same thread would wait for ever). ``start`` does, where a thread may
start: when a Copy or Stream, whose finalizer may need a deadline, is made. The thread then
stays (idle, it waits without a timeout); a forked child starts its own the same way. Without
it a deadline waits for the next ``start`` (``_bounded``'s per-call bound still holds).
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from typing import Any, Callable, List, Optional

__all__ = ["after", "start"]

# Reentrant: after() may run in a finalizer that the collector started on a thread that
# holds it (inside after() or start()); the wait is the thread's own, never a finalizer's.
_cond = threading.Condition(threading.RLock())
_due: List[List[Any]] = []  # a heap of [when, number, fn]
_numbers = itertools.count()
_running = False  # the thread runs (in this process)
_sleep_until = float("inf")  # when the thread wakes up by itself


def start() -> None:
    """Starts the deadlines thread unless it runs (never from a finalizer)."""
    global _running
    if _running:
        return
    with _cond:
        if not _running:
            threading.Thread(target=_run, name="PostPyro deadlines", daemon=True).start()
            _running = True


def after(seconds: float, fn: Callable[[], None]) -> Callable[[], None]:
    """Runs ``fn()`` on the deadlines thread about ``seconds`` from now (once ``start`` has
    started it), unless the function returned is called before it is due."""
    entry = [time.monotonic() + seconds, next(_numbers), fn]
    with _cond:
        heapq.heappush(_due, entry)
        if entry[0] < _sleep_until:
            _cond.notify()

    def cancel() -> None:
        entry[2] = None  # the thread drops it when it is due
    return cancel


def _next() -> Optional[Callable[[], None]]:
    """(Lock held.) Waits until a deadline is due and returns its fn (None: cancelled)."""
    global _sleep_until
    while True:
        now = time.monotonic()
        if _due and _due[0][0] <= now:
            _sleep_until = now
            return heapq.heappop(_due)[2]
        _sleep_until = _due[0][0] if _due else float("inf")
        _cond.wait(_sleep_until - now if _due else None)


def _run() -> None:
    while True:
        with _cond:
            fn = _next()
        if fn is not None:
            try:
                fn()
            except Exception:  # a deadline's failure is nobody's to see
                pass
        fn = None  # nothing kept while waiting


def _after_fork_in_child() -> None:
    # the parent's thread does not exist here, and its lock may have been held at the fork
    global _cond, _due, _running, _sleep_until
    _cond = threading.Condition(threading.RLock())
    _due = []
    _running = False
    _sleep_until = float("inf")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
