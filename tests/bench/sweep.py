#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shape sweep (issue 20): one SELECT of every shape — rows 1 … 1 000 000 × columns 1, 5,
20 × value kinds (int, text, a mix of int, text, numeric, timestamptz and uuid) — read with
PostPyro on CPython and PyPy, psycopg2, asyncpg and plain libpq (c_sweep.c), in one run.

    sweep.py --dsn DSN [--profile quick|full] [--json OUT.json] [--md OUT.md] [--svg OUT.svg]
    sweep.py --from-json docs/benchmarks-sweep.json --into docs/benchmarks.md
             --svg docs/benchmarks-sweep.svg       (render only, into the docs' sweep section)

Each (driver, kind, columns) is its own process, which runs every row count in turn: a
warm-up, then rounds of N statements (N so that a round reads ≈ 30 000 rows, at most 1 000
statements; from 10 000 rows, so that it reads at least 1 500 000 values and holds several of
PyPy's major collections, see plan); per cell it reports the median over rounds of the wall time and of the client
process's CPU time per statement. The drivers of one (kind, columns) run one after the
other, so the load of a shared machine falls on all of them alike within minutes; with
--per-cell each (driver, kind, columns, rows) is its own process instead and the drivers of
one cell run side by side, seconds apart. With --repeat N this happens N times, the drivers'
order rotated between repeats (ABCD, BCDA, …), and a ratio is the median of the ratios
formed within each repeat. The profile "quick" (for iterating) has fewer rounds and no
1 000 000-row cells.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import time

from benchlib import kv_dsn, paired_ratio, put_section, rotated

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))

ROWS = [1, 10, 100, 1000, 10000, 100000, 1000000]
COLS = [1, 5, 20]
KINDS = ["int", "text", "mix"]
DRIVERS = ["postpyro", "postpyro-pypy", "postpyro-pypy-nursery", "psycopg2", "asyncpg", "c",
           "postpyro-base", "postpyro-pypy-base"]
LABEL = {"postpyro": "PostPyro", "postpyro-pypy": "PostPyro PyPy",
         "postpyro-pypy-nursery": "PostPyro PyPy 64 MB nursery", "psycopg2": "psycopg2",
         "asyncpg": "asyncpg", "c": "C libpq", "postpyro-base": "PostPyro (--base build)",
         "postpyro-pypy-base": "PostPyro PyPy (--base build)"}
# PyPy sizes its nursery from the CPU's cache (1 MB on the 2-core VM of the docs run): every
# row made survives a minor collection and is copied. PYPY_GC_NURSERY, read at start-up, is
# the application's knob; this driver shows what it does.
NURSERY = "64MB"
PROFILES = {
    # Below BIG_ROWS rows: rounds of ≈ round_rows rows; from BIG_ROWS rows: big_rounds rounds
    # of at least big_values values each (see plan); the largest row count.
    "quick": {"round_rows": 20000, "rounds": 3, "big_values": 500000, "big_rounds": 1,
              "max_rows": 100000},
    "full": {"round_rows": 30000, "rounds": 5, "big_values": 1500000, "big_rounds": 3,
             "max_rows": 1000000},
}
BIG_ROWS = 10000
MAX_PER_ROUND = 1000  # statements per round at most (1- and 10-row cells)
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
        n = max(1, min(MAX_PER_ROUND, prof["round_rows"] // rows))
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


# ---- child: one driver, one (kind, columns), every row count --------------------------------

def make_runner(driver: str, dsn: str, sql_dollar: str, sql_pct: str):
    """A function run(rows) doing one statement and reading every row."""
    if driver.startswith("postpyro"):
        import PostPyro as pg
        conn = pg.Connection(dsn)
        return lambda rows: conn.query(sql_dollar, [rows])
    if driver == "psycopg2":
        import psycopg2
        import psycopg2.extras
        psycopg2.extras.register_uuid()
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        cur = conn.cursor()

        def run(rows):
            cur.execute(sql_pct, (rows,))
            return cur.fetchall()
        return run
    if driver == "asyncpg":
        import asyncio
        import asyncpg
        loop = asyncio.new_event_loop()
        kv = kv_dsn(dsn)
        conn = loop.run_until_complete(asyncpg.connect(
            host=kv.get("host"), port=int(kv.get("port", 5432)), database=kv.get("dbname"),
            user=kv.get("user"), password=kv.get("password")))

        async def loop_n(rows, n):
            for _ in range(n):
                await conn.fetch(sql_dollar, rows)
        # asyncpg's loop runs inside one coroutine: the timing covers the awaits only
        return lambda rows, n=1: loop.run_until_complete(loop_n(rows, n))
    raise SystemExit("unknown driver %s" % driver)


def child(args) -> None:
    import gc
    prof = PROFILES[args.profile]
    run = make_runner(args.driver, args.dsn, sweep_sql(args.kind, args.cols),
                      sweep_sql(args.kind, args.cols, "%"))
    batched = args.driver == "asyncpg"
    counts = row_counts(prof, args.rows)
    for rows in counts:
        n, rounds, warm = plan(rows, args.cols, prof, rows == counts[0])
        if batched:
            if warm:
                run(rows, warm)
        else:
            for _ in range(warm):
                run(rows)
        gc.collect()
        walls, cpus = [], []
        for _ in range(rounds):
            w0, c0 = time.perf_counter(), time.process_time()
            if batched:
                run(rows, n)
            else:
                for _ in range(n):
                    run(rows)
            walls.append((time.perf_counter() - w0) / n)
            cpus.append((time.process_time() - c0) / n)
        print("CELL " + json.dumps({"rows": rows, "wall": walls, "cpu": cpus}), flush=True)


# ---- parent: every child in turn, the results, the report ------------------------------------

def c_cells(c_sweep: str, dsn: str, kind: str, ncols: int, prof: dict, only: str) -> list:
    out = []
    counts = row_counts(prof, only)
    for rows in counts:
        n, rounds, warm = plan(rows, ncols, prof, rows == counts[0])
        p = subprocess.run([c_sweep, dsn, sweep_sql(kind, ncols), str(rows), str(n),
                            str(rounds), str(max(warm, 1))], capture_output=True, text=True,
                           timeout=3600)
        if p.returncode != 0:
            raise RuntimeError("c_sweep: " + p.stderr)
        pairs = [tuple(map(float, line.split())) for line in p.stdout.split("\n") if line]
        out.append({"rows": rows, "wall": [w / n for w, _ in pairs],
                    "cpu": [c / n for _, c in pairs]})
    return out


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def run_all(args) -> dict:
    prof = PROFILES[args.profile]
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    pypy = shutil.which("pypy3")
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", os.path.join(TOP, "postpyro_py", "inplace"))
    env.setdefault("POSTPYRO_LIBRARY", os.path.join(TOP, "libpostpyro", ".libs",
                                                    "libpostpyro.so.1"))
    env_pypy = dict(env)
    env_pypy["PYTHONPATH"] = env["PYTHONPATH"] + ":/usr/lib/python3/dist-packages"
    env_pypy.pop("PYPY_GC_NURSERY", None)
    env_nursery = dict(env_pypy, PYPY_GC_NURSERY=NURSERY)
    env_base = env_pypy_base = None
    if args.base:  # A/B: the same package and library from another build tree
        libs = os.path.join(os.path.abspath(args.base), "libpostpyro", ".libs")
        env_base = dict(env, PYTHONPATH=os.path.join(os.path.abspath(args.base), "postpyro_py",
                                                     "inplace"),
                        POSTPYRO_LIBRARY=os.path.join(libs, "libpostpyro.so.1"),
                        LD_LIBRARY_PATH=libs)
        env_pypy_base = dict(env_base, PYTHONPATH=env_base["PYTHONPATH"] +
                             ":/usr/lib/python3/dist-packages")
        env_pypy_base.pop("PYPY_GC_NURSERY", None)
    envs = {"postpyro-pypy-nursery": env_nursery, "postpyro-base": env_base,
            "postpyro-pypy-base": env_pypy_base}
    drivers = args.drivers.split(",")
    kinds = args.kinds.split(",")
    cols = [int(c) for c in args.cols.split(",")]
    results: dict = {}
    started = time.time()
    # One process per (driver, kind, columns) runs these row counts ("": all of them); with
    # --per-cell one process per row count, so the drivers of a cell run seconds apart.
    groups = [str(r) for r in row_counts(prof, args.rows)] if args.per_cell else [args.rows]
    for kind, ncols, rep, only in itertools.product(kinds, cols, range(args.repeat), groups):
        for d in rotated(drivers, rep):  # side by side, in turn: ABCD, BCDA, …
            key = "%s/%d/%s" % (kind, ncols, d)
            t0 = time.time()
            cells = run_driver(args, d, kind, ncols, prof, only, py, pypy, envs, env, env_pypy)
            for c in cells:
                add_cell(results, "%s/%d" % (key, c["rows"]), c, rep)
            if cells:
                sys.stderr.write("%-22s %5.1f s  (%.0f s so far)\n"
                                 % (key + ("/" + only if args.per_cell else ""),
                                    time.time() - t0, time.time() - started))
    return {"profile": args.profile, "drivers": drivers, "kinds": kinds, "cols": cols,
            "rows": row_counts(prof, args.rows), "results": results, "repeat": args.repeat,
            "per_cell": args.per_cell, "plan": dict(prof, big_rows=BIG_ROWS,
                                                    max_per_round=MAX_PER_ROUND),
            "machine": machine_info(py, pypy),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def run_driver(args, d, kind, ncols, prof, only, py, pypy, envs, env, env_pypy) -> list:
    """One process of driver d: its cells (rows, wall and cpu of every round); [] when the
    driver cannot run here or failed (reported on stderr)."""
    key = "%s/%d/%s" % (kind, ncols, d)
    if d == "c":
        if not args.c_sweep:
            return []
        return c_cells(args.c_sweep, args.dsn, kind, ncols, prof, only)
    on_pypy = d.startswith("postpyro-pypy")
    interp = pypy if on_pypy else py
    if interp is None or (d.endswith("-base") and not args.base):
        return []
    p = subprocess.run(
        [interp, os.path.abspath(__file__), "--child", "--driver", d, "--kind", kind,
         "--cols", str(ncols), "--profile", args.profile, "--rows", only, "--dsn", args.dsn],
        capture_output=True, text=True, env=envs.get(d) or (env_pypy if on_pypy else env),
        timeout=3600)
    if p.returncode != 0:
        sys.stderr.write("%s failed:\n%s\n" % (key, p.stderr[-3000:]))
        return []
    return [json.loads(line[5:]) for line in p.stdout.split("\n") if line.startswith("CELL ")]


def add_cell(results: dict, key: str, cell: dict, rep: int) -> None:
    """Adds repeat ``rep``'s rounds of a cell: medians over every round so far (wall, cpu),
    and the repeat's own medians at index rep of wall_rep/cpu_rep (None for a repeat whose
    run failed), which ratio() pairs with another driver's of the same repeat."""
    old = results.get(key) or {"wall_all": [], "cpu_all": [], "wall_rep": [], "cpu_rep": []}
    new = {}
    for what in ("wall", "cpu"):
        every = old[what + "_all"] + cell[what]
        reps = old.get(what + "_rep", [])
        reps = reps + [None] * (rep - len(reps)) + [median(cell[what])]
        new.update({what: median(every), what + "_all": every, what + "_rep": reps})
    results[key] = new


def machine_info(py, pypy) -> dict:
    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"
    return {"python": version([py, "-c", "import sys; print(sys.version.split()[0])"]),
            "pypy": version([pypy, "-c", "import sys; print(sys.version.split()[0], "
                             "sys.pypy_version_info[:3])"]) if pypy else None,
            "load": os.getloadavg(), "cpus": os.cpu_count()}


# ---- rendering ---------------------------------------------------------------------------------

# The comparisons drawn: (title, driver, against, the target ratio)
PANELS = [("PostPyro ÷ psycopg2", "postpyro", "psycopg2"),
          ("PostPyro ÷ asyncpg", "postpyro", "asyncpg"),
          ("PostPyro PyPy ÷ PostPyro CPython", "postpyro-pypy", "postpyro"),
          ("PostPyro ÷ C libpq", "postpyro", "c"),
          ("PyPy, 64 MB nursery ÷ CPython", "postpyro-pypy-nursery", "postpyro"),
          ("PostPyro ÷ its --base build", "postpyro", "postpyro-base"),
          ("PostPyro PyPy ÷ its --base build", "postpyro-pypy", "postpyro-pypy-base")]


def panels(data: dict) -> list:
    """The PANELS whose two drivers ran."""
    return [p for p in PANELS if p[1] in data["drivers"] and p[2] in data["drivers"]]


def ratio(res: dict, a: str, b: str, kind: str, ncols: int, rows: int, what: str):
    """a's time ÷ b's in a cell: the median of the repeats' ratios (runs side by side);
    with one repeat (or a run saved without per-repeat medians) the ratio of the medians."""
    x = res.get("%s/%d/%s/%d" % (kind, ncols, a, rows))
    y = res.get("%s/%d/%s/%d" % (kind, ncols, b, rows))
    if not x or not y:
        return None
    return paired_ratio(x.get(what + "_rep") or [x[what]], y.get(what + "_rep") or [y[what]])


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
    cw, ch, left, top_pad, gap = 52, 20, 92, 46, 30
    groups = [(k, c) for k in kinds for c in cols]
    pw = left + cw * len(rows)
    ph = top_pad + ch * len(groups)
    per_row = 2
    width = per_row * pw + (per_row - 1) * gap + 20
    height = math.ceil(len(panels(data)) / per_row) * (ph + gap) + 40
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="18" font-size="13">Shape sweep: time ratio per statement (%s; '
           'green: faster, red: slower)</text>' % ("client CPU" if what == "cpu" else "wall")]
    for p, (title, a, b) in enumerate(panels(data)):
        x0 = 10 + (p % per_row) * (pw + gap)
        y0 = 30 + (p // per_row) * (ph + gap)
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (x0, y0 + 14, title))
        for j, r in enumerate(rows):
            out.append('<text x="%d" y="%d" text-anchor="middle">%s</text>'
                       % (x0 + left + j * cw + cw // 2, y0 + top_pad - 6, fmt_rows(r)))
        for i, (k, c) in enumerate(groups):
            y = y0 + top_pad + i * ch
            out.append('<text x="%d" y="%d">%s × %d</text>' % (x0, y + 14, k, c))
            for j, r in enumerate(rows):
                v = ratio(res, a, b, k, c, r, what)
                out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="%s" '
                           'stroke="white"/>' % (x0 + left + j * cw, y, cw, ch, color(v)))
                out.append('<text x="%d" y="%d" text-anchor="middle">%s</text>'
                           % (x0 + left + j * cw + cw // 2, y + 14,
                              "–" if v is None else "%.2f" % v))
    out.append('</svg>')
    return "\n".join(out) + "\n"


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
             "timestamptz, uuid). Ratios below 1 mean PostPyro is faster.%s"
             % (data["profile"], data["date"], m["python"], m["pypy"], m["load"][0],
                m["cpus"], rounds_text(data), order_text(data), "" if "postpyro-pypy-nursery" not in data["drivers"] else
                " \"PostPyro PyPy 64 MB nursery\" is PostPyro on PyPy started with "
                "`PYPY_GC_NURSERY=%s` (PyPy sized its nursery to 1 MB on this machine), "
                "run separately right after the others." % NURSERY), "",
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
                    cells = []
                    for r in rows:
                        v = ratio(res, a, b, k, c, r, what)
                        cells.append("–" if v is None else
                                     ("**%.2f**" % v if v > 1.0 else "%.2f" % v))
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
    lines += [""] + targets(data)
    return "\n".join(lines) + "\n"


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
            "one round from there on (none from 100 000 rows after smaller cells in the "
            "same process)."
            % (fmt_n(p["big_rows"]), p["rounds"], fmt_n(p["round_rows"]),
               fmt_n(p["max_per_round"]), fmt_n(p["big_rows"]), p["big_rounds"],
               fmt_n(p["big_values"]), fmt_n(p["round_rows"]), fmt_n(MAX_WARM),
               fmt_n(p["big_rows"])))


def fmt_n(n: int) -> str:
    """1500000 → "1 500 000" (the docs' thousands separator)."""
    return "{:,}".format(n).replace(",", " ")


def order_text(data: dict) -> str:
    """How the drivers' runs were ordered, for the report ("" for a run saved before that
    was recorded)."""
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


def targets(data: dict) -> list:
    """The issue's targets, counted cell by cell (CPU time and wall time)."""
    res = data["results"]
    out = ["**Targets (cells met / cells measured)**", "",
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
            vs = [ratio(res, a, b, k, c, r, what) for k in data["kinds"] for c in data["cols"]
                  for r in data["rows"]]
            vs = [v for v in vs if v is not None]
            row.append("%d / %d" % (sum(v <= 1.0 for v in vs), len(vs)))
        out.append("| %s | %s | %s |" % (title, row[0], row[1]))
    return out + [""]


BEGIN = "<!-- the shape sweep (tests/bench/sweep.py --into) from here -->"
END = "<!-- the shape sweep: end -->"


def put_into(path: str, text: str) -> None:
    """Puts the report into ``path`` (docs/benchmarks.md) between BEGIN and END, replacing
    the previous one; the first time before the async section (which bench_async.py keeps
    at the end), or at the end."""
    put_section(path, BEGIN, END, BEGIN + "\n\n" + text.rstrip("\n") + "\n\n" + END + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn")
    ap.add_argument("--profile", default="quick", choices=sorted(PROFILES))
    ap.add_argument("--drivers", default=",".join(DRIVERS))
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--cols", default=",".join(map(str, COLS)))
    ap.add_argument("--base", help="another build tree: drivers postpyro-base and "
                    "postpyro-pypy-base run its PostPyro and libpostpyro (A/B in one run)")
    ap.add_argument("--repeat", type=int, default=1, help="run each (kind, columns)'s "
                    "drivers this many times in turn, in an order rotated between repeats, "
                    "pooling their rounds; ratios: the median of the repeats' ratios")
    ap.add_argument("--per-cell", action="store_true", help="one process per (driver, kind, "
                    "columns, rows) instead of one per (driver, kind, columns): the drivers "
                    "of each cell run side by side")
    ap.add_argument("--rows", default="", help="only these row counts (1000,10000); "
                    "default: all of the profile's")
    ap.add_argument("--c-sweep", default=os.environ.get("PP_BENCH_C_SWEEP"))
    ap.add_argument("--json")
    ap.add_argument("--md")
    ap.add_argument("--into", help="put the report into this file (docs/benchmarks.md) "
                    "between the sweep's markers")
    ap.add_argument("--svg")
    ap.add_argument("--from-json")
    ap.add_argument("--merge-json", action="append", help="with --from-json: add the results "
                    "of another run (its drivers)")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--driver")
    ap.add_argument("--kind")
    args = ap.parse_args()
    if args.child:
        args.cols = int(args.cols)
        return child(args)
    if args.from_json:
        with open(args.from_json) as f:
            data = json.load(f)
        for extra in args.merge_json or ():  # another run's drivers (e.g. one more driver)
            with open(extra) as f:
                more = json.load(f)
            data["results"].update(more["results"])
            data["drivers"] += [d for d in more["drivers"] if d not in data["drivers"]]
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
