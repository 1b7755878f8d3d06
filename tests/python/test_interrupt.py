# SPDX-License-Identifier: MIT
"""Ctrl-C during a long statement: KeyboardInterrupt comes quickly, the statement is
cancelled on the server, and the connection stays usable."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import PostPyro as pg
from ctrlc import ctrl_c_after, sigint_raises  # noqa: F401 (every test here sends SIGINT)


# One Ctrl-C test of each file that sends SIGINT (in this process or a program it starts).
CTRL_C_TESTS = [
    "test_interrupt.py::test_ctrl_c_interrupts_a_long_query_and_leaves_the_connection_usable",
    "test_interrupt_copy.py::test_ctrl_c_during_copy_to_cancels_it[main_thread]",
    "test_interrupt_connect.py::test_ctrl_c_during_a_connect_raises_keyboard_interrupt_promptly"
    "[main_thread]",
    "test_timeouts.py::test_ctrl_c_interrupts_a_connect",
    "test_stream_finalizer.py::test_ctrl_c_while_pending_ends_run_keeps_the_ones_not_run[signal]",
] + (["test_exit.py::test_a_ctrl_c_as_a_copy_s_helper_thread_ends_leaves_nothing_to_wait_for"
      "_at_exit"] if hasattr(threading, "_shutdown_locks_lock") else [])  # its skipif


def test_the_ctrl_c_tests_pass_in_a_run_started_with_sigint_ignored():
    # as a background job (`make check &`) pytest starts with SIGINT ignored: the tests
    # set Python's handler themselves, and the programs they start do too (was: the signal
    # did nothing, the 20 s statement ran to its end, and 30 s in the test failed: "the
    # Ctrl-C sent 0.3 s in raised nothing"; a COPY ran to its end: "done 40000")
    def ignore_sigint():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    here = os.path.dirname(os.path.abspath(__file__))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + [os.path.join(here, t) for t in CTRL_C_TESTS], preexec_fn=ignore_sigint,
        env=os.environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = run.stdout.decode(errors="replace")
    assert run.returncode == 0 and "%d passed" % len(CTRL_C_TESTS) in out, out


@pytest.mark.parametrize("ending", ["raises", "returns"])
def test_a_block_that_ends_before_its_ctrl_c_is_reported_and_the_signal_never_comes(ending):
    # what a CI run lost: a block that failed at once, whose signal then ended the session
    # from inside pytest's report of that failure, as an "interrupted" run
    expected = RuntimeError if ending == "raises" else pytest.fail.Exception
    with pytest.raises(expected):
        with ctrl_c_after(0.3):
            if ending == "raises":
                raise RuntimeError("failed before Ctrl-C")
    time.sleep(1)  # a signal still on its way would raise KeyboardInterrupt here


def test_ctrl_c_interrupts_a_long_query_and_leaves_the_connection_usable(conn):
    with ctrl_c_after(0.3) as ctrl_c:
        conn.query("SELECT pg_sleep(20)")
    assert ctrl_c.elapsed < 5
    assert conn.query_one("SELECT 1")[0] == 1
    assert conn.info()["transaction_status"] == "idle"


def test_the_interrupted_statement_was_cancelled_on_the_server(conn, admin):
    pid = conn.info()["backend_pid"]
    with ctrl_c_after(0.3):
        conn.query("SELECT pg_sleep(20)")
    state = admin.query_one("SELECT state FROM pg_stat_activity WHERE pid = $1", [pid])[0]
    assert state == "idle"


def test_ctrl_c_inside_a_transaction_leaves_it_to_roll_back(conn):
    conn.execute("CREATE TABLE t (a int)")
    tx = conn.begin()
    tx.execute("INSERT INTO t VALUES (1)")
    with ctrl_c_after(0.3):
        tx.query("SELECT pg_sleep(20)")
    # the cancelled statement failed the transaction: nothing in it can be committed
    assert conn.info()["transaction_status"] == "inerror"
    with pytest.raises(pg.errors.InFailedSqlTransaction):
        tx.query("SELECT 1")
    tx.rollback()
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_ctrl_c_interrupts_execute_batch_and_nothing_is_kept(conn):
    conn.execute("CREATE TABLE t (a int)")
    with ctrl_c_after(0.3) as ctrl_c:
        conn.execute_batch(["INSERT INTO t VALUES (1)", "SELECT pg_sleep(5)"])
    assert ctrl_c.elapsed < 3
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_ctrl_c_interrupts_executemany_and_nothing_is_kept(conn):
    conn.execute("CREATE TABLE t (a int)")
    with ctrl_c_after(0.3) as ctrl_c:
        conn.executemany("INSERT INTO t SELECT $1 FROM pg_sleep($2)", [[1, 0], [2, 5]])
    assert ctrl_c.elapsed < 3
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_ctrl_c_whose_cancel_overtakes_executemany_is_sent_again(tcp_port, pw_dsn, admin):
    # The pipeline waits in a proxy, so the cancel that Ctrl-C sends reaches the server
    # while its backend waits for the client, and the server ignores it (as one landing
    # between two statements of the pipeline, the first one's pg_sleep(0) here, under
    # load): the cancel is sent again until the pipeline ends (the 10 s ran before).
    from conftest import dsn_with
    from tcpproxy import TcpProxy
    proxy = TcpProxy(tcp_port)
    main = threading.get_ident()

    def interrupt():
        assert proxy.up_paused.wait(10), "the pipeline never reached the proxy"
        time.sleep(0.3)  # the cancel goes out now, long before the pipeline does
        signal.pthread_kill(main, signal.SIGINT)

    try:
        with pg.Connection(dsn_with(pw_dsn, port=str(proxy.port))) as c:
            c.execute("CREATE TEMP TABLE t (a text)")
            proxy.pause_up(b"PAUSE-HERE", 1.5)
            helper = threading.Thread(target=interrupt, daemon=True)
            helper.start()
            start = time.monotonic()
            with pytest.raises(KeyboardInterrupt):
                try:
                    c.executemany("INSERT INTO t SELECT $1 FROM pg_sleep($2)",
                                  [["PAUSE-HERE", 0], ["b", 10]])
                finally:
                    helper.join(10)
            assert time.monotonic() - start < 7  # 1.5 s in the proxy, margin for load
            assert c.query_one("SELECT count(*) FROM t")[0] == 0
            pid = c.info()["backend_pid"]
            assert admin.query_one("SELECT state FROM pg_stat_activity WHERE pid = $1",
                                   [pid])[0] == "idle"
    finally:
        proxy.close()


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
