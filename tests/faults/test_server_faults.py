# SPDX-License-Identifier: MIT
"""The server goes away under the client: stopped or restarted in ``fast`` and ``immediate``
mode while a connection is idle, mid-query, mid-COPY, mid-stream and mid-pipeline, and a
backend killed with SIGKILL (the postmaster then restarts every backend: crash recovery).
Every call ends with an OperationalError within a bound, and once the server is back a new
connection works."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

import PostPyro as pg

from conftest import TALLY, bounded, sized
from ownserver import wait_until_up


def idle(c, started, disrupted):
    started.set()
    assert disrupted.wait(30)
    return c.query_one("SELECT 1")[0]


def mid_query(c, started, _disrupted):
    started.set()
    return c.query("SELECT pg_sleep(30)")


def mid_copy(c, started, _disrupted):
    c.execute("CREATE TEMP TABLE sc (a int, b text)")
    with c.copy("COPY sc FROM STDIN") as cp:
        for i in range(1_000_000):
            cp.write(b"%d\trow\n" % i)
            if i == 1000:
                started.set()
            if i % 1000 == 0:
                time.sleep(0.01)


def mid_stream(c, started, _disrupted):
    for i, row in enumerate(c.stream("SELECT g, pg_sleep(0.001) FROM "
                                     "generate_series(1, 1000000) g", chunk_size=100)):
        if i == 200:
            started.set()


def mid_pipeline(c, started, _disrupted):
    started.set()
    return c.executemany("SELECT pg_sleep($1)", [[0.01]] * 3000)


STATES = [idle, mid_query, mid_copy, mid_stream, mid_pipeline]


def run_while(server, transport, state, disrupt):
    """Runs state() on a connection, disrupts the server once it is under way; the call
    must end with an OperationalError (idle: on its next statement)."""
    c = pg.Connection(server.tcp if transport == "tcp" else server.unix)
    started, disrupted = threading.Event(), threading.Event()
    box = {}
    t = threading.Thread(target=lambda: box.update(
        r=bounded(lambda: state(c, started, disrupted), 40)), daemon=True)
    t.start()
    assert started.wait(20), "the operation did not get under way"
    time.sleep(0.3)
    disrupt()
    disrupted.set()  # idle's next statement goes out now
    TALLY["faults injected"] += 1
    t.join(60)
    assert not t.is_alive()
    exc = box["r"][0]
    assert isinstance(exc, pg.OperationalError), repr(exc)
    c.close()


@pytest.mark.parametrize("state", STATES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_restart_ends_every_operation_with_an_operational_error(server, mode, state):
    for k in range(sized(1, 10)):
        transport = "tcp" if k % 2 == 0 else "unix"
        run_while(server, transport, state, lambda: server.restart(mode))
        wait_until_up(server.unix).close()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_stopped_server_fails_new_connections_and_calls_clearly(server, mode):
    c = pg.Connection(server.tcp)
    server.stop(mode)
    TALLY["faults injected"] += 1
    try:
        exc, _, took = bounded(lambda: c.query_one("SELECT 1"), 10)
        assert isinstance(exc, pg.OperationalError) and took < 5, (exc, took)
        exc, _, took = bounded(lambda: pg.Connection(server.tcp), 10)
        assert isinstance(exc, pg.OperationalError) and "refused" in str(exc), exc
    finally:
        server.start()
    c.close()
    wait_until_up(server.tcp).close()


@pytest.mark.parametrize("state", STATES[1:], ids=lambda f: f.__name__)
def test_a_killed_backend_ends_the_operation_and_the_server_recovers(server, state):
    for _ in range(sized(1, 10)):
        with wait_until_up(server.unix) as killer:
            pids = []

            def kill():
                rows = killer.query("SELECT pid FROM pg_stat_activity WHERE backend_type = "
                                    "'client backend' AND pid <> pg_backend_pid() AND "
                                    "state = 'active'")
                pids.extend(r[0] for r in rows)
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
            run_while(server, "tcp", state, kill)
        assert pids
        TALLY["backends killed"] += len(pids)
        wait_until_up(server.unix).close()
