#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PostPyro's benchmark: every workload, for every driver, in one run.

    tests/bench/run.sh [--quick] [--repeats N] [--drivers ...] [--workloads ...]

(run.sh builds the C floor program, starts a throwaway server unless $PP_BENCH_DSN names one,
and runs this file.) Drivers: PostPyro on CPython and on PyPy, psycopg2, psycopg (3),
asyncpg, and ``c`` — tests/bench/c_client.c, plain libpq doing the same work and building
no Python objects (the floor). Each (driver, workload) runs in its own process, so its peak
memory (ru_maxrss) is its own; every process first runs the workload once at a tenth of its
size (warm-up: caches, PyPy's JIT), collects garbage, and then times it. Runs are
interleaved — repeat 1 of every (workload, driver), then repeat 2, …, the drivers of a
workload one after another in an order rotated between repeats (ABCD, BCDA, …) — so noise
on a shared machine hits everyone alike; the median is reported, and each ratio is the
median of the ratios of the runs made side by side in each repeat.

Results: a table of medians and ratios on the terminal and in docs/benchmarks.md (with the
machine, the date and which targets are met), the raw numbers in docs/benchmarks.json and a
plot in docs/benchmarks.png (matplotlib) or docs/benchmarks.svg (without it).

This is a benchmark, not a test: nothing in `make check` runs it or depends on timing.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

from benchlib import kv_dsn, paired_ratio, rotated

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))

# ---- what runs ---------------------------------------------------------------------------------

WORKLOADS = ["small", "catalog", "large", "types", "insert", "batch", "batch_loop", "copy",
             "connect", "stream", "threads"]
DRIVERS = ["postpyro", "postpyro-pypy", "psycopg2", "psycopg", "asyncpg", "c"]
DRIVER_LABEL = {"postpyro": "PostPyro", "postpyro-pypy": "PostPyro PyPy",
                "psycopg2": "psycopg2", "psycopg": "psycopg 3", "asyncpg": "asyncpg",
                "c": "C (libpq)"}
# The C program (c_client) knows these workloads; batch_loop and stream have no C floor.
C_WORKLOADS = {"small", "catalog", "large", "types", "insert", "batch", "copy", "connect",
               "threads"}
# Repeats per workload (the slow ones fewer); --repeats overrides.
REPEATS = {"stream": 3, "copy": 3}
DEFAULT_REPEATS = 5

# Sizes (divided by --scale; the warm-up runs a tenth of them).
N_SMALL = 20000
N_CATALOG = 300
N_LARGE = 500000
N_TYPES = 100000
N_INSERT = 50000
N_BATCH = 10000
N_COPY = 1000000
N_CONNECT = 200
N_STREAM = 5000000
N_THREADS = 4

SQL_SMALL = "SELECT $1::int4"
SQL_CATALOG = "SELECT * FROM pg_type"
# The same statements as c_client.c.
SQL_LARGE = ("SELECT g, 'row ' || g, g * 0.5::float8, '2020-01-01'::timestamp + g * "
             "interval '1 second', md5(g::text) FROM generate_series(1, %d) g")
SQL_TYPES = ("SELECT g::numeric / 7, '2020-01-01'::timestamptz + g * interval '1 minute', "
             "md5(g::text)::uuid, jsonb_build_object('id', g, 'name', 'n' || g), "
             "ARRAY[g, g + 1, g + 2] FROM generate_series(1, %d) g")
SQL_STREAM = "SELECT g, 'row ' || g, g * 0.5::float8 FROM generate_series(1, %d) g"


def rows3(n):
    """The rows c_client inserts and copies: (k, 'name k', k + 0.5)."""
    return [(k, "name %d" % k, k + 0.5) for k in range(n)]


def pg_placeholders(sql, style):
    """$1, $2 … as the driver wants them (psycopg2 / psycopg: %s)."""
    if style == "format":
        return re.sub(r"\$\d+", "%s", sql)
    return sql


# ---- the workloads, per driver (run in the child process) -----------------------------------

class Workloads:
    """One driver's workloads. ``run(name, n)`` does the work once and returns a dict of
    extra facts (row counts …); the caller times it."""

    style = "numeric"

    def __init__(self, dsn):
        self.dsn = dsn

    # helpers the subclasses provide
    def connect(self):
        raise NotImplementedError

    def close(self, conn):
        conn.close()

    def setup(self, name, n):
        """Untimed preparation (tables); returns state for run()."""
        return None


def child_main(args):
    mod = {"postpyro": PostPyroW, "postpyro-pypy": PostPyroW, "psycopg2": Psycopg2W,
           "psycopg": PsycopgW, "asyncpg": AsyncpgW}[args.driver]
    w = mod(args.dsn)
    name = args.workload
    n = max(1, int(SIZES[name] / args.scale))
    warm = max(1, n // 10)
    # warm-up: the same work, smaller
    state = w.setup(name, warm)
    w.run(name, warm, state)
    w.teardown(state)
    state = w.setup(name, n)
    # what the warm-up and setup left is collected now, not during the timed run (PyPy's
    # first collection also copies everything allocated since start-up)
    gc.collect()
    t0 = time.perf_counter()
    extra = w.run(name, n, state) or {}
    seconds = time.perf_counter() - t0
    w.teardown(state)
    out = {"seconds": seconds, "n": n}
    out.update(extra)
    sys.stdout.write("RESULT " + json.dumps(out) + "\n")
    sys.stdout.flush()


SIZES = {"small": N_SMALL, "catalog": N_CATALOG, "large": N_LARGE, "types": N_TYPES,
         "insert": N_INSERT, "batch": N_BATCH, "batch_loop": N_BATCH, "copy": N_COPY,
         "connect": N_CONNECT, "stream": N_STREAM, "threads": N_SMALL}


class SyncW(Workloads):
    """Shared code of the blocking drivers (PostPyro, psycopg2, psycopg)."""

    def setup(self, name, n):
        st = {"conn": None}
        if name == "connect":
            return st
        if name == "threads":
            st["conns"] = [self.connect() for _ in range(N_THREADS)]
            for c in st["conns"]:
                self.prepare_small(c)
            return st
        c = st["conn"] = self.connect()
        if name in ("insert", "copy"):
            table = "bench_" + name
            self.ddl(c, "DROP TABLE IF EXISTS %s" % table)
            self.ddl(c, "CREATE TABLE %s (a int, b text, c float8)" % table)
            st["rows"] = rows3(n)
        elif name in ("batch", "batch_loop"):
            self.ddl(c, "DROP TABLE IF EXISTS bench_batch")
            self.ddl(c, "CREATE TABLE bench_batch (v int)")
            st["sqls"] = ["INSERT INTO bench_batch VALUES (%d)" % k for k in range(n)]
        return st

    def teardown(self, st):
        for c in [st.get("conn")] + st.get("conns", []):
            if c is not None:
                self.close(c)

    def prepare_small(self, c):
        pass

    def run(self, name, n, st):
        return getattr(self, "w_" + name)(n, st)

    def w_connect(self, n, st):
        for _ in range(n):
            self.close(self.connect())

    def w_threads(self, n, st):
        import threading
        errors = []

        def work(c):
            try:
                self.small_loop(c, n)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        ts = [threading.Thread(target=work, args=(c,)) for c in st["conns"]]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errors:
            raise errors[0]
        return {"queries": n * len(ts)}

    def w_small(self, n, st):
        self.small_loop(st["conn"], n)


class PostPyroW(SyncW):
    def __init__(self, dsn):
        super().__init__(dsn)
        import PostPyro
        self.pg = PostPyro

    def connect(self):
        return self.pg.Connection(self.dsn)

    def ddl(self, c, sql):
        c.execute(sql)

    def small_loop(self, c, n):
        q = c.query
        sql = SQL_SMALL
        for k in range(n):
            q(sql, [k])

    def w_catalog(self, n, st):
        q = st["conn"].query
        for _ in range(n):
            rows = q(SQL_CATALOG)
        return {"rows": len(rows), "cols": len(rows[0])}

    def w_large(self, n, st):
        rows = st["conn"].query(SQL_LARGE % n)
        return {"rows": len(rows)}

    def w_types(self, n, st):
        rows = st["conn"].query(SQL_TYPES % n)
        return {"rows": len(rows), "sample": repr(rows[0])[:200]}

    def w_insert(self, n, st):
        c = st["conn"]
        cur = c.cursor()
        cur.executemany("INSERT INTO bench_insert VALUES ($1, $2, $3)", st["rows"])
        return {"rows": cur.rowcount}

    def w_batch(self, n, st):
        st["conn"].execute_batch(st["sqls"])

    def w_batch_loop(self, n, st):
        c = st["conn"]
        ex = c.execute
        with c.begin():
            for s in st["sqls"]:
                ex(s)

    def w_copy(self, n, st):
        return {"rows": st["conn"].copy_records_to_table("bench_copy", st["rows"])}

    def w_stream(self, n, st):
        k = 0
        for row in st["conn"].stream(SQL_STREAM % n):
            k += 1
        return {"rows": k}


class DbapiFetch:
    """The fetching workloads, written the same way for psycopg2 and psycopg."""

    def small_loop(self, c, n):
        cur = c.cursor()
        sql = pg_placeholders(SQL_SMALL, "format")
        ex, one = cur.execute, cur.fetchone
        for k in range(n):
            ex(sql, (k,))
            one()

    def _all(self, c, sql, times=1):
        cur = c.cursor()
        for _ in range(times):
            cur.execute(sql)
            rows = cur.fetchall()
        return rows

    def w_catalog(self, n, st):
        rows = self._all(st["conn"], SQL_CATALOG, n)
        return {"rows": len(rows), "cols": len(rows[0])}

    def w_large(self, n, st):
        return {"rows": len(self._all(st["conn"], SQL_LARGE % n))}

    def w_types(self, n, st):
        rows = self._all(st["conn"], SQL_TYPES % n)
        return {"rows": len(rows), "sample": repr(rows[0])[:200]}


class Psycopg2W(DbapiFetch, SyncW):
    style = "format"

    def __init__(self, dsn):
        super().__init__(dsn)
        import psycopg2
        import psycopg2.extras
        psycopg2.extras.register_uuid()  # uuid -> UUID, as the others do
        self.psycopg2 = psycopg2
        self.extras = psycopg2.extras

    def connect(self):
        c = self.psycopg2.connect(self.dsn)
        c.autocommit = True
        return c

    def ddl(self, c, sql):
        with c.cursor() as cur:
            cur.execute(sql)

    def w_insert(self, n, st):
        c = st["conn"]
        with c.cursor() as cur:
            cur.execute("BEGIN")
            self.extras.execute_values(cur, "INSERT INTO bench_insert VALUES %s", st["rows"],
                                       page_size=1000)
            cur.execute("COMMIT")

    def w_batch(self, n, st):
        c = st["conn"]
        with c.cursor() as cur:
            cur.execute("BEGIN")
            # psycopg2's batch call: statements joined and sent page_size at a time
            self.extras.execute_batch(cur, "%s", [(self.psycopg2.extensions.AsIs(s),)
                                                  for s in st["sqls"]], page_size=100)
            cur.execute("COMMIT")

    def w_batch_loop(self, n, st):
        c = st["conn"]
        with c.cursor() as cur:
            cur.execute("BEGIN")
            for s in st["sqls"]:
                cur.execute(s)
            cur.execute("COMMIT")

    def w_copy(self, n, st):
        import io
        # psycopg2's COPY: text built in Python, then copy_expert
        buf = io.StringIO()
        w = buf.write
        for a, b, c in st["rows"]:
            w("%d\t%s\t%r\n" % (a, b, c))
        buf.seek(0)
        with st["conn"].cursor() as cur:
            cur.copy_expert("COPY bench_copy FROM STDIN", buf)

    def w_stream(self, n, st):
        c = st["conn"]
        c.autocommit = False
        cur = c.cursor(name="bench_stream")
        cur.itersize = 10000
        cur.execute(SQL_STREAM % n)
        k = 0
        for row in cur:
            k += 1
        cur.close()
        c.commit()
        return {"rows": k}


class PsycopgW(DbapiFetch, SyncW):
    style = "format"

    def __init__(self, dsn):
        super().__init__(dsn)
        import psycopg
        self.psycopg = psycopg

    def connect(self):
        return self.psycopg.connect(self.dsn, autocommit=True)

    def ddl(self, c, sql):
        c.execute(sql)

    def w_insert(self, n, st):
        c = st["conn"]
        with c.transaction():
            c.cursor().executemany("INSERT INTO bench_insert VALUES (%s, %s, %s)", st["rows"])

    def w_batch(self, n, st):
        c = st["conn"]
        with c.transaction(), c.pipeline():
            cur = c.cursor()
            for s in st["sqls"]:
                cur.execute(s)

    def w_batch_loop(self, n, st):
        c = st["conn"]
        with c.transaction():
            cur = c.cursor()
            for s in st["sqls"]:
                cur.execute(s)

    def w_copy(self, n, st):
        with st["conn"].cursor() as cur:
            with cur.copy("COPY bench_copy (a, b, c) FROM STDIN") as cp:
                for r in st["rows"]:
                    cp.write_row(r)

    def w_stream(self, n, st):
        c = st["conn"]
        k = 0
        with c.transaction():
            with c.cursor(name="bench_stream") as cur:
                cur.itersize = 10000
                cur.execute(SQL_STREAM % n)
                for row in cur:
                    k += 1
        return {"rows": k}


class AsyncpgW(Workloads):
    def __init__(self, dsn):
        super().__init__(dsn)
        import asyncio
        import asyncpg
        self.asyncio = asyncio
        self.asyncpg = asyncpg
        self.loop = asyncio.new_event_loop()

    async def _connect(self):
        if re.match(r"postgres(ql)?://", self.dsn):
            c = await self.asyncpg.connect(self.dsn)
        else:
            kv = kv_dsn(self.dsn)
            kw = {"host": kv.get("host"), "port": int(kv["port"]) if "port" in kv else None,
                  "database": kv.get("dbname"), "user": kv.get("user"),
                  "password": kv.get("password")}
            c = await self.asyncpg.connect(**{k: v for k, v in kw.items() if v is not None})
        # json/jsonb as Python objects, as the other drivers give them
        import json
        for t in ("json", "jsonb"):
            await c.set_type_codec(t, encoder=json.dumps, decoder=json.loads,
                                   schema="pg_catalog")
        return c

    def _run(self, coro):
        return self.loop.run_until_complete(coro)

    def setup(self, name, n):
        return self._run(self._setup(name, n))

    async def _setup(self, name, n):
        st = {"conn": None}
        if name == "connect":
            return st
        if name == "threads":
            st["conns"] = [await self._connect() for _ in range(N_THREADS)]
            return st
        c = st["conn"] = await self._connect()
        if name in ("insert", "copy"):
            table = "bench_" + name
            await c.execute("DROP TABLE IF EXISTS %s" % table)
            await c.execute("CREATE TABLE %s (a int, b text, c float8)" % table)
            st["rows"] = rows3(n)
        elif name in ("batch", "batch_loop"):
            await c.execute("DROP TABLE IF EXISTS bench_batch")
            await c.execute("CREATE TABLE bench_batch (v int)")
            st["sqls"] = ["INSERT INTO bench_batch VALUES (%d)" % k for k in range(n)]
        return st

    def teardown(self, st):
        async def td():
            for c in [st.get("conn")] + st.get("conns", []):
                if c is not None:
                    await c.close()
        self._run(td())

    def run(self, name, n, st):
        return self._run(getattr(self, "w_" + name)(n, st))

    async def small_loop(self, c, n):
        f = c.fetchval
        for k in range(n):
            await f(SQL_SMALL, k)

    async def w_small(self, n, st):
        await self.small_loop(st["conn"], n)

    async def w_threads(self, n, st):
        # asyncpg has no threads: 4 connections driven concurrently by one event loop
        await self.asyncio.gather(*[self.small_loop(c, n) for c in st["conns"]])
        return {"queries": n * len(st["conns"])}

    async def w_catalog(self, n, st):
        f = st["conn"].fetch
        for _ in range(n):
            rows = await f(SQL_CATALOG)
        return {"rows": len(rows), "cols": len(rows[0])}

    async def w_large(self, n, st):
        return {"rows": len(await st["conn"].fetch(SQL_LARGE % n))}

    async def w_types(self, n, st):
        rows = await st["conn"].fetch(SQL_TYPES % n)
        return {"rows": len(rows), "sample": repr(rows[0])[:200]}

    async def w_insert(self, n, st):
        c = st["conn"]
        async with c.transaction():
            await c.executemany("INSERT INTO bench_insert VALUES ($1, $2, $3)", st["rows"])

    async def w_batch(self, n, st):
        c = st["conn"]
        async with c.transaction():
            await c.execute(";".join(st["sqls"]))  # simple protocol, one round trip

    async def w_batch_loop(self, n, st):
        c = st["conn"]
        async with c.transaction():
            for s in st["sqls"]:
                await c.execute(s)

    async def w_copy(self, n, st):
        await st["conn"].copy_records_to_table("bench_copy", records=st["rows"])

    async def w_connect(self, n, st):
        for _ in range(n):
            c = await self._connect_plain()
            await c.close()

    async def _connect_plain(self):
        if re.match(r"postgres(ql)?://", self.dsn):
            return await self.asyncpg.connect(self.dsn)
        kv = kv_dsn(self.dsn)
        kw = {"host": kv.get("host"), "port": int(kv["port"]) if "port" in kv else None,
              "database": kv.get("dbname"), "user": kv.get("user"),
              "password": kv.get("password")}
        return await self.asyncpg.connect(**{k: v for k, v in kw.items() if v is not None})

    async def w_stream(self, n, st):
        c = st["conn"]
        k = 0
        async with c.transaction():
            async for row in c.cursor(SQL_STREAM % n, prefetch=10000):
                k += 1
        return {"rows": k}


# ---- the parent: runs children, gathers, reports ---------------------------------------------

def find_interpreters():
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    pypy = shutil.which("pypy3")
    return py, pypy


def child_env(driver):
    env = dict(os.environ)
    if not env.get("PYTHONPATH"):  # run.sh sets it; else the in-tree package
        env["PYTHONPATH"] = os.path.join(TOP, "postpyro_py", "inplace")
    lib = os.path.join(TOP, "libpostpyro", ".libs", "libpostpyro.so.1")
    if "POSTPYRO_LIBRARY" not in env and os.path.exists(lib):
        env["POSTPYRO_LIBRARY"] = lib
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_child(cmd, env, timeout):
    """Runs cmd; returns (stdout, stderr, returncode, maxrss_kb)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return out.decode(), "timed out after %ds\n" % timeout + err.decode(), -9, 0
    # communicate() has reaped the child; its rusage is in RUSAGE_CHILDREN only as a max
    # over all children, so the child also reports its own (see child_main) — but the C
    # program cannot: wait4 via a wrapper for that case.
    return out.decode(), err.decode(), p.returncode, None


def measure(driver, workload, args, py, pypy, c_client):
    env = child_env(driver)
    if driver == "c":
        if workload not in C_WORKLOADS or not c_client:
            return None
        cmd = [c_client, args.dsn, workload]
    else:
        interp = pypy if driver == "postpyro-pypy" else py
        if interp is None:
            return {"error": "no interpreter (pypy3 not found)"}
        cmd = [interp, os.path.abspath(__file__), "--child", "--driver", driver,
               "--workload", workload, "--dsn", args.dsn, "--scale", str(args.scale)]
    # Peak memory of this child alone: run it under a tiny wrapper that reports wait4's
    # rusage of its own child.
    wrapper = [py, "-c", WAIT4_WRAPPER] + cmd
    out, err, rc, _ = run_child(wrapper, env, args.timeout)
    m = re.search(r"^MAXRSS (\d+)$", err, re.M)
    maxrss = int(m.group(1)) if m else None
    err = re.sub(r"^MAXRSS \d+\n?", "", err, flags=re.M)
    if rc != 0:
        return {"error": (err.strip().splitlines() or ["exit status %d" % rc])[-1][:300]}
    if driver == "c":
        try:
            secs = float(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"error": "c_client printed %r" % out[:100]}
        # c_client has fixed sizes; scale its time with the others' (approximate, --scale)
        res = {"seconds": secs / args.scale, "n": SIZES[workload]}
    else:
        m = re.search(r"^RESULT (.*)$", out, re.M)
        if not m:
            return {"error": "no result; stderr: " + err.strip()[-300:]}
        res = json.loads(m.group(1))
    res["maxrss_kb"] = maxrss
    return res


WAIT4_WRAPPER = r"""
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
sys.stderr.write("MAXRSS %d\n" % ru.ru_maxrss)
sys.stderr.flush()
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8)
"""


def machine_info(py, pypy):
    def ver(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
        except Exception:
            return "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "cpython": ver([py, "-c", "import sys; print(sys.version.split()[0])"]),
        "pypy": ver([pypy, "-c", "import sys; print(sys.version.split()[0], "
                     "sys.pypy_version_info[:3])"]) if pypy else None,
        "peers": ver([py, "-c", "import psycopg2, psycopg, asyncpg; print('psycopg2', "
                      "psycopg2.__version__.split()[0], '/ psycopg', psycopg.__version__, "
                      "psycopg.pq.__impl__, '/ asyncpg', asyncpg.__version__)"]),
    }


def median(xs):
    return statistics.median(xs) if xs else None


def summarize(results):
    """results[(workload, driver)] -> list of run dicts -> medians."""
    med = {}
    for (w, d), runs in results.items():
        ok = [r for r in runs if r and "seconds" in r]
        if not ok:
            errs = [r["error"] for r in runs if r and "error" in r]
            med[(w, d)] = {"error": errs[0] if errs else None}
            continue
        secs = [r["seconds"] for r in ok]
        rss = [r["maxrss_kb"] for r in ok if r.get("maxrss_kb")]
        med[(w, d)] = {"seconds": median(secs), "all": secs,
                       "maxrss_mb": median(rss) / 1024 if rss else None,
                       "min": min(secs), "max": max(secs),
                       # one per repeat, None for a failed run: for rsec()'s pairs
                       "runs": [r["seconds"] if r and "seconds" in r else None for r in runs]}
    return med


def rsec(med, a, b):
    """Time of a ÷ time of b (each a (workload, driver)): the median of the ratios of their
    runs in the same repeat (side by side), not the ratio of their medians."""
    return paired_ratio((med.get(a) or {}).get("runs", []), (med.get(b) or {}).get("runs", []))


def sec(med, w, d):
    m = med.get((w, d))
    return m.get("seconds") if m else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_s(x):
    if x is None:
        return "—"
    return "%.3f" % x if x < 10 else "%.1f" % x


def fmt_r(x):
    return "—" if x is None else "%.2f" % x


def threads_gain(med, d):
    """Throughput of 4 threads (4 × N queries) against one (small: N queries)."""
    t1, t4 = sec(med, "small", d), sec(med, "threads", d)
    if t1 is None or t4 is None:
        return None
    return N_THREADS * t1 / t4


def threads_gains(med, d):
    """threads_gain per repeat (None where a run failed)."""
    runs = [(med.get((w, d)) or {}).get("runs", []) for w in ("small", "threads")]
    return [N_THREADS * t1 / t4 if t1 and t4 else None for t1, t4 in zip(*runs)]


def targets(med, quick):
    pp, pypy = "postpyro", "postpyro-pypy"
    out = []

    def add(name, value, limit, ok):
        out.append((name, value, limit, ok))

    def le(name, r, limit):
        add(name, r, "≤ %.2f" % limit, None if r is None else r <= limit)

    def vs(w, d, w2=None):  # PostPyro's w ÷ d's w2 (default: the same workload)
        return rsec(med, (w, pp), (w2 or w, d))

    le("large / psycopg2", vs("large", "psycopg2"), 0.8)
    le("large / asyncpg", vs("large", "asyncpg"), 0.9)
    le("catalog / psycopg2", vs("catalog", "psycopg2"), 0.8)
    le("types / asyncpg", vs("types", "asyncpg"), 1.0)
    le("small / C", vs("small", "c"), 1.05)
    le("insert / C (pipeline)", vs("insert", "c"), 1.2)
    le("insert / asyncpg", vs("insert", "asyncpg"), 1.0)
    le("batch / one-by-one", vs("batch", pp, "batch_loop"), 0.3)
    speed = vs("insert", pp, "copy")  # (insert per row) ÷ (copy per row)
    if speed is not None:
        speed *= N_COPY / N_INSERT
    add("copy per row: times faster than insert", speed, "≥ 5", None if speed is None
        else speed >= 5)
    le("copy / asyncpg", vs("copy", "asyncpg"), 1.0)
    le("connect / C", vs("connect", "c"), 1.1)
    m = med.get(("stream", pp), {})
    rss = m.get("maxrss_mb")
    add("stream: peak RSS (MB)", rss, "< 150", None if rss is None else rss < 150)
    a, b = med.get(("large", pp), {}).get("maxrss_mb"), med.get(("large", "psycopg2"),
                                                                {}).get("maxrss_mb")
    le("large: peak RSS / psycopg2's", ratio(a, b), 1.2)
    g_pp, g_p2 = threads_gain(med, pp), threads_gain(med, "psycopg2")
    g = paired_ratio(threads_gains(med, pp), threads_gains(med, "psycopg2"))
    add("threads: gain (PostPyro %s, psycopg2 %s)" % (fmt_r(g_pp), fmt_r(g_p2)),
        g, "≥ 1.00 (gain / psycopg2's)", None if g is None else g >= 1.0)
    slower = []
    any_pypy = False
    for w in WORKLOADS:
        r = rsec(med, (w, pypy), (w, pp))
        if r is None:
            continue
        any_pypy = True
        if r > 1.0:
            slower.append("%s %.2f" % (w, r))
    add("PyPy at least as fast as CPython (PyPy/CPython > 1: %s)"
        % (", ".join(slower) or "none"), None, "every workload",
        None if not any_pypy else not slower)
    return out


def render(med, drivers, workloads, info, quick, args):
    lines = []
    lines.append("# PostPyro benchmarks\n")
    lines.append("Generated by `tests/bench/run.sh%s` on %s. Machine: %s, %s cores, %s. "
                 "CPython %s, PyPy %s. Peers: %s. Server: PostgreSQL %s on the same machine "
                 "(Unix socket).\n" % (
                     " --quick" if quick else "", info["date"], info["cpu"], info["cores"],
                     info["os"], info["cpython"], info["pypy"] or "n/a", info["peers"],
                     info.get("server", "?")))
    if quick:
        lines.append("**Quick mode** (sizes ÷ %g, %d repeat(s)): numbers are indicative "
                     "only; the C floor runs at full size and its time is divided by the "
                     "scale.\n" % (args.scale, args.repeats or 1))
    lines.append("Medians of %s runs per cell (each in its own process, after an in-process "
                 "warm-up at a tenth of the size and a gc.collect()), in seconds; in each "
                 "repeat every driver runs a workload once, one after another, in %s. "
                 "Ratios are PostPyro (CPython) / "
                 "the other, so below 1 means PostPyro is faster, each the median of the "
                 "ratios of the two runs made side by side in each repeat. The machine is "
                 "shared and noisy: compare ratios, not absolute times.\n"
                 % (args.repeats or "%d (%s)" % (DEFAULT_REPEATS, ", ".join(
                     "%s %d" % kv for kv in sorted(REPEATS.items()))),
                    # runs saved before the order rotated (--from-json) say so
                    "an order rotated between repeats (ABCD, BCDA, …)"
                    if info.get("order") == "rotated" else "the same order in every repeat"))
    desc = {
        "small": "%d × SELECT $1::int4" % N_SMALL,
        "catalog": "%d × SELECT * FROM pg_type" % N_CATALOG,
        "large": "%d rows × (int, text, float8, timestamp, text)" % N_LARGE,
        "types": "%d rows numeric, timestamptz, uuid, jsonb, int4[]" % N_TYPES,
        "insert": "%d rows, best many-rows call" % N_INSERT,
        "batch": "%d literal INSERTs, batch call" % N_BATCH,
        "batch_loop": "the same, one by one (in a transaction)",
        "copy": "%d rows loaded with COPY" % N_COPY,
        "connect": "%d × connect + close" % N_CONNECT,
        "stream": "iterate %d rows, streaming" % N_STREAM,
        "threads": "%d threads × %d × SELECT $1::int4" % (N_THREADS, N_SMALL),
    }
    heads = ["workload"] + [DRIVER_LABEL[d] for d in drivers]
    rheads = []
    pp = "postpyro"
    for d in ("psycopg2", "psycopg", "asyncpg", "c"):
        if d in drivers:
            rheads.append((d, "PP/" + {"c": "C", "psycopg": "psycopg3"}.get(d, d)))
    if "postpyro-pypy" in drivers:
        rheads.append(("postpyro-pypy", "PyPy/CPython"))
    heads += [h for _, h in rheads]
    lines.append("| " + " | ".join(heads) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(heads) - 1)) + "|")
    for w in workloads:
        row = ["**%s** (%s)" % (w, desc[w])]
        for d in drivers:
            m = med.get((w, d))
            if m is None:
                row.append("—")
            elif "error" in m and "seconds" not in m:
                row.append("error")
            else:
                row.append(fmt_s(m["seconds"]))
        for d, _ in rheads:
            if d == "postpyro-pypy":
                row.append(fmt_r(rsec(med, (w, d), (w, pp))))
            else:
                row.append(fmt_r(rsec(med, (w, pp), (w, d))))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    # memory
    lines.append("Peak memory (ru_maxrss of the process, MB, interpreter included):\n")
    lines.append("| workload | " + " | ".join(DRIVER_LABEL[d] for d in drivers) + " |")
    lines.append("|---|" + "|".join(["---:"] * len(drivers)) + "|")
    for w in ("large", "types", "copy", "stream"):
        if w not in workloads:
            continue
        row = [w]
        for d in drivers:
            m = med.get((w, d)) or {}
            v = m.get("maxrss_mb")
            row.append("—" if v is None else "%.0f" % v)
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("Threads: throughput of %d threads (each on its own connection) against one "
                 "thread (`small`): %s.\n" % (N_THREADS, ", ".join(
                     "%s %s×" % (DRIVER_LABEL[d], fmt_r(threads_gain(med, d)))
                     for d in drivers if threads_gain(med, d) is not None)))
    # errors
    errs = [(w, d, m["error"]) for (w, d), m in sorted(med.items())
            if m and "seconds" not in m and m.get("error")]
    if errs:
        lines.append("Errors:\n")
        for w, d, msg in errs:
            lines.append("- %s / %s: %s" % (w, DRIVER_LABEL[d], msg))
        lines.append("")
    lines.append("## Targets (PostPyro on CPython, medians of this run)\n")
    lines.append("| target | measured | goal | met |")
    lines.append("|---|---:|---|:---:|")
    for name, value, goal, ok in targets(med, quick):
        lines.append("| %s | %s | %s | %s |" % (name, fmt_r(value), goal,
                                                "—" if ok is None else ("yes" if ok else "**no**")))
    lines.append("")
    return "\n".join(lines)


def plot(med, drivers, workloads, path_png, path_svg):
    """Bars: each driver's time relative to PostPyro (CPython), per workload (rsec)."""
    series = []
    for d in drivers:
        vals = []
        for w in workloads:
            vals.append(rsec(med, (w, d), (w, "postpyro")))
        series.append((DRIVER_LABEL[d], vals))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _plot_svg(series, workloads, path_svg)
        return path_svg
    fig, ax = plt.subplots(figsize=(13, 5.5))
    width = 0.8 / max(1, len(series))
    for i, (label, vals) in enumerate(series):
        xs = [k + (i - (len(series) - 1) / 2) * width for k in range(len(workloads))]
        ys = [v if v is not None else 0 for v in vals]
        ax.bar(xs, ys, width, label=label)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels(workloads)
    ax.set_ylabel("time / PostPyro (CPython) time  (log; higher = slower than PostPyro)")
    ax.set_title("PostPyro benchmarks: median time relative to PostPyro on CPython")
    ax.legend(ncol=3, fontsize="small")
    fig.tight_layout()
    fig.savefig(path_png, dpi=110)
    return path_png


def _plot_svg(series, workloads, path):
    import math
    W, H, left, bottom, top = 1000, 420, 60, 60, 20
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    lo, hi = math.log10(0.05), math.log10(20)
    ph = H - bottom - top

    def y(v):
        v = min(max(v, 0.05), 20)
        return top + ph * (1 - (math.log10(v) - lo) / (hi - lo))

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'font-family="sans-serif" font-size="11">' % (W, H)]
    group = (W - left - 20) / max(1, len(workloads))
    bw = group * 0.8 / max(1, len(series))
    for k, w in enumerate(workloads):
        for i, (label, vals) in enumerate(series):
            v = vals[k]
            if v is None:
                continue
            x = left + k * group + group * 0.1 + i * bw
            parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>'
                         % (x, y(v), bw, H - bottom - y(v), colors[i % len(colors)]))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                     % (left + (k + 0.5) * group, H - bottom + 15, w))
    parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="black"/>'
                 % (left, W - 20, y(1), y(1)))
    for i, (label, _) in enumerate(series):
        parts.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" '
                     'y="%d">%s</text>' % (left + i * 150, H - 25, colors[i % len(colors)],
                                            left + i * 150 + 14, H - 16, label))
    parts.append('<text x="10" y="14">time / PostPyro (CPython) time, log scale</text></svg>')
    with open(path, "w") as f:
        f.write("\n".join(parts))


def write_report(args, med, drivers, workloads, info, results):
    text = render(med, drivers, workloads, info, args.quick, args)
    print()
    print(text)
    if not args.out:
        return
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    base = os.path.splitext(args.out)[0]
    img = plot(med, drivers, workloads, base + ".png", base + ".svg")
    with open(args.out, "w") as f:
        f.write(text)
        f.write("\n![PostPyro benchmarks](%s)\n" % os.path.basename(img))
        if args.notes and os.path.exists(args.notes):
            with open(args.notes) as n:
                f.write("\n" + n.read())
    if results is not None:
        with open(base + ".json", "w") as f:
            json.dump({"info": info, "scale": args.scale, "quick": args.quick,
                       "repeats": args.repeats, "drivers": drivers, "workloads": workloads,
                       "results": [{"workload": w, "driver": d, "runs": runs}
                                   for (w, d), runs in sorted(results.items())]}, f, indent=1)
    print("bench: wrote %s and %s%s" % (args.out, img,
                                        "" if results is None else " and " + base + ".json"))


def render_from_json(args):
    """Re-render a report (e.g. with new notes) from the raw numbers of an earlier run."""
    with open(args.from_json) as f:
        data = json.load(f)
    results = {(r["workload"], r["driver"]): r["runs"] for r in data["results"]}
    args.scale = data.get("scale", 1.0)
    args.quick = data.get("quick", False)
    args.repeats = data.get("repeats")
    drivers = data.get("drivers") or [d for d in DRIVERS if any(k[1] == d for k in results)]
    workloads = data.get("workloads") or [w for w in WORKLOADS
                                          if any(k[0] == w for k in results)]
    write_report(args, summarize(results), drivers, workloads, data["info"], None)


def parent_main(args):
    py, pypy = find_interpreters()
    drivers = args.drivers or list(DRIVERS)
    workloads = args.workloads or list(WORKLOADS)
    if "postpyro-pypy" in drivers and not pypy:
        print("bench: pypy3 not found; skipping PostPyro on PyPy", file=sys.stderr)
        drivers.remove("postpyro-pypy")
    c_client = args.c_client
    if "c" in drivers and not (c_client and os.access(c_client, os.X_OK)):
        print("bench: no C client (--c-client); skipping the C floor", file=sys.stderr)
        drivers.remove("c")
        c_client = None
    info = machine_info(py, pypy)
    info["order"] = "rotated"
    try:
        info["server"] = subprocess.run(
            [py, "-c", "import psycopg2,sys; c=psycopg2.connect(sys.argv[1]); cur=c.cursor(); "
             "cur.execute('SHOW server_version'); print(cur.fetchone()[0])", args.dsn],
            capture_output=True, text=True, timeout=30).stdout.strip() or "?"
    except Exception:
        info["server"] = "?"
    repeats = {w: args.repeats or REPEATS.get(w, DEFAULT_REPEATS) for w in workloads}
    results = {}
    total = sum(repeats[w] for w in workloads) * len(drivers)
    done = 0
    t_start = time.time()
    for rep in range(max(repeats.values())):
        for w in workloads:
            if rep >= repeats[w]:
                continue
            for d in rotated(drivers, rep):  # side by side, in turn: ABCD, BCDA, …
                if d == "c" and w not in C_WORKLOADS:
                    continue
                done += 1
                r = measure(d, w, args, py, pypy, c_client)
                results.setdefault((w, d), []).append(r)
                if r is not None:
                    msg = ("%.3fs" % r["seconds"]) if "seconds" in r else \
                        "ERROR " + r.get("error", "")
                    print("[%3d/%d %5.0fs] run %d %-10s %-14s %s" % (
                        done, total, time.time() - t_start, rep + 1, w, d, msg), flush=True)
    write_report(args, summarize(results), drivers, workloads, info, results)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", default=os.environ.get("PP_BENCH_DSN")
                    or os.environ.get("PP_TEST_DSN"))
    ap.add_argument("--quick", action="store_true",
                    help="sizes ÷ 10 and one repeat: a smoke run, numbers indicative only")
    ap.add_argument("--scale", type=float, default=None, help="divide every size by this")
    ap.add_argument("--repeats", type=int, default=None,
                    help="runs per (workload, driver); default 5 (stream and copy 3)")
    ap.add_argument("--drivers", type=lambda s: s.split(","), default=None,
                    help="comma-separated, of: " + ",".join(DRIVERS))
    ap.add_argument("--workloads", type=lambda s: s.split(","), default=None,
                    help="comma-separated, of: " + ",".join(WORKLOADS))
    ap.add_argument("--c-client", default=os.environ.get("PP_BENCH_C_CLIENT"))
    ap.add_argument("--out", default=None, help="write the report here (e.g. "
                    "docs/benchmarks.md; the plot and the raw JSON go next to it)")
    ap.add_argument("--notes", default=None, help="a Markdown file appended to the report")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per process")
    ap.add_argument("--from-json", default=None, help="re-render the report from the raw "
                    "numbers (.json) of an earlier run instead of running anything")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--driver", help=argparse.SUPPRESS)
    ap.add_argument("--workload", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.scale is None:
        args.scale = 10.0 if args.quick else 1.0
    if args.quick and args.repeats is None:
        args.repeats = 1
    if args.from_json:
        render_from_json(args)
        return
    if not args.dsn:
        ap.error("no server: give --dsn, or set PP_BENCH_DSN (run.sh starts a throwaway one)")
    if args.child:
        child_main(args)
        return
    for name, allowed in (("drivers", DRIVERS), ("workloads", WORKLOADS)):
        bad = [x for x in getattr(args, name) or [] if x not in allowed]
        if bad:
            ap.error("unknown %s: %s" % (name, ", ".join(bad)))
    parent_main(args)


if __name__ == "__main__":
    main()
