# SPDX-License-Identifier: MIT
"""Streaming: conn.stream() and server-side cursors (conn.cursor(name=...))."""

from __future__ import annotations

import gc
import os
import sys

import pytest

import PostPyro as pg

IS_PYPY = sys.implementation.name == "pypy"


def status(conn):
    return conn.info()["transaction_status"]


def status_once_collected(conn):
    """The transaction status once the garbage collector has finalized what the test
    dropped. A stream's finalizer ends it at once only on the thread that uses it, between
    two operations: a sync connection's on CPython (reference counting finalizes it where
    the test dropped it). Elsewhere — PyPy runs finalizers in whichever thread runs next, an
    AsyncConnection's stream is used on its event loop's thread — the connection's next
    statement ends it first, so one comes before the status is read (info() reads it at
    once)."""
    if IS_PYPY or not isinstance(conn, pg.Connection):
        for _ in range(3):
            gc.collect()
            conn.query_one("SELECT 1")
            if status(conn) == "idle":
                break
    return status(conn)


def test_stream_yields_every_row_in_order(conn):
    rows = list(conn.stream("SELECT g, 'r' || g AS s FROM generate_series(1, 25) g",
                            chunk_size=7))
    assert [r[0] for r in rows] == list(range(1, 26))
    assert rows[3]["s"] == "r4"
    assert status(conn) == "idle"  # its transaction was committed at the end


def test_stream_with_parameters_and_binary_types(conn):
    rows = list(conn.stream("SELECT g, g::numeric / 4, now() > $2::timestamptz "
                            "FROM generate_series(1, $1) g", [5, "2000-01-01"],
                            chunk_size=2))
    assert len(rows) == 5
    assert str(rows[1][1]) == "0.50000000000000000000"
    assert rows[0][2] is True


def test_stream_empty_result(conn):
    assert list(conn.stream("SELECT 1 WHERE false")) == []
    assert status(conn) == "idle"


def rss_mb():
    """The process's resident memory now (ru_maxrss is a peak: an earlier test may have
    raised it above anything this one does)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_stream_200k_rows_without_holding_them(conn):
    n = 200000
    gc.collect()
    before = peak = rss_mb()
    count = total = 0
    for row in conn.stream("SELECT g, repeat('x', 100) FROM generate_series(1, %d) g" % n,
                           chunk_size=5000):
        count += 1
        total += row[0]
        if count % 20000 == 0:
            gc.collect()  # PyPy frees dropped rows only when it collects
            peak = max(peak, rss_mb())
    assert count == n and total == n * (n + 1) // 2
    # Holding all rows grows the process by ~45 MB (measured on CPython and PyPy: a
    # 100-character str each, plus rows); a stream holds one chunk (~2 MB).
    assert peak - before < 15


def test_closing_a_stream_early_leaves_the_connection_usable(conn):
    s = conn.stream("SELECT g FROM generate_series(1, 100000) g", chunk_size=100)
    it = iter(s)
    assert next(it)[0] == 1
    s.close()
    assert s.closed
    assert status(conn) == "idle"
    assert conn.query_one("SELECT 41 + 1")[0] == 42
    s.close()  # twice is fine


def test_breaking_out_of_a_for_loop_ends_the_stream(conn):
    for row in conn.stream("SELECT g FROM generate_series(1, 100000) g", chunk_size=100):
        break
    assert status_once_collected(conn) == "idle"


def test_dropped_stream_is_finalized_by_gc(conn):
    s = conn.stream("SELECT g FROM generate_series(1, 1000) g", chunk_size=10)
    next(s)
    assert status(conn) == "intransaction"
    del s
    gc.collect()
    gc.collect()
    assert status_once_collected(conn) == "idle"


def test_with_block_closes_the_stream(conn):
    with conn.stream("SELECT g FROM generate_series(1, 1000) g", chunk_size=10) as rows:
        assert next(rows)[0] == 1
        assert next(rows)[0] == 2
    assert status(conn) == "idle"
    assert conn.query_one("SELECT 1")[0] == 1


def test_error_mid_stream_rolls_back_and_connection_stays_usable(conn):
    rows = []
    with pytest.raises(pg.DataError, match="division by zero"):
        for row in conn.stream("SELECT 1 / (500 - g) FROM generate_series(1, 1000) g",
                               chunk_size=100):
            rows.append(row)
    assert len(rows) <= 500
    assert status(conn) == "idle"
    assert conn.query_one("SELECT 1")[0] == 1


def test_a_stream_closed_in_its_failed_transaction_rolls_it_back(conn):
    conn.execute("CREATE TABLE t (n int)")
    s = conn.stream("SELECT g FROM generate_series(1, 10) g", chunk_size=2)
    it = iter(s)
    assert next(it)[0] == 1
    conn.execute("INSERT INTO t VALUES (1)")  # part of the stream's transaction
    with pytest.raises(pg.errors.DivisionByZero):
        conn.execute("SELECT 1 / 0")
    assert status(conn) == "inerror"
    s.close()  # no COMMIT (the server would answer ROLLBACK): a rollback, no error
    assert status(conn) == "idle"
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_a_stream_closed_in_the_caller_s_failed_transaction_leaves_it_to_the_caller(conn):
    tx = conn.begin()
    s = conn.stream("SELECT g FROM generate_series(1, 10) g", chunk_size=2)
    assert next(iter(s))[0] == 1
    with pytest.raises(pg.errors.DivisionByZero):
        tx.execute("SELECT 1 / 0")
    s.close()
    assert status(conn) == "inerror"
    tx.rollback()
    assert status(conn) == "idle" and conn.query_one("SELECT 1")[0] == 1


def test_bad_sql_is_reported_and_connection_stays_usable(conn):
    with pytest.raises(pg.ProgrammingError):
        list(conn.stream("SELEC 1"))
    assert status(conn) == "idle"
    with pytest.raises(pg.ProgrammingError):
        list(conn.stream("SELECT no_such_column FROM generate_series(1, 3) g"))
    assert conn.query_one("SELECT 1")[0] == 1


def test_stream_inside_a_transaction_uses_it(conn):
    conn.execute("CREATE TABLE t (n int)")
    with conn.begin():
        conn.execute("INSERT INTO t VALUES (1), (2), (3)")
        assert [r[0] for r in conn.stream("SELECT n FROM t ORDER BY n", chunk_size=2)] == \
            [1, 2, 3]
        assert status(conn) == "intransaction"  # the stream did not commit it
        conn.execute("INSERT INTO t VALUES (4)")
    assert conn.query_one("SELECT count(*) FROM t")[0] == 4


def test_statements_during_a_stream_are_part_of_its_transaction(conn):
    conn.execute("CREATE TABLE t (n int)")
    for row in conn.stream("SELECT g FROM generate_series(1, 3) g", chunk_size=1):
        conn.execute("INSERT INTO t VALUES ($1)", [row[0]])
    assert status(conn) == "idle"
    assert conn.query_one("SELECT count(*) FROM t")[0] == 3


def test_stream_in_pep249_mode_leaves_the_transaction_to_the_caller(sdsn):
    c = pg.connect(sdsn)
    try:
        assert len(list(c.stream("SELECT g FROM generate_series(1, 10) g", chunk_size=3))) \
            == 10
        assert status(c) == "intransaction"
        c.commit()
        assert status(c) == "idle"
    finally:
        c.close()


def test_two_streams_at_once(conn):
    a = conn.stream("SELECT g FROM generate_series(1, 10) g", chunk_size=3)
    b = conn.stream("SELECT -g FROM generate_series(1, 10) g", chunk_size=4)
    pairs = list(zip(a, b))
    assert pairs[0] == ((1,), (-1,)) and pairs[-1] == ((10,), (-10,))


def test_stream_row_factory(dsn, sdsn):
    from PostPyro.row import dict_row
    c = pg.Connection(sdsn, row_factory=dict_row)
    try:
        assert list(c.stream("SELECT 1 AS a")) == [{"a": 1}]
    finally:
        c.close()


def test_stream_argument_checks(conn):
    with pytest.raises(pg.ProgrammingError):
        conn.stream("SELECT 1", chunk_size=0)
    with pytest.raises(pg.ProgrammingError):
        conn.stream(b"SELECT 1")


def test_server_cursor_fetch_methods(conn):
    cur = conn.cursor(name="my cursor", itersize=3)
    cur.execute("SELECT g, g * 2 AS d FROM generate_series(1, 10) g")
    assert [c.name for c in cur.description] == ["g", "d"]
    assert cur.fetchone()[0] == 1
    assert [r[0] for r in cur.fetchmany(4)] == [2, 3, 4, 5]
    assert [r[0] for r in cur] == [6, 7, 8, 9, 10]
    assert cur.fetchone() is None
    assert cur.fetchall() == []
    cur.close()
    assert status(conn) == "idle"


def test_server_cursor_execute_twice_with_other_columns(conn):
    with conn.cursor(name="c") as cur:
        cur.execute("SELECT 1 AS a")
        assert cur.fetchall()[0]["a"] == 1
        cur.execute("SELECT 'x'::text AS b, 2.5::float8 AS f")
        assert tuple(cur.fetchall()[0]) == ("x", 2.5)
    assert status(conn) == "idle"


def test_server_cursor_fetchall(conn):
    with conn.cursor(name="all") as cur:
        cur.execute("SELECT g FROM generate_series(1, 5000) g")
        rows = cur.fetchall()
        assert len(rows) == 5000 and cur.rowcount == 5000
