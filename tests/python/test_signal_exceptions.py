# SPDX-License-Identifier: MIT
"""An exception raised by a signal handler other than Ctrl-C's during a wait for the server
(an alarm's own exception, SIGTERM's SystemExit) cancels the statement on the server as
KeyboardInterrupt does: the exception comes quickly, the server shows the session idle, and
the connection answers the next query."""

import signal
import time

import pytest

import PostPyro as pg


class Alarm(Exception):
    pass


def raising(exc_type):
    def handler(signum, frame):
        raise exc_type("signal %d" % signum)
    return handler


def with_alarm_after(seconds, exc_type, run):
    """run() with SIGALRM due after ``seconds``; its handler raises ``exc_type``. Returns
    (the exception, seconds until it came)."""
    old = signal.signal(signal.SIGALRM, raising(exc_type))
    start = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        with pytest.raises(exc_type) as info:
            run()
        return info.value, time.monotonic() - start
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def state_of(admin, pid):
    return admin.query_one("SELECT state FROM pg_stat_activity WHERE pid = $1", [pid])[0]


@pytest.mark.parametrize("exc_type", [Alarm, SystemExit])
def test_an_alarm_s_exception_cancels_a_first_run(conn, admin, exc_type):
    pid = conn.info()["backend_pid"]
    _, elapsed = with_alarm_after(0.3, exc_type, lambda: conn.query("SELECT pg_sleep(10)"))
    assert elapsed < 5  # about 0.3 s; generous for a loaded machine (the sleep is 10 s)
    assert state_of(admin, pid) == "idle"
    assert conn.query_one("SELECT 1")[0] == 1
    assert conn.info()["transaction_status"] == "idle"


def test_an_alarm_s_exception_cancels_a_statement_of_a_known_plan(conn, admin):
    pid = conn.info()["backend_pid"]
    for _ in range(3):  # prepared by name, then run as a known plan
        assert conn.query_one("SELECT pg_sleep($1)::text", [0])[0] == ""
    _, elapsed = with_alarm_after(
        0.3, Alarm, lambda: conn.query("SELECT pg_sleep($1)::text", [10]))
    assert elapsed < 5
    assert state_of(admin, pid) == "idle"
    assert conn.query_one("SELECT pg_sleep($1)::text", [0])[0] == ""


def test_an_alarm_s_exception_cancels_executemany_and_a_cursor(conn, admin):
    pid = conn.info()["backend_pid"]
    conn.execute("CREATE TABLE t (a int)")
    sql = "INSERT INTO t SELECT $1 FROM pg_sleep($2)"
    _, elapsed = with_alarm_after(
        0.3, Alarm, lambda: conn.executemany(sql, [[1, 0], [2, 10], [3, 0]]))
    assert elapsed < 5
    assert state_of(admin, pid) == "idle"
    cur = conn.cursor()
    _, elapsed = with_alarm_after(0.3, Alarm, lambda: cur.execute("SELECT pg_sleep(10)"))
    assert elapsed < 5
    assert state_of(admin, pid) == "idle"
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0  # the batch was one transaction
    assert cur.execute("SELECT 2").fetchone() == (2,)


def test_an_exception_from_a_signal_during_a_pep249_transaction_leaves_it_failed(sdsn, admin):
    with pg.connect(sdsn) as c:
        pid = c.info()["backend_pid"]
        with_alarm_after(0.3, Alarm, lambda: c.execute("SELECT pg_sleep(10)"))
        assert state_of(admin, pid) == "idle in transaction (aborted)"
        assert c.info()["transaction_status"] == "inerror"
        c.rollback()
        assert c.query_one("SELECT 1")[0] == 1


def test_an_alarm_s_exception_while_waiting_for_the_next_chunk_cancels_it(conn, admin):
    pid = conn.info()["backend_pid"]
    # the first 2000 rows come at once (a chunk), then the server sleeps
    _, elapsed = with_alarm_after(0.5, Alarm, lambda: conn.query(
        "SELECT g, pg_sleep(CASE WHEN g = 2000 THEN 10 ELSE 0 END) "
        "FROM generate_series(1, 3000) g"))
    assert elapsed < 5  # not cancelled, the rest would be read to its end (10 s)
    assert state_of(admin, pid) == "idle"
    assert conn.query_one("SELECT 1")[0] == 1
