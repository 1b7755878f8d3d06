# SPDX-License-Identifier: MIT
"""The seam between a front end and the core (issue 11, for the async front end of issue 12).

When a C call returns PP_PENDING, the connection hands it to its waiter
(``Connection._wait(rc, resume, *args) -> rc``) and to nothing else: the sync waiter loops on
``resume``; an async one would await the socket between steps. Here a waiter that counts
its steps replaces the sync one, and a timer signal makes the C waits return PP_PENDING (any
signal interrupts them): each operation must go through the waiter, step by step, and still
give its normal result.
"""

import signal

import pytest

import PostPyro as pg
from PostPyro._ffi import PP_PENDING, lib

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")


class CountingWaiter:
    """Takes one step at a time, as an async waiter would (it awaits the socket before each)."""

    def __init__(self):
        self.resumes = []  # the continuation call of each operation that was left pending
        self.steps = 0

    def __call__(self, rc, resume, *args):
        self.resumes.append(resume)
        while rc == PP_PENDING:
            self.steps += 1
            rc = resume(*args)
        return rc


@pytest.fixture
def ticking():
    """SIGALRM every 20 ms, its Python handler doing nothing: each interrupts a C wait."""
    ticks = []
    old = signal.signal(signal.SIGALRM, lambda *a: ticks.append(1))
    signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
    try:
        yield ticks
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def counted(conn):
    waiter = CountingWaiter()
    conn._wait = waiter  # the instance's waiter shadows the class's sync one
    yield waiter
    del conn._wait


def test_a_statement_left_pending_goes_through_the_waiter_and_gives_its_rows(
        conn, counted, ticking):
    rows = conn.query("SELECT pg_sleep(0.3)::text, 42 AS answer")
    assert [tuple(r) for r in rows] == [("", 42)]
    assert ticking, "the timer signal never fired"
    assert counted.resumes and set(counted.resumes) == {lib.pp_query_next}
    assert counted.steps >= len(counted.resumes)


def test_a_failing_statement_left_pending_raises_its_error_after_the_waiter(
        conn, counted, ticking):
    with pytest.raises(pg.errors.DivisionByZero):
        conn.query("SELECT 1 / (SELECT 0 FROM pg_sleep(0.3))")
    assert counted.resumes == [lib.pp_query_next]
    assert conn.query_one("SELECT 7")[0] == 7


def test_pipelined_calls_left_pending_go_through_the_waiter(conn, counted, ticking):
    assert conn.execute_batch(["SELECT pg_sleep(0.3)", "SELECT 1"]) == [1, 1]
    conn.execute("CREATE TEMP TABLE seam (a int)")
    counted.resumes.clear()
    conn.executemany("INSERT INTO seam SELECT $1 FROM pg_sleep(0.1)", [[1], [2], [3]])
    assert counted.resumes == [lib.pp_resume]
    assert conn.query_one("SELECT sum(a) FROM seam")[0] == 6


def test_without_a_signal_the_waiter_is_never_called(conn, counted):
    assert conn.query_one("SELECT $1::int", [5])[0] == 5
    conn.executemany("SELECT $1::int", [[1], [2]])
    assert counted.resumes == []
