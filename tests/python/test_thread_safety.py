# SPDX-License-Identifier: MIT
"""Process-wide state shared by converting threads: the garbage collector's pause, the spare
pp_query buffers, the caches (issue 17 item 2)."""

import gc
import os
import subprocess
import sys
import threading

import pytest

import PostPyro as pg
from PostPyro import _result

# above the collector's pause threshold (CPython 5 000 values, PyPy 100 000)
BIG_ROWS = _result._PAUSE_CELLS + 1000
BIG = "SELECT g FROM generate_series(1, %d) g" % BIG_ROWS


def _thread(target):
    def body():
        try:
            target()
        except BaseException as exc:  # reported by the test
            th.error = exc
    th = threading.Thread(target=body)
    th.error = None
    th.start()
    return th


def test_a_second_converting_thread_keeps_the_collector_paused_until_it_ends(sdsn):
    """Thread A pauses the collector, B starts converting too, A ends: B's conversion must
    not run with the collector switched back on under it (it was, when each thread turned
    it on and off for itself), and the collector is on again once both are done."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = []

    def load_a(v):
        if v == 1:
            a_in.set()
            assert b_in.wait(30)
        return v

    def load_b(v):
        if v == 1:
            b_in.set()
            assert a_out.wait(30)
            seen.append(gc.isenabled())  # A has ended: is the collector still paused?
        return v

    assert gc.isenabled()
    with pg.Connection(sdsn) as ca, pg.Connection(sdsn) as cb:
        ca.adapters.register_loader("int4", load_a)
        cb.adapters.register_loader("int4", load_b)

        def run_a():
            ca.query(BIG)
            a_out.set()

        ta = _thread(run_a)
        assert a_in.wait(30)
        tb = _thread(lambda: cb.query(BIG))
        ta.join(60)
        tb.join(60)
    assert ta.error is None and tb.error is None, (ta.error, tb.error)
    assert seen == [False]  # still paused
    assert gc.isenabled()


def test_threads_converting_big_results_leave_the_applications_gc_disable_alone(sdsn):
    gc.disable()
    try:
        conns = [pg.Connection(sdsn) for _ in range(2)]
        try:
            def work(c):
                for _ in range(5):
                    assert len(c.query(BIG)) == BIG_ROWS
            threads = [_thread(lambda c=c: work(c)) for c in conns]
            for th in threads:
                th.join(60)
            assert [th.error for th in threads] == [None, None]
        finally:
            for c in conns:
                c.close()
        assert not gc.isenabled()  # the application's choice, still in force
    finally:
        gc.enable()


def test_threads_hammering_small_statements_share_the_spare_buffers_safely(sdsn):
    """Many threads, each on its own connection, take and give back the process-wide spare
    pp_query buffers; every result is its own (a set taken twice would mix them)."""
    def work(c, k):
        for i in range(300):
            n = k * 1000 + i
            assert c.query_one("SELECT $1::int4 AS v, $2::text AS w", [n, str(n)]) == \
                (n, str(n))
    conns = [pg.Connection(sdsn) for _ in range(4)]
    try:
        threads = [_thread(lambda c=c, k=k: work(c, k)) for k, c in enumerate(conns)]
        for th in threads:
            th.join(120)
        assert [th.error for th in threads] == [None] * 4
    finally:
        for c in conns:
            c.close()
    assert len(_result._spare_buffers) <= 8


def test_the_pause_ends_when_a_conversion_fails(conn):
    conn.adapters.register_loader("int4", lambda v: 1 // (v - BIG_ROWS // 2))
    with pytest.raises(ZeroDivisionError):
        conn.query(BIG)
    assert gc.isenabled() and _result._gc_pausers == 0


# a fresh process: the heap of a whole test run holds far more than what is checked here
HEAP_PROGRAM = """
import gc, sys
import PostPyro as pg
from PostPyro import _pypygc, _result
if sys.argv[2] == "without":
    _pypygc.catch_up = lambda: None
conn = pg.connect(sys.argv[1])
sql = "SELECT 'value ' || g FROM generate_series(1, %d) g" % int(sys.argv[3])
gc.collect()
for _ in range(15):
    assert len(conn.query(sql)) == int(sys.argv[3])
assert gc.isenabled() and _result._gc_pausers == 0
print(gc._get_stats(False).total_gc_memory)
"""


@pytest.mark.skipif(not _result._PYPY_GC, reason="PyPy's major collections and heap "
                    "statistics (CPython frees these values by reference counting)")
def test_pypy_s_paused_major_collections_are_caught_up_so_the_heap_stays_bounded(dsn):
    """Big results pause PyPy's major collections while they are converted; nearly every
    minor collection falls inside those pauses, so without the catch-up before each one the
    garbage of the earlier results would never be freed (measured: 751 MB after 40 such
    statements). 15 statements of ~15 MB each, none kept: the heap stays far below their
    sum (≈ 300 MB without the catch-up, checked here too)."""
    # PyPy sizes its nursery from the CPU's cache: half the last level's (150 MB on a Xeon
    # reporting a 300 MB cache, where every number here was 150 MB + the nursery's few
    # minor collections: 179-188 MB with and without the catch-up alike, a failure that
    # depended on the host). 1 MB, as on the machines it was measured on: 30 MB with the
    # catch-up, 270 MB without.
    env = dict(os.environ, PYPY_GC_NURSERY="1MB")

    def heap(mode):
        proc = subprocess.run([sys.executable, "-c", HEAP_PROGRAM, dsn, mode, str(BIG_ROWS)],
                              capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        return int(proc.stdout)
    assert heap("with") < 150 << 20
    assert heap("without") > 200 << 20  # what the bound above tells apart
