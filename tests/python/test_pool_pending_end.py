# SPDX-License-Identifier: MIT
"""A connection given back to a pool with a dropped COPY's end still pending (``Turns.pending``:
an AsyncCopy's finalizer never does I/O; a sync Copy's does none on another thread): the
pool runs that end on return and keeps the connection (same server session, idle). Was: the
pool saw the connection "active" and closed and replaced it. An end that fails leaves the
connection to be replaced, as before. Each wait is bounded: a hang fails."""

from __future__ import annotations

import time
import uuid

import pytest

import PostPyro as pg
import PostPyro._pool_base
from dropping import collect, start_dropper
from ticking import run

COPY_TO = "COPY (SELECT g FROM generate_series(1, 200000) g) TO STDOUT"
LIBRARIES = ["asyncio", "trio"]


def sessions(admin, app):
    return admin.query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                           [app])[0]


@pytest.fixture
def app():
    return "pp_pend_" + uuid.uuid4().hex[:10]


def one_conn_pool(cls, dsn, app, **options):
    """A pool of one connection, its sessions named ``app``."""
    return cls(dsn, min_size=1, max_size=1, application_name=app, **options)


def drop_copy_on_another_thread(conn, sql=COPY_TO):
    """A COPY TO started, one row read, then dropped and collected on another thread: its
    end waits in the connection's pending list."""
    box = [conn.copy(sql).start()]
    assert box[0].read()
    start_dropper(box).join(10)  # collected there: no I/O, the end waits
    assert conn.transaction_status == "active"
    assert conn._lock.pending


def same_session_back(pool, pid):
    """The next checkout gets the same server session, idle and usable."""
    with pool.connection(timeout=10) as conn:
        assert conn.info()["backend_pid"] == pid
        assert conn.transaction_status == "idle"
        assert not conn._lock.pending
        assert conn.query_one("SELECT 41 + 1") == (42,)


async def same_session_back_async(pool, pid):
    async with pool.connection(timeout=10) as conn:
        assert conn.info()["backend_pid"] == pid
        assert conn.transaction_status == "idle"
        assert not conn._engine._lock.pending
        assert await conn.query_one("SELECT 41 + 1") == (42,)


def outcome(pool, admin, app, end):
    """The pool's counts after its connection's dropped COPY ended (kept) or failed
    (lost, replaced)."""
    stats = pool.stats()
    if end == "succeeds":
        assert stats["returns_bad"] == 0, stats
        assert stats["connections_num"] == 1, stats
        assert sessions(admin, app) == 1
    else:
        assert stats["connections_lost"] == 1, stats
        assert stats["connections_num"] == 2, stats


async def drop_copy_half_way(conn, sql=COPY_TO):
    """A COPY TO started, one row read, then dropped and collected in this task: its end
    waits in the connection's pending list."""
    cp = conn.copy(sql)
    await cp.start()
    assert await cp.read()
    del cp
    collect()
    assert conn.transaction_status == "active"
    assert conn._engine._lock.pending


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("end", ["succeeds", "fails"])
def test_an_async_copy_dropped_half_way_in_a_pool_block(dsn, admin, app, library, end):
    """Its end runs on return and the connection is kept (was: replaced); an end that
    fails (the server session ended under the COPY) leaves it replaced, as before."""
    async def main(loop):
        async with one_conn_pool(pg.AsyncPool, dsn, app) as pool:
            async with pool.connection() as conn:
                pid = conn.info()["backend_pid"]
                await drop_copy_half_way(conn)
                if end == "fails":
                    assert admin.query_one("SELECT pg_terminate_backend($1)", [pid])[0]
            if end == "succeeds":
                await same_session_back_async(pool, pid)
            else:
                async with pool.connection(timeout=10) as conn:
                    assert conn.info()["backend_pid"] != pid
                    assert await conn.query_one("SELECT 41 + 1") == (42,)
            outcome(pool, admin, app, end)
    run(library, main)


def test_an_async_copy_pending_end_waits_not_for_another_task_s_call(dsn, admin, app):
    """Another task's call still runs when the block ends: the pool does not wait for it
    to run the end (it closes the connection, cancelling that call, as before)."""
    import asyncio

    async def main(loop):
        async with one_conn_pool(pg.AsyncPool, dsn, app) as pool:
            async with pool.connection() as conn:
                pid = conn.info()["backend_pid"]
                await drop_copy_half_way(conn)
                # the next call (this one) runs the end first, then sleeps
                running = asyncio.ensure_future(conn.query("SELECT pg_sleep(30)"))
                await asyncio.sleep(0.3)
                conn._engine._lock.pending.append((conn._engine._lock.tx, lambda: None, None))
            with pytest.raises(pg.Error):
                await running
            async with pool.connection(timeout=10) as conn:
                assert conn.info()["backend_pid"] != pid
            assert pool.stats()["returns_bad"] == 1
    run("asyncio", main)


@pytest.mark.parametrize("end", ["succeeds", "fails"])
def test_a_copy_dropped_on_another_thread_in_a_pool_block(dsn, admin, app, end):
    with one_conn_pool(pg.Pool, dsn, app) as pool:
        with pool.connection() as conn:
            pid = conn.info()["backend_pid"]
            drop_copy_on_another_thread(conn)
            if end == "fails":
                assert admin.query_one("SELECT pg_terminate_backend($1)", [pid])[0]
        if end == "succeeds":
            same_session_back(pool, pid)
        else:
            with pool.connection(timeout=10) as conn:
                assert conn.info()["backend_pid"] != pid
                assert conn.query_one("SELECT 41 + 1") == (42,)
        outcome(pool, admin, app, end)


SLOW_COPY_TO = ("COPY (SELECT repeat('x', 2000), pg_sleep(0.05) FROM generate_series(1, 600))"
                " TO STDOUT")  # 30 s of rows


@pytest.fixture
def short_end(monkeypatch):
    monkeypatch.setattr(PostPyro._pool_base, "PENDING_END_SECONDS", 0.5)


@pytest.mark.parametrize("library", LIBRARIES)
def test_an_async_pending_end_that_runs_too_long_is_cancelled_and_the_connection_kept(
        dsn, admin, app, library, short_end):
    """A COPY TO dropped inside a transaction: its end reads the rest (a cancel would fail
    the transaction), 30 s here, a row every 50 ms. The pool cancels it after
    PENDING_END_SECONDS, rolls the failed transaction back and keeps the connection."""
    async def main(loop):
        async with one_conn_pool(pg.AsyncPool, dsn, app) as pool:
            async with pool.connection() as conn:
                pid = conn.info()["backend_pid"]
                await conn.begin()
                await drop_copy_half_way(conn, SLOW_COPY_TO)
                left = time.monotonic()
            assert time.monotonic() - left < 10
            await same_session_back_async(pool, pid)
            stats = pool.stats()
            assert stats["connections_num"] == 1, stats
    run(library, main)


def test_a_sync_pending_end_that_runs_too_long_is_cancelled_and_the_connection_kept(
        dsn, admin, app, short_end):
    """As above, on Pool. Was: the bound was the connection's timeout, per call: each row
    came well within it, and the return read all 30 s of them."""
    with one_conn_pool(pg.Pool, dsn, app) as pool:
        with pool.connection() as conn:
            pid = conn.info()["backend_pid"]
            conn.begin().__enter__()
            drop_copy_on_another_thread(conn, SLOW_COPY_TO)
            left = time.monotonic()
        assert time.monotonic() - left < 10
        same_session_back(pool, pid)
        stats = pool.stats()
        assert stats["connections_num"] == 1, stats


def test_a_sync_pending_end_waits_not_for_another_thread_s_statement(dsn, admin, app):
    """Another thread's statement runs when the block ends: the pool does not wait for it
    to run the end (the filler cancels and closes the connection, as before)."""
    import threading
    with one_conn_pool(pg.Pool, dsn, app) as pool:
        with pool.connection() as conn:
            pid = conn.info()["backend_pid"]
            drop_copy_on_another_thread(conn)
            errors = []

            def sleeper():
                try:  # runs the end first (its thread's next statement), then sleeps
                    conn.execute("SELECT pg_sleep(30)")
                except pg.Error as exc:
                    errors.append(exc)
            t = threading.Thread(target=sleeper)
            t.start()
            time.sleep(0.3)
            conn._lock.pending.append((conn._lock.tx, lambda: None, None))
            left = time.monotonic()
        assert time.monotonic() - left < 5
        with pool.connection(timeout=10) as conn:
            assert conn.info()["backend_pid"] != pid
        t.join(10)
        assert errors and not t.is_alive()
        assert pool.stats()["returns_bad"] == 1


@pytest.fixture
def table(admin):
    name = "pp_pend_" + uuid.uuid4().hex[:10]
    admin.execute("CREATE TABLE %s (v int)" % name)
    yield name
    admin.execute("DROP TABLE %s" % name)


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_pep249_block_that_dropped_a_copy_commits_after_its_end(dsn, admin, app, table,
                                                                 library):
    """PEP 249 mode: the block ended normally, so it commits (as ``with conn:`` does: the
    COMMIT runs the dropped COPY's end first). Was: the connection was closed, its
    transaction lost."""
    async def main(loop):
        async with one_conn_pool(pg.AsyncPool, dsn, app,
                                                  autocommit=False) as pool:
            async with pool.connection() as conn:
                pid = conn.info()["backend_pid"]
                await conn.execute("INSERT INTO %s VALUES (1)" % table)
                await drop_copy_half_way(conn)
            assert admin.query("SELECT v FROM %s" % table) == [(1,)]
            async with pool.connection(timeout=10) as conn:
                assert conn.info()["backend_pid"] == pid
            assert pool.stats()["returns_bad"] == 0
    run(library, main)


def test_a_sync_pep249_block_that_dropped_a_copy_commits_after_its_end(dsn, admin, app,
                                                                      table):
    with one_conn_pool(pg.Pool, dsn, app, autocommit=False) as pool:
        with pool.connection() as conn:
            pid = conn.info()["backend_pid"]
            conn.execute("INSERT INTO %s VALUES (1)" % table)
            drop_copy_on_another_thread(conn)
        assert admin.query("SELECT v FROM %s" % table) == [(1,)]
        with pool.connection(timeout=10) as conn:
            assert conn.info()["backend_pid"] == pid
        assert pool.stats()["returns_bad"] == 0
