# SPDX-License-Identifier: MIT
"""A connection the server closes (pg_terminate_backend) mid-transaction: the call during
which the break shows fails with OperationalError; from then on the connection is closed
(InterfaceError), and commit()/rollback() never report success for what the server did not
confirm (the server rolled the transaction back)."""

from __future__ import annotations

import time

import pytest

import PostPyro as pg


def kill(admin, c) -> None:
    """Terminate c's backend and wait until it is gone."""
    pid = c.info()["backend_pid"]
    admin.query("SELECT pg_terminate_backend($1)", [pid])
    for _ in range(100):
        if admin.query_one("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                           [pid])[0] == 0:
            return
        time.sleep(0.02)
    raise AssertionError("backend %d did not end" % pid)


def rows(admin, schema) -> int:
    return admin.query_one("SELECT count(*) FROM %s.t" % schema)[0]


@pytest.fixture
def table(admin, schema):
    admin.execute("CREATE TABLE %s.t (v int)" % schema)
    return schema


def test_pep249_commit_after_a_break_raises_and_says_nothing_was_committed(
        sdsn, admin, table):
    c = pg.connect(sdsn)
    cur = c.cursor()
    cur.execute("INSERT INTO t VALUES (1)")
    kill(admin, c)
    with pytest.raises(pg.OperationalError):
        cur.execute("INSERT INTO t VALUES (2)")
    with pytest.raises(pg.InterfaceError) as info:
        c.commit()
    assert "nothing was committed" in str(info.value)
    assert rows(admin, table) == 0
    c.close()


def test_pep249_commit_raises_even_when_the_break_was_not_seen_by_a_statement(
        sdsn, admin, table):
    c = pg.connect(sdsn)
    c.execute("INSERT INTO t VALUES (1)")
    kill(admin, c)
    with pytest.raises(pg.OperationalError):  # CommitUnknown: the COMMIT met the break
        c.commit()
    with pytest.raises(pg.InterfaceError) as info:  # and it is never reported later
        c.commit()
    assert "unknown" in str(info.value)
    assert rows(admin, table) == 0


def test_pep249_rollback_after_a_break_raises_interface_error(sdsn, admin, table):
    c = pg.connect(sdsn)
    c.execute("INSERT INTO t VALUES (1)")
    kill(admin, c)
    with pytest.raises(pg.OperationalError):
        c.execute("SELECT 1")
    with pytest.raises(pg.InterfaceError) as info:
        c.rollback()
    assert "connection is closed" in str(info.value)


def test_with_connection_block_that_swallowed_the_break_raises_at_its_end(
        sdsn, admin, table):
    with pytest.raises(pg.InterfaceError) as info:
        with pg.connect(sdsn) as c:
            c.execute("INSERT INTO t VALUES (1)")
            kill(admin, c)
            try:
                c.execute("INSERT INTO t VALUES (2)")
            except pg.OperationalError:
                pass
    assert "nothing was committed" in str(info.value)
    assert c.closed
    assert rows(admin, table) == 0


def test_commit_and_rollback_on_a_connection_closed_by_close_raise(sdsn):
    c = pg.connect(sdsn)
    c.execute("SELECT 1")
    c.close()
    with pytest.raises(pg.InterfaceError):
        c.commit()
    with pytest.raises(pg.InterfaceError):
        c.rollback()


def test_transaction_after_a_break_is_broken_and_its_commit_raises(conn, admin, table):
    tx = conn.begin()
    tx.execute("INSERT INTO t VALUES (1)")
    kill(admin, conn)
    with pytest.raises(pg.OperationalError):
        tx.execute("INSERT INTO t VALUES (2)")
    assert tx.status == "broken"
    assert not tx.active
    with pytest.raises(pg.InterfaceError) as info:
        tx.commit()
    assert "nothing of it was committed" in str(info.value)
    with pytest.raises(pg.InterfaceError):
        conn.commit()
    assert rows(admin, table) == 0


def test_with_begin_block_that_swallowed_the_break_raises_at_its_end(conn, admin, table):
    with pytest.raises(pg.InterfaceError):
        with conn.begin() as tx:
            tx.execute("INSERT INTO t VALUES (1)")
            kill(admin, conn)
            try:
                tx.execute("INSERT INTO t VALUES (2)")
            except pg.OperationalError:
                pass
    assert tx.status == "broken"
    assert rows(admin, table) == 0


def test_transaction_status_is_broken_after_close_of_a_broken_connection(conn, admin):
    tx = conn.begin()
    kill(admin, conn)
    with pytest.raises(pg.OperationalError):
        conn.query("SELECT 1")
    conn.close()
    assert tx.status == "broken"


def test_after_a_break_every_call_raises_interface_error_connection_is_closed(conn, admin):
    kill(admin, conn)
    with pytest.raises(pg.OperationalError) as first:
        conn.query("SELECT 1")  # the call during which the break shows
    assert not isinstance(first.value, pg.InterfaceError)
    assert conn.closed
    calls = [lambda: conn.query("SELECT 1"), lambda: conn.execute("SELECT 1"),
             lambda: conn.executemany("SELECT $1::int", [[1], [2]]),
             lambda: conn.execute_batch(["SELECT 1"]), lambda: conn.begin(),
             lambda: conn.cursor().execute("SELECT 1"), lambda: conn.prepare("SELECT 1"),
             lambda: list(conn.stream("SELECT 1")),
             lambda: setattr(conn, "autocommit", False)]
    for call in calls:
        with pytest.raises(pg.InterfaceError) as info:
            call()
        assert "connection is closed" in str(info.value)
