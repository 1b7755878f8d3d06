# SPDX-License-Identifier: MIT
"""One helper thread that runs calls one after another (what COPY lays out its next chunk of
rows in), as ``ThreadPoolExecutor(1)`` does, but a daemon thread: the interpreter never waits
for it at exit. PyPy 3.9 can wait for ever at exit for a non-daemon thread whose ``join()``
a Ctrl-C interrupted just as it ended (tests/pypy_thread_exit.py): a Ctrl-C during a COPY
once hung the program's exit so, with the executor's thread."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any, Callable

__all__ = ["Worker"]


def _serve(jobs: SimpleQueue) -> None:
    while True:
        job = jobs.get()
        if job is None:
            return
        future, fn, args = job
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: B902 - the caller gets it from the future
                future.set_exception(exc)
        job = future = fn = args = None  # nothing kept while idle


class Worker:
    """``with Worker(name) as w: f = w.submit(fn, *args)``: leaving the block waits for the
    calls submitted (a cancelled one is skipped) and ends the thread."""

    def __init__(self, name: str) -> None:
        self._jobs: SimpleQueue = SimpleQueue()
        self._thread = threading.Thread(target=_serve, args=(self._jobs,), name=name,
                                        daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        self._jobs.put((future, fn, args))
        return future

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._jobs.put(None)
        self._thread.join()
