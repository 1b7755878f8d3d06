# SPDX-License-Identifier: MIT
"""AsyncConnection: a COPY cancelled while it waits on the server — task.cancel(),
asyncio.wait_for / asyncio.timeout, a trio cancel scope, a COPY call's ``timeout=`` — is
cancelled on the server, the cancellation (or the timeout's error) is raised, nothing of a
COPY FROM is stored and the connection is idle and usable; inside a transaction, the
transaction is failed and its block rolls it back. (The sync front end's Ctrl-C during a
COPY: test_interrupt_copy.py.)"""

from __future__ import annotations

import asyncio
import io
import sys
import time

import pytest

import PostPyro as pg
from copylock import locked_table, rows_text  # noqa: F401 (a fixture)

trio = pytest.importorskip("trio")

# ~100 KB of rows (more than the server buffers before sending), then a long sleep
SLOW_COPY_TO = ("SELECT repeat('x', 100) FROM generate_series(1, 1000) "
                "UNION ALL SELECT 'y' FROM pg_sleep(12)")
# Without the cancel these COPYs end after 12 s (or when the lock holder is ended).
BOUND = 6.0


def run(lib, fn, *args):
    """``fn(*args)`` on asyncio or trio, bounded: a hang fails instead of blocking CI."""
    if lib == "asyncio":
        return asyncio.run(asyncio.wait_for(fn(*args), 60))

    async def bounded():
        with trio.fail_after(60):
            return await fn(*args)
    return trio.run(bounded)


async def sleep(seconds):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return await trio.sleep(seconds)
    return await asyncio.sleep(seconds)


async def cancelled_after(how, seconds, make):
    """Run the coroutine ``make()`` and cancel it after ``seconds`` the way ``how`` says;
    asserts the cancellation (or the timeout's error) came out. Returns the seconds from
    the cancel to the end."""
    if how == "trio_scope":
        with trio.move_on_after(seconds) as scope:
            await make()
        assert scope.cancelled_caught
        return trio.current_time() - scope.deadline
    if how == "task_cancel":
        task = asyncio.ensure_future(make())
        await asyncio.sleep(seconds)
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - start
    if how == "wait_for":
        start = time.monotonic() + seconds
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(make(), seconds)
        return time.monotonic() - start
    if how == "asyncio_timeout":
        start = time.monotonic() + seconds
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(seconds):
                await make()
        return time.monotonic() - start
    raise AssertionError(how)


HOWS = [pytest.param("asyncio", "task_cancel", id="asyncio-task_cancel"),
        pytest.param("asyncio", "wait_for", id="asyncio-wait_for"),
        pytest.param("asyncio", "asyncio_timeout", id="asyncio-timeout",
                     marks=pytest.mark.skipif(sys.version_info < (3, 11),
                                              reason="asyncio.timeout is 3.11+")),
        pytest.param("trio", "trio_scope", id="trio-move_on_after")]
LIBS = ["asyncio", "trio"]


async def assert_idle(conn, admin, pid):
    """The connection answers, is idle, and its server process is idle (the COPY ended)."""
    assert conn.info()["transaction_status"] == "idle"
    assert (await conn.query_one("SELECT 1"))[0] == 1
    assert admin.query_one("SELECT state FROM pg_stat_activity WHERE pid = $1",
                           [pid])[0] == "idle"


# ---- COPY TO -------------------------------------------------------------------------------

@pytest.mark.parametrize("lib,how", HOWS)
def test_cancelled_copy_to_is_cancelled_on_the_server(sdsn, admin, lib, how):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            pid = conn.info()["backend_pid"]
            out = io.BytesIO()
            took = await cancelled_after(how, 1.0, lambda: conn.copy_to(SLOW_COPY_TO, out))
            assert took < BOUND, took
            assert len(out.getvalue()) >= 50000  # the rows before the sleep were read
            await assert_idle(conn, admin, pid)
    run(lib, main)


@pytest.mark.parametrize("lib", LIBS)
def test_cancelled_async_for_over_a_copy_to(sdsn, admin, lib):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            pid = conn.info()["backend_pid"]
            chunks = []

            async def read_all():
                async with conn.copy("COPY (%s) TO STDOUT" % SLOW_COPY_TO) as cp:
                    async for chunk in cp:
                        chunks.append(chunk)
            how = "trio_scope" if lib == "trio" else "task_cancel"
            assert await cancelled_after(how, 1.0, read_all) < BOUND
            assert chunks
            await assert_idle(conn, admin, pid)
    run(lib, main)


# ---- COPY FROM behind a lock ---------------------------------------------------------------

DATA = rows_text(400000)  # ~17 MB: more than the socket buffers hold
RECORDS = [(i, "some padding to make the data bigger") for i in range(1, 400001)]


async def cancelled_copy_in(conn, admin, holder, how, copy):
    pid = conn.info()["backend_pid"]
    took = await cancelled_after(how, 1.0, copy)
    assert took < BOUND, took
    await assert_idle(conn, admin, pid)
    holder.execute("ROLLBACK")
    assert (await conn.query_one("SELECT count(*) FROM copy_locked"))[0] == 0


@pytest.mark.parametrize("lib,how", HOWS)
def test_cancelled_copy_from_stores_nothing(sdsn, admin, locked_table, lib, how):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            await cancelled_copy_in(conn, admin, locked_table, how,
                                    lambda: conn.copy_from("copy_locked", DATA))
    run(lib, main)


@pytest.mark.parametrize("lib,how", HOWS)
def test_cancelled_copy_records_to_table_stores_nothing(sdsn, admin, locked_table, lib, how):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            await cancelled_copy_in(conn, admin, locked_table, how,
                                    lambda: conn.copy_records_to_table("copy_locked", RECORDS))
    run(lib, main)


@pytest.mark.parametrize("lib", LIBS)
def test_cancelled_while_the_copy_waits_for_a_table_lock(sdsn, admin, locked_table, lib):
    locked_table.execute("LOCK TABLE copy_locked IN SHARE MODE")  # the COPY statement waits

    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            how = "trio_scope" if lib == "trio" else "task_cancel"
            await cancelled_copy_in(conn, admin, locked_table, how,
                                    lambda: conn.copy_from("copy_locked", b"5\tx\n"))
    run(lib, main)


@pytest.mark.parametrize("lib", LIBS)
def test_cancelled_while_the_server_stores_the_rows(sdsn, admin, locked_table, lib):
    # all data sent at once; the end of the COPY waits for row 1's lock
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            how = "trio_scope" if lib == "trio" else "wait_for"
            await cancelled_copy_in(conn, admin, locked_table, how,
                                    lambda: conn.copy_from("copy_locked", rows_text(3)))
    run(lib, main)


@pytest.mark.parametrize("lib", LIBS)
def test_cancelled_write_of_a_copy_block(sdsn, admin, locked_table, lib):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            async def write():
                async with conn.copy("COPY copy_locked FROM STDIN") as cp:
                    await cp.write_rows(RECORDS)
            how = "trio_scope" if lib == "trio" else "task_cancel"
            await cancelled_copy_in(conn, admin, locked_table, how, write)
    run(lib, main)


@pytest.mark.parametrize("lib", LIBS)
def test_cancelled_copy_in_a_transaction_fails_it_and_the_block_rolls_back(
        sdsn, admin, locked_table, lib):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            pid = conn.info()["backend_pid"]
            await conn.execute("CREATE TABLE other (a int)")
            failed = []

            async def work():
                async with conn.begin():
                    await conn.execute("INSERT INTO other VALUES (1)")
                    try:
                        await conn.copy_from("copy_locked", DATA)
                    finally:
                        failed.append(conn.info()["transaction_status"])
            how = "trio_scope" if lib == "trio" else "task_cancel"
            assert await cancelled_after(how, 1.0, work) < BOUND
            assert failed == ["inerror"]  # failed on the server, as a cancelled statement
            await assert_idle(conn, admin, pid)
            assert (await conn.query_one("SELECT count(*) FROM other"))[0] == 0
            locked_table.execute("ROLLBACK")
            assert (await conn.query_one("SELECT count(*) FROM copy_locked"))[0] == 0
    run(lib, main)


def test_cancelled_copy_in_pep249_mode_leaves_the_transaction_failed(sdsn, admin,
                                                                      locked_table):
    # trio: the cancel scope is in the task that began the transaction (asyncio.wait_for
    # on Python < 3.12 runs the call in another task, which then owns the transaction)
    async def main():
        async with await pg.AsyncConnection.connect(sdsn, autocommit=False) as conn:
            with trio.move_on_after(1.0) as scope:
                await conn.copy_from("copy_locked", DATA)
            assert scope.cancelled_caught
            assert conn.info()["transaction_status"] == "inerror"
            with pytest.raises(pg.errors.InFailedSqlTransaction):
                await conn.query("SELECT 1")
            await conn.rollback()
            assert (await conn.query_one("SELECT 1"))[0] == 1
    run("trio", main)


# ---- the connection goes on ----------------------------------------------------------------

@pytest.mark.parametrize("lib", LIBS)
def test_a_copy_after_a_cancelled_copy_works(sdsn, lib):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            await conn.execute("CREATE TABLE t (a int, b text)")
            how = "trio_scope" if lib == "trio" else "task_cancel"
            await cancelled_after(how, 0.5, lambda: conn.copy_to(SLOW_COPY_TO, io.BytesIO()))
            assert await conn.copy_records_to_table("t", [(1, "a"), (2, "b")]) == 2
            out = io.BytesIO()
            assert await conn.copy_to("t", out) == 2
            assert out.getvalue() == b"1\ta\n2\tb\n"
    run(lib, main)
