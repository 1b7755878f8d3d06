# SPDX-License-Identifier: MIT
"""A pool in PEP 249 mode (``autocommit=False``) keeps its connections from one block to
the next, the session reset all the same. Was: the default reset's statements opened a
transaction (PEP 249 mode begins one implicitly), so every return found the connection "in
a transaction" and closed and replaced it: a reconnect per checkout, each counted in
``returns_bad``."""

from __future__ import annotations

import uuid

import pytest

import PostPyro as pg

ROUNDS = 3


@pytest.fixture
def app():
    return "pp_p249_" + uuid.uuid4().hex[:10]


def test_a_pep249_pool_reuses_its_connection_and_resets_it(dsn, app):
    with pg.Pool(dsn, min_size=1, max_size=1, autocommit=False,
                 application_name=app) as pool:
        pids = set()
        for _ in range(ROUNDS):
            with pool.connection(timeout=10) as conn:
                assert conn.autocommit is False
                pids.add(conn.info()["backend_pid"])
                assert conn.query_one("SHOW work_mem")[0] != "7777kB"  # reset
                conn.execute("SET work_mem = '7777kB'")
        stats = pool.stats()
        assert len(pids) == 1, pids
        assert stats["returns_bad"] == 0 and stats["connections_num"] == 1, stats


@pytest.mark.parametrize("library", ["asyncio", "trio"])
def test_a_pep249_async_pool_reuses_its_connection_and_resets_it(dsn, app, library):
    async def main():
        async with pg.AsyncPool(dsn, min_size=1, max_size=1, autocommit=False,
                                application_name=app) as pool:
            pids = set()
            for _ in range(ROUNDS):
                async with pool.connection(timeout=10) as conn:
                    assert conn.autocommit is False
                    pids.add(conn.info()["backend_pid"])
                    assert (await conn.query_one("SHOW work_mem"))[0] != "7777kB"
                    await conn.execute("SET work_mem = '7777kB'")
            stats = pool.stats()
            assert len(pids) == 1, pids
            assert stats["returns_bad"] == 0 and stats["connections_num"] == 1, stats
    if library == "asyncio":
        import asyncio
        asyncio.run(asyncio.wait_for(main(), 60))
    else:
        import trio
        trio.run(main)
