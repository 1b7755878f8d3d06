# SPDX-License-Identifier: MIT
"""Statements leave the server when the cache evicts them or deallocate() drops them. With
libpq 17 and later that is a protocol-level Close (PQsendClosePrepared), which goes at once,
also inside a transaction and a failed one (it never fails); with an older libpq it is an
SQL DEALLOCATE, which waits until no transaction is open. Either way none is left behind.
Both paths run: `make check` (Debian's libpq 15) and check-extra's libpq 18 part.

The server's list is read with a statement prepared by name: running it looks nothing up,
so it does not drop the statements still waiting for their DEALLOCATE."""

from __future__ import annotations

import asyncio

import pytest

import PostPyro as pg

LIST = "SELECT name FROM pg_prepared_statements ORDER BY name"
_new = iter(range(10 ** 9))


def new_statement() -> str:
    """SQL never run before on the connection (its first run is never cached)."""
    return "SELECT 'new %d'" % next(_new)


def cache_names(rows) -> list:
    """The server's cached statements (the LIST rows without the ones made by prepare)."""
    return [r[0] for r in rows if not r[0].startswith("pp_n")]


def native_close() -> bool:
    return pg.libpq_version() >= 170000


def cached_twice(c, k: int) -> None:
    for _ in range(2):  # the second run prepares it by name, for the cache
        assert c.query_one("SELECT %d + $1::int" % k, [1])[0] == k + 1


def test_an_eviction_in_a_transaction_closes_at_once_or_after_it(sdsn):
    with pg.Connection(sdsn) as c:
        lister = c.prepare(LIST)
        c.set_statement_cache_size(1)
        cached_twice(c, 1)
        first = cache_names(c.query(lister))
        with c.begin() as tx:
            cached_twice(tx, 2)  # evicts the first
            cached_twice(tx, 3)  # evicts the second (the first goes now, at the latest)
            inside = cache_names(tx.query(lister))
        assert len(first) == 1
        # native: the cached one and the one evicted last (it goes with the next new
        # statement); DEALLOCATE: both evicted ones wait for the end of the transaction
        assert len(inside) == (2 if native_close() else 3), inside
        c.query(new_statement())  # every eviction is done by now
        assert len(cache_names(c.query(lister))) == 1


def test_evictions_and_deallocate_in_a_failed_transaction_leave_nothing_behind(sdsn):
    with pg.Connection(sdsn) as c:
        lister = c.prepare(LIST)
        c.set_statement_cache_size(2)
        cached_twice(c, 1)
        mine = c.prepare("SELECT 42")
        tx = c.begin()
        cached_twice(tx, 2)
        with pytest.raises(pg.errors.DivisionByZero):
            tx.query("SELECT 1 / 0")
        assert c.info()["transaction_status"] == "inerror"
        c.set_statement_cache_size(0)  # evicts both, in the failed transaction
        c.deallocate(mine)
        with pytest.raises(pg.errors.InFailedSqlTransaction):
            tx.query(new_statement())
        tx.rollback()
        left = [r[0] for r in c.query(lister)]
        # Close went at once, even in the failed transaction; DEALLOCATE waits
        assert len(left) == (1 if native_close() else 4), left
        c.query(new_statement())
        now = [r[0] for r in c.query(lister)]
        assert len(now) == 1 and now[0].startswith("pp_n")  # the lister only


def test_deallocate_in_a_transaction(sdsn):
    with pg.Connection(sdsn) as c:
        lister = c.prepare(LIST)
        mine = c.prepare("SELECT 42")
        with c.begin() as tx:
            c.deallocate(mine)
            inside = len(tx.query(lister))
            assert tx.query_one("SELECT 1")[0] == 1  # the transaction is fine
        assert inside == (1 if native_close() else 2)
        with pytest.raises(pg.ProgrammingError):
            c.query(mine)
        c.query(new_statement())
        assert len(c.query(lister)) == 1


def test_evictions_in_nonblocking_mode(sdsn):
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as c:
            lister = await c.prepare(LIST)
            await c.set_statement_cache_size(2)
            for k in range(20):
                for _ in range(2):
                    assert (await c.query_one("SELECT %d + $1::int" % k, [1]))[0] == k + 1
            async with c.begin() as tx:
                for k in range(20, 30):
                    for _ in range(2):
                        assert (await tx.query_one("SELECT %d + $1::int" % k, [1]))[0] == k + 1
                inside = len(cache_names(await tx.query(lister)))
            await c.query(new_statement())
            after = len(cache_names(await c.query(lister)))
            return inside, after

    inside, after = asyncio.run(asyncio.wait_for(main(), 60))
    # native: 2 cached + the one evicted last; DEALLOCATE: all ten evicted in it wait
    assert inside == (3 if native_close() else 12), inside
    assert after == 2
