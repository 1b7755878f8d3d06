# SPDX-License-Identifier: MIT
"""A pool's close() waiting for its lent connections, one of which leaks meanwhile (its
checkout object and the connection dropped, so the collector closes it): close() notices
within a filler's nap and returns, the counts settled. Was: nothing looked for leaked
connections once close() had stopped the filler, so close() waited its whole timeout and
the pool still counted the connection in use."""

from __future__ import annotations

import gc
import logging
import threading
import time
import uuid

import pytest

import PostPyro as pg

CLOSE_TIMEOUT = 30.0  # what close() would wait for a connection that never comes back
BOUND = 10.0          # the filler's nap (2 s) and a loaded machine's margin


@pytest.fixture
def app():
    return "pp_pclose_" + uuid.uuid4().hex[:10]


def test_pool_close_notices_a_connection_leaked_while_it_waits(dsn, app, caplog):
    caplog.set_level(logging.WARNING, logger="PostPyro.pool")
    pool = pg.Pool(dsn, min_size=1, max_size=1, application_name=app)
    pool.wait(10)
    box = [pool.connection().__enter__()]  # the checkout object is garbage at once
    took = []

    def close():
        start = time.monotonic()
        pool.close(CLOSE_TIMEOUT)
        took.append(time.monotonic() - start)
    t = threading.Thread(target=close)
    t.start()
    time.sleep(0.5)  # close() waits for the lent connection
    assert not took
    box.clear()  # leaked: nothing references it any more
    gc.collect()
    t.join(CLOSE_TIMEOUT + 10)
    assert took and took[0] < BOUND, took
    assert pool.stats()["pool_in_use"] == 0
    assert "dropped without giving its connection back" in caplog.text


@pytest.mark.parametrize("library", ["asyncio", "trio"])
def test_async_pool_close_notices_a_connection_leaked_while_it_waits(dsn, app, caplog,
                                                                     library):
    caplog.set_level(logging.WARNING, logger="PostPyro.pool")
    took = []

    async def main(sleep, spawn):
        pool = pg.AsyncPool(dsn, min_size=1, max_size=1, application_name=app, open=False)
        await pool.open(wait=True, timeout=10)
        box = [await pool.connection().__aenter__()]

        async def close():
            start = time.monotonic()
            await pool.close(CLOSE_TIMEOUT)
            took.append(time.monotonic() - start)
        spawn(close())
        await sleep(0.5)
        assert not took
        box.clear()
        gc.collect()
        end = time.monotonic() + CLOSE_TIMEOUT + 10
        while not took and time.monotonic() < end:
            await sleep(0.05)
        assert took and took[0] < BOUND, took
        assert pool.stats()["pool_in_use"] == 0

    if library == "asyncio":
        import asyncio

        async def amain():
            tasks = []
            await main(asyncio.sleep, lambda c: tasks.append(asyncio.ensure_future(c)))
            await asyncio.gather(*tasks)
        asyncio.run(amain())
    else:
        import trio

        async def tmain():
            async with trio.open_nursery() as nursery:
                await main(trio.sleep, lambda c: nursery.start_soon(lambda: c))
        trio.run(tmain)
    assert "dropped without giving its connection back" in caplog.text
