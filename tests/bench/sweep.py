#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shape sweep (issue 20): one SELECT of every shape — rows 1 … 1 000 000 × columns 1, 5,
20 × value kinds (int, text, a mix of int, text, numeric, timestamptz and uuid) — read with
PostPyro on CPython and PyPy, psycopg2, psycopg 3, asyncpg and plain libpq (c_sweep.c), in one
run.

    sweep.py --dsn DSN [--profile quick|full] [--json OUT.json] [--md OUT.md] [--svg OUT.svg]
    sweep.py --from-json docs/benchmarks-sweep.json --into docs/benchmarks.md
             --svg docs/benchmarks-sweep.svg       (render only, into the docs' sweep section)

Every driver is one worker process (c_sweep.c for plain libpq), started once and connected
once; the coordinator (this script) takes the cells one at a time, and in each cell asks
the workers for a warm-up, then for rounds: in every round each driver in turn, in an order
shuffled per round, runs N statements (N so that a round reads ≈ 30 000 rows, at most 1 000
statements; from 10 000 rows, so that it reads at least 1 500 000 values and holds several
of PyPy's major collections, see plan) and reports the wall time and its own process's CPU
time (user + system) they took. So the drivers' runs of a round are seconds apart and
share that moment's load. A driver's time in a cell is the median over its rounds; a ratio
of two drivers is the median of the per-round ratios, reported with the lowest and highest
of them (see run_cell, round_ratios). The profile "quick" (for iterating) has fewer and
shorter rounds and no 1 000 000-row cells.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Optional

from benchlib import kv_dsn, put_section

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))

ROWS = [1, 10, 100, 1000, 10000, 100000, 1000000]
COLS = [1, 5, 20]
KINDS = ["int", "text", "mix"]
DRIVERS = ["postpyro", "postpyro-pypy", "postpyro-pypy-nursery", "psycopg2", "psycopg",
           "asyncpg", "c", "postpyro-base", "postpyro-pypy-base", "postpyro-pypy-fresh"]
# postpyro-pypy-fresh: PostPyro on PyPy in a worker started afresh for every cell (warmed up
# as a first cell), beside the long-lived postpyro-pypy: does the JIT's and the heap's state
# carried from the cells before (up to 1 000 000 rows) move a cell? Not in the default list.
FRESH = {"postpyro-pypy-fresh"}
LABEL = {"postpyro": "PostPyro", "postpyro-pypy": "PostPyro PyPy",
         "postpyro-pypy-nursery": "PostPyro PyPy 64 MB nursery", "psycopg2": "psycopg2",
         "psycopg": "psycopg 3", "asyncpg": "asyncpg", "c": "C libpq",
         "postpyro-base": "PostPyro (--base build)",
         "postpyro-pypy-base": "PostPyro PyPy (--base build)",
         "postpyro-pypy-fresh": "PostPyro PyPy, a fresh worker per cell"}
# PyPy sizes its nursery from the CPU's last-level cache (1 MB on one 2-core VM, 150 MB on
# another with a 300 MB L3: machine_info records it); a small one copies every row made,
# which survives a minor collection. PYPY_GC_NURSERY, read at start-up, is
# the application's knob; this driver shows what it does.
NURSERY = "64MB"
PROFILES = {
    # Below BIG_ROWS rows: rounds of ≈ round_rows rows; from BIG_ROWS rows: big_rounds rounds
    # of at least big_values values each (see plan); the largest row count.
    # Every cell has 3 rounds or more: a median and a spread of the per-round ratios. The
    # small cells' rounds are short (≈ 25–100 ms at 1–100 rows), the ones the machine's
    # moment moves most, and cheap: 7 of them. The 1 000 000-row cells are 60 % of the full
    # profile's ≈ 16 min with 3 rounds of one statement each.
    # slow_max_rows: SLOW's drivers run no cells above it (quick: psycopg 3's 100 000-row
    # cells took 1.7 of the profile's 5.7 min under load).
    # threads: whether the thread curve (thread_curve) runs after the cells by default;
    # thread_stmts statements a run, thread_repeats repeats (see thread_curve).
    "quick": {"round_rows": 10000, "rounds": 5, "big_values": 300000, "big_rounds": 3,
              "max_rows": 100000, "max_per_round": 300, "slow_max_rows": 10000,
              "threads": False, "thread_stmts": 2000, "thread_repeats": 3},
    "full": {"round_rows": 30000, "rounds": 7, "big_values": 1500000, "big_rounds": 3,
             "max_rows": 1000000, "threads": True, "thread_stmts": 20000, "thread_repeats": 5},
}
THREADS = [1, 2, 4, 8]
BIG_ROWS = 10000
# Drivers far slower per value than the others: driver → (k, rows): they run a k-th of each
# round's statements (at least one; times are per statement, and each round still pairs
# their run with the others' runs beside it) and leave out the cells of more
# than `rows` rows. Debian's psycopg 3 is its pure-Python build (no psycopg_c): ≈ 4 µs a
# value, 15–30 × psycopg2's; with every statement of the full profile it would add ≈ 25 min
# (one 1 000 000 × 20 statement ≈ 80 s), with this ≈ 2.5 min (≈ 4–5 µs a value, 100 µs a
# statement and psycopg2's server wait, over its statements of plan; ≈ 0.7 min with a
# limit of 10 000 rows). --slow-as-others: no limits.
SLOW = {"psycopg": (10, 100000)}
MAX_PER_ROUND = 1000  # statements per round at most (1- and 10-row cells; quick: 300)
MAX_WARM = 2000  # warm-up statements at most (the first cell's also warms PyPy's JIT up)


def column_expr(kind: str, k: int) -> str:
    """Column k of a result of this kind, from g (int4, 1 … rows)."""
    if kind == "int":
        return "g + %d" % k
    if kind == "text":
        return "'value ' || (g + %d)" % k
    return ["g + %d" % k, "'value ' || (g + %d)" % k, "(g + %d)::numeric / 100" % k,
            "'2024-01-01 00:00:00+00'::timestamptz + (g + %d) * interval '1 second'" % k,
            "md5((g + %d)::text)::uuid" % k][k % 5]


def sweep_sql(kind: str, ncols: int, style: str = "$") -> str:
    cols = ", ".join("%s AS c%d" % (column_expr(kind, k), k) for k in range(ncols))
    ph = "%s" if style == "%" else "$1"
    return "SELECT %s FROM generate_series(1, %s::int4) g" % (cols, ph)


def row_counts(prof: dict, only: str = "") -> list:
    """The row counts of a profile, or those of them listed in ``only`` ("1000,10000")."""
    wanted = [int(r) for r in only.split(",")] if only else ROWS
    return [r for r in ROWS if r <= prof["max_rows"] and r in wanted]


def plan(rows: int, cols: int, prof: dict, first: bool = False) -> tuple:
    """(statements per round, rounds, warm-up statements) for a cell of rows × cols;
    ``first``: no smaller cell ran before it in this process."""
    if rows < BIG_ROWS:
        n = max(1, min(prof.get("max_per_round", MAX_PER_ROUND), prof["round_rows"] // rows))
        return n, prof["rounds"], max(1, min(MAX_WARM, prof["round_rows"] // rows))
    # PyPy's major collections come every 1–15 statements at 10 000 rows (more often the
    # wider the rows), each doubling a statement's time or more: a round of a few statements
    # held none or one of them, and its time swung 2 ×. A round reads at least big_values
    # values (a row counting as one more: its tuple), which is several collections' worth at
    # every shape, so each round pays its share of them, as a program running on would.
    n = max(1, -(-prof["big_values"] // (rows * (cols + 1))))
    # A big cell after smaller ones: they warmed this process up.
    warm = n if rows < 100000 or first else 0
    return n, prof["big_rounds"], warm


# ---- worker: one driver, connected once, answering the coordinator -------------------------

def _dbapi_make(cur):
    """The runner maker of a DB-API driver (psycopg2, psycopg 3): ``%s`` statements,
    execute + fetchall on one cursor."""
    def make(sql_dollar, sql_pct):
        def run(rows, n):
            params = (rows,)
            for _ in range(n):
                cur.execute(sql_pct, params)
                cur.fetchall()
        return run
    return make


def connect(driver: str, dsn: str):
    """Connects once; returns make(sql_dollar, sql_pct) → run(rows, n), which runs the
    statement n times and reads every row each time."""
    if driver.startswith("postpyro"):
        import PostPyro as pg
        conn = pg.Connection(dsn)

        def make(sql_dollar, sql_pct):
            def run(rows, n):
                q, params = conn.query, [rows]
                for _ in range(n):
                    q(sql_dollar, params)
            return run
        return make
    if driver == "psycopg2":
        import psycopg2
        import psycopg2.extras
        psycopg2.extras.register_uuid()
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        return _dbapi_make(conn.cursor())
    if driver == "psycopg":  # psycopg 3, sync; its defaults (prepares after 5 executions)
        import psycopg
        conn = psycopg.connect(dsn, autocommit=True)
        return _dbapi_make(conn.cursor())
    if driver == "asyncpg":
        import asyncio
        import asyncpg
        loop = asyncio.new_event_loop()
        kv = kv_dsn(dsn)
        conn = loop.run_until_complete(asyncpg.connect(
            host=kv.get("host"), port=int(kv.get("port", 5432)), database=kv.get("dbname"),
            user=kv.get("user"), password=kv.get("password")))

        def make(sql_dollar, sql_pct):
            async def loop_n(rows, n):
                for _ in range(n):
                    await conn.fetch(sql_dollar, rows)
            # the loop runs inside one coroutine: the timing covers the awaits only
            return lambda rows, n: loop.run_until_complete(loop_n(rows, n))
        return make
    raise SystemExit("unknown driver %s" % driver)


def worker(args) -> None:
    """The worker's loop: "READY" once connected, then one answer line per command line
    (the protocol of c_sweep.c): "S kind cols" → "OK" (this shape's statement from now on),
    "R rows n" → "T wall cpu" (n statements: seconds of wall time and of this process's CPU,
    user + system), "G" → "OK" (a full collection); "E message" when a command failed."""
    import gc
    make = connect(args.driver, args.dsn)
    run = None
    out = sys.stdout
    out.write("READY\n")
    out.flush()
    for line in iter(sys.stdin.readline, ""):
        cmd = line.split()
        try:
            if cmd[0] == "S":
                k, c = cmd[1], int(cmd[2])
                run = make(sweep_sql(k, c), sweep_sql(k, c, "%"))
                reply = "OK"
            elif cmd[0] == "R" and run is not None:
                rows, n = int(cmd[1]), int(cmd[2])
                w0, c0 = time.perf_counter(), time.process_time()
                run(rows, n)
                reply = "T %.9f %.9f" % (time.perf_counter() - w0, time.process_time() - c0)
            elif cmd[0] == "G":
                gc.collect()
                reply = "OK"
            else:
                reply = "E bad command: " + line.strip()
        except Exception as exc:  # the coordinator records the round as failed
            reply = "E " + repr(exc).replace("\n", " ")
        out.write(reply + "\n")
        out.flush()


# ---- coordinator: the workers, the rounds, the results ----------------------------------------

class WorkerDied(Exception):
    pass


class Worker:
    """One long-lived worker process of a driver, asked one command at a time."""

    def __init__(self, driver: str, cmd: list, env: dict):
        self.driver = driver
        self.is_c = driver == "c"
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, env=env, text=True, bufsize=1)
        if self.ask(None) != "READY":
            raise WorkerDied("no READY")

    def ask(self, line):
        """Sends a command (None: none), returns the answer line; WorkerDied when the
        worker ended."""
        try:
            if line is not None:
                self.proc.stdin.write(line + "\n")
                self.proc.stdin.flush()
            reply = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            reply = ""
        if not reply:
            raise WorkerDied(self.stderr_tail())
        return reply.rstrip("\n")

    def prepare(self, kind: str, ncols: int) -> None:
        cmd = "S " + (sweep_sql(kind, ncols) if self.is_c else "%s %d" % (kind, ncols))
        self.check(self.ask(cmd))

    def run(self, rows: int, n: int) -> tuple:
        """(wall, cpu) seconds of n statements of rows rows."""
        reply = self.check(self.ask("R %d %d" % (rows, n)))
        _, wall, cpu = reply.split()
        return float(wall), float(cpu)

    def collect(self) -> None:
        self.check(self.ask("G"))

    @staticmethod
    def check(reply: str) -> str:
        if reply.startswith("E "):
            raise RuntimeError(reply[2:])
        return reply

    def stderr_tail(self) -> str:
        self.log.seek(0)
        return self.log.read()[-3000:]

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def worker_command(args, d, py, pypy, envs, env, env_pypy):
    """(command, environment) of driver d's worker; None when it cannot run here."""
    if d == "c":
        return ([args.c_sweep, args.dsn], env) if args.c_sweep else None
    on_pypy = d.startswith("postpyro-pypy")
    interp = pypy if on_pypy else py
    if interp is None or (d.endswith("-base") and not args.base):
        return None
    return ([interp, os.path.abspath(__file__), "--worker", "--driver", d, "--dsn", args.dsn],
            envs.get(d) or (env_pypy if on_pypy else env))


def environments(args, env):
    """The environments of the PyPy drivers and the --base ones."""
    env_pypy = dict(env)
    env_pypy["PYTHONPATH"] = env["PYTHONPATH"] + ":/usr/lib/python3/dist-packages"
    env_pypy.pop("PYPY_GC_NURSERY", None)
    envs = {"postpyro-pypy-nursery": dict(env_pypy, PYPY_GC_NURSERY=NURSERY)}
    if args.base:  # A/B: the same package and library from another build tree
        libs = os.path.join(os.path.abspath(args.base), "libpostpyro", ".libs")
        envs["postpyro-base"] = dict(env, PYTHONPATH=os.path.join(
            os.path.abspath(args.base), "postpyro_py", "inplace"),
            POSTPYRO_LIBRARY=os.path.join(libs, "libpostpyro.so.1"), LD_LIBRARY_PATH=libs)
        envs["postpyro-pypy-base"] = dict(envs["postpyro-base"], PYTHONPATH=envs[
            "postpyro-base"]["PYTHONPATH"] + ":/usr/lib/python3/dist-packages")
        envs["postpyro-pypy-base"].pop("PYPY_GC_NURSERY", None)
    return envs, env_pypy


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def run_all(args) -> dict:
    prof = dict(PROFILES[args.profile])
    if args.rounds:
        prof.update(rounds=args.rounds, big_rounds=args.rounds)
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    pypy = shutil.which("pypy3")
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", os.path.join(TOP, "postpyro_py", "inplace"))
    env.setdefault("POSTPYRO_LIBRARY", os.path.join(TOP, "libpostpyro", ".libs",
                                                    "libpostpyro.so.1"))
    envs, env_pypy = environments(args, env)
    drivers = args.drivers.split(",")
    kinds = args.kinds.split(",")
    cols = [int(c) for c in args.cols.split(",")]
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    slow = slow_drivers(args, prof)
    workers: dict = {}
    results: dict = {}
    started = time.time()
    try:
        for kind, ncols in itertools.product(kinds, cols):
            if getattr(args, "restart_per_block", False):  # no state from the block before
                for d in list(workers):
                    workers.pop(d).close()
            live = start_workers(args, drivers, workers, kind, ncols, py, pypy, envs, env,
                                 env_pypy)
            counts = row_counts(prof, args.rows)
            for rows in counts:
                n, rounds, warm = plan(rows, ncols, prof, rows == counts[0])
                t0 = time.time()
                here, share = cell_drivers(live, rows, slow)
                here = [d for d in here if d not in FRESH or restart(
                    args, d, workers, kind, ncols, rows, 0 if warm else plan(
                        rows, ncols, prof, True)[2], py, pypy, envs, env, env_pypy)]
                cell = run_cell(workers, here, rows, n, rounds, warm, rng, share)
                for d, c in cell.items():
                    add_rounds(results, "%s/%d/%s/%d" % (kind, ncols, d, rows), c)
                sys.stderr.write("%-14s %d × %d × %d statements in %5.1f s (%.0f s so far)%s\n"
                                 % ("%s/%d/%d" % (kind, ncols, rows), rounds, len(live), n,
                                    time.time() - t0, time.time() - started,
                                    progress_ratio(results, kind, ncols, rows, here)))
    finally:
        for w in workers.values():
            w.close()
    seconds = round(time.time() - started)
    curve = thread_curve(args, prof, drivers, py, pypy) if wants_threads(args, prof) else None
    ran = {key.split("/")[2] for key in results}
    return {"profile": args.profile, "drivers": [d for d in drivers if d in ran],
            "kinds": kinds, "cols": cols,
            "rows": row_counts(prof, args.rows), "results": results,
            "method": "alternating", "seed": seed, "seconds": seconds,
            "plan": dict(prof, big_rows=BIG_ROWS,
                         max_per_round=prof.get("max_per_round", MAX_PER_ROUND)),
            "slow": {d: list(v) for d, v in slow.items() if d in drivers},
            "restart_per_block": bool(getattr(args, "restart_per_block", False)),
            "machine": machine_info(py, pypy),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            **({"threads": curve} if curve else {})}


def wants_threads(args, prof) -> bool:
    """--threads / --no-threads, else the profile's default (full: the thread curve too)."""
    threads = getattr(args, "threads", None)
    return bool(prof.get("threads")) if threads is None else threads


def thread_curve(args, prof, drivers, py, pypy) -> Optional[dict]:
    """The thread curve of issue 20, after the cells in the same invocation: `SELECT
    $1::int4` run by 1, 2, 4, 8 threads at once (--thread-counts), each on its own
    connection, by the sweep's drivers that bench_threads.py knows (PostPyro on CPython and
    PyPy, psycopg2, psycopg 3; asyncpg: as many tasks, a connection each). Its method:
    each run a process of its own, warmed up to steady state; in each repeat every driver
    runs each thread count once, one after another, in an order rotated between repeats;
    ratios are medians of the repeats' side-by-side ratios. None without such drivers."""
    import bench_threads
    names = [d for d in bench_threads.DRIVERS if d in drivers]
    if not names:
        return None
    counts = [int(t) for t in (getattr(args, "thread_counts", None)
                               or ",".join(map(str, THREADS))).split(",")]
    total = getattr(args, "thread_stmts", None) or prof["thread_stmts"]
    repeats = getattr(args, "thread_repeats", None) or prof["thread_repeats"]
    t0 = time.time()
    sys.stderr.write("thread curve: %s × threads %s, %d statements a run, %d repeats\n"
                     % (",".join(names), ",".join(map(str, counts)), total, repeats))
    results, info, names = bench_threads.run_repeats(
        args.dsn, names, ["trivial"], counts, {"trivial": total}, repeats, py, pypy)
    saved = bench_threads.to_json(results, info)
    saved["seconds"] = round(time.time() - t0)
    return saved


def threads_markdown(data: dict) -> list:
    """The thread curve's part of the report (none when the run had none)."""
    if not data.get("threads"):
        return []
    import bench_threads
    results, info, drivers, stmts, threads = bench_threads.from_json(data["threads"])
    return ["### Thread curve (the same run)", "",
            "Right after the cells above, in the same invocation (%.1f min): `SELECT "
            "$1::int4` run by %s threads at once, each thread on its own connection (asyncpg: "
            "as many tasks on one event loop, a connection each), by tests/bench/"
            "bench_threads.py's method (each run a process of its own, warmed up to steady "
            "state; ratios the median of the repeats' side-by-side ratios). The picture above "
            "draws it under the heatmaps."
            % (data["threads"].get("seconds", 0) / 60, ", ".join(map(str, threads))), "",
            bench_threads.report(results, drivers, stmts, threads, info)]


def start_workers(args, drivers, workers, kind, ncols, py, pypy, envs, env, env_pypy) -> list:
    """The drivers whose worker is up and has this shape's statement (each started once, and
    started again after it died); the others are reported on stderr and left out."""
    live = []
    for d in drivers:
        try:
            if d not in workers:
                how = worker_command(args, d, py, pypy, envs, env, env_pypy)
                if how is None:
                    continue
                workers[d] = Worker(d, *how)
            workers[d].prepare(kind, ncols)
            live.append(d)
        except (WorkerDied, RuntimeError, OSError) as exc:
            sys.stderr.write("%s failed (%s/%d): %s\n" % (d, kind, ncols, exc))
            if d in workers and workers[d].proc.poll() is not None:
                workers.pop(d).close()
    return live


def run_cell(workers, live, rows, n, rounds, warm, rng, share=None) -> dict:
    """One cell: every driver's warm-up, then `rounds` rounds, in each of which every driver
    runs n statements, one driver after another in an order shuffled per round; per driver
    the wall and CPU time per statement of each round (None where it failed). ``share``:
    driver → k, a driver that runs n // k statements a round (at least one) and warms up
    with warm // k (see SLOW)."""
    out = {d: {"wall": [], "cpu": []} for d in live}
    failed = set()
    share = share or {}

    def part(d, count):
        return max(1, count // share.get(d, 1)) if count else 0

    def ask(d, what):
        if d in failed:
            return None
        try:
            return what(workers[d])
        except (WorkerDied, RuntimeError) as exc:
            sys.stderr.write("%s failed (%d rows): %s\n" % (d, rows, exc))
            failed.add(d)
            return None
    for d in shuffled(live, rng):
        if warm:
            ask(d, lambda w: w.run(rows, part(d, warm)))
        ask(d, lambda w: w.collect())
    for _ in range(rounds):
        for d in shuffled(live, rng):
            nd = part(d, n)
            t = ask(d, lambda w: w.run(rows, nd))
            out[d]["wall"].append(t[0] / nd if t else None)
            out[d]["cpu"].append(t[1] / nd if t else None)
    return out


def slow_drivers(args, prof) -> dict:
    """SLOW, its row limits lowered to the profile's slow_max_rows; {} with
    --slow-as-others."""
    if getattr(args, "slow_as_others", False):
        return {}
    return {d: (k, min(r, prof.get("slow_max_rows", r))) for d, (k, r) in SLOW.items()}


def restart(args, d, workers, kind, ncols, rows, warm, py, pypy, envs, env, env_pypy):
    """A FRESH driver's worker, started again for this cell and warmed up with ``warm``
    statements (a first cell's warm-up, where run_cell gives none); False if it failed."""
    try:
        workers.pop(d).close()
        workers[d] = Worker(d, *worker_command(args, d, py, pypy, envs, env, env_pypy))
        workers[d].prepare(kind, ncols)
        if warm:
            workers[d].run(rows, warm)
        return True
    except (WorkerDied, RuntimeError, OSError, KeyError) as exc:
        sys.stderr.write("%s failed to start again (%s/%d/%d): %s\n"
                         % (d, kind, ncols, rows, exc))
        return False


def cell_drivers(live, rows, slow) -> tuple:
    """(the drivers that run a cell of this many rows, driver → k of those that run 1/k of
    the statements): SLOW's drivers (``slow``, or {} with --slow-as-others) leave out the
    cells above their row limit."""
    return ([d for d in live if d not in slow or rows <= slow[d][1]],
            {d: slow[d][0] for d in live if d in slow})


def shuffled(items, rng) -> list:
    items = list(items)
    rng.shuffle(items)
    return items


def add_rounds(results: dict, key: str, cell: dict) -> None:
    """A cell of one driver: its rounds' times per statement, in round order (None where it
    failed: wall_rounds, cpu_rounds, which ratio() pairs with another driver's of the same
    round) and their medians (wall, cpu)."""
    entry = {}
    for what in ("wall", "cpu"):
        ok = [v for v in cell[what] if v is not None]
        entry[what] = median(ok) if ok else None
        entry[what + "_rounds"] = cell[what]
    if entry["cpu"] is not None:
        results[key] = entry


def progress_ratio(results, kind, ncols, rows, live) -> str:
    """The cell's first panel on CPU, for the progress line."""
    for title, a, b in PANELS:
        if a in live and b in live:
            s = ratio_spread(results, a, b, kind, ncols, rows, "cpu")
            if s:
                return "  %s (cpu) %s" % (title, fmt_spread(s))
    return ""


def machine_info(py, pypy) -> dict:
    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"
    return {"python": version([py, "-c", "import sys; print(sys.version.split()[0])"]),
            "pypy": version([pypy, "-c", "import sys; print(sys.version.split()[0], "
                             "sys.pypy_version_info[:3])"]) if pypy else None,
            "load": os.getloadavg(), "cpus": os.cpu_count(),
            "peers": version([py, "-c", PEERS]),
            "pypy_nursery": pypy_nursery(pypy) if pypy else None}


PEERS = ("import importlib\nout = []\n"
         "for m in ('psycopg2', 'psycopg', 'asyncpg'):\n"
         "    try:\n        v = importlib.import_module(m).__version__.split()[0]\n"
         "    except ImportError:\n        continue\n"
         "    if m == 'psycopg':\n"
         "        v += ' (libpq wrapper: %s)' % importlib.import_module('psycopg.pq').__impl__\n"
         "    out.append('%s %s' % (m, v))\n"
         "print(', '.join(out))")


def pypy_nursery(pypy: str) -> Optional[int]:
    """The nursery size PyPy picks on this machine (bytes; its log's last gc-set-nursery-size
    line: the first is the start-up default), None if it does not say."""
    env = {k: v for k, v in os.environ.items() if k != "PYPY_GC_NURSERY"}
    env["PYPYLOG"] = "gc-set-nursery-size:-"
    try:
        out = subprocess.run([pypy, "-c", "pass"], capture_output=True, text=True, env=env)
    except OSError:
        return None
    sizes = re.findall(r"nursery size: (\d+)", out.stderr + out.stdout)
    return int(sizes[-1]) if sizes else None


# ---- rendering ---------------------------------------------------------------------------------

# The comparisons drawn: (title, driver, against, the target ratio)
PANELS = [("PostPyro ÷ psycopg2", "postpyro", "psycopg2"),
          ("PostPyro ÷ asyncpg", "postpyro", "asyncpg"),
          ("PostPyro PyPy ÷ PostPyro CPython", "postpyro-pypy", "postpyro"),
          ("PostPyro ÷ C libpq", "postpyro", "c"),
          ("PostPyro ÷ psycopg 3", "postpyro", "psycopg"),
          ("PyPy, a fresh worker per cell ÷ long-lived", "postpyro-pypy-fresh",
           "postpyro-pypy"),
          ("PyPy, 64 MB nursery ÷ CPython", "postpyro-pypy-nursery", "postpyro"),
          ("PostPyro ÷ its --base build", "postpyro", "postpyro-base"),
          ("PostPyro PyPy ÷ its --base build", "postpyro-pypy", "postpyro-pypy-base")]


def panels(data: dict) -> list:
    """The PANELS whose two drivers ran."""
    return [p for p in PANELS if p[1] in data["drivers"] and p[2] in data["drivers"]]


def round_ratios(res: dict, a: str, b: str, kind: str, ncols: int, rows: int,
                 what: str) -> list:
    """a's time ÷ b's in a cell, one ratio per round (the two drivers' runs of that round,
    seconds apart; a round where either failed is dropped). For a run saved before the
    rounds alternated: one per repeat (``_rep``); for two drivers of different runs
    (--merge-json) or without either: the ratio of the two medians."""
    x = res.get("%s/%d/%s/%d" % (kind, ncols, a, rows))
    y = res.get("%s/%d/%s/%d" % (kind, ncols, b, rows))
    if not x or not y:
        return []
    for key in (what + "_rounds", what + "_rep"):
        if key in x and key in y and x.get("run") == y.get("run"):
            return [p / q for p, q in zip(x[key], y[key]) if p is not None and q]
    return [x[what] / y[what]] if x.get(what) is not None and y.get(what) else []


def ratio(res: dict, a: str, b: str, kind: str, ncols: int, rows: int, what: str):
    """a's time ÷ b's in a cell: the median of the per-round ratios (None: not measured).
    The median, not the mean or the ratio of summed times: a round that a burst of load
    hit (one driver's run slowed, the other's not) moves it by one rank at most."""
    rs = round_ratios(res, a, b, kind, ncols, rows, what)
    return median(rs) if rs else None


def ratio_spread(res: dict, a: str, b: str, kind: str, ncols: int, rows: int, what: str):
    """(median, lowest, highest) of the cell's per-round ratios; None: not measured."""
    rs = round_ratios(res, a, b, kind, ncols, rows, what)
    return (median(rs), min(rs), max(rs)) if rs else None


def undecided(spread) -> bool:
    """The cell's per-round ratios lie on both sides of 1.0: the rounds do not agree
    whether a is faster or slower than b."""
    return spread is not None and spread[1] < 1.0 < spread[2]


def fmt_spread(spread, bold: bool = False) -> str:
    """"0.93 (0.90–0.97)": the median, then the lowest and highest per-round ratio (left
    out when there was one round); "–": not measured; ``bold``: the median when above 1."""
    if spread is None:
        return "–"
    med, lo, hi = spread
    text = "**%.2f**" % med if bold and med > 1.0 else "%.2f" % med
    return text if lo == hi else "%s (%.2f–%.2f)" % (text, lo, hi)


def fmt_rows(r: int) -> str:
    return {1000: "1k", 10000: "10k", 100000: "100k", 1000000: "1M"}.get(r, str(r))


def fmt_t(s: float) -> str:
    us = s * 1e6
    return "%.1f µs" % us if us < 100 else "%.0f µs" % us if us < 10000 else "%.1f ms" % (us / 1000)


def color(r) -> str:
    """Green below 1, red above, white at 1; saturated at ÷2 / ×2 (log scale)."""
    if r is None:
        return "#dddddd"
    t = max(-1.0, min(1.0, math.log2(r)))
    if t <= 0:
        a = -t
        return "#%02x%02x%02x" % (int(255 - 155 * a), int(255 - 55 * a), int(255 - 155 * a))
    return "#%02x%02x%02x" % (int(255 - 35 * t), int(255 - 175 * t), int(255 - 175 * t))


def svg(data: dict, what: str) -> str:
    res, rows, kinds, cols = data["results"], data["rows"], data["kinds"], data["cols"]
    cw, ch, left, top_pad, gap = 56, 30, 92, 46, 30
    groups = [(k, c) for k in kinds for c in cols]
    pw = left + cw * len(rows)
    ph = top_pad + ch * len(groups)
    per_row = 2
    width = per_row * pw + (per_row - 1) * gap + 20
    height = math.ceil(len(panels(data)) / per_row) * (ph + gap) + 56
    curve_y = height - 10  # the thread curve, when the run has one, below the heatmaps
    if data.get("threads"):
        height += CURVE_H + gap
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="18" font-size="13">Shape sweep: time ratio per statement (%s; '
           'green: faster, red: slower)</text>' % ("client CPU" if what == "cpu" else "wall"),
           '<text x="10" y="34" font-size="10">median of the per-round ratios; small: the '
           'lowest–highest of them; dashed: rounds on both sides of 1</text>']
    for p, (title, a, b) in enumerate(panels(data)):
        x0 = 10 + (p % per_row) * (pw + gap)
        y0 = 46 + (p // per_row) * (ph + gap)
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (x0, y0 + 14, title))
        for j, r in enumerate(rows):
            out.append('<text x="%d" y="%d" text-anchor="middle">%s</text>'
                       % (x0 + left + j * cw + cw // 2, y0 + top_pad - 6, fmt_rows(r)))
        for i, (k, c) in enumerate(groups):
            y = y0 + top_pad + i * ch
            out.append('<text x="%d" y="%d">%s × %d</text>' % (x0, y + 19, k, c))
            for j, r in enumerate(rows):
                out += svg_cell(x0 + left + j * cw, y, cw, ch,
                                ratio_spread(res, a, b, k, c, r, what))
    if data.get("threads"):
        out += svg_curve(10, curve_y, width - 20, data["threads"])
    out.append('</svg>')
    return "\n".join(out) + "\n"


CURVE_H = 260
CURVE_COLORS = {"postpyro": "#1f77b4", "postpyro-pypy": "#17becf", "psycopg2": "#d62728",
                "psycopg": "#ff7f0e", "asyncpg": "#2ca02c"}


def svg_curve(x0: int, y0: int, w: int, saved: dict) -> list:
    """The thread curve: statements per second (wall, median over repeats) against the
    thread count, a line per driver, thread counts evenly spaced."""
    import bench_threads
    results, _, drivers, stmts, threads = bench_threads.from_json(saved)
    s = stmts[0] if stmts else "trivial"
    lines = {}
    for d in drivers:
        pts = []
        for t in threads:
            runs = results.get((d, s, t), [])
            wall = bench_threads.med(runs, "wall")
            pts.append(bench_threads.statements(runs) / wall if wall else None)
        lines[d] = pts
    top = max([v for pts in lines.values() for v in pts if v] or [1.0])
    step = 10 ** math.floor(math.log10(top))
    top = math.ceil(top * 1.05 / step) * step
    left, plot_w, plot_h, y_top = 70, min(w - 250, 520), CURVE_H - 76, y0 + 42
    out = ['<text x="%d" y="%d" font-weight="bold">Thread curve (the same run): statements '
           'per second</text>' % (x0, y0 + 14),
           '<text x="%d" y="%d" font-size="10">SELECT $1::int4, each thread on its own '
           'connection (asyncpg: tasks); wall time, median of the repeats</text>'
           % (x0, y0 + 28)]
    for k in range(6):  # the y axis: 0 … top
        v = top * k / 5
        y = y_top + plot_h - plot_h * k / 5
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>'
                   % (x0 + left, y, x0 + left + plot_w, y))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>'
                   % (x0 + left - 6, y + 4, fmt_n(int(v))))

    def px(i):
        return x0 + left + (plot_w * i / (len(threads) - 1) if len(threads) > 1 else 0)
    for i, t in enumerate(threads):
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d thr</text>'
                   % (px(i), y_top + plot_h + 16, t))
    for n, (d, pts) in enumerate(lines.items()):
        c = CURVE_COLORS.get(d, "#777")
        xy = ["%.1f,%.1f" % (px(i), y_top + plot_h - plot_h * v / top)
              for i, v in enumerate(pts) if v]
        out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>'
                   % (" ".join(xy), c))
        out += ['<circle cx="%s" cy="%s" r="3" fill="%s"/>' % tuple(p.split(",") + [c])
                for p in xy]
        ly = y_top + 10 + n * 18
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>'
                   % (x0 + left + plot_w + 24, ly, x0 + left + plot_w + 48, ly, c))
        out.append('<text x="%d" y="%d">%s</text>'
                   % (x0 + left + plot_w + 54, ly + 4, bench_threads.LABEL[d]))
    return out


def svg_cell(x: int, y: int, w: int, h: int, spread) -> list:
    """A heatmap cell: coloured by the median ratio, which it shows, with the lowest and
    highest per-round ratio below it, outlined dashed where they lie on both sides of 1."""
    v = spread[0] if spread else None
    out = ['<rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="white"/>'
           % (x, y, w, h, color(v)),
           '<text x="%d" y="%d" text-anchor="middle">%s</text>'
           % (x + w // 2, y + 14, "–" if v is None else "%.2f" % v)]
    if spread and spread[1] != spread[2]:
        out.append('<text x="%d" y="%d" text-anchor="middle" font-size="8" fill="#444">'
                   '%.2f–%.2f</text>' % (x + w // 2, y + 25, spread[1], spread[2]))
    if undecided(spread):
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333" '
                   'stroke-dasharray="3,2"/>' % (x + 2, y + 2, w - 4, h - 4))
    return out


def markdown(data: dict, svg_name: str) -> str:
    res, rows = data["results"], data["rows"]
    m = data["machine"]
    lines = ["## Shape sweep", "",
             "`tests/bench/sweep.py --profile %s` (%s; CPython %s, PyPy %s; load average at "
             "the end %.1f on %s cores; a Unix socket to a local server). Each cell: one "
             "`SELECT … FROM generate_series(1, $1)` of that many rows and columns, read "
             "whole into Python rows (C: every value read from the PGresult), the median "
             "of the rounds' time per statement.%s%s Kinds: `int` (int4), `text` "
             "(`'value ' || g`), `mix` (columns cycle through int4, text, numeric, "
             "timestamptz, uuid). Ratios below 1 mean PostPyro is faster.%s%s%s"
             % (data["profile"], data["date"], m["python"], m["pypy"], m["load"][0],
                m["cpus"], rounds_text(data), order_text(data), nursery_text(data),
                peers_text(data), slow_text(data) + fresh_text(data) + restart_text(data)),
             "",
             "The machine (2 cores) was shared with other jobs: wall times carry their load; "
             "client CPU times (first) carry less of it. Where the time goes in the cells "
             "still missed, and what would move them: tests/bench/NOTES.md, \"Shape sweep\". "
             "Raw numbers: benchmarks-sweep.json.", "",
             "![shape sweep heatmap (client CPU)](%s)" % svg_name, ""]
    for what, name in (("cpu", "client CPU time"), ("wall", "wall time")):
        for title, a, b in panels(data):
            lines += ["**%s, %s**" % (title, name), "",
                      "| kind × columns | " + " | ".join(fmt_rows(r) for r in rows) + " |",
                      "|---|" + "---:|" * len(rows)]
            for k in data["kinds"]:
                for c in data["cols"]:
                    cells = [fmt_spread(ratio_spread(res, a, b, k, c, r, what), bold=True)
                             for r in rows]
                    lines.append("| %s × %d | %s |" % (k, c, " | ".join(cells)))
            lines.append("")
    lines += ["**Time per statement (client CPU / wall)**", "",
              "| kind × columns × rows | " + " | ".join(LABEL[d] for d in data["drivers"])
              + " |", "|---|" + "---:|" * len(data["drivers"])]
    for k in data["kinds"]:
        for c in data["cols"]:
            for r in rows:
                cells = []
                for d in data["drivers"]:
                    x = res.get("%s/%d/%s/%d" % (k, c, d, r))
                    cells.append("–" if not x else "%s / %s" % (fmt_t(x["cpu"]),
                                                                 fmt_t(x["wall"])))
                lines.append("| %s × %d × %s | %s |" % (k, c, fmt_rows(r), " | ".join(cells)))
    lines += [""] + targets(data) + threads_markdown(data)
    return "\n".join(lines) + "\n"


def nursery_text(data: dict) -> str:
    if "postpyro-pypy-nursery" not in data["drivers"]:
        return ""
    size = data["machine"].get("pypy_nursery")
    # runs saved before machine_info recorded it: the docs machine then, which said 1 MB
    chosen = "%.3g MB" % (size / 2**20) if size else "1 MB"
    return (" \"PostPyro PyPy 64 MB nursery\" is PostPyro on PyPy started with "
            "`PYPY_GC_NURSERY=%s` (PyPy sized its own nursery to %s on this machine), %s."
            % (NURSERY, chosen, "a worker of its own beside the others" if alternating(data)
               else "run separately right after the others"))


def peers_text(data: dict) -> str:
    p = data["machine"].get("peers")
    return " Peers: %s." % p if p else ""


def slow_text(data: dict) -> str:
    """What the SLOW drivers of this run did differently ("" for none)."""
    parts = ["%s ran a %s of each round's statements (at least one) and no cells above "
             "%s rows" % (LABEL[d], {10: "tenth"}.get(k, "1/%d" % k), fmt_n(rows))
             for d, (k, rows) in sorted(data.get("slow", {}).items())
             if d in data["drivers"]]
    if not parts:
        return ""
    return (" %s: far slower per value than the others (Debian's psycopg 3 is its "
            "pure-Python build, without psycopg_c), with every statement of every cell it "
            "would have added ≈ 25 min to the run; its per-statement times and per-round "
            "ratios are formed as the others'."
            % "; ".join(parts))


def fresh_text(data: dict) -> str:
    if not FRESH & set(data["drivers"]):
        return ""
    return (" \"%s\" is PostPyro on PyPy in a worker started again for every cell and warmed "
            "up as a first cell, beside the long-lived one." % LABEL["postpyro-pypy-fresh"])


def restart_text(data: dict) -> str:
    return (" Every worker was started again for each kind × columns (--restart-per-block)."
            if data.get("restart_per_block") else "")


def alternating(data: dict) -> bool:
    """The run took each cell's drivers in alternating rounds (see run_cell); runs saved
    before ran each driver's cells in a process of its own."""
    return data.get("method") == "alternating"


def rounds_text(data: dict) -> str:
    """How many statements a round timed, for the report ("" for a run saved before that
    was recorded)."""
    p = data.get("plan")
    if not p:
        return ""
    return (" Rounds: below %s rows, %d of ≈ %s rows each (at most %s statements); from "
            "%s rows, %d of at least %s values each (a row counting as one more), so that "
            "every round holds several of PyPy's major collections (one every 1–15 "
            "statements at 10 000 rows) and pays its share of them as a program running on "
            "would. Before them a warm-up: ≈ %s rows (at most %s statements) below %s rows, "
            "one round from there on (none from 100 000 rows after smaller cells %s)."
            % (fmt_n(p["big_rows"]), p["rounds"], fmt_n(p["round_rows"]),
               fmt_n(p["max_per_round"]), fmt_n(p["big_rows"]), p["big_rounds"],
               fmt_n(p["big_values"]), fmt_n(p["round_rows"]), fmt_n(MAX_WARM),
               fmt_n(p["big_rows"]), "of the same statement" if alternating(data) else
               "in the same process"))


def fmt_n(n: int) -> str:
    """1500000 → "1 500 000" (the docs' thousands separator)."""
    return "{:,}".format(n).replace(",", " ")


def order_text(data: dict) -> str:
    """How the drivers' runs were ordered, for the report ("" for a run saved before that
    was recorded)."""
    if alternating(data):
        return (" Each driver is one worker process, started once and connected once, which "
                "runs what the coordinator asks: in each round of a cell every driver runs "
                "its statements, one driver after another in an order shuffled per round "
                "(seed %s), so the drivers' runs of one round are seconds apart and share "
                "the machine's load of that moment (a 1 000 000-row round takes longer: "
                "one statement each). A driver's time in a cell is the median of its "
                "rounds; a ratio is the median of the per-round ratios (the two drivers' "
                "runs of the same round), in parentheses the lowest and highest of them; "
                "where these lie on both sides of 1.0 the rounds disagree and the targets "
                "count the cell as undecided. %s"
                % (data.get("seed"), took_text(data)))
    if "repeat" not in data:
        return ""
    text = (" The drivers of each %s ran one after another, each in its own process"
            % ("cell" if data.get("per_cell") else
               "kind × columns (every row count in one process)"))
    if data["repeat"] > 1:
        text += ("; %d repeats, the drivers' order rotated between them (ABCD, BCDA, …): a "
                 "cell's time is the median of all its rounds, a ratio the median of the "
                 "ratios formed within each repeat" % data["repeat"])
    return text + "."


def took_text(data: dict) -> str:
    minutes = data.get("seconds", 0) / 60
    if not data.get("threads"):
        return "The whole run took %.1f min." % minutes
    more = data["threads"].get("seconds", 0) / 60
    return ("The cells took %.1f min, the thread curve after them %.1f min: %.1f min in all."
            % (minutes, more, minutes + more))


def targets(data: dict) -> list:
    """The issue's targets, counted cell by cell (CPU time and wall time)."""
    res = data["results"]
    alt = alternating(data)
    out = ["**Targets (cells met / cells measured%s)**"
           % ("; undecided: cells whose per-round ratios lie on both sides of 1.0"
              if alt else ""), "",
           "| target | client CPU | wall |", "|---|---:|---:|"]
    for title, a, b in [("PostPyro ≤ 1.0 × psycopg2", "postpyro", "psycopg2"),
                        ("PostPyro ≤ 1.0 × asyncpg", "postpyro", "asyncpg"),
                        ("PostPyro PyPy ≤ 1.0 × PostPyro CPython", "postpyro-pypy",
                         "postpyro"),
                        ("PostPyro PyPy (PYPY_GC_NURSERY=%s) ≤ 1.0 × PostPyro CPython"
                         % NURSERY, "postpyro-pypy-nursery", "postpyro")]:
        if a not in data["drivers"] or b not in data["drivers"]:
            continue
        row = []
        for what in ("cpu", "wall"):
            vs = [ratio_spread(res, a, b, k, c, r, what) for k in data["kinds"]
                  for c in data["cols"] for r in data["rows"]]
            vs = [v for v in vs if v is not None]
            row.append("%d / %d" % (sum(v[0] <= 1.0 for v in vs), len(vs))
                       + (" (%d undecided)" % sum(map(undecided, vs)) if alt else ""))
        out.append("| %s | %s | %s |" % (title, row[0], row[1]))
    return out + [""]


BEGIN = "<!-- the shape sweep (tests/bench/sweep.py --into) from here -->"
END = "<!-- the shape sweep: end -->"


def put_into(path: str, text: str) -> None:
    """Puts the report into ``path`` (docs/benchmarks.md) between BEGIN and END, replacing
    the previous one; the first time before the async section (which bench_async.py keeps
    at the end), or at the end."""
    put_section(path, BEGIN, END, BEGIN + "\n\n" + text.rstrip("\n") + "\n\n" + END + "\n")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn")
    ap.add_argument("--profile", default="quick", choices=sorted(PROFILES))
    ap.add_argument("--drivers", default=",".join(d for d in DRIVERS if d not in FRESH))
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--cols", default=",".join(map(str, COLS)))
    ap.add_argument("--base", help="another build tree: drivers postpyro-base and "
                    "postpyro-pypy-base run its PostPyro and libpostpyro (A/B in one run)")
    ap.add_argument("--rounds", type=int, help="rounds per cell, in place of the "
                    "profile's (both below and from 10 000 rows)")
    ap.add_argument("--seed", type=int, help="of the drivers' order in each round "
                    "(default: the time; the report gives it)")
    ap.add_argument("--rows", default="", help="only these row counts (1000,10000); "
                    "default: all of the profile's")
    ap.add_argument("--restart-per-block", action="store_true", help="start every worker "
                    "again for each kind × columns (after the block's 1 000 000-row cell), "
                    "instead of once for the whole sweep")
    ap.add_argument("--slow-as-others", action="store_true", help="run psycopg 3 (SLOW) "
                    "with every statement of every cell, as the other drivers")
    ap.add_argument("--threads", dest="threads", action="store_true", default=None,
                    help="after the cells, the thread curve (threads 1, 2, 4, 8 × `SELECT "
                    "$1::int4`, bench_threads.py's method) into the same report and JSON; "
                    "the default with --profile full")
    ap.add_argument("--no-threads", dest="threads", action="store_false",
                    help="no thread curve, even with --profile full")
    ap.add_argument("--thread-counts", help="the thread curve's thread counts (1,2,4,8)")
    ap.add_argument("--thread-stmts", type=int, help="statements a thread-curve run, shared "
                    "between its threads (full: 20 000; quick: 2 000)")
    ap.add_argument("--thread-repeats", type=int, help="the thread curve's repeats (full: 5; "
                    "quick: 3)")
    ap.add_argument("--c-sweep", default=os.environ.get("PP_BENCH_C_SWEEP"))
    ap.add_argument("--json")
    ap.add_argument("--md")
    ap.add_argument("--into", help="put the report into this file (docs/benchmarks.md) "
                    "between the sweep's markers")
    ap.add_argument("--svg")
    ap.add_argument("--from-json")
    ap.add_argument("--merge-json", action="append", help="with --from-json: add the results "
                    "of another run (its drivers)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--driver", help=argparse.SUPPRESS)
    return ap


def main() -> None:
    args = parser().parse_args()
    if args.worker:
        return worker(args)
    if args.from_json:
        with open(args.from_json) as f:
            data = json.load(f)
        for i, extra in enumerate(args.merge_json or ()):  # another run's drivers
            with open(extra) as f:
                more = json.load(f)
            for key, cell in more["results"].items():  # its rounds pair with its own only
                data["results"][key] = dict(cell, run=i + 1)
            data["drivers"] += [d for d in more["drivers"] if d not in data["drivers"]]
            if more.get("threads") and not data.get("threads"):  # its thread curve
                data["threads"] = more["threads"]
            data["drivers"].sort(key=DRIVERS.index)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(data, f, indent=1)
    else:
        data = run_all(args)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(data, f, indent=1)
    svg_name = os.path.basename(args.svg) if args.svg else "sweep.svg"
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg(data, "cpu"))
    text = markdown(data, svg_name)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text)
    if args.into:
        put_into(args.into, text)
    if not args.md and not args.into:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
