# SPDX-License-Identifier: MIT
"""What the finalizer tests share (test_stream_finalizer, test_copy_finalizer,
test_async_dropped): a spy on the statements a connection runs, and a thread named
"dropper" that drops the last reference to a stream or COPY and runs the collector there."""

from __future__ import annotations

import gc
import threading


def collect() -> None:
    """Twice: an object a finalizer frees may hold the next one in a cycle."""
    gc.collect()
    gc.collect()


def spy_statements(conn) -> list:
    """Records (thread name, SQL) of every statement conn runs the general way (COMMIT,
    CLOSE and first runs all do)."""
    seen = []
    run = conn._execute

    def spy(sql, *args, **kwargs):
        seen.append((threading.current_thread().name, sql))
        return run(sql, *args, **kwargs)
    conn._execute = spy
    return seen


def start_dropper(box: list) -> threading.Thread:
    """Empty ``box`` (holding the only reference) and collect, on a thread named "dropper";
    returns the started thread."""
    def drop():
        box.clear()
        collect()
    t = threading.Thread(target=drop, name="dropper")
    t.start()
    return t
