# SPDX-License-Identifier: MIT
"""Results read in chunks (PP_EXEC_CHUNKED): Python converts one chunk while the server sends
the next. The rows must come out whole and in order, and a failure in the middle (the
server's, a loader's, Ctrl-C) must leave the connection usable."""

import threading
import time

import pytest

import PostPyro as pg
from PostPyro import types as pgtypes
from PostPyro._ffi import ffi, lib
from ctrlc import ctrl_c_after, python_sigint_handler

# More rows than libpostpyro puts in one chunk (50 000 values: 12 500 rows of these four
# columns), so there are always several.
N = 120_000
MANY = ("SELECT g, 'r' || g AS label, g * 0.5::float8 AS half, "
        "CASE WHEN g %% 7 = 0 THEN NULL ELSE ARRAY[g, -g] END AS pair "
        "FROM generate_series(1, %d) g" % N)


def test_a_result_of_several_chunks_arrives_whole_and_in_order(conn):
    rows = conn.query(MANY)
    assert len(rows) == N
    assert [r[0] for r in rows] == list(range(1, N + 1))
    assert rows[0] == (1, "r1", 0.5, [1, -1])
    assert rows[6]["pair"] is None and rows[N - 1]["label"] == "r%d" % N
    assert rows[99_999] == (100_000, "r100000", 50_000.0, [100_000, -100_000])
    assert list(rows[0].keys()) == ["g", "label", "half", "pair"]


def test_the_row_count_is_the_whole_statement_s(conn):
    assert conn.execute(MANY) == N
    conn.execute("CREATE TABLE t (a int)")
    assert conn.execute("INSERT INTO t SELECT generate_series(1, %d) RETURNING a" % N) == N
    assert conn.query_one("SELECT count(*) FROM t")[0] == N


def test_the_same_statement_again_is_prepared_and_still_whole(conn):
    first = conn.query(MANY)
    second = conn.query(MANY)
    assert first == second


def test_the_command_tag_counts_every_row_of_every_chunk(conn):
    # libpq 17's chunked rows mode puts the tag on the last chunk, single-row mode on the
    # final empty result: either way the statement's tag and row count come out
    cur = conn.cursor()
    for sql, n in ((MANY, N), ("SELECT 1", 1), ("SELECT g FROM generate_series(1, 700) g", 700)):
        for _ in range(3):  # unnamed, cached, cached with its size known
            cur.execute(sql)
            assert cur.rowcount == n and cur.statusmessage == "SELECT %d" % n
            assert len(cur.fetchall()) == n


def test_the_row_mode_is_the_loaded_libpq_s(conn):
    # chunked rows mode (one PGresult per chunk) when the libpq loaded at run time has it
    mode = lib.pp_conn_info(conn._conn, b"row_mode")
    try:
        assert ffi.string(mode) == (b"chunked" if pg.libpq_version() >= 170000 else b"single")
    finally:
        lib.pp_free(mode)


def test_an_empty_result_keeps_its_columns(conn):
    cur = conn.cursor()
    assert conn.query("SELECT 1 AS a WHERE false") == []
    cur.execute("SELECT 1 AS a WHERE false")
    assert [d[0] for d in cur.description] == ["a"]


def test_a_server_error_after_the_first_chunks_raises_and_the_connection_is_usable(conn):
    with pytest.raises(pg.errors.DivisionByZero):
        conn.query("SELECT g, 1 / (100000 - g) FROM generate_series(1, %d) g" % N)
    assert conn.query_one("SELECT 1")[0] == 1
    assert conn.info()["transaction_status"] == "idle"


def test_a_server_error_midway_fails_the_transaction(conn):
    tx = conn.begin()
    with pytest.raises(pg.errors.DivisionByZero):
        tx.query("SELECT g, 1 / (100000 - g) FROM generate_series(1, %d) g" % N)
    with pytest.raises(pg.errors.InFailedSqlTransaction):
        tx.query("SELECT 1")
    tx.rollback()
    assert conn.query_one("SELECT 2")[0] == 2


@pytest.fixture
def mood(conn):
    """An enum whose loader raises ValueError on 'bad' and KeyboardInterrupt on 'stop'."""
    conn.execute("CREATE TYPE mood AS ENUM ('ok', 'bad', 'stop')")

    def load(v):
        if v == "bad":
            raise ValueError("a bad mood")
        if v == "stop":
            raise KeyboardInterrupt
        return v.upper()

    pgtypes.register_loader("mood", load, conn)
    yield
    pgtypes.register_loader("mood", None, conn)


def test_a_loader_error_in_a_later_chunk_raises_and_the_statement_still_ran(conn, mood):
    conn.execute("CREATE TABLE t (id int, m mood, n int DEFAULT 0)")
    conn.execute("INSERT INTO t SELECT g, CASE WHEN g = %d THEN 'bad' ELSE 'ok' END::mood "
                 "FROM generate_series(1, %d) g" % (N - 10, N))
    with pytest.raises(ValueError, match="a bad mood"):
        conn.query("UPDATE t SET n = n + 1 RETURNING id, m")
    # like a result read whole: the statement itself succeeded and (autocommit) committed
    assert conn.query_one("SELECT count(*) FROM t WHERE n = 1")[0] == N
    assert conn.query_one("SELECT m FROM t WHERE id = 1")[0] == "OK"


def test_ctrl_c_while_converting_a_chunk_cancels_the_rest(conn, mood):
    # 50 million rows take ~15 s to read to the end (what closing without the cancel does);
    # the cancel stops the server in milliseconds. A cross join of two small series streams
    # its first rows at once: one generate_series(1, 50000000) in FROM would be materialized
    # by the server before its first row (~5 s, which made this test slow and flaky).
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        conn.query("SELECT CASE WHEN a = 1 AND b = 5 THEN 'stop' ELSE 'ok' END::mood, b "
                   "FROM generate_series(1, 1000) a, generate_series(1, 50000) b")
    assert time.monotonic() - start < 5
    assert conn.query_one("SELECT 1")[0] == 1
    assert conn.info()["transaction_status"] == "idle"


def test_ctrl_c_while_waiting_for_the_next_chunk_cancels_the_statement(conn):
    with python_sigint_handler(), ctrl_c_after(0.5) as ctrl_c:
        # the first 2000 rows come at once (a chunk), then the server sleeps
        conn.query("SELECT g, pg_sleep(CASE WHEN g = 2000 THEN 20 ELSE 0 END) "
                   "FROM generate_series(1, 3000) g")
    assert ctrl_c.elapsed < 5
    assert conn.query_one("SELECT 1")[0] == 1


def test_another_thread_waits_for_the_chunked_statement(conn):
    """A query from another thread, started while a chunked statement is between chunks,
    waits for that statement's end instead of interleaving with it."""
    conn.execute("CREATE TYPE step AS ENUM ('row', 'middle', 'last')")
    events = []
    other = threading.Thread(target=lambda: events.append(
        ("other", conn.query_one("SELECT count(*) FROM generate_series(1, 10)")[0])))

    def load(v):
        if v == "middle":  # row 60 000: in the second chunk, the statement is still running
            other.start()
            time.sleep(0.3)  # long enough for the other thread to reach the connection
        if v != "row":
            events.append(v)
        return v

    pgtypes.register_loader("step", load, conn)
    try:
        rows = conn.query("SELECT CASE g WHEN 60000 THEN 'middle' WHEN %d THEN 'last' "
                          "ELSE 'row' END::step, g FROM generate_series(1, %d) g" % (N, N))
        other.join(10)
    finally:
        pgtypes.register_loader("step", None, conn)
    assert [r[1] for r in rows] == list(range(1, N + 1))
    assert events == ["middle", "last", ("other", 10)]


@pytest.fixture
def tag_calls(conn):
    """An enum `tag` whose loader runs a query on the same connection at its 3000th value
    (in a chunk after the first: the statement is still sending rows)."""
    conn.execute("CREATE TYPE tag AS ENUM ('a', 'b')")
    calls = []

    def load(v):
        calls.append(v)
        if len(calls) == 3000:
            calls.append(conn.query_one("SELECT 'inner'")[0])
        return v

    pgtypes.register_loader("tag", load, conn)
    yield calls
    pgtypes.register_loader("tag", None, conn)


def test_a_loader_may_use_the_connection_whose_rows_it_converts(conn, tag_calls):
    rows = conn.query("SELECT 'a'::tag, g FROM generate_series(1, %d) g" % N)
    assert len(rows) == N and [r[1] for r in rows] == list(range(1, N + 1))
    assert "inner" in tag_calls  # the rest was read ahead, then the inner query ran
    assert conn.query_one("SELECT 3")[0] == 3


def test_an_error_read_ahead_for_a_loader_is_raised_after_the_rows_before_it(conn, tag_calls):
    with pytest.raises(pg.errors.DivisionByZero):
        conn.query("SELECT 'a'::tag, 1 / (100000 - g) FROM generate_series(1, %d) g" % N)
    assert "inner" in tag_calls
    assert conn.query_one("SELECT 4")[0] == 4
