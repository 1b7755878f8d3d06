# SPDX-License-Identifier: MIT
"""PyPy's hang at exit after a join() that a signal handler interrupted: the reproducer
(run this file: ``pypy3 tests/pypy_thread_exit.py``, which never exits; with
``--workaround`` it does) and the tests' workaround (``forget_stopped_threads_at_exit()``,
applied by tests/python/conftest.py). PostPyro takes no part in it; its own threads are daemon
threads, which exit never waits for.

How it happens (PyPy 7.3.11, Debian 12's pypy3 3.9; the code is the same in PyPy's py3.9 and
py3.10 branches):

1. The main thread waits in ``t.join()`` and a signal handler raises there (Ctrl-C's
   KeyboardInterrupt, or any handler's exception) while ``t`` still runs. threading's
   except branch in ``_wait_for_tstate_lock`` (bpo-45274) sees ``t``'s thread-state lock
   locked, takes it for one it acquired itself, releases it and calls ``t._stop()``.
2. ``t`` ends. PyPy's ``thread_is_stopping()`` (pypy/module/thread/os_local.py) releases the
   lock only ``if sentinel_lock.lock.is_acquired()``, and ``rthread.Lock.is_acquired()`` is
   a non-blocking acquire: on the lock that step 1 left free it *acquires* it and answers
   False, so the lock stays held for ever by a thread that no longer exists (CPython's
   ``release_sentinel`` tests a flag instead and takes nothing).
3. If ``t`` ended while the main thread was still inside ``t._stop()`` before its
   ``_maintain_shutdown_locks()`` (``_stop`` waits there for ``_shutdown_locks_lock``, and
   the GIL goes to ``t`` meanwhile), that call finds the lock held and keeps it in
   ``threading._shutdown_locks``; at exit ``threading._shutdown()`` waits for it for ever.

Step 2 alone (a held lock nobody waits for) is harmless and common: in a loop on this machine,
from 1 join in 200 that a signal interrupts (idle) to most of them (a CPU hog on the core). Step 3 is a narrow window; the test suite's
Ctrl-C tests (test_pool.py sends 400 signals at random moments while the main thread joins
the Timer threads that send them) hit it in about 3 whole PyPy runs in 10. The reproducer
holds ``_shutdown_locks_lock`` from another thread until ``t`` has ended, to open the window
for sure.
"""

import os
import signal
import sys
import threading
import time


def forget_stopped_threads_at_exit() -> None:
    """On PyPy: once threading has marked a thread stopped (``Thread._stop``), exit no longer
    waits for its thread-state lock, as on CPython (where that lock is free by then). Does
    nothing on CPython, or where threading has no ``_shutdown_locks`` (3.13+)."""
    if sys.implementation.name != "pypy" or not hasattr(threading, "_shutdown_locks"):
        return

    def _stop(self: threading.Thread) -> None:
        # threading's own _stop, less its `assert not lock.locked()` (the same race fails it)
        # and with the lock discarded, not only when it is found released
        lock = self._tstate_lock
        self._is_stopped = True
        self._tstate_lock = None
        if not self.daemon:
            with threading._shutdown_locks_lock:
                threading._maintain_shutdown_locks()
                threading._shutdown_locks.discard(lock)

    threading.Thread._stop = _stop


class _Interrupt(Exception):
    pass


def _raise(signum, frame):
    raise _Interrupt()


def _wait_until(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def main() -> None:
    """The reproducer: prints "joined" when its main code is done; PyPy then never exits.
    Each step waits for the one before (no timing), so a loaded machine changes nothing."""
    if "--workaround" in sys.argv:
        forget_stopped_threads_at_exit()
    signal.signal(signal.SIGUSR1, _raise)
    main_ident = threading.get_ident()
    frames = sys._current_frames
    held = threading.Event()
    ended = []  # the OS id of the thread t, once it runs

    def in_main(name):  # the main thread waits in the threading function `name`
        return lambda: frames()[main_ident].f_code.co_name == name

    def hold_shutdown_locks_lock():
        with threading._shutdown_locks_lock:  # t._stop() waits here (the window of step 3)
            held.set()
            _wait_until(lambda: not os.path.exists("/proc/self/task/%d" % ended[0]))

    def work():
        ended.append(threading.get_native_id())
        _wait_until(in_main("_wait_for_tstate_lock"))  # the main thread is in t.join()
        threading.Thread(target=hold_shutdown_locks_lock, daemon=True).start()
        held.wait()
        signal.pthread_kill(main_ident, signal.SIGUSR1)  # step 1
        _wait_until(in_main("_stop"))  # steps 2 and 3: t ends while it is in t._stop()

    t = threading.Thread(target=work)
    t.start()
    try:
        t.join()
    except _Interrupt:
        pass
    print("joined", flush=True)


if __name__ == "__main__":
    main()
