# SPDX-License-Identifier: MIT
"""Threads sharing one connection: a transaction belongs to the thread that opened it, the
others' statements wait until it ends (issue 10, defect 6)."""

from __future__ import annotations

import random
import threading
import time

import pytest

import PostPyro as pg


@pytest.fixture
def t(conn):
    conn.execute("CREATE TABLE t (who text, v int)")
    return conn


def run(target, *args):
    """Start target in a thread; the thread records its exception in .error."""
    def body():
        try:
            target(*args)
        except BaseException as exc:  # reported by the test
            th.error = exc
    th = threading.Thread(target=body)
    th.error = None
    th.start()
    return th


def values(conn, who=None):
    if who is None:
        return sorted(r[0] for r in conn.query("SELECT v FROM t"))
    return sorted(r[0] for r in conn.query("SELECT v FROM t WHERE who = $1", [who]))


def test_another_threads_begin_waits_and_its_row_survives_the_first_rollback(t, admin,
                                                                           schema):
    a = t.begin()
    a.execute("INSERT INTO t VALUES ('A', 1)")
    b_done = threading.Event()

    def b():
        with t.begin() as tx:
            assert tx.savepoint_name is None  # its own transaction, not a savepoint of A's
            tx.execute("INSERT INTO t VALUES ('B', 2)")
        b_done.set()

    th = run(b)
    time.sleep(0.3)
    assert not b_done.is_set()  # B waits while A's transaction is open
    a.rollback()
    th.join(10)
    assert not th.is_alive() and th.error is None
    assert b_done.is_set()
    assert admin.query_one("SELECT array_agg(who) FROM %s.t" % schema)[0] == ["B"]


def test_a_statement_of_another_thread_runs_after_the_transaction_not_inside_it(t, admin,
                                                                               schema):
    a = t.begin()
    a.execute("INSERT INTO t VALUES ('A', 1)")
    th = run(t.execute, "INSERT INTO t VALUES ('B', 2)")
    time.sleep(0.3)
    assert th.is_alive()
    a.rollback()
    th.join(10)
    assert th.error is None
    assert values(t) == [2]


def test_nested_begin_in_the_same_thread_is_still_a_savepoint(t):
    with t.begin() as outer:
        with t.begin() as inner:
            assert inner.savepoint_name is not None
            inner.execute("INSERT INTO t VALUES ('A', 1)")
        outer.execute("INSERT INTO t VALUES ('A', 2)")
    assert values(t) == [1, 2]


def test_a_transaction_object_handed_to_another_thread_moves_there(t, admin, schema):
    tx = t.begin()
    tx.execute("INSERT INTO t VALUES ('A', 1)")
    th = run(tx.execute, "INSERT INTO t VALUES ('B', 2)")  # explicitly inside tx
    th.join(10)
    assert th.error is None
    assert admin.query_one("SELECT count(*) FROM %s.t" % schema)[0] == 0
    tx.commit()  # back in the main thread
    assert values(t) == [1, 2]


def test_pep249_implicit_transaction_belongs_to_the_thread_that_opened_it(sdsn, admin,
                                                                        schema):
    admin.execute("CREATE TABLE %s.t (who text, v int)" % schema)
    c = pg.connect(sdsn)
    try:
        c.cursor().execute("INSERT INTO t VALUES ('A', 1)")  # opens A's (main's) transaction
        order = []

        def b():
            cur = c.cursor()
            cur.execute("INSERT INTO t VALUES ('B', 2)")  # waits for A's commit/rollback
            order.append("B ran")
            c.commit()  # commits B's own transaction

        th = run(b)
        time.sleep(0.3)
        assert order == []
        order.append("A rolls back")
        c.rollback()
        th.join(10)
        assert th.error is None
        assert order == ["A rolls back", "B ran"]
        assert admin.query_one("SELECT array_agg(who) FROM %s.t" % schema)[0] == ["B"]
    finally:
        c.close()


def test_transaction_left_open_by_an_ended_thread_is_rolled_back_for_the_next(sdsn, admin,
                                                                              schema):
    admin.execute("CREATE TABLE %s.t (who text, v int)" % schema)
    c = pg.connect(sdsn)
    try:
        th = run(c.execute, "INSERT INTO t VALUES ('gone', 1)")  # never commits
        th.join(10)
        assert th.error is None
        c.execute("INSERT INTO t VALUES ('main', 2)")  # does not wait forever
        c.commit()
        assert admin.query_one("SELECT array_agg(who) FROM %s.t" % schema)[0] == ["main"]
        assert any("rolled back the transaction left open" in n for n in c.notices)
    finally:
        c.close()


def test_waiting_threads_go_on_when_the_connection_is_closed(t):
    a = t.begin()
    th = run(t.query, "SELECT 1")
    time.sleep(0.2)
    t.close()
    th.join(10)
    assert not th.is_alive()
    assert isinstance(th.error, pg.InterfaceError)
    assert a.status == "closed"


@pytest.mark.parametrize("autocommit", [True, False])
def test_threads_sharing_a_connection_keep_their_transactions_apart(sdsn, admin, schema,
                                                                    autocommit):
    """Each thread: begin, insert its rows, commit or roll back at random (some after a
    failed statement). Exactly the committed rows exist and the connection ends idle."""
    admin.execute("CREATE TABLE %s.t (who text, v int CHECK (v >= 0))" % schema)
    c = pg.Connection(sdsn, autocommit=autocommit)
    committed = []
    lock = threading.Lock()

    def worker(k):
        rnd = random.Random(k)
        for i in range(100):
            v = k * 1000 + i
            try:
                with c.begin() as tx:
                    tx.execute("INSERT INTO t VALUES ($1, $2)", ["w%d" % k, v])
                    choice = rnd.random()
                    if choice < 0.3:
                        tx.execute("INSERT INTO t VALUES ($1, -1)", ["w%d" % k])  # fails
                    if choice < 0.5:
                        raise KeyError("roll back")
                    tx.execute("INSERT INTO t VALUES ($1, $2)", ["w%d" % k, v + 500])
                with lock:
                    committed.extend([v, v + 500])
            except (KeyError, pg.IntegrityError):
                pass
            if not autocommit:
                c.commit()  # nothing open: returns at once

    try:
        threads = [run(worker, k) for k in range(6)]
        for th in threads:
            th.join(60)
        assert [th.error for th in threads] == [None] * 6
        assert values(admin.__class__(sdsn)) == sorted(committed)
        assert c.info()["transaction_status"] == "idle"
        assert c.query_one("SELECT 1")[0] == 1
    finally:
        c.close()


def test_a_stream_iterated_in_other_threads_moves_its_transaction_there(t):
    """As a web framework does with a streamed response: each next() in some pool thread."""
    t.execute("INSERT INTO t SELECT 'A', g FROM generate_series(1, 50) g")
    stream = iter(t.stream("SELECT v FROM t ORDER BY v", chunk_size=7))
    got = [next(stream)[0]]  # opened (and its transaction begun) in the main thread
    for _ in range(3):
        th = run(lambda: got.extend(row[0] for _, row in zip(range(10), stream)))
        th.join(10)
        assert not th.is_alive() and th.error is None
    got.extend(row[0] for row in stream)  # and the rest back in the main thread
    assert got == list(range(1, 51))
    assert t.info()["transaction_status"] == "idle"
    assert t.query_one("SELECT 1")[0] == 1


def test_a_copy_written_from_another_thread_moves_there(t):
    with t.copy("COPY t FROM STDIN") as cp:
        cp.write_row(("A", 1))
        th = run(cp.write_rows, [("B", 2), ("B", 3)])
        th.join(10)
        assert not th.is_alive() and th.error is None
    assert values(t) == [1, 2, 3]
    assert t.info()["transaction_status"] == "idle"
