# SPDX-License-Identifier: MIT
"""AsyncConnection's machinery: one fiber per connection runs call after call."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import PostPyro as pg
from PostPyro._session import dsn_with

from test_async import (_asyncio_gather, _trio_gather, run_asyncio, run_trio, trio,
                        wait_until_sleeping)


def _fiber_identity(conn):
    f = conn._fiber
    return f._g if hasattr(f, "_g") else f._c


async def _same_fiber(sdsn):
    async with await pg.AsyncConnection.connect(sdsn) as conn:
        await conn.query("SELECT 1")
        first = _fiber_identity(conn)
        for k in range(50):
            assert (await conn.query_one("SELECT $1::int4, pg_sleep($2)",
                                         [k, 0.001 if k % 10 == 0 else 0]))[0] == k
        with pytest.raises(pg.errors.DivisionByZero):
            await conn.query("SELECT 1 / 0")
        assert (await conn.query_one("SELECT 2"))[0] == 2
        return _fiber_identity(conn) is first


def test_one_fiber_runs_every_call_of_a_connection(sdsn):
    # a new greenlet per call cost CPython 3.11 an mmap + munmap of its frame stack
    assert run_asyncio(_same_fiber, sdsn)
    assert run_trio(_same_fiber, sdsn)


def _order_of_turns(gather):
    # Task 0 holds the turn (its statement waits for an advisory lock) while tasks 1-7 queue
    # up, each once the one before is in the queue; then the lock goes. (Timed queueing,
    # task i after 0.05 + 0.01 * i s, failed on a loaded machine: tasks whose sleeps ended
    # in the same loop iteration start in any order, trio even shuffles them on purpose.)
    async def main(sdsn):
        sleep = asyncio.sleep if gather is _asyncio_gather else trio.sleep
        order = []
        key = uuid.uuid4().int >> 66  # an advisory lock's, unique: suites share the server
        async with await pg.AsyncConnection.connect(sdsn) as conn, \
                await pg.AsyncConnection.connect(sdsn) as locker:
            await locker.execute("SELECT pg_advisory_lock(%d)" % key)
            turns = conn._turns

            async def until(ready):
                for _ in range(6000):  # 30 s
                    if ready():
                        return
                    await sleep(0.005)
                raise AssertionError("the tasks never queued up")

            async def one(i):
                if i == 8:  # not a task of the order: ends task 0's wait once all queue
                    await until(lambda: len(turns.queue) == 7)
                    await locker.execute("SELECT pg_advisory_unlock(%d)" % key)
                    return
                if i > 0:
                    await until(lambda: turns.busy and len(turns.queue) == i - 1)
                await conn.query("SELECT pg_advisory_lock(%d), pg_advisory_unlock(%d)"
                                 % (key, key) if i == 0 else "SELECT 1")
                order.append(i)
            await gather(one, range(9))
        return order
    return main


def test_tasks_sharing_a_connection_take_their_turns_in_order(sdsn):
    assert run_asyncio(_order_of_turns(_asyncio_gather), sdsn) == list(range(8))
    assert run_trio(_order_of_turns(_trio_gather), sdsn) == list(range(8))


def test_on_trio_every_call_is_a_checkpoint(sdsn):
    # trio's rule: a call in a cancelled scope raises Cancelled before it does anything,
    # even when the connection is free and the answer would come at once
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            with trio.CancelScope() as scope:
                scope.cancel()
                await conn.execute("CREATE TABLE t_checkpoint (a int)")
            assert scope.cancelled_caught
            return (await conn.query_one("SELECT to_regclass('t_checkpoint') IS NULL"))[0]
    assert run_trio(main) is True


def test_a_call_abandoned_mid_wait_is_never_resumed_by_the_next_call(sdsn):
    # a coroutine closed while its statement waits (GeneratorExit: nothing can wait then)
    # closes the connection; the next call must say so, not get the abandoned call's end
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn)
        coro = conn.query("SELECT pg_sleep(10)")
        coro.send(None)  # runs until it waits for the socket
        coro.close()
        assert conn.closed
        for _ in range(2):
            with pytest.raises(pg.InterfaceError, match="connection is closed"):
                await conn.query("SELECT 1")
    run_asyncio(main)


class _CountingLib:
    """connection_async's ``lib``, counting the calls of pp_cancel_poll."""

    def __init__(self, lib):
        self._lib = lib
        self.polls = 0

    def __getattr__(self, name):
        if name == "pp_cancel_poll":
            def poll(*args):
                self.polls += 1
                return self._lib.pp_cancel_poll(*args)
            return poll
        return getattr(self._lib, name)


@pytest.mark.parametrize("over", ["unix", "tcp"])
def test_close_in_a_cancelled_trio_scope_does_not_spin(sdsn, tcp_port, over, monkeypatch):
    # close() while another task's statement runs delivers a cancel request; in a cancelled
    # scope every unshielded wait raises at once, and the delivery polled in a busy loop
    # (up to its 5 s bound when the server does not answer)
    from PostPyro import connection_async
    counting = _CountingLib(connection_async.lib)
    monkeypatch.setattr(connection_async, "lib", counting)
    if over == "tcp":
        sdsn = dsn_with(sdsn, {"host": "127.0.0.1", "port": str(tcp_port)})

    async def main():
        conn = await pg.AsyncConnection.connect(sdsn)
        pid = conn.info()["backend_pid"]
        failed = []

        async def sleeper():
            try:
                await conn.query("SELECT pg_sleep(10)")
            except pg.InterfaceError as exc:
                failed.append(exc)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sleeper)
            await wait_until_sleeping(sdsn, pid)
            with trio.CancelScope() as scope:
                scope.cancel()
                started = trio.current_time()
                await conn.close()
                took = trio.current_time() - started
        async with await pg.AsyncConnection.connect(sdsn) as other:
            for _ in range(100):  # the server ended the statement (cancel, then the close)
                if not await other.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1",
                                         [pid]):
                    break
                await trio.sleep(0.05)
            else:
                raise AssertionError("the backend still runs")
        return took, failed, conn.closed
    took, failed, closed = run_trio(main)
    assert closed and len(failed) == 1
    assert took < 2.5
    assert counting.polls <= 3  # one per wake-up of its socket (1 here); spinning: 16-216
