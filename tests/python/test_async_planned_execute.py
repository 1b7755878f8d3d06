# SPDX-License-Identifier: MIT
"""``await conn.execute()`` of a statement run before (its plan is known) runs on the task's
own stack, with no fiber, as query() does (_aquery.run_planned with COUNT): its count is
Connection.execute's, and its edges are query()'s — the connection's lock held across the
waits, cancellation, ``timeout=``, close() from another task, many tasks sharing the
connection, autocommit off (BEGIN first: on the fiber), a big result read in chunks (on the
fiber after the first), a coroutine closed mid-wait, trio. Each test counts the execute()
calls that ran on the fiber (Connection.execute on the engine): none but the ones that
must."""

from __future__ import annotations

import asyncio
import time

import pytest
import trio

import PostPyro as pg

from test_async import run_asyncio, run_trio
from test_async_planned import backend, sleeping, until

# one row inserted after a sleep of $2 seconds: its count is 1
INSERT = "INSERT INTO ape (k) SELECT $1::int4 FROM pg_sleep($2)"
# $1 rows after a sleep of $2 seconds: its count is $1
COUNTED = "SELECT g FROM generate_series(1, $1) g, pg_sleep($2) AS pp_async_planned_execute"


async def planned(conn, *also):
    """Makes the table ape, runs INSERT, COUNTED and ``also`` once each (their plans are
    made), then counts the execute() calls run on the fiber (Connection.execute on the
    engine): the list returned."""
    await conn.execute("CREATE TABLE IF NOT EXISTS ape (k int4 PRIMARY KEY)")
    await conn.execute(INSERT, [-1, 0])
    await conn.execute(COUNTED, [1, 0])
    for sql, params in also:
        await conn.execute(sql, params)
    on_fiber = []
    eng = conn._engine
    real = eng.execute

    def counting(*args):
        on_fiber.append(args)
        return real(*args)
    eng.execute = counting
    return on_fiber


async def keys(conn):
    return [r[0] for r in await conn.query("SELECT k FROM ape WHERE k >= 0 ORDER BY k")]


def test_a_planned_execute_runs_without_the_fiber_and_waits_with_the_lock_held(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            lock = conn._engine._lock.lock
            task = asyncio.ensure_future(conn.execute(INSERT, [7, 0.3]))
            await asyncio.sleep(0.1)
            held = lock._is_owned()  # the loop's thread holds it for the waiting task
            n = await task
            counted = await conn.execute(COUNTED, [5, 0.05])
            return on_fiber, held, lock._is_owned(), n, counted, await keys(conn)
    on_fiber, held, after, n, counted, ks = run_asyncio(main)
    assert n == 1 and counted == 5 and ks == [7]
    assert held and not after
    assert on_fiber == []


def test_a_planned_execute_counts_as_connection_execute_does(sdsn, schema):
    # the same statements through the sync Connection and the planned async path
    statements = [
        ("INSERT INTO ape (k) SELECT g FROM generate_series($1::int4, $2) g", [10, 12]),
        ("UPDATE ape SET k = k + 100 WHERE k BETWEEN $1 AND $2", [10, 11]),
        ("UPDATE ape SET k = k WHERE k = $1", [-5]),          # no row: 0
        ("DELETE FROM ape WHERE k = $1", [12]),
        ("INSERT INTO ape (k) VALUES ($1) RETURNING k", [40]),  # rows: counted
        ("SELECT k FROM ape WHERE k > $1", [0]),                # rows: counted
        ("SELECT $1::text", ["x"]),
        ("SET search_path = " + schema, None),                  # no count: 0
    ]

    def sync_counts():
        c = pg.connect(sdsn, autocommit=True)
        try:
            c.execute("CREATE TABLE ape (k int4 PRIMARY KEY)")
            got = [c.execute(sql, params) for sql, params in statements]
            c.execute("DROP TABLE ape")
            return got
        finally:
            c.close()
    expected = sync_counts()

    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn, *statements)  # each run once: planned
            await conn.execute("TRUNCATE ape")
            del on_fiber[:]
            got = [await conn.execute(sql, params) for sql, params in statements]
            return on_fiber, got
    on_fiber, got = run_asyncio(main)
    assert expected == [3, 2, 0, 1, 1, 3, 1, 0]
    assert got == expected
    assert on_fiber == []


def test_cancelling_a_task_whose_planned_execute_waits_cancels_it_on_the_server(sdsn, admin):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            pid = conn.info()["backend_pid"]
            task = asyncio.ensure_future(conn.execute(INSERT, [1, 30]))
            await until(sleeping(admin, pid), asyncio.sleep)
            start = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            took = time.monotonic() - start
            state = backend(admin, pid)
            usable = await conn.execute(INSERT, [2, 0])
            return (on_fiber, took, state, usable, await keys(conn),
                    conn._engine._lock.lock._is_owned())
    on_fiber, took, state, usable, ks, held = run_asyncio(main)
    assert took < 5
    assert state == [("idle", "ClientRead")]
    assert usable == 1 and ks == [2] and not held  # the cancelled insert left no row
    assert on_fiber == []


def test_timeout_on_a_planned_execute_cancels_it_and_says_so(sdsn, admin):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            pid = conn.info()["backend_pid"]
            start = time.monotonic()
            with pytest.raises(pg.errors.QueryCanceled, match="timed out"):
                await conn.execute(INSERT, [1, 30], timeout=0.3)
            took = time.monotonic() - start
            state = backend(admin, pid)
            fine = await conn.execute(INSERT, [3, 0.01], timeout=5)  # ends in time
            return on_fiber, took, state, fine, await keys(conn), conn.transaction_status
    on_fiber, took, state, fine, ks, status = run_asyncio(main)
    assert 0.25 < took < 5
    assert state == [("idle", "ClientRead")]
    assert fine == 1 and ks == [3] and status == "idle"
    assert on_fiber == []


def test_close_from_another_task_ends_a_waiting_planned_execute(sdsn):
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn)
        on_fiber = await planned(conn)
        task = asyncio.ensure_future(conn.execute(INSERT, [1, 30]))
        await asyncio.sleep(0.2)
        start = time.monotonic()
        await conn.close()
        with pytest.raises(pg.InterfaceError):
            await task
        return on_fiber, time.monotonic() - start, conn.closed
    on_fiber, took, closed = run_asyncio(main)
    assert took < 5 and closed
    assert on_fiber == []


def test_a_planned_execute_s_error_after_a_wait_is_raised_and_the_connection_stays(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            await conn.execute(INSERT, [8, 0])
            with pytest.raises(pg.errors.UniqueViolation):
                await conn.execute(INSERT, [8, 0.05])  # the key is taken
            n = await conn.execute(INSERT, [9, 0.01])
            return on_fiber, n, await keys(conn), conn.transaction_status
    on_fiber, n, ks, status = run_asyncio(main)
    assert n == 1 and ks == [8, 9] and status == "idle"
    assert on_fiber == []


def test_a_planned_syntax_error_is_explained_as_the_first_run_s(sdsn):
    # the plan is made before the server sees the text: a second run takes the planned path
    # and must say what the general one said ($name placeholders in positional SQL)
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            sql = "INSERT INTO ape (k) VALUES (:k)"
            errors = []
            for _ in range(2):
                with pytest.raises(pg.ProgrammingError) as info:
                    await conn.execute(sql, [1])
                errors.append(str(info.value))
            return on_fiber, errors
    on_fiber, errors = run_asyncio(main)
    assert errors[0] == errors[1]
    assert len(on_fiber) == 1  # the first run, the general way


def test_fifty_tasks_sharing_a_connection_each_get_their_own_count(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)

            async def worker(t):
                got = []
                for i in range(6):
                    got.append(await conn.execute(COUNTED, [t * 10 + i + 1,
                                                            0.002 if i % 3 else 0]))
                return t, got
            results = await asyncio.gather(*(worker(t) for t in range(50)))
            return on_fiber, results, conn._turns.busy, conn._engine._lock.lock._is_owned()
    on_fiber, results, busy, held = run_asyncio(main)
    assert len(results) == 50
    for t, got in results:
        assert got == [t * 10 + i + 1 for i in range(6)]
    assert not busy and not held
    assert on_fiber == []


def test_autocommit_off_sends_begin_on_the_fiber_then_runs_planned_executes_here(sdsn):
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn, autocommit=False)
        try:
            on_fiber = await planned(conn)
            await conn.commit()
            del on_fiber[:]
            first = await conn.execute(INSERT, [1, 0])   # BEGIN first: on the fiber
            begun = len(on_fiber)
            second = await conn.execute(INSERT, [2, 0])  # in the transaction: here
            ran = len(on_fiber)
            status = conn.transaction_status
            await conn.rollback()
            ks = await keys(conn)
            await conn.rollback()
            return first, second, begun, ran, status, ks
        finally:
            await conn.close()
    first, second, begun, ran, status, ks = run_asyncio(main)
    assert first == second == 1
    assert begun == 1 and ran == 1  # the second statement did not go to the fiber
    assert status == "intransaction"
    assert ks == []  # both rolled back: they ran in the transaction BEGIN opened


def test_a_big_planned_result_is_counted_in_chunks_on_the_fiber_after_the_first(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            eng = conn._engine
            chunks = []
            real = eng._read_chunks

            def counting(*args):
                chunks.append(1)
                return real(*args)
            eng._read_chunks = counting
            big = await conn.execute(COUNTED, [50000, 0])
            small = await conn.execute(COUNTED, [3, 0])
            return on_fiber, len(chunks), big, small
    on_fiber, chunks, big, small = run_asyncio(main)
    assert big == 50000 and small == 3
    assert chunks == 1
    assert on_fiber == []


def test_a_coroutine_closed_while_its_planned_execute_waits_closes_the_connection(sdsn):
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn)
        on_fiber = await planned(conn)
        coro = conn.execute(INSERT, [1, 30])
        coro.send(None)  # runs up to its wait for the server, the loop's way
        held = conn._engine._lock.lock._is_owned()
        coro.close()
        after = conn._engine._lock.lock._is_owned()
        closed = conn.closed
        await conn.close()
        return on_fiber, held, after, closed, conn._turns.busy
    on_fiber, held, after, closed, busy = run_asyncio(main)
    assert held and not after
    assert closed and not busy
    assert on_fiber == []


def test_a_planned_execute_under_trio_waits_and_is_cancelled_by_its_scope(sdsn, admin):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            pid = conn.info()["backend_pid"]
            waited = await conn.execute(INSERT, [5, 0.05])
            start = trio.current_time()
            with trio.move_on_after(0.3) as scope:
                await conn.execute(INSERT, [1, 30])
            took = trio.current_time() - start
            state = backend(admin, pid)
            with pytest.raises(pg.errors.QueryCanceled, match="timed out"):
                await conn.execute(INSERT, [2, 30], timeout=0.3)
            after = await conn.execute(INSERT, [6, 0])
            return (on_fiber, waited, scope.cancelled_caught, took, state, after,
                    await keys(conn))
    on_fiber, waited, caught, took, state, after, ks = run_trio(main)
    assert waited == 1 and after == 1 and ks == [5, 6]
    assert caught and took < 5
    assert state == [("idle", "ClientRead")]
    assert on_fiber == []


def test_tasks_of_a_trio_nursery_share_a_connection_for_planned_executes(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            results = {}

            async def worker(t):
                results[t] = [await conn.execute(COUNTED, [t * 5 + i + 1, 0.001])
                              for i in range(5)]
            async with trio.open_nursery() as nursery:
                for t in range(20):
                    nursery.start_soon(worker, t)
            return on_fiber, results
    on_fiber, results = run_trio(main)
    assert results == {t: [t * 5 + i + 1 for i in range(5)] for t in range(20)}
    assert on_fiber == []
