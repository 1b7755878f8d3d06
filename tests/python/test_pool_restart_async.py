# SPDX-License-Identifier: MIT
"""pg.AsyncPool across server restarts (issue 13): `pg_ctl restart -m fast` and `-m
immediate`, with the pool idle and with it busy. After the restart no checkout gets a dead
connection, the pool is back to min_size within a few seconds, and stats() counts the lost
connections. (Pool's: test_pool_restart.py, whose helpers these tests share.)"""

from __future__ import annotations

import asyncio
import time

import pytest

import PostPyro as pg

from test_crash_recovery import server, server_env  # noqa: F401,F811 - fixtures
from test_pool_restart import RECOVERY, restart


def run(fn, *args):
    return asyncio.run(asyncio.wait_for(fn(*args), 300))


async def backend_pids(pool, n):
    """The backend pids of n connections lent at once."""
    held = [pool.connection(timeout=30) for _ in range(n)]
    conns = [await h.__aenter__() for h in held]
    try:
        return {c.info()["backend_pid"] for c in conns}
    finally:
        for h in held:
            await h.__aexit__(None, None, None)


async def back_to_min_size(pool) -> float:
    start = time.monotonic()
    while time.monotonic() - start < RECOVERY:
        s = pool.stats()
        if s["pool_available"] >= s["pool_min"] and s["pool_in_use"] == 0:
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    pytest.fail("the pool is not back to min_size after %.0f s: %r" % (RECOVERY, pool.stats()))


@pytest.mark.parametrize("transport", ["unix", "tcp"])
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_an_idle_pool_hands_out_no_dead_connection_after_a_restart(server, mode, transport):
    async def main():
        async with pg.AsyncPool(server[transport], min_size=3, max_size=5) as pool:
            await pool.wait(30)
            before = await backend_pids(pool, 3)
            await asyncio.get_running_loop().run_in_executor(None, restart, server, mode)
            for _ in range(10):  # every checkout works at once: no dead connection
                async with pool.connection(timeout=30) as conn:
                    assert (await conn.query_one("SELECT 1"))[0] == 1
            await back_to_min_size(pool)
            after = await backend_pids(pool, 3)
            assert not before & after
            s = pool.stats()
            assert s["connections_lost"] >= 3, s
            assert s["pool_size"] <= 5
    run(main)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_busy_pool_recovers_from_a_restart(server, mode):
    async def main():
        restarted = {}
        bad = []       # checkouts begun after the restart whose connection was dead
        during = [0]   # statements that failed while the server restarted (expected)
        stop = asyncio.Event()

        async def worker(pool):
            while not stop.is_set():
                began = time.monotonic()
                try:
                    async with pool.connection() as conn:
                        await conn.query("SELECT pg_sleep(0.002)")
                except pg.Error as exc:
                    if "done" in restarted and began > restarted["done"]:
                        bad.append(exc)
                    else:
                        during[0] += 1

        async with pg.AsyncPool(server["unix"], min_size=4, max_size=6, timeout=60) as pool:
            await pool.wait(30)
            workers = [asyncio.ensure_future(worker(pool)) for _ in range(20)]
            try:
                await asyncio.sleep(0.3)
                await asyncio.get_running_loop().run_in_executor(None, restart, server, mode)
                restarted["done"] = time.monotonic()
                await asyncio.sleep(1.0)  # the workers keep borrowing after the restart
            finally:
                stop.set()
                await asyncio.gather(*workers)
            assert not bad, bad[:3]
            await back_to_min_size(pool)
            s = pool.stats()
            assert s["connections_lost"] >= 1, s
            assert s["pool_size"] <= 6 and s["pool_in_use"] == 0
            assert s["requests_waiting"] == 0
            async with pool.connection() as conn:
                n = (await conn.query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                    "'client backend' AND pid <> pg_backend_pid()"))[0]
            assert n == pool.stats()["pool_size"] - 1  # the server sees exactly the pool's
    run(main)
