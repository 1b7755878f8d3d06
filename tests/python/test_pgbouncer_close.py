# SPDX-License-Identifier: MIT
"""Statements the cache evicts, behind a PgBouncer that tracks prepared statements
(>= 1.21, max_prepared_statements; tests/pgbouncer-new.sh builds 1.24.1). PgBouncer sees a
protocol-level Close, which libpostpyro sends with libpq 17 and later (PQsendClosePrepared),
but not an SQL DEALLOCATE, the fallback with an older libpq: then the statements evicted
stay on PgBouncer's list for the client until it disconnects. The cache is kept tiny, so
that it evicts all the time; sync and nonblocking (AsyncConnection) connections."""

from __future__ import annotations

import asyncio
import os
import subprocess

import pytest

import bouncer as bouncer_proc
import PostPyro as pg

STATEMENTS = 30  # distinct statements, each run twice (the second run caches it)
CACHE = 2


@pytest.fixture(scope="module")
def tracking(admin, tcp_port):
    exe = bouncer_proc.new_pgbouncer()
    db = admin.query_one("SELECT current_database()")[0]
    with bouncer_proc.running(exe, server_port=tcp_port, database=db, user="postgres",
                              pool_mode="transaction", pool_size=2,
                              extra="max_prepared_statements = 20\n"
                                    "admin_users = postgres\n") as d:
        yield d


def native_close() -> bool:
    return pg.libpq_version() >= 170000


def clients_prepared(dsn: str) -> dict:
    """PgBouncer's SHOW CLIENTS: each client's count of prepared statements, by port."""
    port = dsn.split("port=")[1].split()[0]
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}  # not ASan's (asan.sh)
    out = subprocess.run(["psql", "-w", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-X",
                          "-A", "-F", "|", "-d", "pgbouncer", "-c", "SHOW CLIENTS"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=30, check=True, env=env)
    lines = out.stdout.splitlines()
    head = lines[0].split("|")
    rows = [dict(zip(head, line.split("|"))) for line in lines[1:-1]]
    return {int(r["port"]): int(r["prepared_statements"])
            for r in rows if r["database"] != "pgbouncer"}


def workload(query):
    """Each statement twice, then every second one again: all right answers."""
    for k in range(STATEMENTS):
        for _ in range(2):
            assert query("SELECT %d + $1::int" % k, [1]) == k + 1
    for k in range(0, STATEMENTS, 2):
        assert query("SELECT %d + $1::int" % k, [2]) == k + 2


def check_tracked(dsn: str, before: dict) -> None:
    counts = [n for port, n in clients_prepared(dsn).items() if port not in before]
    assert len(counts) == 1, counts
    print("prepared statements PgBouncer counts for the client:", counts[0])
    if native_close():
        # every eviction reached PgBouncer as a Close (the last one evicted goes with the
        # next new statement)
        assert counts[0] <= CACHE + 1
    else:
        assert counts[0] > STATEMENTS // 2  # DEALLOCATE is not tracked (the fallback)


def test_evictions_close_statements_pgbouncer_tracks(tracking):
    before = clients_prepared(tracking)
    with pg.Connection(tracking) as c:
        c.set_statement_cache_size(CACHE)
        workload(lambda sql, p: c.query_one(sql, p)[0])
        check_tracked(tracking, before)
        with c.begin():  # evictions inside a transaction too
            workload(lambda sql, p: c.query_one(sql, p)[0])
        check_tracked(tracking, before)


def test_evictions_close_statements_pgbouncer_tracks_nonblocking(tracking):
    before = clients_prepared(tracking)

    async def main():
        async with await pg.AsyncConnection.connect(tracking) as c:
            await c.set_statement_cache_size(CACHE)
            for k in range(STATEMENTS):
                for _ in range(2):
                    assert (await c.query_one("SELECT %d + $1::int" % k, [1]))[0] == k + 1
            check_tracked(tracking, before)

    asyncio.run(asyncio.wait_for(main(), 120))
