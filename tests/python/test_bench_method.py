# SPDX-License-Identifier: MIT
"""The benchmarks' method (tests/bench): drivers run in an order rotated between repeats, and
every ratio to a peer is the median of the ratios of runs made side by side in one repeat, not
a ratio of medians taken at different moments. Pure functions only: nothing is run or timed."""

import os
import sys

import pytest
from conftest import TOP_SRCDIR

sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "bench"))

import bench  # noqa: E402
import bench_async  # noqa: E402
import bench_threads  # noqa: E402
import sweep  # noqa: E402
from benchlib import paired_ratio, rotated  # noqa: E402


def test_every_driver_takes_every_place_once_over_as_many_repeats():
    orders = [rotated("ABCD", k) for k in range(4)]
    assert ["".join(o) for o in orders] == ["ABCD", "BCDA", "CDAB", "DABC"]
    for place in range(4):
        assert sorted(o[place] for o in orders) == list("ABCD")
    assert rotated("ABC", 4) == list("BCA")
    assert rotated([], 3) == []


def test_paired_ratio_is_the_median_of_same_round_ratios():
    # Medians alone would say 12 / 10 = 1.2; side by side, PostPyro equals the peer in two of
    # three repeats.
    assert paired_ratio([10, 20, 12], [10, 20, 10]) == 1.0
    # A failed run (None) drops its repeat, for both drivers.
    assert paired_ratio([10, None, 30], [5, 7, 10]) == 2.5
    assert paired_ratio([None, 1], [1, None]) is None
    assert paired_ratio([1], [0]) is None


def _run(wall, cpu, statements=100):
    return {"wall": wall, "cpu": cpu, "statements": statements, "rows": 1}


def test_threads_targets_pair_each_repeat():
    pp = [_run(1.0, 1.0), _run(2.0, 2.0), _run(1.2, 1.2)]
    peer = [_run(1.0, 1.0), _run(2.0, 2.0), _run(1.0, 1.0)]
    results = {("postpyro", "trivial", 1): pp, ("psycopg2", "trivial", 1): peer}
    rows = bench_threads.targets(results, ["trivial"], [1], ["postpyro", "psycopg2"])
    got = {what: (ratio, met) for what, ratio, _, met in rows}
    assert got["trivial, 1 thr: time ÷ psycopg2 (cpu)"] == ("1.00", "met")
    assert got["trivial, 1 thr: time ÷ psycopg2 (wall)"] == ("1.00", "met")
    # The per-driver table still shows medians: 1.2 s / 100 statements = 12 000 µs.
    assert bench_threads.per_stmt(results, "postpyro", "trivial", 1, "cpu") == pytest.approx(0.012)


def test_threads_scaling_ratio_pairs_each_repeat():
    def runs(walls1, walls4):
        return [_run(w, w) for w in walls1], [_run(w, w) for w in walls4]
    # PostPyro's scaling: 2, 1, 2 per repeat; the peer's 2, 1, 1. Paired: 1, 1, 2 → 1.
    pp1, pp4 = runs([2.0, 1.0, 2.0], [1.0, 1.0, 1.0])
    pe1, pe4 = runs([2.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    results = {("postpyro", "trivial", 1): pp1, ("postpyro", "trivial", 4): pp4,
               ("psycopg2", "trivial", 1): pe1, ("psycopg2", "trivial", 4): pe4}
    rows = bench_threads.targets(results, ["trivial"], [1, 4], ["postpyro", "psycopg2"])
    got = {what: ratio for what, ratio, _, _ in rows}
    assert got["trivial: scaling 4 thr ÷ psycopg2's"] == "1.00"
    assert bench_threads.scaling(results, "postpyro", "trivial", 4) == 2.0


def test_threads_failed_run_drops_its_repeat():
    pp = [_run(1.0, 1.0), {"error": "timeout"}, _run(3.0, 3.0)]
    peer = [_run(1.0, 1.0), _run(9.0, 9.0), _run(1.0, 1.0)]
    results = {("postpyro", "catalog", 1): pp, ("psycopg2", "catalog", 1): peer}
    rows = bench_threads.targets(results, ["catalog"], [1], ["postpyro", "psycopg2"])
    assert dict((w, r) for w, r, _, _ in rows)["catalog, 1 thr: time ÷ psycopg2 (wall)"] \
        == "2.00"
    text = bench_threads.report(results, ["postpyro", "psycopg2"], ["catalog"], [1], {
        "cpu": "x", "os": "y", "cpython": "3", "pypy": None, "peers": "p", "repeats": 3,
        "total": {"catalog": 100}, "order": "rotated"})
    assert "rotated between repeats" in text and "| catalog, 1 thr: time ÷ psycopg2" in text


def test_async_ratio_pairs_each_repeat():
    results = {("async", "small"): [{"seconds": 1.0, "cpu": 1.0}, {"seconds": 2.0, "cpu": 2.0},
                                    {"seconds": 1.2, "cpu": 1.2}],
               ("asyncpg", "small"): [{"seconds": 1.0, "cpu": 1.0}, {"error": "boom"},
                                      {"seconds": 1.0, "cpu": 0.6}]}
    assert bench_async.ratio(results, ("async", "small"), ("asyncpg", "small")) == pytest.approx(1.1)
    assert bench_async.ratio(results, ("async", "small"), ("asyncpg", "small"), "cpu") == 1.5
    assert bench_async.ratio(results, ("async", "small"), ("sync", "small")) is None


def test_sweep_ratio_pairs_each_repeat():
    results = {}
    # PostPyro ran in repeats 0 and 2 (repeat 1 failed); psycopg2 in all three.
    for rep, cpu in ((0, [2.0, 2.0, 2.0]), (2, [6.0, 6.0, 6.0])):
        sweep.add_cell(results, "int/1/postpyro/10", {"rows": 10, "wall": cpu, "cpu": cpu}, rep)
    for rep, cpu in ((0, [1.0, 1.0, 1.0]), (1, [9.0, 9.0, 9.0]), (2, [2.0, 2.0, 2.0])):
        sweep.add_cell(results, "int/1/psycopg2/10", {"rows": 10, "wall": cpu, "cpu": cpu}, rep)
    assert results["int/1/postpyro/10"]["cpu_rep"] == [2.0, None, 6.0]
    assert results["int/1/postpyro/10"]["cpu"] == 4.0  # pooled rounds: their median
    # Side by side: 2 / 1 and 6 / 2; the pooled medians would give 4 / 2.
    assert sweep.ratio(results, "postpyro", "psycopg2", "int", 1, 10, "cpu") == 2.5
    # A run saved without per-repeat medians: the ratio of the medians, as before.
    old = {"int/1/postpyro/10": {"cpu": 3.0}, "int/1/psycopg2/10": {"cpu": 2.0}}
    assert sweep.ratio(old, "postpyro", "psycopg2", "int", 1, 10, "cpu") == 1.5


def test_bench_ratios_pair_each_repeat():
    def runs(*secs):
        return [{"seconds": x} if x is not None else {"error": "boom"} for x in secs]
    med = bench.summarize({("large", "postpyro"): runs(1.0, None, 3.0, 1.2),
                           ("large", "psycopg2"): runs(1.0, 9.0, 3.0, 1.0)})
    # Each driver's own median: 1.2 and 2.0 (a ratio of medians would say 0.6).
    assert med[("large", "postpyro")]["seconds"] == 1.2
    assert med[("large", "psycopg2")]["seconds"] == 2.0
    # Side by side: 1, 1, 1.2 (the failed repeat dropped).
    assert bench.rsec(med, ("large", "postpyro"), ("large", "psycopg2")) == 1.0
    rows = {name: value for name, value, _, _ in bench.targets(med, False)}
    assert rows["large / psycopg2"] == 1.0


def test_threads_warm_up_runs_until_a_window_stops_falling():
    warmed_up = bench_threads.warmed_up
    patience = bench_threads.WARM_PATIENCE
    assert not warmed_up([])
    # PyPy's catalog windows (µs per statement, measured): still falling after 4 windows;
    # a window within 5 % of the best does not count as falling.
    jit = [771, 707, 642, 440, 590, 366, 472, 465, 353, 461, 368]
    stops = next(k for k in range(len(jit) + 1) if warmed_up(jit[:k]))
    assert stops > 6  # not while the JIT still compiles (366 came at window 6)
    assert all(not warmed_up(jit[:k]) for k in range(stops))
    # Steady from the start (CPython, the peers): the minimum, the first window and
    # `patience` more that do not beat it.
    flat = [404, 400, 396, 405, 399]
    assert [warmed_up(flat[:k]) for k in range(1, 2 + patience)] \
        == [False] * patience + [True]
    # Bounded: a window 6 % faster every time still stops at the maximum.
    falling = [1000 * 0.94 ** k for k in range(bench_threads.WARM_MAX_WINDOWS)]
    assert not warmed_up(falling[:-1]) and warmed_up(falling)


def test_threads_report_says_how_it_warmed_up():
    runs = [dict(_run(1.0, 1.0), warm=1200), dict(_run(1.0, 1.0), warm=1400)]
    results = {("postpyro-pypy", "catalog", 1): runs}
    info = {"cpu": "x", "os": "y", "cpython": "3", "pypy": "3.9", "peers": "p", "repeats": 2,
            "total": {"catalog": 1000}, "order": "rotated", "warmup": "steady"}
    text = bench_threads.report(results, ["postpyro-pypy"], ["catalog"], [1], info)
    assert "windows of 100 catalog statements until a window's CPU time stops falling" in text
    assert "Warm-up until steady (statements, median over runs): PostPyro PyPy 1300." in text
    # A run saved before (no "warmup" in its info) says what it did then.
    del info["warmup"]
    old = bench_threads.report({("postpyro-pypy", "catalog", 1): [_run(1.0, 1.0)]},
                               ["postpyro-pypy"], ["catalog"], [1], info)
    assert "warms up with a tenth of its statements" in old and "until steady" not in old


def test_sweep_big_cells_time_enough_statements_to_hold_pypy_collections():
    full = sweep.PROFILES["full"]
    for cols in sweep.COLS:
        for rows in (10000, 100000):
            n, rounds, _ = sweep.plan(rows, cols, full)
            # Every round reads at least 1 500 000 values (a row counting as one): several of
            # PyPy's major collections, which came every 1–15 statements of 10 000 rows.
            assert n * rows * (cols + 1) >= 1500000
            assert n * rows * (cols + 1) < 1500000 + rows * (cols + 1)
    assert sweep.plan(10000, 5, full)[:2] == (25, 3)  # was 3 statements × 5 rounds
    assert sweep.plan(1000000, 20, full) == (1, 3, 0)  # one statement holds many already
    # Small cells: rounds of ≈ 30 000 rows, at most 1 000 statements; the first cell's
    # warm-up (PyPy's JIT) stays 2 000 statements.
    assert sweep.plan(1000, 5, full) == (30, 5, 30)
    assert sweep.plan(1, 1, full, first=True) == (1000, 5, 2000)
    # A process whose first cell is big warms up; after smaller cells a 100 000-row one
    # does not need to.
    assert sweep.plan(100000, 5, full, first=True)[2] == 3
    assert sweep.plan(100000, 5, full)[2] == 0


def test_sweep_report_says_how_long_its_rounds_are():
    data = {"profile": "full", "date": "d", "drivers": ["postpyro"], "kinds": ["int"],
            "cols": [1], "rows": [10], "repeat": 1, "per_cell": False,
            "machine": {"python": "3", "pypy": None, "load": [1.0], "cpus": 2},
            "results": {"int/1/postpyro/10": {"wall": 1e-5, "cpu": 1e-5}}}
    assert "Rounds:" not in sweep.markdown(dict(data), "s.svg")  # a run saved before
    data["plan"] = dict(sweep.PROFILES["full"], big_rows=sweep.BIG_ROWS,
                        max_per_round=sweep.MAX_PER_ROUND)
    text = sweep.markdown(data, "s.svg")
    assert ("from 10 000 rows, 3 of at least 1 500 000 values each (a row counting as one "
            "more)") in text
