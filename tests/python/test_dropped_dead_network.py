# SPDX-License-Identifier: MIT
"""A COPY or stream dropped half-way, on the thread that used it, is ended by its finalizer
(test_copy_finalizer, test_stream_finalizer). On a dead network (the proxy forwards nothing
any more) and with no timeout set, that end would wait for ever inside a finalizer, i.e. at
whatever point of the program the collector ran: it is bounded in all (_copyend's
PENDING_END_SECONDS, shortened here), then the statement is cancelled and the connection
closed. Each test takes about 1.2 s: the bound plus the 1 s libpostpyro gives a cancel
request before it gives the connection up. Also: the bound's timeout, set on the connection
meanwhile, never replaces one another thread set then."""

from __future__ import annotations

import threading
import time

import pytest

import PostPyro as pg
from PostPyro import _copyend
from dropping import collect
from tcpproxy import TcpProxy

BOUND = 0.2


@pytest.fixture
def proxy(tcp_port):
    p = TcpProxy(tcp_port)
    yield p
    p.close()  # also ends a finalizer still waiting (before the fix: for ever)


@pytest.fixture(autouse=True)
def short_bound(monkeypatch):
    monkeypatch.setattr(_copyend, "PENDING_END_SECONDS", BOUND)


def drop_on_a_dead_network(proxy, conn, make) -> None:
    """On one thread: make the object, kill the network, drop it (the collector finalizes
    it there, between two operations: its end runs at once). That thread must end soon."""
    took = []

    def run():
        box = [make()]
        proxy.mode = "blackhole"
        start = time.monotonic()
        collect()  # the collector's own time on this heap, under this load: not bounded
        collector = time.monotonic() - start
        start = time.monotonic()
        box.clear()
        collect()
        took.append(time.monotonic() - start - collector)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(8 + 10)  # make() too: a statement through the proxy (margin: a loaded machine)
    assert not t.is_alive(), "the finalizer's end waits for ever on a dead network"
    # BOUND, not the default 5 s, plus the 1 s grace (margin: a loaded machine). Timed from
    # the drop, less the collector's own time (was: from the thread's start, make()'s
    # statements included: 3.9 s once under load; then 3.9 s again from the drop, with two
    # CPU burners beside the whole suite)
    assert took[0] < BOUND + 1 + 2.5, took
    assert "cancel" in proxy.kinds  # the statement was asked to stop
    assert conn.closed
    with pytest.raises(pg.InterfaceError):
        conn.query_one("SELECT 1")


def test_a_dropped_copy_from_on_a_dead_network_ends_within_the_bound(proxy):
    conn = pg.Connection(proxy.dsn())  # no timeout
    conn.execute("CREATE TEMP TABLE t (n int)")

    def make():
        cp = conn.copy("COPY t (n) FROM STDIN").start()
        cp.write(b"1\n2\n")
        cp.cycle = cp  # only the collector frees it
        return cp
    drop_on_a_dead_network(proxy, conn, make)
    conn.close()


def test_a_dropped_copy_to_on_a_dead_network_ends_within_the_bound(proxy):
    conn = pg.Connection(proxy.dsn())

    def make():
        cp = conn.copy("COPY (SELECT g FROM generate_series(1, 1000000) g) TO STDOUT").start()
        assert cp.read()
        cp.cycle = cp
        return cp
    drop_on_a_dead_network(proxy, conn, make)
    conn.close()


def test_a_dropped_stream_on_a_dead_network_ends_within_the_bound(proxy):
    conn = pg.Connection(proxy.dsn())

    def make():
        s = conn.stream("SELECT g FROM generate_series(1, 100) g", chunk_size=10)
        assert next(s)[0] == 1
        s.cycle = s
        return s
    drop_on_a_dead_network(proxy, conn, make)
    conn.close()


def set_from_another_thread(conn, seconds) -> None:
    t = threading.Thread(target=setattr, args=(conn, "timeout", seconds))
    t.start()
    t.join()


@pytest.mark.parametrize("when", ["before the bound", "after the bound", "never"])
def test_the_bounded_end_keeps_a_timeout_another_thread_set_meanwhile(conn, when):
    # end_bounded shortens the connection's timeout while the end runs (and past the bound
    # sets 1 ms), then puts back the one it found: not over one another thread set
    # meanwhile (Connection.timeout may be set from any thread at any time)
    conn.timeout = 30

    def end():
        if when == "before the bound":
            set_from_another_thread(conn, 42)
        time.sleep(BOUND + 0.3)  # the bound passes: the deadline sets 1 ms
        if when == "after the bound":
            set_from_another_thread(conn, 42)
    _copyend.end_bounded(conn, end)
    assert conn.timeout == (30 if when == "never" else 42)
    assert conn.query_one("SELECT 2")[0] == 2
