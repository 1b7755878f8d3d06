# SPDX-License-Identifier: MIT
"""Callbacks due after a delay, all run by one daemon thread (_session._bounded's deadline).

A thread of its own for each (``threading.Timer``) cost about 170 µs of CPU to start and
end, which every ``for`` loop left early over a stream paid: its finalizer ends the stream
within a bound. Here a deadline costs a deque append (the thread moves it into its heap)
and, only when it is due before the time the thread sleeps until, a wake-up.

``after`` never starts the thread: it runs in finalizers, and ``Thread.start`` takes
threading's locks, which are not reentrant (a finalizer run by the collector inside another
``Thread.start`` on the same thread would wait for ever). ``start`` does, where a thread may
start: when a Copy or Stream, whose finalizer may need a deadline, is made. The thread then
stays (idle, it waits without a timeout); a forked child starts its own the same way. Without
it a deadline waits for the next ``start`` (``_bounded``'s per-call bound still holds).

Reentrancy: ``after`` may run in a finalizer that the collector started on any thread at
any allocation, also inside another ``after`` or inside the thread's own heap operations
(PyPy's heapq is pure Python: a push interrupted between its append and its sift by a
nested push leaves the heap out of order, a deadline late). So ``after`` only appends to
``_incoming`` (a deque: one atomic append) and releases ``_wake`` (a bare lock: one atomic
release, never a Condition's waiter list); only the deadlines thread moves entries into the
heap and pops them, under ``_heap_lock``, which no finalizer takes.
"""

from __future__ import annotations

import _thread
import collections
import heapq
import itertools
import os
import threading
import time
from typing import Any, Callable, Deque, List, Optional

__all__ = ["after", "start"]

_incoming: Deque[List[Any]] = collections.deque()  # [when, number, fn]: after()'s, for the heap
_wake = _thread.allocate_lock()  # held; after() releases it to wake the thread early
_wake.acquire()
_heap_lock = threading.Lock()  # the heap's, taken by deadline threads only (never after())
_due: List[List[Any]] = []  # a heap of [when, number, fn]
_numbers = itertools.count()
_start_lock = threading.Lock()
_running = False  # the thread runs (in this process)
_sleep_until = float("inf")  # when the thread wakes up by itself


def start() -> None:
    """Starts the deadlines thread unless it runs (never from a finalizer)."""
    global _running
    if _running:
        return
    with _start_lock:
        if not _running:
            threading.Thread(target=_run, name="PostPyro deadlines", daemon=True).start()
            _running = True


def after(seconds: float, fn: Callable[[], None]) -> Callable[[], None]:
    """Runs ``fn()`` on the deadlines thread about ``seconds`` from now (once ``start`` has
    started it), unless the function returned is called before it is due. Safe to call
    from a finalizer that interrupted anything, another ``after`` too."""
    entry = [time.monotonic() + seconds, next(_numbers), fn]
    _incoming.append(entry)
    # The thread sets _sleep_until before it looks at _incoming a last time and waits: it
    # sees this entry, or this sees the time it sleeps until.
    if entry[0] < _sleep_until:
        try:
            _wake.release()
        except RuntimeError:  # released already: the thread wakes anyway
            pass

    def cancel() -> None:
        entry[2] = None  # the thread drops it when it is due
    return cancel


def _next() -> Optional[Callable[[], None]]:
    """Waits until a deadline is due and returns its fn (None: cancelled)."""
    global _sleep_until
    while True:
        with _heap_lock:
            while _incoming:
                heapq.heappush(_due, _incoming.popleft())
            now = time.monotonic()
            if _due and _due[0][0] <= now:
                _sleep_until = now
                return heapq.heappop(_due)[2]
            until = _due[0][0] if _due else float("inf")
            _sleep_until = until
        if _incoming:  # came before _sleep_until was set: it may not have woken the thread
            continue
        wait = min(until - now, threading.TIMEOUT_MAX) if until != float("inf") else -1
        _wake.acquire(True, wait)
        _sleep_until = time.monotonic()  # awake: after() need not wake it


def _run() -> None:
    while True:
        fn = _next()
        if fn is not None:
            try:
                fn()
            except Exception:  # a deadline's failure is nobody's to see
                pass
        fn = None  # nothing kept while waiting


def _after_fork_in_child() -> None:
    # the parent's thread does not exist here, and its locks may have been held at the fork
    global _wake, _heap_lock, _start_lock, _due, _running, _sleep_until
    _wake = _thread.allocate_lock()
    _wake.acquire()
    _heap_lock = threading.Lock()
    _start_lock = threading.Lock()
    _due = []
    _incoming.clear()
    _running = False
    _sleep_until = float("inf")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
