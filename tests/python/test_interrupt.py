# SPDX-License-Identifier: MIT
"""Ctrl-C during a long statement: KeyboardInterrupt comes quickly, the statement is
cancelled on the server, and the connection stays usable."""

import signal
import threading
import time

import pytest

import PostPyro as pg


def interrupt_main_thread_after(seconds):
    main = threading.get_ident()
    timer = threading.Timer(seconds, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_interrupts_a_long_query_and_leaves_the_connection_usable(conn):
    timer = interrupt_main_thread_after(0.3)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        conn.query("SELECT pg_sleep(20)")
    elapsed = time.monotonic() - start
    timer.join()
    assert elapsed < 5
    assert conn.query_one("SELECT 1")[0] == 1
    assert conn.info()["transaction_status"] == "idle"


def test_the_interrupted_statement_was_cancelled_on_the_server(conn, admin):
    pid = conn.info()["backend_pid"]
    timer = interrupt_main_thread_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        conn.query("SELECT pg_sleep(20)")
    timer.join()
    state = admin.query_one("SELECT state FROM pg_stat_activity WHERE pid = $1", [pid])[0]
    assert state == "idle"


def test_ctrl_c_inside_a_transaction_leaves_it_to_roll_back(conn):
    conn.execute("CREATE TABLE t (a int)")
    tx = conn.begin()
    tx.execute("INSERT INTO t VALUES (1)")
    timer = interrupt_main_thread_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        tx.query("SELECT pg_sleep(20)")
    timer.join()
    # the cancelled statement failed the transaction: nothing in it can be committed
    assert conn.info()["transaction_status"] == "inerror"
    with pytest.raises(pg.errors.InFailedSqlTransaction):
        tx.query("SELECT 1")
    tx.rollback()
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_ctrl_c_interrupts_execute_batch_and_nothing_is_kept(conn):
    conn.execute("CREATE TABLE t (a int)")
    timer = interrupt_main_thread_after(0.3)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        conn.execute_batch(["INSERT INTO t VALUES (1)", "SELECT pg_sleep(5)"])
    elapsed = time.monotonic() - start
    timer.join()
    assert elapsed < 3
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_ctrl_c_interrupts_executemany_and_nothing_is_kept(conn):
    conn.execute("CREATE TABLE t (a int)")
    timer = interrupt_main_thread_after(0.3)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        conn.executemany("INSERT INTO t SELECT $1 FROM pg_sleep($2)", [[1, 0], [2, 5]])
    elapsed = time.monotonic() - start
    timer.join()
    assert elapsed < 3
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_batch_counts_survive_a_signal_that_raises_nothing(conn):
    """A signal during a batch makes libpostpyro return PP_PENDING; the counts then come
    back through pp_resume's result (the C caller's arrays may be gone), not the arrays."""
    conn.execute("CREATE TEMP TABLE sig_batch (v int)")
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *args: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1, 0.1)
        rows = [(1, 0.5)] + [(k, 0.0) for k in range(2, 6)]
        total = conn.executemany("INSERT INTO sig_batch SELECT $1 FROM pg_sleep($2)", rows)
        counts = conn.execute_batch(["SELECT pg_sleep(0.5)",
                                     "INSERT INTO sig_batch VALUES (7), (8)"])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert fired
    assert total == 5
    assert counts == [1, 2]
    assert conn.query_one("SELECT count(*) FROM sig_batch")[0] == 7
