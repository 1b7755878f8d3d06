# SPDX-License-Identifier: MIT
"""AsyncConnection on asyncio and trio: cancellation, timeouts, tasks sharing connections,
connecting without blocking the loop. (The API itself runs the shared test bodies through
tests/python/async_facade.py: see conftest.ASYNC_MODULES.)"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

import PostPyro as pg
from PostPyro import _dsn

trio = pytest.importorskip("trio")


def run_asyncio(fn, *args):
    return asyncio.run(asyncio.wait_for(fn(*args), 60))  # a hang fails, never blocks CI


def run_trio(fn, *args):
    async def bounded():
        with trio.fail_after(60):
            return await fn(*args)
    return trio.run(bounded)


async def backend_state(admin_dsn, pid):
    """The state of server process ``pid`` and its last statement, seen from another
    connection."""
    async with await pg.AsyncConnection.connect(admin_dsn) as other:
        return await other.query_one("SELECT state, query FROM pg_stat_activity "
                                      "WHERE pid = $1", [pid])


async def wait_until_sleeping(admin_dsn, pid):
    """Until server process ``pid`` is inside pg_sleep (so a cancel is not lost in the
    Parse/Describe of the statement's first run)."""
    async with await pg.AsyncConnection.connect(admin_dsn) as other:
        for _ in range(200):
            r = await other.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 "
                                  "AND wait_event = 'PgSleep'", [pid])
            if r:
                return
            await asyncio.sleep(0.02) if _asyncio_running() else await trio.sleep(0.02)
    raise AssertionError("the statement never started sleeping")


def _asyncio_running():
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


# ---- cancellation --------------------------------------------------------------------------

def test_asyncio_task_cancelled_during_pg_sleep_cancels_on_the_server(sdsn, dsn):
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn)
        pid = conn.info()["backend_pid"]
        task = asyncio.ensure_future(conn.query("SELECT pg_sleep(10)"))
        await wait_until_sleeping(dsn, pid)
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        elapsed = time.monotonic() - start
        state, query = await backend_state(dsn, pid)
        assert (state, query) == ("idle", "SELECT pg_sleep(10)")  # ended, not still running
        assert (await conn.query_one("SELECT 42"))[0] == 42
        assert conn.info()["transaction_status"] == "idle"
        await conn.close()
        return elapsed
    # the cancel request's own backend starts under a loaded machine's load too (margin);
    # below _SETTLE_SECONDS (5 s), where a cancel never answered ends the wait
    assert run_asyncio(main) < 4.0


def test_asyncio_wait_for_and_timeout_cancel_on_the_server(sdsn, dsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            start = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(conn.execute("SELECT pg_sleep(10)"), 0.5)
            assert time.monotonic() - start < 4.0  # 0.5 s + the cancel; margin: a loaded
            # machine (below the 5 s a cancel never answered is waited for; the sleep: 10 s)
            assert (await backend_state(dsn, conn.info()["backend_pid"]))[0] == "idle"
            assert (await conn.query_one("SELECT 'after'"))[0] == "after"
    run_asyncio(main)


def test_timeout_argument_cancels_on_the_server_and_says_it_timed_out(sdsn, dsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            await conn.query("SELECT pg_sleep(0)")  # prepared: the cancel hits the sleep
            start = time.monotonic()
            with pytest.raises(pg.errors.QueryCanceled, match="timed out.*timeout=0.3 s"):
                await conn.query("SELECT pg_sleep($1)", [10], timeout=0.3)
            elapsed = time.monotonic() - start
            assert (await backend_state(dsn, conn.info()["backend_pid"]))[0] == "idle"
            assert (await conn.query_one("SELECT 7", timeout=5))[0] == 7
            return elapsed
    assert run_asyncio(main) < 1.3


def test_cancelled_statement_in_a_transaction_fails_it_and_the_block_rolls_back(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            await conn.execute("CREATE TABLE t (a int)")

            async def work():
                async with conn.begin():
                    await conn.execute("INSERT INTO t VALUES (1)")
                    await conn.execute("SELECT pg_sleep(10)")

            task = asyncio.ensure_future(work())
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert conn.info()["transaction_status"] == "idle"
            assert (await conn.query_one("SELECT count(*) FROM t"))[0] == 0
    run_asyncio(main)


def test_cancelled_statement_in_pep249_mode_leaves_the_transaction_failed(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn, autocommit=False) as conn:
            await conn.query("SELECT 1")
            with pytest.raises(pg.errors.QueryCanceled):
                await conn.query("SELECT pg_sleep(10)", timeout=0.3)
            assert conn.info()["transaction_status"] == "inerror"
            with pytest.raises(pg.errors.InFailedSqlTransaction):
                await conn.query("SELECT 1")
            await conn.rollback()
            assert (await conn.query_one("SELECT 1"))[0] == 1
    run_asyncio(main)


def test_cancel_method_from_another_task(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            task = asyncio.ensure_future(conn.query("SELECT pg_sleep(10)"))
            await asyncio.sleep(0.5)
            await conn.cancel()
            with pytest.raises(pg.errors.QueryCanceled):
                await task
            assert (await conn.query_one("SELECT 1"))[0] == 1
    run_asyncio(main)


def test_close_while_another_task_waits_fails_that_task_at_once(sdsn):
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn)
        task = asyncio.ensure_future(conn.query("SELECT pg_sleep(10)"))
        await asyncio.sleep(0.3)
        start = time.monotonic()
        await conn.close()
        with pytest.raises(pg.InterfaceError):
            await task
        assert time.monotonic() - start < 4  # not the 10 s sleep (margin: a loaded machine)
        assert conn.closed
    run_asyncio(main)


def test_trio_cancel_scope_during_pg_sleep_cancels_on_the_server(sdsn, dsn):
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn)
        pid = conn.info()["backend_pid"]
        await conn.query("SELECT pg_sleep(0)")
        start = time.monotonic()
        with trio.move_on_after(0.5) as scope:
            await conn.query("SELECT pg_sleep(10)")
        assert scope.cancelled_caught
        elapsed = time.monotonic() - start
        assert (await backend_state(dsn, pid))[0] == "idle"
        assert (await conn.query_one("SELECT 5"))[0] == 5
        with pytest.raises(pg.errors.QueryCanceled, match="timed out"):
            await conn.execute("SELECT pg_sleep(10)", timeout=0.3)
        assert (await conn.query_one("SELECT 6"))[0] == 6
        await conn.close()
        return elapsed
    assert run_trio(main) < 1.5


# ---- async for -------------------------------------------------------------------------------

async def _async_for_forms(sdsn):
    async with await pg.AsyncConnection.connect(sdsn) as conn:
        total = 0
        async for row in conn.stream("SELECT g FROM generate_series(1, 2500) g",
                                     chunk_size=1000):
            total += row[0]
        assert total == 2500 * 2501 // 2
        async with conn.stream("SELECT g FROM generate_series(1, 1000) g",
                               chunk_size=10) as rows:
            assert (await rows.__anext__())[0] == 1
        assert rows.closed and conn.info()["transaction_status"] == "idle"
        cur = conn.cursor()
        await cur.execute("SELECT g FROM generate_series(1, 5) g")
        assert [r[0] async for r in cur] == [1, 2, 3, 4, 5]
        await conn.execute("CREATE TEMP TABLE c (a int, b text)")
        async with conn.copy("COPY c FROM STDIN") as cp:
            await cp.write_rows([(i, "x%d" % i) for i in range(300)])
        assert cp.rowcount == 300
        async with conn.copy("COPY c TO STDOUT") as cp:
            data = b"".join([chunk async for chunk in cp])
        assert data.count(b"\n") == 300
        return True


def test_async_for_over_streams_cursors_and_copy_on_asyncio_and_trio(sdsn):
    assert run_asyncio(_async_for_forms, sdsn)
    assert run_trio(_async_for_forms, sdsn)


def test_statement_text_stays_valid_while_the_collector_runs(sdsn):
    # A pending call keeps reading its SQL text and statement names after returning
    # PP_PENDING: PyPy's collector moves young bytes objects, so they go as C memory.
    import gc

    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            done = False

            async def collect():
                # A full collection after every loop turn, but never more than half the
                # time: in a long suite the heap is big and each one takes a while.
                while not done:
                    t = time.monotonic()
                    gc.collect()
                    await asyncio.sleep(time.monotonic() - t)

            collector = asyncio.ensure_future(collect())
            start = time.monotonic()
            try:
                for i in range(150):
                    if i >= 20 and time.monotonic() - start > 10:
                        break  # enough pending calls seen: bounded on a loaded machine
                    sql = "SELECT %d AS n, $1::text AS t /* %s */" % (i, "x" * (i % 50))
                    row = await conn.query_one(sql, ["v%d" % i])
                    assert tuple(row) == (i, "v%d" % i)
                    stmt = await conn.prepare("SELECT %d + $1::int4" % i)
                    assert (await conn.query_one(stmt, [1]))[0] == i + 1
                    await conn.deallocate(stmt)
                    n = await conn.executemany("SELECT $1::int4 /* %d */" % i, [[1], [2]])
                    assert n >= 0
            finally:
                done = True
                await collector
    run_asyncio(main)


async def _idle_wait(sdsn):
    channel = "pp_async_idle_" + uuid.uuid4().hex[:8]  # suites share the server
    async with await pg.AsyncConnection.connect(sdsn) as conn, \
            await pg.AsyncConnection.connect(sdsn) as other:
        await conn.execute("LISTEN " + channel)
        me = await conn._acquire(None)
        try:
            assert await conn._wait_readable(0.2) is False  # nothing came
            await other.execute("NOTIFY " + channel)
            assert await conn._wait_readable(5) is True
        finally:
            conn._release(me)
        assert (await conn.query_one("SELECT 1"))[0] == 1
        return True


def test_the_idle_wait_for_a_readable_socket_sees_a_notification(sdsn):
    # the helper LISTEN/NOTIFY's notifies() waits with while no call runs
    assert run_asyncio(_idle_wait, sdsn)
    assert run_trio(_idle_wait, sdsn)


# ---- tasks sharing connections ---------------------------------------------------------------

async def _tokens(conns, ntasks, gather):
    wrong = []

    async def one(i):
        conn = conns[i % len(conns)]
        token = "token-%d" % i
        for k in range(3):
            sleep = 0.01 if (i + k) % 7 == 0 else 0
            row = await conn.query_one("SELECT $1::text, pg_sleep($2)", [token, sleep])
            if row[0] != token:
                wrong.append((token, row[0]))
    await gather(one, range(ntasks))
    return wrong


async def _asyncio_gather(fn, args):
    await asyncio.gather(*(fn(a) for a in args))


async def _trio_gather(fn, args):
    async with trio.open_nursery() as nursery:
        for a in args:
            nursery.start_soon(fn, a)


@pytest.mark.parametrize("nconns", [1, 10])
def test_asyncio_50_tasks_each_get_their_own_token(sdsn, nconns):
    async def main():
        conns = [await pg.AsyncConnection.connect(sdsn) for _ in range(nconns)]
        try:
            return await _tokens(conns, 50, _asyncio_gather)
        finally:
            for c in conns:
                await c.close()
    assert run_asyncio(main) == []


@pytest.mark.parametrize("nconns", [1, 10])
def test_trio_50_tasks_each_get_their_own_token(sdsn, nconns):
    async def main():
        conns = [await pg.AsyncConnection.connect(sdsn) for _ in range(nconns)]
        try:
            return await _tokens(conns, 50, _trio_gather)
        finally:
            for c in conns:
                await c.close()
    assert run_trio(main) == []


def test_a_task_cancelled_while_waiting_for_its_turn_leaves_no_trace(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            await conn.execute("CREATE TABLE t (a int)")
            first = asyncio.ensure_future(conn.query("SELECT pg_sleep(0.5)"))
            await asyncio.sleep(0.1)
            queued = asyncio.ensure_future(conn.execute("INSERT INTO t VALUES (1)"))
            third = asyncio.ensure_future(conn.execute("INSERT INTO t VALUES (3)"))
            await asyncio.sleep(0.1)
            queued.cancel()
            with pytest.raises(asyncio.CancelledError):
                await queued
            await first
            assert await third == 1
            assert [r[0] for r in await conn.query("SELECT a FROM t")] == [3]
    run_asyncio(main)


def test_a_transaction_belongs_to_its_task(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            await conn.execute("CREATE TABLE t (a int)")
            order = []

            async def owner():
                async with conn.begin():
                    await conn.execute("INSERT INTO t VALUES (1)")
                    await asyncio.sleep(0.3)  # the other task tries meanwhile
                    order.append("owner commits")

            async def other():
                await asyncio.sleep(0.1)
                # waits until the transaction ends: it never runs inside it
                n = (await conn.query_one("SELECT count(*) FROM t"))[0]
                order.append("other saw %d" % n)

            await asyncio.gather(owner(), other())
            assert order == ["owner commits", "other saw 1"]
    run_asyncio(main)



def test_a_transaction_opened_by_a_statement_belongs_to_its_task(sdsn):
    # BEGIN sent as a plain statement (query's fast path, execute): the turn's end learns
    # from the engine's Turns that a transaction is open, and keeps it the task's
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            await conn.execute("CREATE TABLE t (a int)")
            order = []

            async def owner(begin):
                await begin("BEGIN")
                await conn.query("INSERT INTO t VALUES (1)")
                await asyncio.sleep(0.3)  # the other task tries meanwhile
                order.append("owner commits")
                await conn.query("COMMIT")

            async def other():
                await asyncio.sleep(0.1)
                n = (await conn.query_one("SELECT count(*) FROM t"))[0]
                order.append("other saw %d" % n)

            for begin in (conn.query, conn.execute):
                await asyncio.gather(owner(begin), other())
            assert order == ["owner commits", "other saw 1", "owner commits", "other saw 2"]
    run_asyncio(main)


def test_a_transaction_left_open_by_a_finished_task_passes_to_the_next(sdsn):
    # asyncio.wait_for (before 3.12) and create_task run a call in a task of their own,
    # which opens the PEP 249 transaction and ends: the caller goes on with it (it used
    # to wait for that task's transaction to end: for ever)
    async def main():
        async with await pg.AsyncConnection.connect(sdsn, autocommit=False) as conn:
            await conn.execute("CREATE TABLE t (a int)")
            await conn.commit()
            await asyncio.ensure_future(conn.execute("INSERT INTO t VALUES (1)"))
            await asyncio.wait_for(conn.execute("INSERT INTO t VALUES (2)"), 5)
            await asyncio.wait_for(conn.query("SELECT count(*) FROM t"), 5)
            assert (await conn.query_one("SELECT count(*) FROM t"))[0] == 2  # no hang
            await conn.commit()
            return [r[0] for r in await conn.query("SELECT a FROM t ORDER BY a")]
    assert run_asyncio(main) == [1, 2]


def test_a_task_waiting_for_a_transaction_whose_task_ended_goes_on(sdsn):
    # the task was set aside while another task's transaction was open; that task ends
    # without ending it: the waiting one takes the transaction over, on asyncio and trio
    async def main(spawn, sleep):
        async with await pg.AsyncConnection.connect(sdsn, autocommit=False) as conn:
            await conn.execute("DROP TABLE IF EXISTS t")  # run on each loop
            await conn.execute("CREATE TABLE t (a int)")
            await conn.commit()
            seen = []

            async def opener():
                await conn.execute("INSERT INTO t VALUES (1)")  # and ends, left open
                await sleep(0.3)

            async def waiter():
                await sleep(0.1)
                seen.append((await conn.query_one("SELECT count(*) FROM t"))[0])
            await spawn(opener, waiter)
            await conn.rollback()
            return seen

    async def asyncio_main():
        async def spawn(*fns):
            await asyncio.wait_for(asyncio.gather(*(f() for f in fns)), 10)
        return await main(spawn, asyncio.sleep)

    async def trio_main():
        import trio

        async def spawn(*fns):
            with trio.fail_after(10):
                async with trio.open_nursery() as n:
                    for f in fns:
                        n.start_soon(f)
        return await main(spawn, trio.sleep)
    assert run_asyncio(asyncio_main) == [1]
    assert run_trio(trio_main) == [1]


# ---- connecting --------------------------------------------------------------------------------

def test_connect_resolves_a_host_name_with_the_loop(dsn, tcp_port, admin):
    db = admin.query_one("SELECT current_database()")[0]
    user = admin.query_one("SELECT current_user")[0]

    async def main():
        conn = await pg.AsyncConnection.connect(
            "host=localhost port=%d dbname=%s user=%s" % (tcp_port, db, user))
        try:
            info = conn.info()
            assert info["host"] == "localhost"
            return (await conn.query_one("SELECT inet_client_addr() IS NOT NULL"))[0]
        finally:
            await conn.close()
    assert run_asyncio(main) is True
    assert run_trio(main) is True


def test_connect_to_an_unknown_host_name_is_an_operational_error():
    async def main():
        with pytest.raises(pg.OperationalError, match="could not translate host name"):
            await pg.AsyncConnection.connect("host=no-such-host.invalid connect_timeout=5")
    run_asyncio(main)


def test_connect_error_is_an_operational_error(sdsn):
    async def main():
        with pytest.raises(pg.OperationalError):
            await pg.AsyncConnection.connect(sdsn + " dbname=no_such_database_here")
    run_asyncio(main)
    run_trio(main)


def test_dsn_hosts_to_resolve():
    assert _dsn.hosts("host=/tmp port=5") is None
    assert _dsn.hosts("host=127.0.0.1") is None
    assert _dsn.hosts("host=db hostaddr=10.0.0.1") is None
    assert _dsn.hosts("host='db one' port=6") == (["db one"], ["6"])
    assert _dsn.hosts("host=a,/sock,b port=1,2,3") == (["a", "/sock", "b"], ["1", "2", "3"])
    assert _dsn.hosts("postgresql://u:p@db:5433,[::1]:5/x?sslmode=require") == \
        (["db", "::1"], ["5433", "5"])
    assert _dsn.with_addresses(["a", "/sock", "b"], ["1", "2", "3"],
                               [["10.0.0.1", "::1"], [], ["10.0.0.2"]]) == \
        {"host": "a,a,/sock,b", "hostaddr": "10.0.0.1,::1,,10.0.0.2", "port": "1,1,2,3"}
