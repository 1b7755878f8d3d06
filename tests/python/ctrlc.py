# SPDX-License-Identifier: MIT
"""Ctrl-C in a test: a SIGINT sent to the main thread while a block runs, which never
outlives the block (see ctrl_c_after)."""

import signal
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import pytest


class ctrl_c_after:
    """``with ctrl_c_after(seconds) as ctrl_c:`` — Ctrl-C (SIGINT to the main thread, as a
    terminal sends it) ``seconds`` into the block, which must then end with the
    KeyboardInterrupt (taken here; ``ctrl_c.elapsed`` is how long after the signal it came).

    The signal never outlives the block: when the block ends first (it failed, or returned:
    "did not raise"), the signal is called off, or, if it was on its way, its
    KeyboardInterrupt is waited for and taken here, so that the block's own failure is
    reported. A plain Timer left running there sent its signal into pytest's reporting of
    that failure: the whole session ended "interrupted", and the failure went unseen."""

    def __init__(self, seconds: float) -> None:
        self._main = threading.get_ident()
        self._lock = threading.Lock()  # the signal is sent, or called off, not both
        self._off = False
        self.sent = None  # time.monotonic() when the signal went
        self.elapsed = None
        self._sender = threading.Timer(seconds, self._send)

    def _send(self) -> None:
        with self._lock:
            if not self._off:
                self.sent = time.monotonic()  # first: the handler may run before kill returns
                signal.pthread_kill(self._main, signal.SIGINT)

    def __enter__(self) -> "ctrl_c_after":
        self._sender.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._came = exc_type is KeyboardInterrupt and self.sent is not None
        if self._came:
            self.elapsed = time.monotonic() - self.sent
        for step in (self._call_off, self._sender.join, self._wait_for_the_signal):
            while True:
                try:
                    step()
                    break
                except KeyboardInterrupt:  # the signal, after the block had ended
                    if self.sent is None or self._came:
                        raise  # not ours (or a second one): a real Ctrl-C
                    self._came = True
        if exc_type is None:
            pytest.fail("the block ended before its Ctrl-C, %.1f s in" % self._sender.interval)
        # a KeyboardInterrupt before the signal went is not ours; any other exception is
        # the block's failure, to report
        return exc_type is KeyboardInterrupt and self.sent is not None

    def _call_off(self) -> None:
        with self._lock:
            self._off = True

    def _wait_for_the_signal(self) -> None:
        """Once the signal went, its handler's KeyboardInterrupt comes (bounded)."""
        if self.sent is None or self._came:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.01)
        pytest.fail("the Ctrl-C sent %.1f s in raised nothing" % self._sender.interval)


@contextmanager
def python_sigint_handler() -> Iterator[None]:
    """Python's own SIGINT handler (KeyboardInterrupt) meanwhile, which a Ctrl-C test needs:
    a runner may have another one (a suite started as a background job begins with SIGINT
    ignored, and Python keeps that). The previous one comes back after."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture(autouse=True)
def sigint_raises() -> Iterator[None]:
    """Imported by a test module whose every test sends SIGINT: python_sigint_handler
    around each of its tests (autouse there)."""
    with python_sigint_handler():
        yield

# A program a test starts inherits SIGINT ignored too: its first line then sets Python's own
# handler (its Ctrl-C must raise KeyboardInterrupt).
SIGINT_RAISES_LINE = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
