# SPDX-License-Identifier: MIT
"""Pool.wait() / close() and their async twins are woken by the change they wait for (a
connection opening, a lent one coming back), within a bound, and do not look again and again
meanwhile: each counts how often the waiting caller woke while nothing changed."""

from __future__ import annotations

import threading
import time

import pytest

import PostPyro as pg

# from a wait's timeout to its return: PyPy's async wait returned 2.6 s late once, a whole
# suite on each interpreter at once at load 12 (was 0.5 s); a wait that ignores its timeout
# never returns (the filler's dsn() waits for the gate, set only afterwards)
BOUND = 4.0
# from a lent connection's return to close()'s: the return itself, the closer's wake-up and
# its closing the connection on a loaded 2-core machine (was BOUND: 0.5 s); not woken, it
# would wait its 30 s timeout (a waiter looking again and again is MAX_LOOKS's)
WOKEN_BOUND = 3.0
STALL = 1.0    # how long nothing changes while the caller waits
MAX_LOOKS = 3  # wakeups allowed meanwhile (was: one every 0.1 s, 0.05 s or 0.01 s)


class Counting:
    """Stands for a pool's condition (sync) or event-loop primitives (async): counts the
    waits of one thread or task."""

    def __init__(self, inner, current):
        self._inner = inner
        self._current = current
        self.watched = None
        self.looks = 0

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def _count(self):
        if self.watched is not None and self._current() is self.watched:
            self.looks += 1

    def wait(self, *args):  # Condition.wait(timeout) and the loops' wait(waker, timeout)
        self._count()
        return self._inner.wait(*args)

    async def sleep(self, seconds):
        self._count()
        await self._inner.sleep(seconds)


class AsyncCounting(Counting):
    async def wait(self, *args):
        self._count()
        return await self._inner.wait(*args)


# ---- sync --------------------------------------------------------------------------------

def test_wait_is_woken_by_the_connection_it_waits_for(sdsn):
    gate = threading.Event()
    asked, opened = [], []

    def dsn():
        asked.append(1)
        if len(asked) > 1:
            gate.wait(30)  # the second connection comes once the test says so
        return sdsn
    pool = pg.Pool(dsn, min_size=2, max_size=2, configure=lambda c: opened.append(1))
    try:
        pool._wakeup = counting = Counting(pool._wakeup, threading.current_thread)
        counting.watched = threading.current_thread()
        timer = threading.Timer(STALL, gate.set)
        timer.start()
        started = time.monotonic()
        pool.wait(30)
        took = time.monotonic() - started
        assert len(opened) == 2
        assert STALL * 0.9 <= took < STALL + 5  # woken, well before the timeout
        assert counting.looks <= MAX_LOOKS
        timer.join()
    finally:
        pool.close()


def test_wait_times_out_on_time_without_spinning(sdsn):
    gate = threading.Event()
    pool = pg.Pool(lambda: gate.wait(30) and sdsn, min_size=1, max_size=1)
    try:
        pool._wakeup = counting = Counting(pool._wakeup, threading.current_thread)
        counting.watched = threading.current_thread()
        started = time.monotonic()
        with pytest.raises(pg.PoolTimeout):
            pool.wait(STALL)
        took = time.monotonic() - started
        assert STALL * 0.99 <= took < STALL + BOUND
        assert counting.looks <= MAX_LOOKS
    finally:
        gate.set()
        pool.close()


@pytest.mark.parametrize("cls", [pg.Pool, pg.NullPool])
def test_close_is_woken_by_the_last_connection_coming_back(sdsn, cls):
    pool = cls(sdsn, min_size=1 if cls is pg.Pool else 0, max_size=1)
    if cls is pg.Pool:
        pool.wait(30)
    checkout = pool.connection()
    conn = checkout.__enter__()
    assert conn.query_one("SELECT 1")[0] == 1
    pool._wakeup = counting = Counting(pool._wakeup, threading.current_thread)
    ended = []

    def close():
        counting.watched = threading.current_thread()
        pool.close(timeout=30)
        ended.append(time.monotonic())
    closer = threading.Thread(target=close)
    closer.start()
    time.sleep(STALL)
    assert not ended  # it waits for the lent connection
    back = time.monotonic()
    checkout.__exit__(None, None, None)
    closer.join(30)
    assert ended and ended[0] - back < WOKEN_BOUND
    assert counting.looks <= MAX_LOOKS
    assert conn.closed


# ---- async (asyncio and trio) ------------------------------------------------------------

def run_async(library, main):
    if library == "asyncio":
        import asyncio
        return asyncio.run(asyncio.wait_for(main(asyncio, asyncio.current_task), 60))
    import trio

    async def bounded(*args):
        with trio.fail_after(60):
            return await main(*args)
    return trio.run(bounded, trio, trio.lowlevel.current_task)


async def spawn(lib, fn):
    """Run fn() beside the caller; returns an awaitable for its end."""
    if lib.__name__ == "asyncio":
        task = lib.ensure_future(fn())
        return task
    done = lib.Event()

    async def run():
        try:
            await fn()
        finally:
            done.set()
    lib.lowlevel.spawn_system_task(run)
    return done.wait()


@pytest.mark.parametrize("library", ["asyncio", "trio"])
def test_async_wait_is_woken_by_the_connection_it_waits_for(sdsn, library):
    async def main(lib, current):
        gate = lib.Event()
        asked = []

        async def dsn():
            asked.append(1)
            if len(asked) > 1:
                await gate.wait()
            return sdsn
        pool = pg.AsyncPool(dsn, min_size=2, max_size=2)
        await pool.open()
        try:
            pool._loop = counting = AsyncCounting(pool._loop, current)

            async def release():
                await lib.sleep(STALL)
                gate.set()
            released = await spawn(lib, release)
            counting.watched = current()
            started = time.monotonic()
            await pool.wait(30)
            took = time.monotonic() - started
            assert STALL * 0.9 <= took < STALL + 5  # woken, well before the timeout
            assert counting.looks <= MAX_LOOKS  # was: a look every 10 ms
            await released
        finally:
            await pool.close()
    run_async(library, main)


@pytest.mark.parametrize("library", ["asyncio", "trio"])
def test_async_wait_times_out_on_time_without_spinning(sdsn, library):
    async def main(lib, current):
        gate = lib.Event()

        async def dsn():
            await gate.wait()
            return sdsn
        pool = pg.AsyncPool(dsn, min_size=1, max_size=1)
        await pool.open()
        try:
            pool._loop = counting = AsyncCounting(pool._loop, current)
            counting.watched = current()
            started = time.monotonic()
            with pytest.raises(pg.PoolTimeout):
                await pool.wait(STALL)
            took = time.monotonic() - started
            assert STALL * 0.99 <= took < STALL + BOUND
            assert counting.looks <= MAX_LOOKS
        finally:
            gate.set()
            await pool.close()
    run_async(library, main)


@pytest.mark.parametrize("library", ["asyncio", "trio"])
@pytest.mark.parametrize("null", [False, True])
def test_async_close_is_woken_by_the_last_connection_coming_back(sdsn, library, null):
    async def main(lib, current):
        cls = pg.AsyncNullPool if null else pg.AsyncPool
        pool = cls(sdsn, min_size=0 if null else 1, max_size=1)
        await pool.open(wait=not null)
        checkout = pool.connection()
        conn = await checkout.__aenter__()
        assert (await conn.query_one("SELECT 1"))[0] == 1
        pool._loop = counting = AsyncCounting(pool._loop, current)
        ended = []

        async def close():
            counting.watched = current()
            await pool.close(timeout=30)
            ended.append(time.monotonic())
        closed = await spawn(lib, close)
        await lib.sleep(STALL)
        assert not ended  # it waits for the lent connection
        back = time.monotonic()
        await checkout.__aexit__(None, None, None)
        await closed
        assert ended and ended[0] - back < WOKEN_BOUND
        assert counting.looks <= MAX_LOOKS  # was: a look every 10 ms
    run_async(library, main)
