#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Per-statement cost and thread scaling: PostPyro against psycopg2, psycopg 3 and asyncpg.

    tests/bench/run.sh --threads [--quick] [--repeats N] [--out FILE]

Two statements, each run by 1, 2, 4 and 8 threads at once, every thread on its own
connection (asyncpg: as many tasks on one event loop, one connection each):

- ``trivial``: ``SELECT $1::int4`` (one parameter, one row);
- ``catalog``: a query with two parameters returning a few hundred rows of 12 catalog
  columns (oid, name, int2/int4, float4, "char", bool), see SQL_CATALOG.

A run is one process (driver, statement, threads). It first warms up until it runs in
steady state (warmed_up: windows of 100 catalog or 1 000 trivial statements on one
connection, until a window's CPU time has stopped falling; PyPy's JIT needs 500–1 200
catalog statements, CPython and the peers stop at or near the minimum of three windows; the
same rule for every driver), then every thread warms its own connection (a tenth of a
window: caches, prepared statements), all wait at a barrier, and each runs its share of the
statements; the run reports the wall time from the barrier until the last thread ends and
the process's CPU time (user + system, ``getrusage``) over that span.

Rounds: for each repeat and each (statement, threads), every driver runs once, one after
another, in an order rotated between repeats (ABCD, BCDA, …). The tables give each driver's
median over repeats (statements per second, µs per statement, the scaling: throughput at N
threads ÷ at 1); every ratio to a peer is the median of the ratios formed within each repeat
(PostPyro's run ÷ the peer's run next to it), never a ratio of medians taken at different
moments: on a shared machine separate moments move client CPU by 20–40 %.

This is a benchmark, not a test: nothing in ``make check`` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time

from benchlib import kv_dsn, paired_ratio, put_section, rotated

SQL_TRIVIAL = "SELECT $1::int4"
SQL_CATALOG = ("SELECT c.oid, c.relname, c.relnamespace, c.reltype, c.relowner, c.relpages, "
               "c.reltuples, c.relkind, c.relnatts, c.relhasindex, c.relpersistence, n.nspname "
               "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE c.relnatts >= $1 AND n.nspname <> $2")
CATALOG_PARAMS = (0, "no such schema")

STATEMENTS = ["trivial", "catalog"]
# Statements per run, shared between the threads (before it: warmed_up's windows, then a
# tenth of a window per thread).
TOTAL = {"trivial": 20000, "catalog": 1000}
THREADS = [1, 2, 4, 8]
# The warm-up before a run (warmed_up): windows of WARM_WINDOW statements (≈ 50 ms each on
# PyPy: long enough that a collection does not decide it); it stops once WARM_PATIENCE
# windows in a row have not beaten the fastest window so far by WARM_GAIN, and after
# WARM_MAX_WINDOWS at most.
WARM_WINDOW = {"trivial": 1000, "catalog": 100}
WARM_PATIENCE = 2
WARM_GAIN = 0.05
WARM_MAX_WINDOWS = 20
DRIVERS = ["postpyro", "postpyro-pypy", "psycopg2", "psycopg", "asyncpg"]
LABEL = {"postpyro": "PostPyro", "postpyro-pypy": "PostPyro PyPy", "psycopg2": "psycopg2",
         "psycopg": "psycopg 3", "asyncpg": "asyncpg"}


def _fmt(sql):
    return re.sub(r"\$\d+", "%s", sql)


# ---- the loops, per driver (child process) ----------------------------------------------------

def postpyro_loop(dsn):
    import PostPyro as pg

    def connect():
        return pg.Connection(dsn)

    def loop(c, stmt, n):
        q = c.query
        if stmt == "trivial":
            for k in range(n):
                q(SQL_TRIVIAL, [k])
            return 1
        p = list(CATALOG_PARAMS)
        for _ in range(n):
            rows = q(SQL_CATALOG, p)
        return len(rows)
    return connect, loop


def dbapi_loop(dsn, driver):
    if driver == "psycopg2":
        import psycopg2

        def connect():
            c = psycopg2.connect(dsn)
            c.autocommit = True
            return c
    else:
        import psycopg

        def connect():
            return psycopg.connect(dsn, autocommit=True)

    def loop(c, stmt, n):
        cur = c.cursor()
        ex = cur.execute
        if stmt == "trivial":
            sql, one = _fmt(SQL_TRIVIAL), cur.fetchone
            for k in range(n):
                ex(sql, (k,))
                one()
            return 1
        sql, fetch = _fmt(SQL_CATALOG), cur.fetchall
        for _ in range(n):
            ex(sql, CATALOG_PARAMS)
            rows = fetch()
        return len(rows)
    return connect, loop


def _cpu():
    """The process's CPU time so far (user + system, all threads), in seconds."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def warm_window(stmt, n):
    """Statements in a warm-up window of a run of n statements (fewer with --quick)."""
    return max(1, n * WARM_WINDOW[stmt] // TOTAL[stmt])


def warmed_up(times):
    """True once the warm-up windows' CPU times (in order) have stopped falling:
    WARM_PATIENCE windows in a row none of which beat the fastest window before it by
    WARM_GAIN (the first windows are slower: PyPy's JIT tracing and compiling, caches
    filling), or after WARM_MAX_WINDOWS windows in any case."""
    best, stale = None, 0
    for t in times:
        if best is None or t < best * (1 - WARM_GAIN):
            best, stale = t, 0
        else:
            stale += 1
    return len(times) >= WARM_MAX_WINDOWS or (best is not None and stale >= WARM_PATIENCE)


def run_threads(dsn, driver, stmt, nthreads, n):
    """Each of nthreads threads on its own connection runs n // nthreads statements."""
    connect, loop = postpyro_loop(dsn) if driver.startswith("postpyro") else \
        dbapi_loop(dsn, driver)
    conns = [connect() for _ in range(nthreads)]
    share = max(1, n // nthreads)
    window = warm_window(stmt, n)
    warm = []  # until steady, on one connection (PyPy's JIT is the process's)
    while not warmed_up(warm):
        t0 = time.thread_time()
        loop(conns[0], stmt, window)
        warm.append(time.thread_time() - t0)
    start = threading.Barrier(nthreads + 1)
    errors, rows = [], []

    def work(c):
        try:
            loop(c, stmt, max(1, window // 10))  # this connection's caches
            start.wait()
            rows.append(loop(c, stmt, share))
        except BaseException as exc:  # reported by the parent
            errors.append(exc)
            start.abort()

    ts = [threading.Thread(target=work, args=(c,)) for c in conns]
    for t in ts:
        t.start()
    try:
        start.wait()
    except threading.BrokenBarrierError:
        pass
    c0, t0 = _cpu(), time.perf_counter()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    c1 = _cpu()
    for c in conns:
        c.close()
    if errors:
        raise errors[0]
    return {"wall": wall, "cpu": c1 - c0, "statements": share * nthreads, "rows": rows[0],
            "warm": len(warm) * window}


def run_asyncpg(dsn, stmt, ntasks, n):
    import asyncio
    import asyncpg

    async def connect():
        if re.match(r"postgres(ql)?://", dsn):
            return await asyncpg.connect(dsn)
        kv = kv_dsn(dsn)
        kw = {"host": kv.get("host"), "port": int(kv["port"]) if "port" in kv else None,
              "database": kv.get("dbname"), "user": kv.get("user"),
              "password": kv.get("password")}
        return await asyncpg.connect(**{k: v for k, v in kw.items() if v is not None})

    async def loop(c, count):
        if stmt == "trivial":
            f = c.fetch
            for k in range(count):
                await f(SQL_TRIVIAL, k)
            return 1
        f = c.fetch
        for _ in range(count):
            rows = await f(SQL_CATALOG, *CATALOG_PARAMS)
        return len(rows)

    async def main():
        conns = [await connect() for _ in range(ntasks)]
        share = max(1, n // ntasks)
        window, warm = warm_window(stmt, n), []
        while not warmed_up(warm):  # the threads' rule, on one connection
            t0 = time.process_time()
            await loop(conns[0], window)
            warm.append(time.process_time() - t0)
        await asyncio.gather(*[loop(c, max(1, window // 10)) for c in conns])
        c0, t0 = _cpu(), time.perf_counter()
        rows = await asyncio.gather(*[loop(c, share) for c in conns])
        wall = time.perf_counter() - t0
        c1 = _cpu()
        for c in conns:
            await c.close()
        return {"wall": wall, "cpu": c1 - c0, "statements": share * ntasks, "rows": rows[0],
                "warm": len(warm) * window}
    return asyncio.new_event_loop().run_until_complete(main())


def child_main(args):
    if args.driver == "asyncpg":
        out = run_asyncpg(args.dsn, args.stmt, args.nthreads, args.n)
    else:
        out = run_threads(args.dsn, args.driver, args.stmt, args.nthreads, args.n)
    sys.stdout.write("RESULT " + json.dumps(out) + "\n")


# ---- the parent: runs, medians, report --------------------------------------------------------

def measure(driver, stmt, nthreads, n, args, py, pypy):
    interp = pypy if driver == "postpyro-pypy" else py
    env = dict(os.environ)
    if driver == "postpyro-pypy":
        env["PYTHONPATH"] = env.get("PYTHONPATH", "") + ":/usr/lib/python3/dist-packages"
    cmd = [interp, os.path.abspath(__file__), "--child", "--driver", driver, "--stmt", stmt,
           "--nthreads", str(nthreads), "--n", str(n), "--dsn", args.dsn]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    except subprocess.TimeoutExpired:
        return {"error": "timeout"}
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]}


def med(runs, key):
    vals = [r[key] for r in runs if "error" not in r]
    return statistics.median(vals) if vals else None


def report(results, drivers, stmts, threads, info):
    """Markdown: per statement, µs per statement (wall, CPU) and throughput per thread count,
    then the scaling and the ratios the issue sets as targets."""
    out = []
    w = out.append
    if info.get("date"):
        w("Run: %s." % info["date"])
    # Runs saved before the order rotated (--from-json of an older run) say so.
    order = ("an order rotated between repeats (ABCD, BCDA, …)"
             if info.get("order") == "rotated" else "the same order in every repeat")
    # Runs saved before the warm-up ran to steady state (--from-json) say what they did.
    warm = ("Each run first warms up on one connection in windows of %s statements until "
            "a window's CPU time stops falling (%d windows in a row not %d %% faster than the "
            "fastest before; at most %d windows; the same rule for every driver), so that "
            "PyPy's JIT is measured in steady state, not while it traces and compiles; then "
            "each thread warms its own connection with a tenth of a window." % (
                " or ".join("%d %s" % (warm_window(s, info["total"][s]), s) for s in stmts
                            if s in info["total"]),
                WARM_PATIENCE, WARM_GAIN * 100, WARM_MAX_WINDOWS)
            if info.get("warmup") == "steady" else
            "Each thread warms up with a tenth of its statements before the timed span.")
    w("Machine: %s; %s; CPython %s, PyPy %s; peers %s. %d repeats: in each, every driver "
      "runs once per statement and thread count, one after another, in %s. %s Per-driver "
      "figures are medians over the repeats; every ratio is the median of the ratios formed "
      "within each repeat (runs made side by side). The machine has **2 cores** shared with "
      "other work (wall times are noisy; CPU is the client process's user + system time "
      "over the timed span)." % (
          info["cpu"], info["os"], info["cpython"], info["pypy"] or "n/a", info["peers"],
          info["repeats"], order, warm))
    w("")
    for s in stmts:
        w("**%s** (%s; %d statements a run, shared between the threads)"
          % (s, "`SELECT $1::int4`" if s == "trivial" else
             "2 parameters, %s rows × 12 columns" % info.get("rows_" + s, "?"),
             info["total"][s]))
        w("")
        w("| driver | " + " | ".join("%d thr: stmt/s" % t for t in threads)
          + " | 1 thr: µs wall / CPU | %d thr: µs CPU | %d÷1 scaling |"
          % (max(threads), max(threads)))
        w("|---|" + "---:|" * (len(threads) + 3))
        for d in drivers:
            cells = []
            for t in threads:
                runs = results.get((d, s, t), [])
                wall = med(runs, "wall")
                cells.append("%.0f" % (statements(runs) / wall) if wall else "—")
            runs1 = results.get((d, s, 1), [])
            wall1, cpu1 = med(runs1, "wall"), med(runs1, "cpu")
            n1 = statements(runs1) if wall1 else None
            per = ("%.1f / %.1f" % (wall1 / n1 * 1e6, cpu1 / n1 * 1e6)) if n1 else "—"
            sc = scaling(results, d, s, max(threads))
            cells.append(per)
            cpu_t = per_stmt(results, d, s, max(threads), "cpu")
            cells.append("%.1f" % (cpu_t * 1e6) if cpu_t else "—")
            cells.append("%.2f" % sc if sc else "—")
            w("| %s | %s |" % (LABEL[d], " | ".join(cells)))
        w("")
        warmed = warm_text(results, drivers, s, threads)
        if warmed:
            w(warmed)
            w("")
    w("Ratios (PostPyro ÷ peer: throughput for scaling, time per statement otherwise; the "
      "median of the repeats' side-by-side ratios; target column says what the issue asks):")
    w("")
    w("| what | ratio | target | met |")
    w("|---|---:|---|---|")
    for row in targets(results, stmts, threads, drivers):
        w("| %s | %s | %s | %s |" % row)
    w("")
    w("Where the time goes, for each target missed, and what would move it: "
      "tests/bench/NOTES.md, \"Threads and the cost of one statement\".")
    w("")
    return "\n".join(out)


def warm_text(results, drivers, s, threads):
    """The warm-up's length per driver (statements before the run, median over its runs of
    statement s), "" for runs saved without it."""
    parts = []
    for d in drivers:
        ws = [r["warm"] for t in threads for r in results.get((d, s, t), []) if "warm" in r]
        if ws:
            parts.append("%s %d" % (LABEL[d], statistics.median(ws)))
    return ("Warm-up until steady (statements, median over runs): %s." % ", ".join(parts)
            if parts else "")


def statements(runs):
    """Statements a run of these made (the same in every run of one cell)."""
    return next((r["statements"] for r in runs if "error" not in r), None)


def scaling(results, d, s, t):
    """Median over repeats of the throughput at t threads ÷ at 1."""
    vals = [v for v in scaling_rounds(results, d, s, t) if v is not None]
    return statistics.median(vals) if vals else None


def scaling_rounds(results, d, s, t):
    """Per repeat: throughput at t threads ÷ at 1 (None where a run failed)."""
    return [None if "error" in r1 or "error" in rt or not r1["wall"] or not rt["wall"]
            else (rt["statements"] / rt["wall"]) / (r1["statements"] / r1["wall"])
            for r1, rt in zip(results.get((d, s, 1), []), results.get((d, s, t), []))]


def per_stmt(results, d, s, t, key="wall"):
    runs = results.get((d, s, t), [])
    v = med(runs, key)
    return v / statements(runs) if v else None


def per_stmt_rounds(results, d, s, t, key="wall"):
    """Per repeat: seconds per statement (None where the run failed)."""
    return [None if "error" in r else r[key] / r["statements"]
            for r in results.get((d, s, t), [])]


def targets(results, stmts, threads, drivers):
    """Rows (what, ratio, target, met) of the issue's targets; each ratio is the median of
    the per-repeat ratios of runs made side by side (paired_ratio)."""
    rows = []

    def add(what, a, b, goal, ok):
        r = paired_ratio(a, b)
        if r is None:
            return
        rows.append((what, "%.2f" % r, goal, "—" if ok is None else "met" if ok(r) else
                     "**no**"))
    pp, pypy = "postpyro", "postpyro-pypy"
    for t in (4,) if 4 in threads else ():
        for peer in ("psycopg2", "psycopg", "asyncpg"):
            if "trivial" in stmts and peer in drivers:
                add("trivial: scaling %d thr ÷ %s's" % (t, LABEL[peer]),
                    scaling_rounds(results, pp, "trivial", t),
                    scaling_rounds(results, peer, "trivial", t),
                    "≥ 1 (psycopg2)" if peer == "psycopg2" else "(for reference)",
                    (lambda r: r >= 1.0) if peer == "psycopg2" else None)
    for s in stmts:
        for t in sorted({1, 4} & set(threads)):
            for peer in ("psycopg2", "asyncpg"):
                if peer in drivers:
                    for key in ("wall", "cpu"):
                        add("%s, %d thr: time ÷ %s (%s)" % (s, t, LABEL[peer], key),
                            per_stmt_rounds(results, pp, s, t, key),
                            per_stmt_rounds(results, peer, s, t, key), "≤ 1",
                            lambda r: r <= 1.0)
            if pypy in drivers:
                add("%s, %d thr: PyPy ÷ CPython (wall)" % (s, t),
                    per_stmt_rounds(results, pypy, s, t), per_stmt_rounds(results, pp, s, t),
                    "≤ 1", lambda r: r <= 1.0)
    return rows


def run_repeats(dsn, drivers, stmts, threads, total, repeats, py, pypy):
    """The runs: for each repeat, statement and thread count, every driver once, one after
    another in an order rotated between repeats (ABCD, BCDA, …). Returns (results: (driver,
    stmt, threads) → one run per repeat in repeat order, info for report(), the drivers
    that could run: PostPyro on PyPy only where pypy3 is)."""
    drivers = list(drivers)
    if "postpyro-pypy" in drivers and not pypy:
        print("bench_threads: pypy3 not found; skipping PostPyro on PyPy", file=sys.stderr)
        drivers.remove("postpyro-pypy")
    info = machine(py, pypy)
    info.update(repeats=repeats, total=total, order="rotated", warmup="steady",
                date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    args = argparse.Namespace(dsn=dsn)
    results = {}
    for rep in range(repeats):
        for s in stmts:
            for t in threads:
                for d in rotated(drivers, rep):  # side by side, in turn: ABCD, BCDA, …
                    r = measure(d, s, t, total[s], args, py, pypy)
                    results.setdefault((d, s, t), []).append(r)
                    if "rows" in r:
                        info["rows_" + s] = r["rows"]
                    print("repeat %d %-14s %-8s %d thr: %s" % (
                        rep + 1, d, s, t, r.get("error") or "%.3f s wall, %.3f s CPU"
                        % (r["wall"], r["cpu"])), file=sys.stderr, flush=True)
    return results, info, drivers


def to_json(results, info):
    """The runs as saved by --json (and in the sweep's JSON, "threads")."""
    return {"info": info, "runs": [{"driver": d, "stmt": s, "threads": t, "runs": v}
                                   for (d, s, t), v in results.items()]}


def from_json(saved):
    """(results, info, drivers, stmts, threads) of runs saved by to_json."""
    results = {(r["driver"], r["stmt"], r["threads"]): r["runs"] for r in saved["runs"]}
    drivers = [d for d in DRIVERS if any(k[0] == d for k in results)]
    stmts = [s for s in STATEMENTS if any(k[1] == s for k in results)]
    threads = sorted({k[2] for k in results})
    return results, saved["info"], drivers, stmts, threads


def machine(py, pypy):
    def ver(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
        except OSError:
            return None
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1) if m else cpu
    except OSError:
        pass
    peers = ver([py, "-c", "import psycopg2, psycopg, asyncpg; print('psycopg2 %s, psycopg "
                 "%s, asyncpg %s' % (psycopg2.__version__.split()[0], psycopg.__version__, "
                 "asyncpg.__version__))"])
    return {"cpu": "%s, %d CPUs" % (cpu, os.cpu_count() or 0),
            "os": platform.platform(terse=True),
            "cpython": ver([py, "-c", "import sys; print(sys.version.split()[0])"]),
            "pypy": ver([pypy, "-c", "import sys; print(sys.version.split()[0])"]) if pypy
            else None, "peers": peers}


BEGIN = "<!-- the threads run (tests/bench/bench_threads.py --into) from here -->"
END = "<!-- the threads run ends here -->"


def put_into(path, text):
    """Replaces this benchmark's section of ``path`` (docs/benchmarks.md, which bench.py
    rewrites: rerun this after it), or adds one before the async section (which
    bench_async.py keeps at the end), or at the end."""
    section = "%s\n\n## Threads and the cost of one statement, a separate run\n\n%s\n%s\n" % (
        BEGIN, text.rstrip("\n"), END)
    put_section(path, BEGIN, END, section)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dsn", default=os.environ.get("PP_BENCH_DSN")
                    or os.environ.get("PP_TEST_DSN"))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--driver")
    ap.add_argument("--stmt")
    ap.add_argument("--nthreads", type=int)
    ap.add_argument("--n", type=int)
    ap.add_argument("--drivers", default=",".join(DRIVERS))
    ap.add_argument("--stmts", default=",".join(STATEMENTS))
    ap.add_argument("--threads", default=",".join(map(str, THREADS)))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="a tenth of the statements, 1 repeat")
    ap.add_argument("--out", help="write the report (markdown) there too")
    ap.add_argument("--json", help="write the raw runs there")
    ap.add_argument("--from-json", help="render the report of an earlier --json run "
                    "instead of running anything")
    ap.add_argument("--into", help="put the report in its section of this file "
                    "(docs/benchmarks.md), replacing the previous one")
    args = ap.parse_args()
    if not args.dsn and not args.from_json:
        ap.error("no server: --dsn, $PP_BENCH_DSN or $PP_TEST_DSN")
    if args.child:
        child_main(args)
        return
    if args.from_json:
        with open(args.from_json) as f:
            results, info, drivers, stmts, threads = from_json(json.load(f))
        text = report(results, drivers, stmts, threads, info)
        print(text)
        if args.into:
            put_into(args.into, text)
        return
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    pypy = shutil.which("pypy3")
    drivers = [d for d in args.drivers.split(",") if d]
    stmts = [s for s in args.stmts.split(",") if s]
    threads = [int(t) for t in args.threads.split(",") if t]
    repeats = 1 if args.quick else args.repeats
    total = {s: TOTAL[s] // (10 if args.quick else 1) for s in stmts}
    results, info, drivers = run_repeats(args.dsn, drivers, stmts, threads, total, repeats,
                                         py, pypy)
    text = report(results, drivers, stmts, threads, info)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if args.into:
        put_into(args.into, text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(to_json(results, info), f, indent=1)


if __name__ == "__main__":
    main()
