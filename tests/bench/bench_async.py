#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PostPyro's async benchmark: AsyncConnection beside sync PostPyro, asyncpg and psycopg 3's
AsyncConnection, in the same run (issue 12's targets).

    tests/bench/run.sh --async [--repeats 5] [--workloads small,notify] [--quick]
    bench_async.py --dsn DSN [--out report.md] [--json out.json] ...

Each (driver, workload) run is its own process: the workload runs once at a tenth of its size
(warm caches, PyPy's JIT), then once timed (``time.perf_counter`` around the work only).
Rounds: for each repeat and each workload, every driver runs once, one after another, in an
order rotated between repeats (ABCD, BCDA, …). The report gives each driver's median over
repeats, and the ratios the issue asks, each the median of the ratios formed within each
repeat (two runs made side by side), never a ratio of medians taken at different moments.

Workloads:
  small   20 000 × ``SELECT $1::int4``, one connection, one statement at a time
  large   500 000 rows × 5 columns (int, text, float8, timestamp, text), one query
  insert  executemany of 50 000 rows (int, text, float8), one transaction
  gather  10 connections × 2 000 × ``SELECT $1::int4``, the 10 loops run with gather
  notify  100 000 notifications sent by a second connection (10 transactions of 10 000),
          timed until the listener has received the last; lost ones are counted
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

from benchlib import ASYNC_MARK as MARK, kv_dsn, paired_ratio, rotated

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))

WORKLOADS = ["small", "large", "insert", "gather", "notify"]
DRIVERS = ["sync", "sync-pypy", "async", "async-pypy", "asyncpg", "psycopg"]
LABEL = {"sync": "PostPyro sync", "sync-pypy": "PostPyro sync PyPy",
         "async": "PostPyro async", "async-pypy": "PostPyro async PyPy",
         "asyncpg": "asyncpg", "psycopg": "psycopg 3 async"}
SIZES = {"small": 20000, "large": 500000, "insert": 50000, "gather": 2000, "notify": 100000}
N_GATHER = 10
SQL_SMALL = "SELECT $1::int4"
SQL_LARGE = ("SELECT g, 'row ' || g, g * 0.5::float8, '2020-01-01'::timestamp + g * "
             "interval '1 second', md5(g::text) FROM generate_series(1, %d) g")
SQL_NOTIFY = "SELECT pg_notify($1, g::text) FROM generate_series($2::int, $3) g"


def rows3(n):
    return [(k, "name %d" % k, k * 0.25) for k in range(n)]


def notify_chunks(n):
    step = max(1, n // 10)
    return [(s, min(n, s + step) - 1) for s in range(0, n, step)]


# ---- the workloads, one class per driver --------------------------------------------------------

class SyncPostPyro:
    def __init__(self, dsn):
        import PostPyro
        self.pg = PostPyro
        self.dsn = dsn

    def run(self, name, n):
        pg = self.pg
        c = pg.Connection(self.dsn)
        extra = {}
        try:
            if name == "insert":
                c.execute("DROP TABLE IF EXISTS bench_ainsert")
                c.execute("CREATE TABLE bench_ainsert (a int, b text, c float8)")
                rows = rows3(n)
            elif name == "notify":
                channel = "bench_%d" % os.getpid()
                c.listen(channel)
                sender = pg.Connection(self.dsn)
            gc.collect()
            c0 = time.process_time()
            t0 = time.perf_counter()
            if name == "small":
                q = c.query
                for k in range(n):
                    q(SQL_SMALL, [k])
            elif name == "large":
                extra["rows"] = len(c.query(SQL_LARGE % n))
            elif name == "insert":
                extra["rows"] = c.executemany("INSERT INTO bench_ainsert VALUES ($1, $2, $3)",
                                              rows)
            elif name == "notify":
                t = threading.Thread(target=lambda: [
                    sender.execute(SQL_NOTIFY, [channel, a, b]) for a, b in notify_chunks(n)])
                t.start()
                got = sum(1 for _ in c.notifies(timeout=300, stop_after=n))
                t.join()
                extra.update(received=got, lost=c.notifies_lost)
            else:
                return None
            extra["seconds"] = time.perf_counter() - t0
            extra["cpu"] = time.process_time() - c0
        finally:
            c.close()
            if name == "notify":
                sender.close()
        return extra


class AsyncBase:
    def __init__(self, dsn):
        import asyncio
        self.asyncio = asyncio
        self.dsn = dsn

    def run(self, name, n):
        return self.asyncio.run(self.arun(name, n))

    async def arun(self, name, n):
        fn = getattr(self, "w_" + name, None)
        if fn is None:
            return None
        conns = [await self.connect() for _ in range(N_GATHER if name == "gather" else 1)]
        c = conns[0]
        st = {}
        try:
            if name == "insert":
                await self.execute(c, "DROP TABLE IF EXISTS bench_ainsert")
                await self.execute(c, "CREATE TABLE bench_ainsert (a int, b text, c float8)")
                st["rows"] = rows3(n)
            elif name == "notify":
                st["channel"] = "bench_%d" % os.getpid()
                st["sender"] = await self.connect()
                await self.execute(c, "LISTEN " + st["channel"])
            gc.collect()
            c0 = time.process_time()
            t0 = time.perf_counter()
            extra = await fn(conns, n, st) or {}
            extra["seconds"] = time.perf_counter() - t0
            extra["cpu"] = time.process_time() - c0
        finally:
            for x in conns + [st.get("sender")]:
                if x is not None:
                    await x.close()
        return extra

    async def send_notifies(self, sender, channel, n):
        for a, b in notify_chunks(n):
            await self.notify_chunk(sender, channel, a, b)


class AsyncPostPyro(AsyncBase):
    def __init__(self, dsn):
        super().__init__(dsn)
        import PostPyro
        self.pg = PostPyro

    async def connect(self):
        return await self.pg.AsyncConnection.connect(self.dsn)

    async def execute(self, c, sql):
        await c.execute(sql)

    async def small(self, c, n):
        q = c.query
        for k in range(n):
            await q(SQL_SMALL, [k])

    async def w_small(self, conns, n, st):
        await self.small(conns[0], n)

    async def w_gather(self, conns, n, st):
        await self.asyncio.gather(*[self.small(c, n) for c in conns])
        return {"queries": n * len(conns)}

    async def w_large(self, conns, n, st):
        return {"rows": len(await conns[0].query(SQL_LARGE % n))}

    async def w_insert(self, conns, n, st):
        return {"rows": await conns[0].executemany(
            "INSERT INTO bench_ainsert VALUES ($1, $2, $3)", st["rows"])}

    async def notify_chunk(self, sender, channel, a, b):
        await sender.execute(SQL_NOTIFY, [channel, a, b])

    async def w_notify(self, conns, n, st):
        c = conns[0]
        send = self.asyncio.ensure_future(self.send_notifies(st["sender"], st["channel"], n))
        got = 0
        async for _ in c.notifies(timeout=300, stop_after=n):
            got += 1
        await send
        return {"received": got, "lost": c.notifies_lost}


class Asyncpg(AsyncBase):
    async def connect(self):
        import asyncpg
        if re.match(r"postgres(ql)?://", self.dsn):
            return await asyncpg.connect(self.dsn)
        kv = kv_dsn(self.dsn)
        kw = {"host": kv.get("host"), "port": int(kv["port"]) if "port" in kv else None,
              "database": kv.get("dbname"), "user": kv.get("user"),
              "password": kv.get("password")}
        return await asyncpg.connect(**{k: v for k, v in kw.items() if v is not None})

    async def execute(self, c, sql):
        await c.execute(sql)

    async def small(self, c, n):
        f = c.fetchval
        for k in range(n):
            await f(SQL_SMALL, k)

    async def w_small(self, conns, n, st):
        await self.small(conns[0], n)

    async def w_gather(self, conns, n, st):
        await self.asyncio.gather(*[self.small(c, n) for c in conns])
        return {"queries": n * len(conns)}

    async def w_large(self, conns, n, st):
        return {"rows": len(await conns[0].fetch(SQL_LARGE % n))}

    async def w_insert(self, conns, n, st):
        c = conns[0]
        async with c.transaction():
            await c.executemany("INSERT INTO bench_ainsert VALUES ($1, $2, $3)", st["rows"])

    async def notify_chunk(self, sender, channel, a, b):
        await sender.execute(SQL_NOTIFY, channel, a, b)

    async def w_notify(self, conns, n, st):
        c = conns[0]
        await c.execute("UNLISTEN *")
        done = self.asyncio.get_running_loop().create_future()
        got = [0]

        def on_notify(conn, pid, channel, payload):
            got[0] += 1
            if got[0] == n and not done.done():
                done.set_result(None)
        await c.add_listener(st["channel"], on_notify)
        await self.send_notifies(st["sender"], st["channel"], n)
        await self.asyncio.wait_for(done, 300)
        return {"received": got[0], "lost": 0}


class PsycopgAsync(AsyncBase):
    async def connect(self):
        import psycopg
        return await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)

    async def execute(self, c, sql):
        await c.execute(sql)

    async def small(self, c, n):
        async with c.cursor() as cur:
            for k in range(n):
                await cur.execute("SELECT %s::int4", (k,))
                await cur.fetchall()

    async def w_small(self, conns, n, st):
        await self.small(conns[0], n)

    async def w_gather(self, conns, n, st):
        await self.asyncio.gather(*[self.small(c, n) for c in conns])
        return {"queries": n * len(conns)}

    async def w_large(self, conns, n, st):
        async with conns[0].cursor() as cur:
            await cur.execute(SQL_LARGE % n)
            return {"rows": len(await cur.fetchall())}

    async def w_insert(self, conns, n, st):
        c = conns[0]
        async with c.transaction():
            async with c.cursor() as cur:
                await cur.executemany("INSERT INTO bench_ainsert VALUES (%s, %s, %s)",
                                      st["rows"])

    async def notify_chunk(self, sender, channel, a, b):
        await sender.execute("SELECT pg_notify(%s, g::text) FROM generate_series(%s::int, "
                             "%s) g", (channel, a, b))

    async def w_notify(self, conns, n, st):
        c = conns[0]
        send = self.asyncio.ensure_future(self.send_notifies(st["sender"], st["channel"], n))
        got = 0
        gen = c.notifies()
        async for _ in gen:
            got += 1
            if got == n:
                break
        await gen.aclose()
        await send
        return {"received": got, "lost": 0}


CLASSES = {"sync": SyncPostPyro, "sync-pypy": SyncPostPyro, "async": AsyncPostPyro,
           "async-pypy": AsyncPostPyro, "asyncpg": Asyncpg, "psycopg": PsycopgAsync}


def child_main(args):
    w = CLASSES[args.driver](args.dsn)
    n = max(1, int(SIZES[args.workload] / args.scale))
    if w.run(args.workload, max(1, n // 10)) is None:  # warm-up
        print("RESULT null")
        return
    out = w.run(args.workload, n)
    out["n"] = n
    print("RESULT " + json.dumps(out), flush=True)


# ---- the parent ---------------------------------------------------------------------------------

def run_one(driver, workload, args, py, pypy):
    interp = pypy if driver.endswith("-pypy") else py
    if interp is None:
        return {"error": "pypy3 not found"}
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", os.path.join(TOP, "postpyro_py", "inplace"))
    if driver.endswith("-pypy"):
        env["PYTHONPATH"] += os.pathsep + "/usr/lib/python3/dist-packages"
    lib = os.path.join(TOP, "libpostpyro", ".libs", "libpostpyro.so.1")
    if "POSTPYRO_LIBRARY" not in env and os.path.exists(lib):
        env["POSTPYRO_LIBRARY"] = lib
    cmd = [interp, os.path.abspath(__file__), "--child", "--driver", driver, "--workload",
           workload, "--dsn", args.dsn, "--scale", str(args.scale)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after %ds" % args.timeout}
    m = re.search(r"^RESULT (.*)$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        return {"error": (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]}
    return json.loads(m.group(1))


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def summarize(results, key="seconds"):
    med = {}
    for (d, w), rs in results.items():
        secs = [r[key] for r in rs if r and key in r]
        if secs:
            med[(d, w)] = statistics.median(secs)
    return med


def ratio(results, a, b, key="seconds"):
    """The median of a's time ÷ b's over the repeats (side-by-side runs); None if none."""
    def per_round(k):
        return [r.get(key) if r else None for r in results.get(k, [])]
    return paired_ratio(per_round(a), per_round(b))


TARGETS = [  # (label, numerator, denominator, bound, "<=" or ">=" on the throughput)
    ("async small ≤ 1.15 × sync", ("async", "small"), ("sync", "small"), 1.15),
    ("async small ≤ asyncpg", ("async", "small"), ("asyncpg", "small"), 1.0),
    ("async large ≤ 1.05 × sync", ("async", "large"), ("sync", "large"), 1.05),
    ("async insert ≤ asyncpg", ("async", "insert"), ("asyncpg", "insert"), 1.0),
    ("10 conns × small (gather): time ≤ asyncpg", ("async", "gather"), ("asyncpg", "gather"),
     1.0),
    ("notify 100 000 vs asyncpg add_listener", ("async", "notify"), ("asyncpg", "notify"),
     None),
    ("PyPy async small ≤ CPython async", ("async-pypy", "small"), ("async", "small"), 1.0),
    ("PyPy async large ≤ CPython async", ("async-pypy", "large"), ("async", "large"), 1.0),
    ("PyPy async insert ≤ CPython async", ("async-pypy", "insert"), ("async", "insert"), 1.0),
    ("PyPy async gather ≤ CPython async", ("async-pypy", "gather"), ("async", "gather"), 1.0),
    ("PyPy async notify ≤ CPython async", ("async-pypy", "notify"), ("async", "notify"), 1.0),
]


def render(results, med, drivers, workloads, info):
    cpu = summarize(results, "cpu")
    lines = ["### Async run: %s" % info["date"], "",
             "%s; load average before %s, after %s; %d repeat(s): in each, every driver "
             "runs once per workload, one after another, in an order rotated between "
             "repeats (ABCD, BCDA, …); medians, seconds (lower is better). CPython %s, "
             "PyPy %s; asyncpg %s, psycopg %s."
             % (info["host"], info["load_before"], info["load_after"], info["repeats"],
                info["cpython"], info["pypy"], info["asyncpg"], info["psycopg"]), "",
             "| workload | " + " | ".join(LABEL[d] for d in drivers) + " |",
             "|---|" + "---:|" * len(drivers)]
    for w in workloads:
        cells = []
        for d in drivers:
            rs = results.get((d, w), [])
            errs = [r["error"] for r in rs if r and "error" in r]
            if (d, w) in med:
                cell = "%.3f" % med[(d, w)]
                lost = [r.get("lost") for r in rs if r and r.get("lost")]
                if w == "notify":
                    got = [r.get("received") for r in rs if r and "received" in r]
                    cell += " (%s recv, %d lost)" % (min(got) if got else "?", max(lost or [0]))
                cells.append(cell)
            elif errs:
                cells.append("error: " + errs[0][:60].replace("|", "/"))
            else:
                cells.append("—")
        lines.append("| %s | %s |" % (w, " | ".join(cells)))
    lines += ["", "The client process's CPU time (median seconds; the server's work and the "
              "waits are not in it, so the machine's load moves it less):", "",
              "| workload | " + " | ".join(LABEL[d] for d in drivers) + " |",
              "|---|" + "---:|" * len(drivers)]
    for w in workloads:
        lines.append("| %s | %s |" % (w, " | ".join(
            "%.3f" % cpu[(d, w)] if (d, w) in cpu else "—" for d in drivers)))
    lines += ["", "Ratios (time of the first over time of the second; below 1: faster), "
              "wall clock and client CPU; each the median of the ratios of the two runs "
              "made side by side in each repeat:", "",
              "| target | wall ratio | met | CPU ratio |", "|---|---:|---|---:|"]
    for label, a, b, bound in TARGETS:
        r = ratio(results, a, b)
        if r is None:
            continue
        met = "—" if bound is None else ("yes" if r <= bound else "**no**")
        rc = ratio(results, a, b, "cpu")
        lines.append("| %s | %.2f | %s | %s |" % (label, r, met,
                                                  "—" if rc is None else "%.2f" % rc))
    return "\n".join(lines) + "\n"


def parent_main(args):
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    import shutil
    pypy = shutil.which("pypy3")
    drivers = args.drivers.split(",") if args.drivers else DRIVERS
    workloads = args.workloads.split(",") if args.workloads else WORKLOADS
    results = {}  # (driver, workload) → one run per repeat, in repeat order
    info = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
            "host": "%d cores" % os.cpu_count(), "load_before": loadavg(),
            "repeats": args.repeats}
    for rep in range(args.repeats):
        for w in workloads:
            for d in rotated(drivers, rep):  # side by side, in turn: ABCD, BCDA, …
                r = run_one(d, w, args, py, pypy)
                if r is None:
                    continue
                results.setdefault((d, w), []).append(r)
                shown = ("%.3f s" % r["seconds"]) if "seconds" in r else r.get("error")
                print("[%d/%d] %-8s %-12s %s" % (rep + 1, args.repeats, w, d, shown),
                      file=sys.stderr, flush=True)
    info["load_after"] = loadavg()

    def ver(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip() or "?"
        except OSError:
            return "?"
    info["cpython"] = ver([py, "-c", "import sys; print(sys.version.split()[0])"])
    info["pypy"] = ver([pypy, "-c", "import sys; print(sys.version.split()[0])"]) \
        if pypy else "none"
    info["asyncpg"] = ver([py, "-c", "import asyncpg; print(asyncpg.__version__)"])
    info["psycopg"] = ver([py, "-c", "import psycopg; print(psycopg.__version__, "
                                     "psycopg.pq.__impl__)"])
    med = summarize(results)
    text = render(results, med, drivers, workloads, info)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "results": {"%s/%s" % k: v for k, v in results.items()}},
                      f, indent=1)
    if args.notes and os.path.exists(args.notes):
        with open(args.notes) as f:
            text += "\n" + f.read()
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    if args.into:
        put_into(args.into, text)
    print(text)


def put_into(path, text):
    """Replaces the async section at the end of ``path`` (docs/benchmarks.md, which
    bench.py writes: rerun this after it), or appends one."""
    with open(path) as f:
        doc = f.read()
    if MARK in doc:
        doc = doc[:doc.index(MARK)]
    doc = doc.rstrip("\n") + "\n\n" + MARK + "\n\n## Async (AsyncConnection), a separate run\n\n" \
        + text
    with open(path, "w") as f:
        f.write(doc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--driver")
    ap.add_argument("--workload")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--quick", action="store_true", help="sizes ÷ 10, one repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--drivers")
    ap.add_argument("--workloads")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--out")
    ap.add_argument("--json")
    ap.add_argument("--notes", help="a Markdown file appended to the report")
    ap.add_argument("--into", help="put the report (and notes) at the end of this file, "
                    "replacing an earlier async section (docs/benchmarks.md)")
    args = ap.parse_args()
    if args.child:
        child_main(args)
        return
    if args.quick:
        args.scale, args.repeats = 10.0, 1
    parent_main(args)


if __name__ == "__main__":
    main()
