# SPDX-License-Identifier: MIT
"""Async connection pool benchmark: checkout + trivial query + return on asyncio, PostPyro's
pg.AsyncPool side by side with asyncpg's pool and psycopg_pool's AsyncConnectionPool, in the
same run.

    tests/bench/run-pool.sh --async              # throwaway server, CPython (+ PyPy)
    tests/bench/run-pool.sh --async --quick      # a tenth of the checkouts, one repeat
    python3 tests/bench/pool_bench_async.py --dsn 'host=... dbname=...' [--out report.md]

Workloads (every pool has min_size = max_size = 4, autocommit, no check):
- 1 task: N checkouts, each `SELECT 1` and back; also the same query N times on one
  connection without a pool, so that "overhead per checkout" = pool time - plain time;
- 50 tasks sharing the 4 connections (checkouts wait and are handed over), N in all;
- the pool alone: the same two without a query (the holder only yields once to the loop,
  `await asyncio.sleep(0)`), which is the pool's own cost per checkout, undiluted by the
  drivers' query costs and the server.

Both wall time and the process's CPU time (time.process_time(): user + system; everything
runs in this one process) are measured; on a loaded machine CPU time is the steadier one.

Pools, like for like: with a session reset on return — PostPyro's default, asyncpg's
default (it always resets: advisory locks, CLOSE ALL, UNLISTEN *, RESET ALL), psycopg_pool
with PostPyro's reset SQL — and without — PostPyro reset=False, asyncpg with a Connection
class whose reset() does nothing, psycopg_pool's default. Runs are interleaved (repeat 1 of
everything, then repeat 2, …), each warmed up; medians shown. Each interpreter runs in its own
process (--child); under PyPy only PostPyro (asyncpg is a CPython extension and psycopg's
ctypes libpq fails there).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

from pool_bench import RESET_SQL, run_bench

POOLS = ("postpyro", "postpyro_noreset", "asyncpg", "asyncpg_noreset", "psycopg",
         "psycopg_reset")
LABELS = {
    "postpyro": "PostPyro AsyncPool (default: session reset)",
    "postpyro_noreset": "PostPyro AsyncPool, reset=False",
    "asyncpg": "asyncpg pool (default: session reset)",
    "asyncpg_noreset": "asyncpg pool, reset() doing nothing",
    "psycopg": "psycopg_pool async (default: no reset)",
    "psycopg_reset": "psycopg_pool async, reset = PostPyro's session reset",
}
# (PostPyro, other, what): the like-for-like comparisons
PAIRS = (("postpyro", "asyncpg", "both reset"), ("postpyro_noreset", "asyncpg_noreset",
                                                  "neither resets"),
         ("postpyro", "psycopg_reset", "both reset"), ("postpyro_noreset", "psycopg",
                                                       "neither resets"))


cpu = time.process_time  # user + system CPU of this process, finer than os.times()


async def make_pool(kind, dsn):
    """(pool, checkout(pool) -> async context manager, query(conn), close())."""
    if kind.startswith("postpyro"):
        import PostPyro as pg
        pool = pg.AsyncPool(dsn, min_size=4, max_size=4,
                            reset=False if kind == "postpyro_noreset" else None)
        await pool.open(wait=True)
        return pool, (lambda p: p.connection()), (lambda c: c.query("SELECT 1")), pool.close
    if kind.startswith("asyncpg"):
        import asyncpg

        class NoReset(asyncpg.Connection):
            async def reset(self, *, timeout=None):
                return None

        cls = NoReset if kind == "asyncpg_noreset" else asyncpg.Connection
        pool = await asyncpg.create_pool(min_size=4, max_size=4,
                                         connection_class=cls, **_asyncpg_args(dsn))
        return pool, (lambda p: p.acquire()), (lambda c: c.fetch("SELECT 1")), pool.close
    import psycopg_pool

    async def reset(c):
        await c.execute(RESET_SQL)

    pool = psycopg_pool.AsyncConnectionPool(
        dsn, min_size=4, max_size=4, kwargs={"autocommit": True}, open=False,
        reset=reset if kind == "psycopg_reset" else None)
    await pool.open(wait=True)

    async def query(c):
        cur = await c.execute("SELECT 1")
        return await cur.fetchall()
    return pool, (lambda p: p.connection()), query, pool.close


def _asyncpg_args(dsn):
    """asyncpg takes a URL or keywords, not a key=value string: the keywords of one."""
    if "://" in dsn:
        return {"dsn": dsn}
    kv = dict(part.split("=", 1) for part in dsn.split())
    out = {"host": kv.get("host"), "port": int(kv.get("port", 5432)), "user": kv.get("user"),
           "database": kv.get("dbname")}
    if "password" in kv:
        out["password"] = kv["password"]
    return out


async def plain(kind, dsn, n):
    """The query alone, n times on one connection (wall, cpu)."""
    if kind.startswith("postpyro"):
        import PostPyro as pg
        conn = await pg.AsyncConnection.connect(dsn)
        run, close = (lambda: conn.query("SELECT 1")), conn.close
    elif kind.startswith("asyncpg"):
        import asyncpg
        conn = await asyncpg.connect(**_asyncpg_args(dsn))
        run, close = (lambda: conn.fetch("SELECT 1")), conn.close
    else:
        import psycopg

        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)

        async def run():
            cur = await conn.execute("SELECT 1")
            return await cur.fetchall()
        close = conn.close
    for _ in range(max(1, n // 10)):
        await run()
    t0, c0 = time.perf_counter(), cpu()
    for _ in range(n):
        await run()
    out = time.perf_counter() - t0, cpu() - c0
    await close()
    return out


async def loop(kind, dsn, n, ntasks, empty=False):
    pool, checkout, query, close = await make_pool(kind, dsn)
    if empty:
        query = _yield
    try:
        async def work(count):
            for _ in range(count):
                async with checkout(pool) as conn:
                    await query(conn)

        await work(max(1, n // 10))  # warm up (PyPy's JIT, statement caches)
        per = n // ntasks
        t0, c0 = time.perf_counter(), cpu()
        await asyncio.gather(*(work(per) for _ in range(ntasks)))
        return time.perf_counter() - t0, cpu() - c0
    finally:
        await close()


async def _yield(conn):
    await asyncio.sleep(0)


async def child(args):
    out = {}
    for _ in range(args.repeats):
        for kind in args.pools:
            if kind in ("postpyro", "asyncpg", "psycopg"):
                out.setdefault((kind, "plain"), []).append(await plain(kind, args.dsn, args.n))
            for ntasks in (1, 50):
                out.setdefault((kind, ntasks), []).append(await loop(kind, args.dsn, args.n,
                                                                     ntasks))
                out.setdefault((kind, "alone%d" % ntasks), []).append(
                    await loop(kind, args.dsn, args.n, ntasks, empty=True))
    json.dump([[k[0], k[1], v] for k, v in out.items()], sys.stdout)


def available(pools):
    out = []
    for kind in pools:
        mod = {"postpyro": "PostPyro", "asyncpg": "asyncpg",
               "psycopg": "psycopg_pool"}[kind.split("_")[0]]
        try:
            __import__(mod)
            out.append(kind)
        except ImportError:
            pass
    return out


def report(results, n):
    lines = []
    for interp, data in results.items():
        med = {}
        for kind, tasks, runs in data:
            med[(kind, tasks)] = (statistics.median(r[0] for r in runs),
                                  statistics.median(r[1] for r in runs))

        def us(key, i):
            return med[key][i] / n * 1e6

        def over(kind, i):
            return us((kind, 1), i) - us((kind.split("_")[0], "plain"), i)

        lines.append("### %s\n" % interp)
        lines.append("N = %d checkouts per run; µs per checkout (median), wall / CPU; "
                     "overhead = the pooled loop minus the same query on one connection "
                     "without a pool.\n" % n)
        lines.append("| pool | 1 task wall | 1 task CPU | overhead wall | overhead CPU "
                     "| 50 tasks wall | 50 tasks CPU | alone, 1 task CPU "
                     "| alone, 50 tasks CPU |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for kind in POOLS:
            if (kind, 1) not in med:
                continue
            lines.append("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |" % (
                LABELS[kind], us((kind, 1), 0), us((kind, 1), 1), over(kind, 0),
                over(kind, 1), us((kind, 50), 0), us((kind, 50), 1), us((kind, "alone1"), 1),
                us((kind, "alone50"), 1)))
        for kind in ("postpyro", "asyncpg", "psycopg"):
            if (kind, "plain") in med:
                lines.append("| (%s, one connection, no pool) | %.1f | %.1f "
                             "| – | – | – | – | – | – |"
                             % (kind, us((kind, "plain"), 0), us((kind, "plain"), 1)))
        pairs = [p for p in PAIRS if (p[1], 1) in med and (p[0], 1) in med]
        if pairs:
            lines.append("")
            lines.append("Ratios, PostPyro / the other (below 1: PostPyro is faster or "
                         "cheaper):\n")
            lines.append("| comparison | 1 task wall | 1 task CPU | overhead wall "
                         "| overhead CPU | 50 tasks wall | 50 tasks CPU | alone, 1 task CPU "
                         "| alone, 50 tasks CPU |")
            lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")

            def ratio(a, b, key, i):
                return med[(a, key)][i] / med[(b, key)][i]
            for a, b, what in pairs:
                lines.append("| %s vs %s (%s) | %.2f | %.2f | %s | %s | %.2f | %.2f | %.2f "
                             "| %.2f |" % (
                                 a, b, what, ratio(a, b, 1, 0), ratio(a, b, 1, 1),
                                 _div(over(a, 0), over(b, 0)), _div(over(a, 1), over(b, 1)),
                                 ratio(a, b, 50, 0), ratio(a, b, 50, 1),
                                 ratio(a, b, "alone1", 1), ratio(a, b, "alone50", 1)))
        lines.append("")
    return "\n".join(lines)


def _div(a, b):
    """a / b, or "n/a" when b is not a positive number (an overhead within the noise)."""
    return "%.2f" % (a / b) if b > 0 else "n/a"


def main():
    def run_child(args):
        args.pools = available(args.pools)
        return asyncio.run(child(args))
    run_bench(__doc__, __file__, 10000, POOLS, run_child, report, "## Async connection pools (asyncio)",
              "run me with tests/bench/run-pool.sh --async")


if __name__ == "__main__":
    main()
