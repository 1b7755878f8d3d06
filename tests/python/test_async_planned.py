# SPDX-License-Identifier: MIT
"""``await conn.query()`` of a statement run before (its plan is known) runs on the task's own
stack, with no fiber (_aquery): pp_query_call there, and a pending call stepped from there
after each wait. Its edges: the connection's lock held across the waits, cancellation,
``timeout=``, close() from another task, many tasks sharing the connection, autocommit off
(BEGIN first: on the fiber), a big result read in chunks (on the fiber after the first),
trio. Each test counts the query() calls that ran on the fiber (``on_fiber``): none but the
ones that must."""

from __future__ import annotations

import asyncio
import time

import pytest
import trio

import PostPyro as pg

from test_async import run_asyncio, run_trio

SLEEP = "SELECT $1::int4 AS k, pg_sleep($2) AS pp_async_planned"


async def planned(conn):
    """Runs SLEEP once (its plan is made), then counts the query() calls run on the fiber
    (Connection.query on the engine): the list returned."""
    await conn.query(SLEEP, [0, 0])
    on_fiber = []
    eng = conn._engine
    real = eng.query

    def counting(*args):
        on_fiber.append(args)
        return real(*args)
    eng.query = counting
    return on_fiber


def backend(admin, pid):
    return admin.query("SELECT state, wait_event FROM pg_stat_activity WHERE pid = $1", [pid])


async def until(check, sleep, seconds=10.0):
    give_up = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < give_up, "still not so after %g s" % seconds
        await sleep(0.02)


def sleeping(admin, pid):
    return lambda: backend(admin, pid) == [("active", "PgSleep")]


def idle(admin, pid):
    return lambda: backend(admin, pid) == [("idle", "ClientRead")]


def test_a_planned_statement_runs_without_the_fiber_and_waits_with_the_lock_held(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            lock = conn._engine._lock.lock
            task = asyncio.ensure_future(conn.query(SLEEP, [7, 0.3]))
            await asyncio.sleep(0.1)
            held = lock._is_owned()  # the loop's thread holds it for the waiting task
            rows = await task
            return on_fiber, held, lock._is_owned(), rows
    on_fiber, held, after, rows = run_asyncio(main)
    assert rows[0]["k"] == 7
    assert held and not after
    assert on_fiber == []


def test_cancelling_a_task_whose_planned_statement_waits_cancels_it_on_the_server(sdsn, admin):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            pid = conn.info()["backend_pid"]
            task = asyncio.ensure_future(conn.query(SLEEP, [1, 30]))
            await until(sleeping(admin, pid), asyncio.sleep)
            start = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            took = time.monotonic() - start
            state = backend(admin, pid)
            usable = (await conn.query(SLEEP, [2, 0]))[0]["k"]
            return on_fiber, took, state, usable, conn._engine._lock.lock._is_owned()
    on_fiber, took, state, usable, held = run_asyncio(main)
    assert took < 5
    assert state == [("idle", "ClientRead")]
    assert usable == 2 and not held
    assert on_fiber == []


def test_timeout_on_a_planned_statement_cancels_it_and_says_so(sdsn, admin):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            pid = conn.info()["backend_pid"]
            start = time.monotonic()
            with pytest.raises(pg.errors.QueryCanceled, match="timed out"):
                await conn.query(SLEEP, [1, 30], timeout=0.3)
            took = time.monotonic() - start
            state = backend(admin, pid)
            # one that ends in time gives its rows
            fine = (await conn.query_one(SLEEP, [3, 0.01], timeout=5))["k"]
            return on_fiber, took, state, fine, conn.transaction_status
    on_fiber, took, state, fine, status = run_asyncio(main)
    assert 0.25 < took < 5
    assert state == [("idle", "ClientRead")]
    assert fine == 3 and status == "idle"
    assert on_fiber == []


def test_a_timeout_inside_a_transaction_fails_it_and_leaving_the_block_rolls_back(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            await conn.execute("CREATE TEMP TABLE ap_tx (k int)")
            with pytest.raises(pg.errors.QueryCanceled):
                async with conn.begin():
                    await conn.execute("INSERT INTO ap_tx VALUES (1)")
                    await conn.query(SLEEP, [1, 0])  # planned, inside the transaction
                    await conn.query(SLEEP, [1, 30], timeout=0.3)
            status = conn.transaction_status
            ran = list(on_fiber)
            count = (await conn.query_one("SELECT count(*) FROM ap_tx"))[0]  # (a first run)
            return ran, status, count
    on_fiber, status, count = run_asyncio(main)
    assert status == "idle" and count == 0
    assert on_fiber == []


def test_fifty_tasks_sharing_a_connection_each_get_their_own_rows(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)

            async def worker(t):
                got = []
                for i in range(10):
                    row = await conn.query_one(SLEEP, [t * 1000 + i, 0.002 if i % 3 else 0])
                    got.append(row["k"])
                return t, got
            results = await asyncio.gather(*(worker(t) for t in range(50)))
            return on_fiber, results, conn._turns.busy, conn._engine._lock.lock._is_owned()
    on_fiber, results, busy, held = run_asyncio(main)
    assert len(results) == 50
    for t, got in results:
        assert got == [t * 1000 + i for i in range(10)]
    assert not busy and not held
    assert on_fiber == []


def test_close_from_another_task_ends_a_waiting_planned_statement(sdsn):
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn)
        on_fiber = await planned(conn)
        task = asyncio.ensure_future(conn.query(SLEEP, [1, 30]))
        await asyncio.sleep(0.2)
        start = time.monotonic()
        await conn.close()
        with pytest.raises(pg.InterfaceError):
            await task
        return on_fiber, time.monotonic() - start, conn.closed
    on_fiber, took, closed = run_asyncio(main)
    assert took < 5 and closed
    assert on_fiber == []


def test_a_planned_statement_s_error_after_a_wait_is_raised_and_the_connection_stays(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            sql = "SELECT 1 / ($1::int4 - 1) AS q FROM pg_sleep($2)"
            await conn.query(sql, [2, 0])
            on_fiber = await planned(conn)
            with pytest.raises(pg.errors.DivisionByZero):
                await conn.query(sql, [1, 0.05])
            return on_fiber, (await conn.query(sql, [2, 0.01]))[0]["q"]
    on_fiber, q = run_asyncio(main)
    assert q == 1
    assert on_fiber == []


def test_autocommit_off_sends_begin_on_the_fiber_then_runs_planned_statements_here(sdsn):
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn, autocommit=False)
        try:
            await conn.execute("CREATE TEMP TABLE ap_ac (k int) ON COMMIT PRESERVE ROWS")
            await conn.commit()
            ins = "INSERT INTO ap_ac VALUES ($1) RETURNING k"
            await conn.query(ins, [0])  # its plan
            await conn.rollback()
            on_fiber = await planned(conn)
            await conn.rollback()
            del on_fiber[:]
            first = await conn.query(ins, [1])   # BEGIN first: on the fiber
            begun = len(on_fiber)
            second = await conn.query(ins, [2])  # in the transaction: here
            ran = len(on_fiber)
            status = conn.transaction_status
            await conn.rollback()
            count = (await conn.query_one("SELECT count(*) FROM ap_ac"))[0]
            await conn.rollback()
            return first, second, begun, ran, status, count
        finally:
            await conn.close()
    first, second, begun, ran, status, count = run_asyncio(main)
    assert [r["k"] for r in first + second] == [1, 2]
    assert begun == 1 and ran == 1  # the second statement did not go to the fiber
    assert status == "intransaction"
    assert count == 0  # both rolled back: they ran in the transaction BEGIN opened


def test_a_big_planned_result_is_read_in_chunks_on_the_fiber_after_the_first(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            sql = "SELECT g FROM generate_series(1, $1) g"
            first = await conn.query(sql, [50000])
            on_fiber = await planned(conn)
            eng = conn._engine
            chunks = []
            real = eng._read_chunks

            def counting(*args):
                chunks.append(1)
                return real(*args)
            eng._read_chunks = counting
            second = await conn.query(sql, [50000])
            small = await conn.query(SLEEP, [4, 0])
            return on_fiber, len(chunks), first, second, small[0]["k"]
    on_fiber, chunks, first, second, k = run_asyncio(main)
    assert len(second) == 50000 and second[-1]["g"] == 50000
    assert [r["g"] for r in second] == [r["g"] for r in first]
    assert chunks == 1 and k == 4
    assert on_fiber == []


def test_a_planned_statement_under_trio_waits_and_is_cancelled_by_its_scope(sdsn, admin):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            pid = conn.info()["backend_pid"]
            waited = (await conn.query(SLEEP, [5, 0.05]))[0]["k"]
            start = trio.current_time()
            with trio.move_on_after(0.3) as scope:
                await conn.query(SLEEP, [1, 30])
            took = trio.current_time() - start
            state = backend(admin, pid)
            with pytest.raises(pg.errors.QueryCanceled, match="timed out"):
                await conn.query(SLEEP, [1, 30], timeout=0.3)
            after = (await conn.query(SLEEP, [6, 0]))[0]["k"]
            return on_fiber, waited, scope.cancelled_caught, took, state, after
    on_fiber, waited, caught, took, state, after = run_trio(main)
    assert waited == 5 and after == 6
    assert caught and took < 5
    assert state == [("idle", "ClientRead")]
    assert on_fiber == []


def test_tasks_of_a_trio_nursery_share_a_connection(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            on_fiber = await planned(conn)
            results = {}

            async def worker(t):
                results[t] = [(await conn.query_one(SLEEP, [t * 100 + i, 0.001]))["k"]
                              for i in range(5)]
            async with trio.open_nursery() as nursery:
                for t in range(20):
                    nursery.start_soon(worker, t)
            return on_fiber, results
    on_fiber, results = run_trio(main)
    assert results == {t: [t * 100 + i for i in range(5)] for t in range(20)}
    assert on_fiber == []


def test_a_coroutine_closed_while_its_planned_statement_waits_closes_the_connection(sdsn):
    # as for a call on the fiber: nothing can wait for the statement's end any more
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn)
        on_fiber = await planned(conn)
        coro = conn.query(SLEEP, [1, 30])
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
