# SPDX-License-Identifier: MIT
"""Connection pool benchmark: checkout + trivial query + return, PostPyro's pg.Pool side by
side with psycopg_pool, in the same run.

    tests/bench/run-pool.sh                 # throwaway server, CPython (+ PyPy when present)
    tests/bench/run-pool.sh --quick         # a tenth of the checkouts, one repeat
    python3 tests/bench/pool_bench.py --dsn 'host=... dbname=...' [--out report.md]

Workloads (every pool has min_size = max_size = 4, autocommit on, no check):
- 1 thread: N checkouts, each `SELECT 1` and back; also the same query N times on one
  connection without a pool, so that "overhead per checkout" = pool time - plain time;
- 8 threads: the same from 8 threads sharing the 4 connections (so checkouts wait and are
  handed over), N in all.

Pools: PostPyro with its default return (rollback if needed + session reset: one round trip)
and with reset=False (the same work as psycopg_pool's default, which resets nothing), and
psycopg_pool (Debian python3-psycopg-pool) with and without the same session reset. Runs are
interleaved (repeat 1 of everything, then repeat 2, …), each first warmed up; medians shown.
Each interpreter runs in its own process (--child); under PyPy only PostPyro (psycopg's ctypes
libpq fails there).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time

RESET_SQL = ("CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; "
             "SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES")

POOLS = ("postpyro", "postpyro_noreset", "psycopg", "psycopg_reset")
LABELS = {
    "postpyro": "PostPyro Pool (default: session reset)",
    "postpyro_noreset": "PostPyro Pool, reset=False",
    "psycopg": "psycopg_pool (default: no reset)",
    "psycopg_reset": "psycopg_pool, reset = the same session reset",
}


def make_pool(kind, dsn):
    if kind.startswith("postpyro"):
        import PostPyro as pg
        pool = pg.Pool(dsn, min_size=4, max_size=4,
                       reset=False if kind == "postpyro_noreset" else None)
        pool.wait(30)
        return pool, (lambda p: p.connection()), (lambda c: c.query("SELECT 1")), pool.close
    import psycopg_pool
    reset = (lambda c: c.execute(RESET_SQL)) if kind == "psycopg_reset" else None
    pool = psycopg_pool.ConnectionPool(dsn, min_size=4, max_size=4, reset=reset,
                                       kwargs={"autocommit": True}, open=True)
    pool.wait(30)
    return (pool, (lambda p: p.connection()), (lambda c: c.execute("SELECT 1").fetchall()),
            pool.close)


def plain(kind, dsn, n):
    """The query alone, n times on one connection: what a checkout adds is measured
    against this."""
    if kind.startswith("postpyro"):
        import PostPyro as pg
        conn = pg.Connection(dsn)
        run = (lambda: conn.query("SELECT 1"))
    else:
        import psycopg
        conn = psycopg.connect(dsn, autocommit=True)
        run = (lambda: conn.execute("SELECT 1").fetchall())
    for _ in range(max(1, n // 10)):
        run()
    t0 = time.perf_counter()
    for _ in range(n):
        run()
    dt = time.perf_counter() - t0
    conn.close()
    return dt


def loop(kind, dsn, n, nthreads):
    pool, checkout, query, close = make_pool(kind, dsn)
    try:
        def work(count):
            for _ in range(count):
                with checkout(pool) as conn:
                    query(conn)

        work(max(1, n // 10))  # warm up (PyPy's JIT, statement caches)
        per = n // nthreads
        threads = [threading.Thread(target=work, args=(per,)) for _ in range(nthreads)]
        t0 = time.perf_counter()
        if nthreads == 1:
            work(per)
        else:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        return time.perf_counter() - t0
    finally:
        close()


def child(args):
    out = {}
    for rep in range(args.repeats):
        for kind in args.pools:
            if kind.startswith("psycopg") and not _has_psycopg():
                continue
            if kind in ("postpyro", "psycopg"):
                out.setdefault((kind, "plain"), []).append(plain(kind, args.dsn, args.n))
            for nthreads in (1, 8):
                out.setdefault((kind, nthreads), []).append(loop(kind, args.dsn, args.n,
                                                                 nthreads))
    json.dump([[k[0], k[1], v] for k, v in out.items()], sys.stdout)


def _has_psycopg():
    try:
        import psycopg_pool  # noqa: F401
        return True
    except ImportError:
        return False


def us(t, n):
    return t / n * 1e6


def report(results, n):
    lines = []
    for interp, data in results.items():
        med = {(k, t): statistics.median(v) for k, t, v in data}
        lines.append("### %s\n" % interp)
        lines.append("N = %d checkouts per run; µs per checkout (median); overhead = the pooled "
                     "loop minus the same query on one connection without a pool.\n" % n)
        lines.append("| pool | 1 thread µs | overhead µs | 8 threads µs (wall / checkout) |")
        lines.append("|---|---:|---:|---:|")
        for kind in POOLS:
            if (kind, 1) not in med:
                continue
            base = med.get((kind.split("_")[0], "plain"))
            one = us(med[(kind, 1)], n)
            over = one - us(base, n) if base is not None else float("nan")
            lines.append("| %s | %.1f | %.1f | %.1f |" % (LABELS[kind], one, over,
                                                          us(med[(kind, 8)], n)))
        for kind in ("postpyro", "psycopg"):
            if (kind, "plain") in med:
                lines.append("| (%s, one connection, no pool) | %.1f | – | – |"
                             % ("PostPyro" if kind == "postpyro" else "psycopg",
                                us(med[(kind, "plain")], n)))
        if ("psycopg", 1) in med:
            def over(kind):
                return us(med[(kind, 1)], n) - us(med[(kind.split("_")[0], "plain")], n)
            lines.append("")
            lines.append("Ratios (PostPyro / psycopg_pool; below 1 is faster):\n")
            lines.append("| comparison | 1 thread, time | 1 thread, overhead | 8 threads, time |")
            lines.append("|---|---:|---:|---:|")
            for a, b in (("postpyro_noreset", "psycopg"), ("postpyro", "psycopg_reset"),
                         ("postpyro", "psycopg")):
                lines.append("| %s vs %s | %.2f | %.2f | %.2f |" % (
                    LABELS[a], LABELS[b], med[(a, 1)] / med[(b, 1)], over(a) / over(b),
                    med[(a, 8)] / med[(b, 8)]))
        lines.append("")
    return "\n".join(lines)


def main():
    run_bench(__doc__, __file__, 20000, POOLS, child, report, "## Connection pools",
              "run me with tests/bench/run-pool.sh")


def run_bench(doc, script, n, all_pools, run_child, make_report, title, how):
    """What pool_bench.py and pool_bench_async.py share: the options, then ``run_child(args)``
    in a --child process, else ``script --child`` under each interpreter (CPython, and PyPy
    for PostPyro's pools only) and ``make_report``'s Markdown printed under ``title``."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--dsn", default=os.environ.get("PP_BENCH_DSN") or
                    os.environ.get("PP_TEST_DSN"))
    ap.add_argument("--n", type=int, default=n)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--pools", type=lambda s: s.split(","), default=list(all_pools))
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.n //= 10
        args.repeats = 1
    if not args.dsn:
        ap.error("no server: give --dsn, or " + how)
    if args.child:
        return run_child(args)
    results = {}
    interps = [("CPython %s" % platform.python_version(), [sys.executable])]
    if shutil.which("pypy3"):
        interps.append(("PyPy", ["pypy3"]))
    for name, cmd in interps:
        env = dict(os.environ)
        pools = args.pools
        if name == "PyPy":  # psycopg's ctypes libpq fails on Debian's PyPy 3.9: PostPyro only
            env["PYTHONPATH"] = env.get("PYTHONPATH", "") + ":/usr/lib/python3/dist-packages"
            pools = [p for p in pools if p.startswith("postpyro")]
        proc = subprocess.run(cmd + [os.path.abspath(script), "--child", "--dsn", args.dsn,
                                     "--n", str(args.n), "--repeats", str(args.repeats),
                                     "--pools", ",".join(pools)],
                              env=env, stdout=subprocess.PIPE, timeout=3600, check=True)
        results[name] = json.loads(proc.stdout)
    text = title + "\n\n" + make_report(results, args.n)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
