# SPDX-License-Identifier: MIT
"""The benchmarks' method (tests/bench): drivers run in an order rotated between repeats (the
sweep: shuffled between rounds that alternate between the drivers), and every ratio to a peer
is the median of the ratios of runs made side by side in one repeat or round, not a ratio of
medians taken at different moments. Pure functions, except one test that runs the sweep's
workers on a tiny profile against the server: nothing is timed against a bound."""

import json
import os
import random
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


def _sweep_results(rounds):
    """{driver: [cpu per round]} → a sweep's results for cell int × 1 × 10 rows."""
    results = {}
    for d, cpu in rounds.items():
        sweep.add_rounds(results, "int/1/%s/10" % d, {"wall": cpu, "cpu": cpu})
    return results


def test_sweep_ratio_is_the_median_of_per_round_ratios():
    # Round 2 was slow for both (load): pooled medians would say 2.0 / 1.1; round by round
    # PostPyro took 1.8, 1.9 and 2.0 × psycopg2's time. Round 4 failed for psycopg2.
    results = _sweep_results({"postpyro": [1.8, 19.0, 2.0, 1.0],
                              "psycopg2": [1.0, 10.0, 1.0, None]})
    assert results["int/1/psycopg2/10"]["cpu"] == 1.0  # its median over the rounds it ran
    assert results["int/1/psycopg2/10"]["cpu_rounds"] == [1.0, 10.0, 1.0, None]
    assert sweep.round_ratios(results, "postpyro", "psycopg2", "int", 1, 10, "cpu") \
        == [1.8, 1.9, 2.0]
    assert sweep.ratio(results, "postpyro", "psycopg2", "int", 1, 10, "cpu") == 1.9
    spread = sweep.ratio_spread(results, "postpyro", "psycopg2", "int", 1, 10, "wall")
    assert spread == (1.9, 1.8, 2.0) and not sweep.undecided(spread)
    assert sweep.fmt_spread(spread, bold=True) == "**1.90** (1.80–2.00)"
    assert sweep.ratio(results, "postpyro", "asyncpg", "int", 1, 10, "cpu") is None
    assert sweep.fmt_spread(None) == "–"
    # A driver whose every round failed has no cell.
    assert "int/1/asyncpg/10" not in _sweep_results({"asyncpg": [None, None]})


def test_sweep_cell_whose_rounds_disagree_is_undecided():
    results = _sweep_results({"postpyro": [0.9, 1.1, 1.0], "psycopg2": [1.0, 1.0, 1.0]})
    spread = sweep.ratio_spread(results, "postpyro", "psycopg2", "int", 1, 10, "cpu")
    assert spread == (1.0, 0.9, 1.1) and sweep.undecided(spread)
    assert not sweep.undecided((0.9, 0.8, 1.0))  # at most 1.0: every round met it
    assert not sweep.undecided(None)
    data = _sweep_data(results)
    rows = {line.split(" | ")[0]: line for line in sweep.targets(data)}
    assert rows["| PostPyro ≤ 1.0 × psycopg2"] \
        == "| PostPyro ≤ 1.0 × psycopg2 | 1 / 1 (1 undecided) | 1 / 1 (1 undecided) |"
    text = sweep.markdown(data, "s.svg")
    assert "| int × 1 | 1.00 (0.90–1.10) |" in text
    assert "shuffled per round (seed 7)" in text and "took 2.0 min" in text
    pic = sweep.svg(data, "cpu")
    assert "0.90–1.10" in pic and "stroke-dasharray" in pic


def _sweep_data(results, **more):
    return dict({"profile": "full", "date": "d", "drivers": ["postpyro", "psycopg2"],
                 "kinds": ["int"], "cols": [1], "rows": [10], "method": "alternating",
                 "seed": 7, "seconds": 120,
                 "machine": {"python": "3", "pypy": None, "load": [1.0], "cpus": 2},
                 "results": results}, **more)


def test_sweep_renders_runs_saved_before_the_rounds_alternated():
    # Per-repeat medians (--repeat): their paired median, no per-round spread kept.
    old = {"int/1/postpyro/10": {"cpu": 4.0, "cpu_rep": [2.0, None, 6.0]},
           "int/1/psycopg2/10": {"cpu": 2.0, "cpu_rep": [1.0, 9.0, 2.0]}}
    assert sweep.ratio(old, "postpyro", "psycopg2", "int", 1, 10, "cpu") == 2.5
    # No per-repeat medians: the ratio of the medians.
    results = {"int/1/postpyro/10": {"cpu": 3.0, "wall": 3.0},
               "int/1/psycopg2/10": {"cpu": 2.0, "wall": 2.0}}
    assert sweep.ratio_spread(results, "postpyro", "psycopg2", "int", 1, 10, "cpu") \
        == (1.5, 1.5, 1.5)
    data = _sweep_data(results, method=None, repeat=1, per_cell=False)
    text = sweep.markdown(data, "s.svg")
    assert "| int × 1 | **1.50** |" in text and "shuffled" not in text
    assert "each in its own process" in text
    assert "| PostPyro ≤ 1.0 × psycopg2 | 0 / 1 | 0 / 1 |" in text


def test_sweep_merged_run_pairs_rounds_of_its_own_run_only():
    results = _sweep_results({"postpyro": [1.0, 3.0, 1.0], "psycopg2": [1.0, 1.0, 1.0]})
    # Another run's driver (--merge-json): its rounds were not taken beside these.
    results["int/1/asyncpg/10"] = {"cpu": 2.0, "cpu_rounds": [4.0, 1.0, 2.0], "run": 1}
    assert sweep.round_ratios(results, "postpyro", "asyncpg", "int", 1, 10, "cpu") == [0.5]
    assert sweep.round_ratios(results, "postpyro", "psycopg2", "int", 1, 10, "cpu") \
        == [1.0, 3.0, 1.0]


class _FakeWorker:
    def __init__(self, name, log, fail_at=None):
        self.name, self.log, self.fail_at = name, log, fail_at

    def run(self, rows, n):
        self.log.append((self.name, n))
        if self.fail_at is not None and len(self.log) >= self.fail_at:
            raise RuntimeError("boom")
        return 2.0 * n, 1.0 * n

    def collect(self):
        pass


def test_sweep_rounds_alternate_between_the_drivers_in_shuffled_orders():
    import random
    log = []
    drivers = ["a", "b", "c", "d"]
    workers = {d: _FakeWorker(d, log) for d in drivers}
    out = sweep.run_cell(workers, drivers, 10, 5, 6, 3, random.Random(1))
    warm, timed = log[:4], log[4:]
    assert sorted(warm) == [(d, 3) for d in drivers]  # each warmed up first, once
    rounds = [[d for d, _ in timed[i:i + 4]] for i in range(0, len(timed), 4)]
    assert len(rounds) == 6 and all(sorted(r) == drivers for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1  # the order changes from round to round
    assert out["a"] == {"wall": [2.0] * 6, "cpu": [1.0] * 6}  # per statement
    # A driver that fails is asked nothing more in this cell; its rounds are None.
    log2 = []
    workers = {"a": _FakeWorker("a", log2), "b": _FakeWorker("b", [], fail_at=3)}
    out = sweep.run_cell(workers, ["a", "b"], 10, 5, 4, 0, random.Random(2))
    assert out["b"]["cpu"] == [1.0, 1.0, None, None] and out["a"]["cpu"] == [1.0] * 4


def test_sweep_slow_driver_runs_a_share_of_each_round_and_no_big_cells():
    log = []
    workers = {d: _FakeWorker(d, log) for d in ("postpyro", "psycopg")}
    here, share = sweep.cell_drivers(["postpyro", "psycopg"], 100000, sweep.SLOW)
    assert here == ["postpyro", "psycopg"] and share == {"psycopg": 10}
    out = sweep.run_cell(workers, here, 100000, 25, 3, 7, random.Random(4), share)
    ran = {}
    for d, n in log:
        ran.setdefault(d, []).append(n)
    assert ran["postpyro"] == [7, 25, 25, 25] and ran["psycopg"] == [1, 2, 2, 2]
    # Per statement, in every round, like the others: 2.0 s wall and 1.0 s CPU each.
    assert out["psycopg"] == {"wall": [2.0] * 3, "cpu": [1.0] * 3}
    assert sweep.cell_drivers(["postpyro", "psycopg"], 1000000, sweep.SLOW)[0] == ["postpyro"]
    assert sweep.cell_drivers(["postpyro", "psycopg"], 1000000, {}) \
        == (["postpyro", "psycopg"], {})
    assert "psycopg" in sweep.DRIVERS  # in the default list
    ap = sweep.parser()
    assert sweep.slow_drivers(ap.parse_args([]), sweep.PROFILES["full"]) \
        == {"psycopg": (10, 100000)}
    assert sweep.slow_drivers(ap.parse_args([]), sweep.PROFILES["quick"]) \
        == {"psycopg": (10, 10000)}
    assert sweep.slow_drivers(ap.parse_args(["--slow-as-others"]), sweep.PROFILES["full"]) == {}


def test_sweep_renders_psycopg3_panel_and_says_what_it_ran():
    results = _sweep_results({"postpyro": [1.0, 1.0, 1.0], "psycopg": [10.0, 8.0, 12.0]})
    data = _sweep_data(results, drivers=["postpyro", "psycopg"], slow={"psycopg": [10, 100000]})
    data["machine"]["peers"] = "psycopg 3.1.7 (libpq wrapper: python)"
    text = sweep.markdown(data, "s.svg")
    assert "**PostPyro ÷ psycopg 3, client CPU time**" in text
    assert "| int × 1 | 0.10 (0.08–0.12) |" in text
    assert "psycopg 3 ran a tenth of each round's statements (at least one) and no cells " \
        "above 100 000 rows" in text
    assert "Peers: psycopg 3.1.7 (libpq wrapper: python)." in text
    assert "PostPyro ÷ psycopg 3" in sweep.svg(data, "cpu")
    assert "ran a tenth" not in sweep.markdown(dict(data, slow={}), "s.svg")


def test_sweep_workers_run_against_the_server(dsn, tmp_path, monkeypatch):
    """The coordinator with real workers (PostPyro, psycopg2, psycopg 3 and the C floor, each
    one process connected once) on a tiny profile: every cell has every driver's rounds."""
    import argparse
    import shutil
    import subprocess
    c_sweep = str(tmp_path / "c_sweep")
    flags = subprocess.run(["pg_config", "--includedir"], capture_output=True,
                           text=True, check=True).stdout.strip()
    libdir = subprocess.run(["pg_config", "--libdir"], capture_output=True,
                            text=True, check=True).stdout.strip()
    subprocess.run([shutil.which("cc") or "gcc", "-O2", "-o", c_sweep,
                    os.path.join(TOP_SRCDIR, "tests", "bench", "c_sweep.c"), "-I" + flags,
                    "-L" + libdir, "-lpq"], check=True)
    monkeypatch.setitem(sweep.PROFILES, "tiny", {"round_rows": 20, "rounds": 3,
                                                 "big_values": 100, "big_rounds": 3,
                                                 "max_rows": 10})
    args = argparse.Namespace(profile="tiny", rounds=None, drivers="postpyro,psycopg2,psycopg,c",
                              kinds="int,mix", cols="1,5", rows="", seed=3, base=None,
                              c_sweep=c_sweep, dsn=dsn)
    data = sweep.run_all(args)
    assert data["drivers"] == ["postpyro", "psycopg2", "psycopg", "c"]
    assert data["rows"] == [1, 10]
    assert data["method"] == "alternating" and data["seed"] == 3
    assert len(data["results"]) == 2 * 2 * 2 * 4
    for key, cell in data["results"].items():
        assert len(cell["cpu_rounds"]) == 3 and None not in cell["cpu_rounds"], key
        assert cell["cpu"] > 0 and cell["wall"] > 0
    spread = sweep.ratio_spread(data["results"], "postpyro", "c", "mix", 5, 10, "cpu")
    assert spread[1] <= spread[0] <= spread[2]
    assert "| mix × 5 |" in sweep.markdown(data, "s.svg")
    assert "**PostPyro ÷ psycopg 3, client CPU time**" in sweep.markdown(data, "s.svg")
    # A worker's failed command answers E and leaves it running.
    how = sweep.worker_command(args, "c", None, None, {}, dict(os.environ), {})
    w = sweep.Worker("c", *how)
    try:
        with pytest.raises(RuntimeError, match="bad command"):
            w.run(1, 1)  # no statement yet
        w.prepare("int", 1)
        assert w.run(1, 2)[1] >= 0
    finally:
        w.close()


def test_sweep_full_profile_runs_the_thread_curve_too():
    ap = sweep.parser()
    full, quick = sweep.PROFILES["full"], sweep.PROFILES["quick"]
    assert sweep.wants_threads(ap.parse_args(["--profile", "full"]), full)
    assert not sweep.wants_threads(ap.parse_args([]), quick)
    assert sweep.wants_threads(ap.parse_args(["--threads"]), quick)
    assert not sweep.wants_threads(ap.parse_args(["--profile", "full", "--no-threads"]), full)
    args = ap.parse_args(["--thread-counts", "1,4", "--thread-stmts", "50",
                          "--thread-repeats", "2"])
    assert (args.thread_counts, args.thread_stmts, args.thread_repeats) == ("1,4", 50, 2)


def test_sweep_report_holds_the_thread_curve_of_the_same_run():
    results = _sweep_results({"postpyro": [1.0, 1.0, 1.0], "psycopg2": [1.0, 1.0, 1.0]})
    runs = {("postpyro", "trivial", 1): [_run(1.0, 0.5), _run(1.2, 0.6)],
            ("postpyro", "trivial", 4): [_run(0.5, 0.5), _run(0.6, 0.6)],
            ("psycopg2", "trivial", 1): [_run(1.0, 0.5), _run(1.0, 0.5)],
            ("psycopg2", "trivial", 4): [_run(0.5, 0.5), _run(0.5, 0.5)]}
    info = {"cpu": "x", "os": "y", "cpython": "3", "pypy": None, "peers": "p", "repeats": 2,
            "total": {"trivial": 100}, "order": "rotated", "warmup": "steady"}
    curve = dict(bench_threads.to_json(runs, info), seconds=150)
    data = _sweep_data(results, threads=curve)
    text = sweep.markdown(data, "s.svg")
    assert "### Thread curve (the same run)" in text
    assert "in the same invocation (2.5 min)" in text
    assert "The cells took 2.0 min, the thread curve after them 2.5 min: 4.5 min in all." \
        in text
    # bench_threads' tables and side-by-side ratios, from the saved runs
    assert "| PostPyro | 91 | 182 |" in text
    assert "| trivial: scaling 4 thr ÷ psycopg2's | 1.00 |" in text
    assert text.index("**Targets") < text.index("### Thread curve")
    pic = sweep.svg(data, "cpu")
    assert "Thread curve (the same run)" in pic and pic.count("<polyline") == 2
    assert "Thread curve" not in sweep.svg(_sweep_data(results), "cpu")
    # A saved run round-trips (--from-json renders the same)
    back = bench_threads.from_json(json.loads(json.dumps(curve)))
    assert back[2:] == (["postpyro", "psycopg2"], ["trivial"], [1, 4])
    assert "Thread curve" not in sweep.markdown(_sweep_data(results), "s.svg")


def test_sweep_thread_curve_runs_against_the_server(dsn, monkeypatch):
    """The thread curve after the cells: every sweep driver bench_threads knows, each thread
    count, every repeat, in one invocation."""
    import argparse
    monkeypatch.setitem(sweep.PROFILES, "tiny", {"round_rows": 10, "rounds": 3,
                                                 "big_values": 100, "big_rounds": 3,
                                                 "max_rows": 1, "threads": True,
                                                 "thread_stmts": 40, "thread_repeats": 2})
    args = argparse.Namespace(profile="tiny", rounds=None, drivers="postpyro,psycopg,c",
                              kinds="int", cols="1", rows="", seed=1, base=None,
                              c_sweep=None, dsn=dsn, threads=None, thread_counts="1,2",
                              thread_stmts=None, thread_repeats=None)
    data = sweep.run_all(args)
    assert data["drivers"] == ["postpyro", "psycopg"]  # no C floor built here
    runs = {(r["driver"], r["threads"]): r["runs"] for r in data["threads"]["runs"]}
    assert sorted(runs) == [("postpyro", 1), ("postpyro", 2), ("psycopg", 1), ("psycopg", 2)]
    for key, rs in runs.items():
        assert len(rs) == 2 and all("error" not in r for r in rs), (key, rs)
        assert all(r["statements"] == 40 for r in rs)
    assert data["threads"]["info"]["total"] == {"trivial": 40}
    assert "### Thread curve" in sweep.markdown(data, "s.svg")


def test_sweep_fresh_driver_gets_a_new_worker_every_cell(dsn, monkeypatch):
    """postpyro-pypy-fresh (here psycopg2 standing in for it, no PyPy needed) is started
    again for every cell, the others once: the check whether a long-lived worker's state
    moves a cell."""
    import argparse
    default = sweep.parser().parse_args([]).drivers.split(",")
    assert "postpyro-pypy-fresh" not in default and "psycopg" in default
    started = []

    class Counting(sweep.Worker):
        def __init__(self, driver, *how):
            super().__init__(driver, *how)
            started.append(driver)
    monkeypatch.setattr(sweep, "Worker", Counting)
    monkeypatch.setattr(sweep, "FRESH", {"psycopg2"})
    monkeypatch.setitem(sweep.PROFILES, "tiny", {"round_rows": 20, "rounds": 3,
                                                 "big_values": 100, "big_rounds": 3,
                                                 "max_rows": 10})
    args = argparse.Namespace(profile="tiny", rounds=None, drivers="postpyro,psycopg2",
                              kinds="int", cols="1,5", rows="", seed=5, base=None,
                              c_sweep=None, dsn=dsn)
    data = sweep.run_all(args)
    assert started.count("postpyro") == 1
    assert started.count("psycopg2") == 1 + 2 * 2  # and again in each of the 4 cells
    assert len(data["results"]) == 2 * 2 * 2
    assert all(None not in c["cpu_rounds"] for c in data["results"].values())
    assert "started again for each kind × columns" not in sweep.markdown(data, "s.svg")
    # --restart-per-block: every worker again for each kind × columns block
    started.clear()
    args.restart_per_block = True
    data = sweep.run_all(args)
    assert started.count("postpyro") == 2 and started.count("psycopg2") == 2 + 2 * 2
    assert len(data["results"]) == 2 * 2 * 2 and data["restart_per_block"]
    assert "started again for each kind × columns" in sweep.markdown(data, "s.svg")


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
    assert sweep.plan(1000, 5, full) == (30, 7, 30)
    assert sweep.plan(1, 1, full, first=True) == (1000, 7, 2000)
    # A process whose first cell is big warms up; after smaller cells a 100 000-row one
    # does not need to.
    assert sweep.plan(100000, 5, full, first=True)[2] == 3
    assert sweep.plan(100000, 5, full)[2] == 0
    assert sweep.plan(1, 1, sweep.PROFILES["quick"])[0] == 300  # quick: short small rounds
    # Every cell of every profile has rounds enough for a median and a spread.
    for prof in sweep.PROFILES.values():
        for rows in sweep.row_counts(prof):
            assert sweep.plan(rows, 20, prof)[1] >= 3


def test_sweep_report_says_how_long_its_rounds_are():
    data = {"profile": "full", "date": "d", "drivers": ["postpyro"], "kinds": ["int"],
            "cols": [1], "rows": [10], "method": "alternating", "seed": 1, "seconds": 60,
            "machine": {"python": "3", "pypy": None, "load": [1.0], "cpus": 2},
            "results": {"int/1/postpyro/10": {"wall": 1e-5, "cpu": 1e-5}}}
    assert "Rounds:" not in sweep.markdown(dict(data), "s.svg")  # a run saved before
    data["plan"] = dict(sweep.PROFILES["full"], big_rows=sweep.BIG_ROWS,
                        max_per_round=sweep.MAX_PER_ROUND)
    text = sweep.markdown(data, "s.svg")
    assert ("from 10 000 rows, 3 of at least 1 500 000 values each (a row counting as one "
            "more)") in text
    assert "below 10 000 rows, 7 of ≈ 30 000 rows each" in text
