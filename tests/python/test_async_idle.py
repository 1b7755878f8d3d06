# SPDX-License-Identifier: MIT
"""A statement's wait on an idle asyncio loop takes no loop trip (_aio.AsyncioSocket.idle_wait):
the call on the fiber waits for its answer on the connection's socket and the loop's own
epoll at once, and reads the answer without a future, a task wake-up or a second loop turn.
What must not change: anything else the loop has to do — a ready callback, a socket of its
own, a timer, another thread's call_soon_threadsafe, a timeout — is done when it is due,
not when the statement ends.

The tests raise the idle wait's bound (_IDLE_WAIT_MS, a few ms) far above the statement's
length, so that a wait that ignored the loop would visibly hold it up to the statement's end."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading

import pytest

import PostPyro as pg
from PostPyro import _aio
from PostPyro._ffi import lib

from stepcount import StepCount
from test_async import run_asyncio

LONG = 1.0   # the statement (seconds)
SOON = 0.1   # when the other thing becomes due
READ = lib.PP_WAIT_READ


def _programs_own(signum, frame):
    raise KeyboardInterrupt  # a program's own SIGINT handler (logs, then stops, say)


@pytest.fixture(params=["python", "c"])
def long_idle(request, monkeypatch):
    """Both ways of the idle wait: idle_wait's poll in Python after the call returned
    PP_PENDING, and the call's own wait in libpostpyro (AsyncioSocket.arm), which is taken
    only when no Python code handles SIGINT, or asyncio.run's does (SIG_IGN here: PyPy's
    asyncio.run installs no handler, and run_asyncio may not use asyncio.run)."""
    monkeypatch.setattr(_aio, "_IDLE_WAIT_MS", 10_000)
    if request.param == "python":
        monkeypatch.setattr(_aio.AsyncioSocket, "arm", lambda self, conn, wanted: None)
        yield request.param
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield request.param
    finally:
        signal.signal(signal.SIGINT, old)


async def _connected(sdsn):
    conn = await pg.AsyncConnection.connect(sdsn)
    await conn.query("SELECT pg_sleep(0.01)")  # a wait the loop's way: the socket is watched
    return conn


def _done_before_the_statement(setup, sdsn):
    """Run setup(loop, hit) then a LONG statement; whether hit() ran before it ended."""
    async def main():
        async with await _connected(sdsn) as conn:
            loop = asyncio.get_running_loop()
            seen = []
            running = [True]
            cleanup = setup(loop, lambda: seen.append(running[0]))
            try:
                assert (await conn.query_one("SELECT $1::int4, pg_sleep($2)", [7, LONG]))[0] == 7
                running[0] = False
                await asyncio.sleep(0)
            finally:
                if cleanup is not None:
                    cleanup()
            return seen
    return run_asyncio(main)


def test_an_answer_that_comes_while_the_loop_is_idle_takes_no_loop_trip(sdsn, long_idle):
    async def main():
        async with await _connected(sdsn) as conn:
            steps = StepCount(conn)
            waits = conn._engine._waits
            for k in range(30):
                assert (await conn.query_one("SELECT $1::int4, pg_sleep(0.005)", [k]))[0] == k
            return steps.n, conn._engine._waits - waits
    steps, waits = run_asyncio(main)
    if long_idle == "c":  # every wait was done inside the call: none returned PP_PENDING …
        assert waits == 0
    else:  # statements waited for their answers (on a loaded machine an answer may already
        assert waits > 0  # be there when libpostpyro first looks: that one does not wait)
    assert steps == 0   # … and none of them through the loop


@pytest.mark.skipif(not hasattr(asyncio, "Runner"), reason="asyncio.run installs no SIGINT "
                    "handler before Python 3.11: Python's default one stays (not armed)")
def test_asyncio_runs_own_sigint_handler_lets_the_waits_be_done_in_c(sdsn, monkeypatch):
    # asyncio.run replaces Python's default handler with one that cancels the main task
    # (raising nothing on the first Ctrl-C): the waits are armed in C under it
    monkeypatch.setattr(_aio, "_IDLE_WAIT_MS", 10_000)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)

    async def main():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        async with await _connected(sdsn) as conn:
            waits = conn._engine._waits
            for k in range(10):
                assert (await conn.query_one("SELECT $1::int4, pg_sleep(0.005)", [k]))[0] == k
            return conn._engine._waits - waits
    try:
        assert asyncio.run(main()) == 0
    finally:
        signal.signal(signal.SIGINT, old)


def test_a_call_with_a_timeout_waits_the_loops_way_between_calls_armed_in_c(sdsn, long_idle):
    # libpostpyro keeps the setting from call to call (AsyncioSocket.arm sets it only when
    # it changes): a call that must not use it (timeout=) has it turned off, the next
    # call without one has it again
    async def main():
        async with await _connected(sdsn) as conn:
            seen = []
            # each statement outlasts a preemption on a loaded machine (was 5 ms: the answer
            # was there when libpostpyro first looked, no wait, [1, 1, 0, 1], PyPy)
            for timeout in (None, 30, None, 30):
                waits = conn._engine._waits
                assert (await conn.query_one("SELECT $1::int4, pg_sleep(0.3)", [7],
                                             timeout=timeout))[0] == 7
                seen.append(conn._engine._waits - waits)
            return seen
    assert run_asyncio(main) == ([0, 1, 0, 1] if long_idle == "c" else [1, 1, 1, 1])


def test_a_ready_callback_runs_before_a_statement_that_waits_ends(sdsn, long_idle):
    def setup(loop, hit):
        loop.call_soon(hit)
    assert _done_before_the_statement(setup, sdsn) == [True]


def test_a_socket_of_the_loop_is_served_while_a_statement_waits(sdsn, long_idle):
    def setup(loop, hit):
        a, b = socket.socketpair()

        def on_read():
            a.recv(16)
            hit()
        loop.add_reader(a.fileno(), on_read)
        timer = threading.Timer(SOON, b.send, (b"x",))
        timer.start()

        def cleanup():
            timer.cancel()
            loop.remove_reader(a.fileno())
            a.close()
            b.close()
        return cleanup
    assert _done_before_the_statement(setup, sdsn) == [True]


def test_a_timer_runs_on_time_while_a_statement_waits(sdsn, long_idle):
    def setup(loop, hit):
        loop.call_later(SOON, hit)
    assert _done_before_the_statement(setup, sdsn) == [True]


def test_another_threads_call_runs_while_a_statement_waits(sdsn, long_idle):
    def setup(loop, hit):
        timer = threading.Timer(SOON, loop.call_soon_threadsafe, (hit,))
        timer.start()
        return timer.cancel
    assert _done_before_the_statement(setup, sdsn) == [True]


def test_a_timeout_cancels_a_statement_in_an_idle_wait(sdsn, long_idle):
    async def main():
        async with await _connected(sdsn) as conn:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(conn.query("SELECT pg_sleep(10)"), SOON * 3)
            took = loop.time() - t0
            return took, await conn.query_one("SELECT 42")
    took, row = run_asyncio(main)
    assert took < 3.0
    assert row[0] == 42


@pytest.mark.parametrize("handler", [signal.default_int_handler, _programs_own])
def test_ctrl_c_in_an_idle_wait_leaves_the_loop_as_it_would_from_its_select(sdsn, long_idle,
                                                                           handler):
    # with Python's own SIGINT handler (no asyncio.run on 3.9), or the program's own that
    # raises, KeyboardInterrupt comes out of run_until_complete and the task stays waiting,
    # as when the loop's select saw it: running the loop again finishes the statement, and
    # the connection is usable (a wait armed in C would have it raised on the fiber,
    # abandoning the call and closing the connection: not armed under either handler)
    loop = asyncio.new_event_loop()
    old = signal.signal(signal.SIGINT, handler)
    try:
        conn = loop.run_until_complete(_connected(sdsn))
        # the statement outlasts the signal's timer (a loaded machine may start that thread
        # late: was 0.5 s; a signal after the statement's end raises outside the block)
        task = loop.create_task(conn.query_one("SELECT $1::int4, pg_sleep(2)", [5]))
        timer = threading.Timer(SOON, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(task)
        timer.join()
        assert not task.done()
        assert loop.run_until_complete(asyncio.wait_for(task, 30))[0] == 5
        assert loop.run_until_complete(conn.query_one("SELECT 6"))[0] == 6
        loop.run_until_complete(conn.close())
    finally:
        signal.signal(signal.SIGINT, old)
        loop.close()


def test_a_pipeline_that_fills_the_socket_waits_to_write_without_a_loop_trip(sdsn, long_idle):
    # executemany's rows outrun the server: the pipeline waits for the socket to take more
    # (and for answers) in the idle wait too, not through a future and two loop turns
    async def main():
        async with await _connected(sdsn) as conn:
            await conn.execute("CREATE TEMP TABLE idle_fill (k int, t text)")
            seen = []
            idle = conn._idle

            def recording_idle(*events):
                seen.append(events[0] if events else READ)
                return idle(*events)
            conn._idle = recording_idle
            steps = StepCount(conn)
            big = "x" * 8000
            n = await conn.executemany("INSERT INTO idle_fill VALUES ($1, $2)",
                                       [(k, big) for k in range(3000)])
            count = (await conn.query_one("SELECT count(*) FROM idle_fill"))[0]
            return n, count, steps.n, seen
    n, count, steps, seen = run_asyncio(main)
    assert n == count == 3000
    if long_idle == "python":  # (the C way waits inside the call: nothing to see here)
        assert any(ev & lib.PP_WAIT_WRITE for ev in seen)  # it did wait to write …
    assert steps == 0   # … and never through the loop


def test_a_wait_finds_the_running_loop_without_get_running_loop(sdsn):
    # CPython 3.11's get_running_loop makes a getpid() system call: a statement's wait, the
    # idle way or the loop's way, asks the loop it is registered with instead …
    async def main():
        async with await _connected(sdsn) as conn:
            sock = conn._sock
            asked = []
            running_loop = sock._running_loop

            def counting():
                asked.append(1)
                return running_loop()
            sock._running_loop = counting
            for idle in (conn._idle, None):  # the idle way, then the loop's way
                conn._idle = idle
                for k in range(5):
                    assert (await conn.query_one("SELECT $1::int4, pg_sleep(0.002)",
                                                 [k]))[0] == k
            waits = conn._engine._waits
            return len(asked), waits
    asked, waits = run_asyncio(main)
    assert waits > 0
    assert asked == 0


def test_a_connection_taken_to_another_loop_waits_on_that_one(sdsn):
    # the loop a wait is registered with is asked first (see above): once another loop
    # runs the connection, its waits must be that loop's, the idle way and the loop's way
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        conn = first.run_until_complete(_connected(sdsn))
        idle_way = conn._idle

        async def statements():
            for idle in (idle_way, None):
                conn._idle = idle
                for k in range(3):
                    assert (await conn.query_one("SELECT $1::int4, pg_sleep(0.002)",
                                                 [k]))[0] == k
            return conn._sock._loop
        waits = conn._engine._waits
        assert first.run_until_complete(asyncio.wait_for(statements(), 10)) is first
        assert second.run_until_complete(asyncio.wait_for(statements(), 10)) is second
        assert conn._engine._waits > waits
        second.run_until_complete(conn.close())
    finally:
        first.close()
        second.close()
