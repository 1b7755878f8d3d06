# SPDX-License-Identifier: MIT
"""A finalizer on another thread leaving its end in ``Turns.pending`` while the connection's
thread runs the ends already there: the new end is never lost. The finalizer's
``pending.append`` reads the list, then appends (a thread switch may come in between); here
the append waits, on purpose, until the connection's thread has run the pending ends. Was:
run_pending swapped in a new list, the end went to the old one and was lost, and the COPY it
was to abort left the connection refusing every statement ("busy with a COPY") for good."""

from __future__ import annotations

import threading

import PostPyro as pg
from dropping import start_dropper

COPY_TO = "COPY (SELECT g FROM generate_series(1, 100000) g) TO STDOUT"


class LateAppend(list):
    """A pending list whose append (the finalizer's) waits for ``go`` once it started."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.go = threading.Event()

    def append(self, item) -> None:
        self.started.set()
        assert self.go.wait(10)
        super().append(item)


def test_an_end_left_while_the_pending_ends_run_is_not_lost(sdsn):
    with pg.Connection(sdsn) as conn:
        turns = conn._lock
        box = [conn.copy(COPY_TO).start()]
        assert box[0].read()
        pending = turns.pending = LateAppend()
        list.append(pending, (turns.tx, lambda: None, None))  # an end left before
        dropper = start_dropper(box)  # the COPY's finalizer there: its append waits
        assert pending.started.wait(10)
        try:
            # this statement runs the end left before; the COPY still runs, so it fails
            conn.execute("SELECT 1")
        except pg.InterfaceError as exc:
            assert "COPY" in str(exc)
        finally:
            pending.go.set()
            dropper.join(10)
        assert not dropper.is_alive()
        # the next statement aborts the COPY first, then runs
        assert conn.query_one("SELECT 41 + 1") == (42,)
        assert conn.transaction_status == "idle"
