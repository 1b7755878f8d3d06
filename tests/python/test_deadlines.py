# SPDX-License-Identifier: MIT
"""_deadlines: the one thread that runs _session._bounded's deadlines (a finalizer's end of
a dropped stream or COPY, a pool's pending end) instead of a thread started for each."""

from __future__ import annotations

import threading
import time

from PostPyro import _deadlines


def deadline_threads() -> int:
    return sum(t.name == "PostPyro deadlines" for t in threading.enumerate())


def wait_for(cond, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def test_due_ones_run_in_order_cancelled_ones_never_on_one_thread(monkeypatch):
    monkeypatch.setattr(_deadlines, "_IDLE_SECONDS", 0.1)
    ran = []
    _deadlines.after(0.3, lambda: ran.append("late"))
    cancel = _deadlines.after(0.05, lambda: ran.append("cancelled"))
    _deadlines.after(0.1, lambda: ran.append("early"))  # before the time it sleeps until
    cancel()
    assert deadline_threads() == 1
    assert wait_for(lambda: len(ran) == 2)
    assert ran == ["early", "late"]
    assert wait_for(lambda: deadline_threads() == 0)  # ends once idle
    _deadlines.after(0.01, lambda: ran.append("again"))  # and starts again
    assert wait_for(lambda: ran[-1:] == ["again"])


def test_a_failing_one_stops_nothing(monkeypatch):
    monkeypatch.setattr(_deadlines, "_IDLE_SECONDS", 0.1)
    ran = []
    _deadlines.after(0.01, lambda: 1 / 0)
    _deadlines.after(0.02, lambda: ran.append(1))
    assert wait_for(lambda: ran == [1])
