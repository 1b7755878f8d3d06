# SPDX-License-Identifier: MIT
"""_deadlines: the one thread that runs _session._bounded's deadlines (a finalizer's end of
a dropped stream or COPY, a pool's pending end) instead of a thread started for each; only
ever started where a thread may start (a Copy or Stream made), never by after() (run in
finalizers)."""

from __future__ import annotations

import heapq
import os
import threading
import time

from PostPyro import _deadlines


def wait_for(cond, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def test_due_ones_run_in_order_cancelled_ones_never():
    _deadlines.start()
    ran = []
    _deadlines.after(0.3, lambda: ran.append("late"))
    cancel = _deadlines.after(0.05, lambda: ran.append("cancelled"))
    _deadlines.after(0.1, lambda: ran.append("early"))  # before the time it sleeps until
    cancel()
    assert wait_for(lambda: len(ran) == 2)
    assert ran == ["early", "late"]
    _deadlines.after(0.01, lambda: ran.append("again"))  # the thread waits on when idle
    assert wait_for(lambda: ran[-1:] == ["again"])


def test_a_failing_one_stops_nothing():
    _deadlines.start()
    ran = []
    _deadlines.after(0.01, lambda: 1 / 0)
    _deadlines.after(0.02, lambda: ran.append(1))
    assert wait_for(lambda: ran == [1])


def test_after_starts_no_thread_a_copy_or_stream_does(monkeypatch, conn):
    # after() runs in finalizers: Thread.start there could wait for ever on threading's
    # own locks (a finalizer run inside another Thread.start on the same thread)
    started = []
    real_start = threading.Thread.start

    def start(self):
        started.append(self.name)
        real_start(self)
    monkeypatch.setattr(threading.Thread, "start", start)
    monkeypatch.setattr(_deadlines, "_running", False)  # as in a fresh process
    _deadlines.after(60, lambda: None)()
    assert started == []
    conn.stream("SELECT 1")
    assert started == ["PostPyro deadlines"]
    monkeypatch.setattr(_deadlines, "_running", False)
    conn.copy("COPY (SELECT 1) TO STDOUT")
    assert started == ["PostPyro deadlines"] * 2


def test_a_forked_child_runs_its_own():
    _deadlines.start()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        ran = []
        _deadlines.start()
        _deadlines.after(0.01, lambda: ran.append(1))
        os._exit(0 if wait_for(lambda: ran == [1], 3.0) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_an_after_inside_an_after_leaves_every_deadline_on_time(monkeypatch):
    # A finalizer may run after() at any allocation, also inside another after() on the
    # same thread. PyPy's heapq is pure Python: a push is an append and then a sift, and a
    # push nested between the two left the outer entry unsifted (below a later one): it
    # ran when that later one did. Here the nested after() runs where a finalizer could,
    # between the append and the sift of whichever heap push comes first.
    _deadlines.start()
    real_sift = heapq._siftdown
    nested = []
    ran = {}
    start = time.monotonic()

    def mark(name):
        return lambda: ran.setdefault(name, time.monotonic() - start)

    def push(heap, item):  # heapq.heappush as PyPy runs it (lib-python's heapq.py)
        heap.append(item)
        if not nested and item[2] is not None and item[2] is first:
            nested.append(_deadlines.after(1.5, mark("nested")))  # "a finalizer"
        real_sift(heap, 0, len(heap) - 1)
    _deadlines.after(30, lambda: None)()  # never due here: the heap is not empty
    first = mark("first")
    monkeypatch.setattr(heapq, "heappush", push)
    _deadlines.after(0.1, first)
    assert wait_for(lambda: len(ran) == 2)
    assert nested, "the nested after() never ran"
    assert list(ran) == ["first", "nested"]
    # each within a loaded machine's margin of its time: late, the first ran at 1.5 s
    assert 0.1 <= ran["first"] < 0.9 and 1.5 <= ran["nested"] < 2.3, ran
