# SPDX-License-Identifier: MIT
"""Ctrl-C during a COPY that waits on the server (COPY TO waiting for rows, COPY FROM
waiting to send while the server waits for a lock): KeyboardInterrupt within a second or
so, the COPY cancelled on the server, nothing stored, and the connection usable. (The COPY
calls wait in slices on their connection's fiber: PP_CONNECT_WAIT_SLICES.)"""

from __future__ import annotations

import io
import signal
import threading
import time

import pytest

from copylock import locked_table, rows_text  # noqa: F401 (a fixture)
from ctrlc import sigint_raises  # noqa: F401 (autouse: every test here sends SIGINT)

# ~100 KB of rows (more than the server buffers before sending), then a long sleep
SLOW_COPY_TO = ("SELECT repeat('x', 100) FROM generate_series(1, 1000) "
                "UNION ALL SELECT 'y' FROM pg_sleep(%d)")


def sigint_after(seconds, to_main=True, ready=lambda: True):
    """SIGINT to the main thread, or to a helper thread (then the main thread's poll()
    never sees it: only the wait's slices let its handler run), ``seconds`` after ready()
    is true (polled, at most 30 s). The thread's ``sent`` holds when it went."""
    main = threading.main_thread().ident

    def run():
        give_up = time.monotonic() + 30
        while not ready() and time.monotonic() < give_up:
            time.sleep(0.01)
        time.sleep(seconds)
        t.sent = time.monotonic()
        signal.pthread_kill(main if to_main else threading.get_ident(), signal.SIGINT)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def assert_idle(conn, admin, pid):
    assert conn.query_one("SELECT 1")[0] == 1
    assert conn.info()["transaction_status"] == "idle"
    assert admin.query_one("SELECT state FROM pg_stat_activity WHERE pid = $1",
                           [pid])[0] == "idle"


@pytest.mark.parametrize("to_main", [True, False], ids=["main_thread", "other_thread"])
def test_ctrl_c_during_copy_to_cancels_it(conn, admin, to_main):
    pid = conn.info()["backend_pid"]
    out = io.BytesIO()
    # once the rows before the sleep were read (was: 1 s after the start, when a loaded
    # machine's server may not have sent them all)
    t = sigint_after(0.5, to_main, ready=lambda: out.tell() >= 50000)
    with pytest.raises(KeyboardInterrupt):
        conn.copy_to(SLOW_COPY_TO % 12, out)  # unsliced, it ends (and fails) after 12 s
    took = time.monotonic() - t.sent
    t.join(5)
    assert took < 5, took
    assert len(out.getvalue()) >= 50000  # the rows before the sleep were read
    assert_idle(conn, admin, pid)


def interrupted_copy_in(conn, admin, locked_table, copy):
    pid = conn.info()["backend_pid"]
    t = sigint_after(1)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        copy()
    took = time.monotonic() - start
    t.join(5)
    assert took < 6, took
    assert_idle(conn, admin, pid)
    locked_table.execute("ROLLBACK")
    assert conn.query_one("SELECT count(*) FROM copy_locked")[0] == 0


def test_ctrl_c_during_copy_from_cancels_it(conn, admin, locked_table):
    data = rows_text(400000)  # ~17 MB: more than the socket buffers hold
    interrupted_copy_in(conn, admin, locked_table,
                        lambda: conn.copy_from("copy_locked", data))


def test_ctrl_c_during_copy_records_to_table_cancels_it(conn, admin, locked_table):
    records = [(i, "some padding to make the data bigger") for i in range(1, 400001)]
    interrupted_copy_in(conn, admin, locked_table,
                        lambda: conn.copy_records_to_table("copy_locked", records))


def test_ctrl_c_while_a_copy_from_waits_for_a_table_lock(conn, admin, locked_table):
    # the COPY statement itself waits (for the lock), before any data is sent
    locked_table.execute("LOCK TABLE copy_locked IN SHARE MODE")
    interrupted_copy_in(conn, admin, locked_table,
                        lambda: conn.copy_from("copy_locked", b"5\tx\n"))


def test_ctrl_c_while_the_server_stores_the_rows(conn, admin, locked_table):
    # all data sent; the end of the COPY (pp_copy_end) waits for row 1's lock
    interrupted_copy_in(conn, admin, locked_table,
                        lambda: conn.copy_from("copy_locked", rows_text(10)))


def test_a_slow_copy_goes_on_through_its_slices(conn):
    out = io.BytesIO()
    assert conn.copy_to(SLOW_COPY_TO % 1, out) == 1001
    assert out.getvalue().endswith(b"y\n")


def test_ctrl_c_during_copy_in_a_transaction_leaves_it_to_roll_back(conn, admin):
    pid = conn.info()["backend_pid"]
    conn.execute("CREATE TABLE copy_tx (id int)")
    t = sigint_after(1)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with conn.begin() as tx:
            tx.execute("INSERT INTO copy_tx VALUES (1)")
            conn.copy_to(SLOW_COPY_TO % 12, io.BytesIO())
    assert time.monotonic() - start < 6
    t.join(5)
    assert_idle(conn, admin, pid)  # the block rolled the failed transaction back
    assert conn.query_one("SELECT count(*) FROM copy_tx")[0] == 0


def test_an_exception_in_the_source_while_the_server_waits_ends_the_copy(conn, admin,
                                                                         locked_table):
    # the exception comes in Python, between two writes, while the server waits for row
    # 1's lock: the COPY's abort must not wait for the lock (a CopyFail alone is only read
    # once the server goes on reading: here when the holder ends, after 12 s)
    pid = conn.info()["backend_pid"]

    class Source:  # a file: each read is written at once
        reads = 0

        def read(self, size):
            self.reads += 1
            if self.reads == 1:
                return rows_text(5000)  # 200 KB: sent at once (row 1 first)
            # until the server waits for the lock (was: a 0.5 s sleep, then asserted: a
            # loaded machine's server may still be reading the rows then)
            give_up = time.monotonic() + 10
            while admin.query_one("SELECT wait_event_type FROM pg_stat_activity "
                                  "WHERE pid = $1", [pid])[0] != "Lock":
                assert time.monotonic() < give_up, "the COPY never waited for the lock"
                time.sleep(0.05)
            self.failed = time.monotonic()
            raise ValueError("the source failed")
    source = Source()
    with pytest.raises(ValueError, match="the source failed"):
        conn.copy_from("copy_locked", source)
    took = time.monotonic() - source.failed  # from the exception: the wait above is not bounded
    assert took < 6, took
    assert_idle(conn, admin, pid)
    locked_table.execute("ROLLBACK")
    assert conn.query_one("SELECT count(*) FROM copy_locked")[0] == 0
