# SPDX-License-Identifier: MIT
"""pg.AsyncPool and pg.AsyncNullPool against the suite's server (issue 13), on asyncio (and
trio where it says). Server restarts: test_pool_restart_async.py.

The load test and the cancellation test run 1 000 tasks; their checkout counts are small
here and larger with PP_POOL_FULL=1.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import time
import uuid

import pytest

import PostPyro as pg
from PostPyro.rows import dict_row

from conftest import in_forked_child

FULL = os.environ.get("PP_POOL_FULL") == "1"


def run(fn, *args, limit=120):
    return asyncio.run(asyncio.wait_for(fn(*args), limit))  # a hang fails, never blocks CI


def sessions(admin, app: str) -> int:
    return admin.query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                           [app])[0]


async def eventually(predicate, limit: float = 5.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


@pytest.fixture
def app():
    return "pp_apool_" + uuid.uuid4().hex[:10]


@pytest.fixture
def make(dsn, app):
    def make(cls=None, **kw):
        kw.setdefault("application_name", app)
        return (cls or pg.AsyncPool)(dsn, **kw)
    return make


async def consistent(pool, admin, app):
    """The pool's counts agree with each other and with what the server sees."""
    def settled():
        s = pool.stats()
        return (s["pool_in_use"] == 0 and s["requests_waiting"] == 0
                and s["pool_available"] == s["pool_size"] >= s["pool_min"]
                and sessions(admin, app) == s["pool_size"])

    assert await eventually(settled), (sessions(admin, app), sorted(pool.stats().items()))


# ---- basics -----------------------------------------------------------------------------------


def test_a_checkout_gives_an_async_connection_and_the_block_gives_it_back(make, admin, app):
    async def main():
        async with make(min_size=2, max_size=3) as pool:
            await pool.wait(10)
            async with pool.connection() as conn:
                assert isinstance(conn, pg.AsyncConnection)
                assert (await conn.query_one("SELECT 40 + 2"))[0] == 42
                assert pool.stats()["pool_in_use"] == 1
            s = pool.stats()
            assert s["requests_num"] == 1 and s["pool_in_use"] == 0
            assert s["pool_available"] == 2 and s["pool_min"] == 2 and s["pool_max"] == 3
            await consistent(pool, admin, app)
        assert pool.closed
        assert await eventually(lambda: sessions(admin, app) == 0)
    run(main)


def test_exports_stats_keys_and_repr(dsn):
    for name in ("AsyncPool", "AsyncNullPool"):
        assert name in pg.__all__ and getattr(pg, name).__name__ == name
    pool = pg.AsyncPool(dsn + " password=s3cr3t-pw", min_size=0, name="orders")
    assert "not open" in repr(pool) and "s3cr3t" not in repr(pool)  # no loop ran: not open
    keys = {"requests_num", "requests_waiting", "requests_wait_ms", "requests_timeouts",
            "connections_num", "connections_errors", "connections_lost", "returns_bad",
            "usage_ms", "pool_min", "pool_max", "pool_size", "pool_available"}
    assert keys <= set(pool.stats()) and set(pool.stats()) == set(pg.Pool.stats(
        pg.Pool(dsn, min_size=0, open=False)))
    with pytest.raises(pg.ProgrammingError, match="min_size"):
        pg.AsyncPool(dsn, min_size=5, max_size=2, open=False)
    with pytest.raises(pg.ProgrammingError, match="reset"):
        pg.AsyncPool(dsn, reset="yes", open=False)
    with pytest.raises(pg.ProgrammingError, match="min_size must be 0"):
        pg.AsyncNullPool(dsn, min_size=1, open=False)


def test_open_close_and_the_errors_of_a_pool_not_open_or_closed(make, admin, app):
    async def main():
        pool = make(min_size=2, open=False)
        with pytest.raises(pg.InterfaceError, match="not open"):
            async with pool.connection():
                pass
        await pool.open(wait=True, timeout=10)
        assert sessions(admin, app) == 2 and "open" in repr(pool)
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
        await pool.close()
        await pool.close()
        assert "closed" in repr(pool)
        with pytest.raises(pg.InterfaceError, match="closed"):
            async with pool.connection():
                pass
        with pytest.raises(pg.InterfaceError, match="closed"):
            await pool.open()
        assert await eventually(lambda: sessions(admin, app) == 0)
        # made inside a running loop with open=True: open at once
        pool = make(min_size=1)
        await pool.wait(10)
        await pool.close()
    run(main)


def test_a_pool_used_from_another_event_loop_says_so(make):
    async def first():
        pool = make(min_size=1, max_size=1)
        await pool.wait(10)
        return pool

    async def second(pool):
        async with pool.connection() as conn:  # an idle connection: no waiting needed
            assert (await conn.query_one("SELECT 1"))[0] == 1
            with pytest.raises(pg.InterfaceError, match="event loop that opened it"):
                async with pool.connection(timeout=1):
                    pass
        await pool.close()

    run(second, run(first))


def test_works_on_trio_too(make, admin, app):
    trio = pytest.importorskip("trio")

    async def main():
        async with make(min_size=1, max_size=3, timeout=10) as pool:
            got = []

            async def one(i):
                async with pool.connection() as conn:
                    got.append((await conn.query_one("SELECT $1::int", [i]))[0])
                    await trio.sleep(0.01)

            async with trio.open_nursery() as nursery:
                for i in range(30):
                    nursery.start_soon(one, i)
            assert sorted(got) == list(range(30))
            # a cancel scope cutting a wait and a holder short leaves nothing behind
            for delay in (0.0, 0.005, 0.02):
                async with trio.open_nursery() as nursery:
                    for i in range(20):
                        nursery.start_soon(one, i)
                    await trio.sleep(delay)
                    nursery.cancel_scope.cancel()
            with trio.move_on_after(5):
                while pool.stats()["pool_in_use"] or sessions(admin, app) != \
                        pool.stats()["pool_size"]:
                    await trio.sleep(0.02)
            s = pool.stats()
            assert s["pool_in_use"] == 0 and s["requests_waiting"] == 0
            assert s["pool_available"] == s["pool_size"] == sessions(admin, app) <= 3
        with trio.move_on_after(5):
            while sessions(admin, app):
                await trio.sleep(0.02)
        assert sessions(admin, app) == 0

    trio.run(main)


# ---- waiting ----------------------------------------------------------------------------------


def test_timeout_and_max_waiting(make):
    async def main():
        async with make(min_size=1, max_size=1, max_waiting=2) as pool:
            async with pool.connection():
                start = time.monotonic()
                with pytest.raises(pg.PoolTimeout, match="no connection within"):
                    async with pool.connection(timeout=0.2):
                        pass
                assert 0.15 < time.monotonic() - start < 3.0
                waiting = [asyncio.ensure_future(_borrow(pool)) for _ in range(2)]
                assert await eventually(lambda: pool.stats()["requests_waiting"] == 2)
                with pytest.raises(pg.TooManyRequests, match="max_waiting"):
                    async with pool.connection():
                        pass
            assert await asyncio.gather(*waiting) == [1, 1]
            s = pool.stats()
            assert s["requests_timeouts"] == 1 and s["requests_errors"] == 1
            assert s["requests_waiting"] == 0
    run(main)


async def _borrow(pool, timeout=20):
    async with pool.connection(timeout=timeout) as conn:
        return (await conn.query_one("SELECT 1"))[0]


def test_waiting_is_first_come_first_served(make):
    async def main():
        async with make(min_size=1, max_size=1) as pool:
            order = []

            async def borrower(i):
                async with pool.connection(timeout=20):
                    order.append(i)
                    await asyncio.sleep(0)

            tasks = []
            async with pool.connection():
                for i in range(8):
                    tasks.append(asyncio.ensure_future(borrower(i)))
                    assert await eventually(lambda: pool.stats()["requests_waiting"] == i + 1)
            await asyncio.gather(*tasks)
            assert order == list(range(8))
    run(main)


def test_closing_the_pool_fails_the_waiting_checkouts(make):
    async def main():
        pool = make(min_size=1, max_size=1)
        holder = pool.connection()
        conn = await holder.__aenter__()
        waiter = asyncio.ensure_future(_borrow(pool))
        assert await eventually(lambda: pool.stats()["requests_waiting"] == 1)
        closer = asyncio.ensure_future(pool.close(timeout=5))
        with pytest.raises(pg.InterfaceError, match="closed"):
            await waiter
        await holder.__aexit__(None, None, None)  # given back to a closed pool: closed
        await closer
        assert conn.closed
    run(main)


def test_1000_tasks_share_10_connections(make, admin, app, dsn):
    """The issue's load test on asyncio: every checkout completes, the server never sees
    more than max_size of the pool's sessions, and none is left over."""
    ntasks, per_task = 1000, (20 if FULL else 2)

    async def main():
        seen = {"max": 0}
        stop = asyncio.Event()

        async def monitor():
            mon = await pg.AsyncConnection.connect(dsn)
            while not stop.is_set():
                n = (await mon.query_one("SELECT count(*) FROM pg_stat_activity WHERE "
                                         "application_name = $1", [app]))[0]
                seen["max"] = max(seen["max"], n)
            await mon.close()

        async def worker():
            for _ in range(per_task):
                async with pool.connection() as conn:
                    await conn.query("SELECT 1")
            return per_task

        async with make(min_size=2, max_size=10, timeout=120) as pool:
            m = asyncio.ensure_future(monitor())
            done = await asyncio.gather(*(worker() for _ in range(ntasks)))
            stop.set()
            await m
            assert sum(done) == ntasks * per_task
            s = pool.stats()
            assert s["requests_num"] == ntasks * per_task and s["requests_timeouts"] == 0
            assert 1 <= seen["max"] <= 10 and s["pool_size"] <= 10
            await consistent(pool, admin, app)
        assert await eventually(lambda: sessions(admin, app) == 0)
    run(main, limit=600)


# ---- what comes back ----------------------------------------------------------------------------


def test_the_next_borrower_sees_none_of_the_previous_sessions_state(make, admin):
    name = "pp_apool_t_" + uuid.uuid4().hex[:8]
    admin.execute("CREATE TABLE %s (v int)" % name)
    admin.execute("GRANT INSERT ON %s TO pg_monitor" % name)

    async def main():
        async with make(min_size=1, max_size=1) as pool:
            async with pool.connection() as conn:
                pid = conn.info()["backend_pid"]
                await conn.execute("SET search_path = pg_catalog")
                await conn.execute("SET statement_timeout = '123s'")
                await conn.execute("SET ROLE pg_monitor")
                await conn.listen(name)  # unique: suites share the server
                admin.execute("NOTIFY %s, 'for the first borrower'" % name)
                await asyncio.sleep(0.05)  # it arrives; the block ends without reading it
                key = uuid.uuid4().int >> 66  # unique (a bigint): suites share the server
                await conn.execute("SELECT pg_advisory_lock(%d)" % key)
                await conn.execute("CREATE TEMP TABLE pp_apool_temp (x int)")
                conn.row_factory = dict_row
                conn.timeout = 77
                await conn.execute("DO $$BEGIN RAISE NOTICE 'for the first borrower'; END$$")
                assert conn.notices
                await conn.execute("BEGIN")
                await conn.execute("INSERT INTO public.%s VALUES (1)" % name)
            async with pool.connection() as conn:
                assert conn.info()["backend_pid"] == pid  # the same session, cleaned
                assert (await conn.query_one("SHOW search_path"))[0] == '"$user", public'
                assert (await conn.query_one("SHOW statement_timeout"))[0] == "0"
                assert (await conn.query_one("SELECT current_user = session_user"))[0]
                assert await conn.query("SELECT * FROM pg_listening_channels()") == []
                assert await conn.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                                        "AND pid = $1", [pid]) == []
                assert await conn.query("SELECT 1 FROM pg_class WHERE relname = "
                                        "'pp_apool_temp' AND relpersistence = 't'") == []
                assert conn.row_factory is None and conn.timeout is None
                assert conn.notices == [] and conn.transaction_status == "idle"
                assert [n async for n in conn.notifies(timeout=0.05)] == []
            assert pool.stats()["returns_bad"] == 1
    try:
        run(main)
        assert admin.query_one("SELECT count(*) FROM %s" % name)[0] == 0  # rolled back
    finally:
        admin.execute("DROP TABLE %s" % name)


def test_failed_transactions_pep249_commit_and_autocommit(make, admin):
    name = "pp_apool_c_" + uuid.uuid4().hex[:8]
    admin.execute("CREATE TABLE %s (v int)" % name)

    async def main():
        async with make(min_size=1, max_size=1) as pool:
            async with pool.connection() as conn:
                await conn.execute("BEGIN")
                with pytest.raises(pg.DatabaseError):
                    await conn.execute("SELECT 1/0")
                assert conn.transaction_status == "inerror"
            async with pool.connection() as conn:
                conn.autocommit = False
            async with pool.connection() as conn:
                assert conn.transaction_status == "idle" and conn.autocommit is True
            assert pool.stats()["returns_bad"] == 1
        async with make(min_size=1, max_size=1, autocommit=False) as pool:
            async with pool.connection() as conn:  # PEP 249 mode: committed at the end
                await conn.execute("INSERT INTO %s VALUES (1)" % name)
            with pytest.raises(ZeroDivisionError):
                async with pool.connection() as conn:  # an exception: rolled back
                    await conn.execute("INSERT INTO %s VALUES (2)" % name)
                    1 / 0
    try:
        run(main)
        assert admin.query("SELECT v FROM %s" % name) == [(1,)]
    finally:
        admin.execute("DROP TABLE %s" % name)


def test_a_connection_given_back_with_a_call_running_is_replaced(make, admin, app):
    async def main():
        async with make(min_size=1, max_size=1) as pool:
            async with pool.connection() as conn:
                pid = conn.info()["backend_pid"]
                # another task's statement still runs when the block ends
                running = asyncio.ensure_future(conn.query("SELECT pg_sleep(30)"))
                await asyncio.sleep(0.1)
            with pytest.raises(pg.Error):
                await running
            async with pool.connection(timeout=10) as conn:
                assert conn.info()["backend_pid"] != pid
            assert pool.stats()["returns_bad"] == 1
            await consistent(pool, admin, app)
            assert admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid]) == []
    run(main)


def test_dead_connections_are_never_handed_out(make, admin, app):
    async def main():
        async with make(min_size=4, max_size=4) as pool:
            await pool.wait(10)
            async with pool.connection() as conn:  # broken while lent: replaced, counted
                admin.execute("SELECT pg_terminate_backend($1)", [conn.info()["backend_pid"]])
                with pytest.raises(pg.OperationalError):
                    await conn.execute("SELECT 1")
            s = pool.stats()
            assert s["connections_lost"] == 1 and s["returns_bad"] == 1
            await pool.wait(10)
            assert await eventually(lambda: pool.stats()["pool_available"] == 4)
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = $1", [app])
            assert await eventually(lambda: sessions(admin, app) == 0)
            await asyncio.sleep(0.2)  # the backends leave pg_stat_activity before the sockets
            for _ in range(8):  # the first one finds a dead one: all idle ones go
                async with pool.connection(timeout=10) as conn:
                    assert (await conn.query_one("SELECT 1"))[0] == 1
            assert pool.stats()["connections_lost"] == 5
            assert await eventually(lambda: pool.stats()["pool_available"] == 4)
            await consistent(pool, admin, app)
    run(main)


def test_reset_false_an_async_reset_and_a_reset_that_fails(make, admin, app):
    async def main():
        async with make(min_size=1, max_size=1, reset=False) as pool:
            async with pool.connection() as conn:
                await conn.execute("SET search_path = pg_catalog")
            async with pool.connection() as conn:
                assert (await conn.query_one("SHOW search_path"))[0] == "pg_catalog"
        calls = []

        async def reset(conn):
            calls.append(conn.info()["backend_pid"])
            await pg.AsyncPool.reset_session(conn)

        async with make(min_size=1, max_size=1, reset=reset) as pool:
            async with pool.connection() as conn:
                await conn.execute("SET search_path = pg_catalog")
                pid = conn.info()["backend_pid"]
            async with pool.connection() as conn:
                assert calls == [pid]
                assert (await conn.query_one("SHOW search_path"))[0] == '"$user", public'

        async def failing(conn):
            raise RuntimeError("reset failed")

        async with make(min_size=1, max_size=1, reset=failing) as pool:
            async with pool.connection() as conn:
                pid = conn.info()["backend_pid"]
            async with pool.connection(timeout=10) as conn:
                assert conn.info()["backend_pid"] != pid
                assert pool.stats()["returns_bad"] == 1
            assert pool.stats()["returns_bad"] == 2
            await consistent(pool, admin, app)
    run(main)


def test_max_lifetime_max_idle_and_resize(make, admin, app):
    async def main():
        async with make(min_size=1, max_size=1, max_lifetime=0.3) as pool:
            async with pool.connection() as conn:
                pid = conn.info()["backend_pid"]
            await asyncio.sleep(0.4)
            async with pool.connection(timeout=10) as conn:
                assert conn.info()["backend_pid"] != pid
        async with make(min_size=1, max_size=4, max_idle=0.3) as pool:
            held = [pool.connection() for _ in range(4)]
            for h in held:
                await h.__aenter__()
            assert pool.stats()["pool_size"] == 4
            for h in held:
                await h.__aexit__(None, None, None)
            assert await eventually(lambda: pool.stats()["pool_size"] == 1)
            await pool.resize(3, 5)
            await pool.wait(10)
            assert pool.stats()["pool_size"] == 3 and pool.stats()["pool_max"] == 5
            await pool.resize(1)
            assert await eventually(lambda: pool.stats()["pool_size"] == 1)
            await consistent(pool, admin, app)
    run(main)


# ---- hooks ------------------------------------------------------------------------------------


def test_async_configure_check_and_conninfo_functions(dsn, admin, app):
    async def main():
        seen, checked, made = [], [], []

        async def conninfo():
            made.append(len(made))
            return dsn + " application_name=%s" % app

        async def configure(conn):
            seen.append(conn.info()["backend_pid"])
            await conn.execute("SET work_mem = '7MB'")

        async def check(conn):
            checked.append(conn.info()["backend_pid"])
            if len(checked) == 1:
                raise pg.OperationalError("not this one")

        async with pg.AsyncPool(conninfo, min_size=2, max_size=2, configure=configure,
                                check=check, reset=False) as pool:
            await pool.wait(10)
            async with pool.connection(timeout=10) as conn:
                pid = conn.info()["backend_pid"]
                assert (await conn.query_one("SHOW work_mem"))[0] == "7MB"
            assert checked[0] != pid and checked[-1] == pid
            assert await eventually(lambda: pool.stats()["pool_available"] == 2)
            assert len(seen) == len(made) == 3  # the one refused by check was replaced
            await consistent(pool, admin, app)
        # the ready-made check and pool.check()
        async with pg.AsyncPool(dsn, min_size=3, max_size=3, application_name=app,
                                check=pg.AsyncPool.check_connection) as pool:
            await pool.wait(10)
            victim = admin.query_one("SELECT pid FROM pg_stat_activity WHERE "
                                     "application_name = $1 LIMIT 1", [app])[0]
            admin.execute("SELECT pg_terminate_backend($1)", [victim])
            assert await eventually(lambda: sessions(admin, app) == 2)
            await pool.check()
            assert await eventually(lambda: pool.stats()["pool_available"] == 3)
            await consistent(pool, admin, app)
    run(main)


def test_plain_function_hooks(dsn, admin, app):
    """conninfo, configure, check and reset may also be plain functions."""
    calls = {"dsn": 0, "configure": 0, "check": 0, "reset": 0}

    def conninfo():
        calls["dsn"] += 1
        return dsn + " application_name=" + app

    def count(name):
        def hook(conn):
            calls[name] += 1
        return hook

    async def main():
        async with pg.AsyncPool(conninfo, min_size=1, max_size=1, configure=count("configure"),
                                check=count("check"), reset=count("reset")) as pool:
            for _ in range(3):
                async with pool.connection(timeout=10) as conn:
                    assert (await conn.query_one("SELECT 1"))[0] == 1
            await consistent(pool, admin, app)
    run(main)
    assert calls == {"dsn": 1, "configure": 1, "check": 3, "reset": 3}


def test_connect_failures_back_off_and_call_reconnect_failed():
    async def main():
        failed = []

        async def gave_up(pool):
            failed.append(pool)

        dsn = "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2"
        async with pg.AsyncPool(dsn, min_size=1, max_size=1, reconnect_timeout=0.6,
                                reconnect_failed=gave_up) as pool:
            with pytest.raises(pg.PoolTimeout, match="last connect failed"):
                await pool.wait(0.3)
            assert await eventually(lambda: failed == [pool], 5)
            s = pool.stats()
            assert 2 <= s["connections_errors"] <= 12, s  # growing delays, not a tight loop
            with pytest.raises(pg.PoolTimeout, match="last connect failed"):
                async with pool.connection(timeout=0.3):
                    pass
    run(main)


# ---- cancellation, closed coroutines, fork ----------------------------------------------------


def test_tasks_cancelled_at_random_points_leak_nothing(make, admin, app, caplog):
    """1 000 tasks (10 000 with PP_POOL_FULL=1), 8 at a time on 3 connections, each
    cancelled after a random 0-8 ms: while waiting for a connection, while holding one
    (in a statement, in a transaction), while giving one back (its rollback or session
    reset, made slower here so that cancellations land in it). Afterwards every connection
    is idle or gone, the counts agree, and the server sees exactly the pool's sessions."""
    rounds, per_round = (1250 if FULL else 125), 8
    rnd = random.Random(13)
    landed = {"waiting": 0, "holding": 0, "returning": 0, "done": 0}

    async def borrower(phase):
        phase[0] = "waiting"
        async with pool_ref[0].connection(timeout=30) as conn:
            phase[0] = "holding"
            if rnd.random() < 0.3:
                await conn.execute("BEGIN")  # the return rolls it back
            await conn.query("SELECT pg_sleep($1)", [rnd.choice((0, 0.001, 0.003))])
            phase[0] = "returning"
        phase[0] = "done"

    pool_ref = []

    async def main():
        loop = asyncio.get_running_loop()
        async def slow_reset(conn):
            await pg.AsyncPool.reset_session(conn)
            await conn.execute("SELECT pg_sleep(0.002)")

        async with make(min_size=1, max_size=3, timeout=30, reset=slow_reset) as pool:
            pool_ref.append(pool)
            for _ in range(rounds):
                tasks = []
                for _ in range(per_round):
                    phase = ["start"]
                    task = asyncio.ensure_future(borrower(phase))
                    loop.call_later(rnd.uniform(0, 0.008), task.cancel)
                    tasks.append((task, phase))
                for task, phase in tasks:
                    try:
                        await task
                        landed["done"] += 1
                    except asyncio.CancelledError:
                        landed[phase[0] if phase[0] != "start" else "waiting"] += 1
            s = pool.stats()
            # pool_size also counts a connection the filler is still opening (in place of
            # one a cancelled return closed); consistent() waits for it to be idle too
            assert s["pool_available"] + s["pool_in_use"] <= s["pool_size"], s
            await consistent(pool, admin, app)
            assert pool.stats()["pool_size"] <= 3
    run(main, limit=600)
    assert sum(landed.values()) == rounds * per_round
    assert landed["waiting"] and landed["holding"] and landed["returning"], landed
    # each connection came back by its own return, none by the garbage collector
    assert "dropped without" not in caplog.text


def test_a_coroutine_closed_while_holding_gives_its_connection_back(make, admin, app, caplog):
    async def main():
        async with make(min_size=1, max_size=1, timeout=10) as pool:
            async def holder():
                async with pool.connection() as conn:
                    await conn.query("SELECT pg_sleep(10)")

            await pool.wait(10)
            coro = holder()
            coro.send(None)  # runs until the statement waits for the server
            assert pool.stats()["pool_in_use"] == 1
            coro.close()  # GeneratorExit inside the block: nothing can be awaited
            s = pool.stats()
            assert s["pool_in_use"] == 0 and s["returns_bad"] == 1
            async with pool.connection() as conn:  # replaced
                assert (await conn.query_one("SELECT 1"))[0] == 1
            await consistent(pool, admin, app)

            # a checkout object dropped without leaving its block, and its connection
            # unreachable too (the one pool connection: `conn` above still referenced it)
            del conn
            await pool.connection().__aenter__()
            gc.collect()
            assert await eventually(lambda: pool.stats()["pool_in_use"] == 0, 10)
            await consistent(pool, admin, app)
    run(main)
    assert "a checkout was dropped without giving its connection back" in caplog.text


def test_a_forked_child_cannot_use_the_pool_and_leaves_the_parents_sessions(make, admin, app):
    async def main():
        async with make(min_size=2, max_size=2) as pool:
            await pool.wait(10)
            pids = sorted(r[0] for r in admin.query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1", [app]))

            def child():
                try:  # no event loop runs in the child: drive the coroutines by hand
                    pool.connection().__aenter__().send(None)
                    msg = "no error"
                except pg.InterfaceError as exc:
                    msg = str(exc)
                try:
                    pool.close().send(None)
                except StopIteration:
                    pass
                return msg

            msg = in_forked_child(child)
            assert "parent process" in msg and "fork" in msg
            assert sorted(r[0] for r in admin.query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1", [app])) == pids
            for _ in range(4):
                async with pool.connection() as conn:
                    assert conn.info()["backend_pid"] in pids
    run(main)


def test_a_checkout_dropped_after_aenter_leaves_its_connection_to_its_user(make, admin, app,
                                                                            caplog):
    # the checkout object of `await pool.connection().__aenter__()` is garbage at once while
    # its connection is in use. Was: the filler closed the connection under its user.
    async def main():
        async with make(min_size=1, max_size=1, timeout=10) as pool:
            await pool.wait(10)
            conn = await pool.connection().__aenter__()
            gc.collect()

            async def meanwhile():
                await asyncio.sleep(0.3)
                await pool._reclaim_orphans()  # what each round of the filler does first
                with pytest.raises(pg.PoolTimeout):
                    async with pool.connection(timeout=0.3):
                        pass
            task = asyncio.ensure_future(meanwhile())
            assert (await conn.query_one("SELECT 1 FROM pg_sleep(1)"))[0] == 1
            await task
            assert (await conn.query_one("SELECT 6 * 7"))[0] == 42  # still its user's
            assert pool.stats()["pool_in_use"] == 1
            assert "dropped without" not in caplog.text
            # truly leaked, the connection unreachable too: closed, counted gone, replaced
            del conn
            gc.collect()
            async with pool.connection(timeout=10) as conn:
                assert (await conn.query_one("SELECT 1"))[0] == 1
            await consistent(pool, admin, app)
    run(main)
    assert "a checkout was dropped without giving its connection back" in caplog.text


# ---- AsyncNullPool -----------------------------------------------------------------------------


def test_null_pool_opens_a_connection_per_checkout_and_bounds_them(make, admin, app):
    async def main():
        async with make(cls=pg.AsyncNullPool, max_size=3, timeout=30) as pool:
            assert sessions(admin, app) == 0
            now = {"open": 0, "max": 0}
            pids = set()

            async def worker():
                for _ in range(5):
                    async with pool.connection() as conn:
                        pids.add(conn.info()["backend_pid"])
                        now["open"] += 1
                        now["max"] = max(now["max"], now["open"])
                        await conn.query("SELECT pg_sleep(0.005)")
                        now["open"] -= 1

            await asyncio.gather(*(worker() for _ in range(8)))
            assert now["max"] == 3 and len(pids) == 40
            # cancelled while waiting, while connecting, while holding: permits come back
            tasks = [asyncio.ensure_future(worker()) for _ in range(8)]
            await asyncio.sleep(0.02)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            s = pool.stats()
            assert s["pool_size"] == 0 and s["pool_in_use"] == 0 and s["requests_waiting"] == 0
            await worker()  # all 3 permits are there
            assert await eventually(lambda: sessions(admin, app) == 0)
        async with pg.AsyncNullPool("host=127.0.0.1 port=1 dbname=x user=x", max_size=1) as bad:
            with pytest.raises(pg.OperationalError):
                async with bad.connection():
                    pass
            assert bad.stats()["connections_errors"] == 1 and bad.stats()["pool_size"] == 0
    run(main)


def test_trio_tasks_cancelled_at_random_points_leak_nothing(make, admin, app):
    """The random-cancellation test on trio, whose cancellation is level-triggered (every
    await in a cancelled scope raises again): each task runs in a cancel scope with a random
    0-8 ms deadline. A deadline that passes during the return lets the (shielded) return
    finish ("returned")."""
    trio = pytest.importorskip("trio")
    rounds, per_round = (1250 if FULL else 125), 8
    rnd = random.Random(17)
    landed = {"waiting": 0, "holding": 0, "returning": 0, "returned": 0, "done": 0}

    async def slow_reset(conn):
        await pg.AsyncPool.reset_session(conn)
        await conn.execute("SELECT pg_sleep(0.002)")

    async def main():
        async with make(min_size=1, max_size=3, timeout=30, reset=slow_reset) as pool:
            async def borrower():
                phase = "waiting"
                with trio.move_on_after(rnd.uniform(0, 0.008)) as scope:
                    async with pool.connection() as conn:
                        phase = "holding"
                        if rnd.random() < 0.3:
                            await conn.execute("BEGIN")
                        await conn.query("SELECT pg_sleep($1)", [rnd.choice((0, 0.001, 0.003))])
                        phase = "returning"
                    # a return is shielded: a deadline that passed before it ended (and
                    # after the last await of the block) shows only here
                    if scope.deadline <= trio.current_time():
                        phase = "returned"
                    else:
                        phase = "done"
                landed[phase if scope.cancelled_caught or phase == "returned" else "done"] += 1

            for _ in range(rounds):
                async with trio.open_nursery() as nursery:
                    for _ in range(per_round):
                        nursery.start_soon(borrower)
            with trio.move_on_after(10):
                while pool.stats()["pool_in_use"] or \
                        sessions(admin, app) != pool.stats()["pool_size"]:
                    await trio.sleep(0.02)
            s = pool.stats()
            assert s["pool_in_use"] == 0 and s["requests_waiting"] == 0, s
            assert s["pool_available"] == s["pool_size"] == sessions(admin, app) <= 3, s

    trio.run(main)
    assert sum(landed.values()) == rounds * per_round
    assert landed["waiting"] and landed["holding"] and landed["returned"], landed
