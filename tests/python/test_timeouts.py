# SPDX-License-Identifier: MIT
"""Bounded waits on dead networks (issue 10, defects 7 and 8).

A TCP proxy on 127.0.0.1 (tcpproxy.py) sits between the client and the test server; told
to black-hole, it keeps every socket open and forwards nothing (what a dead network or a frozen
server looks like to the client: no error, no answer). With it: a statement under a timeout
fails in bounded time, cancel() and close() from another thread return in bounded time, and a
connect honours the timeout and Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import PostPyro as pg
from ctrlc import SIGINT_RAISES_LINE
from tcpproxy import TcpProxy


@pytest.fixture
def proxy(tcp_port):
    p = TcpProxy(tcp_port)
    yield p
    p.close()


class Blocked(threading.Thread):
    """Runs a call on another thread and records how it ended."""

    def __init__(self, call) -> None:
        super().__init__(daemon=True)
        self.call = call
        self.error = None
        self.ended = threading.Event()

    def run(self) -> None:
        try:
            self.call()
        except BaseException as exc:  # noqa: B902 - recorded for the test
            self.error = exc
        self.ended.set()


def test_a_statement_under_a_timeout_fails_when_the_network_dies(proxy):
    c = pg.Connection(proxy.dsn(), timeout=1)
    assert c.timeout == 1.0
    assert c.query_one("SELECT $1::int", [1])[0] == 1
    proxy.mode = "blackhole"
    start = time.monotonic()
    with pytest.raises(pg.errors.ConnectionTimeout) as info:
        c.query_one("SELECT $1::int", [2])
    took = time.monotonic() - start
    assert 0.9 < took < 4.0, took  # timeout 1 s + 1 s grace after the cancel request
    assert isinstance(info.value, pg.OperationalError)
    assert "timeout" in str(info.value)
    assert c.closed
    c.close()


def test_a_timeout_cancels_a_slow_statement_and_the_connection_stays_usable(dsn):
    with pg.Connection(dsn, timeout=0.5) as c:
        start = time.monotonic()
        with pytest.raises(pg.errors.QueryCanceled) as info:
            c.query("SELECT pg_sleep(10)")
        assert time.monotonic() - start < 4.0
        assert "timeout" in str(info.value)
        assert not c.closed
        assert c.query_one("SELECT 1")[0] == 1
        c.timeout = None
        assert c.timeout is None
        assert c.query_one("SELECT 3 FROM pg_sleep(0.7)")[0] == 3  # no bound any more


def test_a_timeouts_late_cancel_request_never_cancels_the_next_statement(proxy):
    with pg.Connection(proxy.dsn()) as c:
        proxy.connect_delay = 0.6  # the cancel request's connection reaches the server late
        c.timeout = 0.3
        # ends in the grace period after its deadline, before the cancel request arrives
        assert c.query_one("SELECT 1 FROM pg_sleep(0.4)")[0] == 1
        c.timeout = None
        # the request still on its way must not cancel this one
        assert c.query_one("SELECT 2 FROM pg_sleep(1)")[0] == 2


def test_a_timeout_bounds_executemany(dsn):
    with pg.Connection(dsn, timeout=0.5) as c:
        start = time.monotonic()
        with pytest.raises(pg.errors.QueryCanceled):
            c.executemany("SELECT pg_sleep($1)", [[0.1], [10]])
        assert time.monotonic() - start < 4.0
        assert c.query_one("SELECT 2")[0] == 2


def test_a_timeout_bounds_copy_data_that_cannot_be_sent(proxy):
    c = pg.Connection(proxy.dsn(), timeout=1)
    c.execute("CREATE TEMP TABLE t (a text)")
    line = b"x" * 1_000_000 + b"\n"
    took = []
    with pytest.raises(pg.errors.ConnectionTimeout):
        with c.copy("COPY t FROM STDIN") as cp:
            proxy.mode = "freeze"  # nothing is read any more: the buffers fill up, sends block
            for _ in range(200):  # 200 MB
                start = time.monotonic()
                try:
                    cp.write(line)
                finally:
                    took.append(time.monotonic() - start)
    assert took[-1] < 5.0, took  # the write that could not be sent: timeout + grace
    assert c.closed
    c.close()


def test_the_timeout_must_be_a_number_of_seconds(dsn):
    with pytest.raises(pg.ProgrammingError):
        pg.Connection(dsn, timeout="soon")
    with pytest.raises(pg.ProgrammingError):
        pg.Connection(dsn, timeout=-1)
    with pg.connect(dsn, timeout=2.5) as c:
        assert c.timeout == 2.5


def test_cancel_and_close_are_bounded_while_a_call_is_blocked_on_a_dead_network(proxy):
    c = pg.Connection(proxy.dsn())  # no timeout: the call would wait forever
    assert c.query_one("SELECT 1")[0] == 1
    proxy.mode = "blackhole"
    t = Blocked(lambda: c.query("SELECT 2"))
    t.start()
    time.sleep(0.3)
    assert not t.ended.is_set()
    c.timeout = 1  # bounds the cancel below (the blocked call keeps its own deadline: none)
    start = time.monotonic()
    with pytest.raises(pg.OperationalError):  # the cancel request gets no answer
        c.cancel()
    assert time.monotonic() - start < 3.0
    assert not t.ended.is_set()
    start = time.monotonic()
    c.close()
    assert time.monotonic() - start < 2.0
    assert t.ended.wait(2.0), "the blocked call did not end after close()"
    assert isinstance(t.error, (pg.InterfaceError, pg.OperationalError)), repr(t.error)
    assert c.closed


def test_cancel_without_a_timeout_is_bounded_too(proxy):
    c = pg.Connection(proxy.dsn())
    proxy.mode = "blackhole"
    start = time.monotonic()
    with pytest.raises(pg.errors.ConnectionTimeout):
        c.cancel()
    assert time.monotonic() - start < 8.0  # 5 s by default
    start = time.monotonic()
    c.close()  # nothing blocked: closing sends Terminate into the void and returns
    assert time.monotonic() - start < 2.0


def test_connect_honours_the_timeout(proxy):
    proxy.mode = "blackhole"
    start = time.monotonic()
    with pytest.raises(pg.errors.ConnectionTimeout):
        pg.Connection(proxy.dsn(), timeout=1)
    assert 0.9 < time.monotonic() - start < 3.0
    start = time.monotonic()
    with pytest.raises(pg.OperationalError):  # libpq's connect_timeout is honoured too
        pg.Connection(proxy.dsn(connect_timeout=2))
    assert 1.9 < time.monotonic() - start < 4.0


CONNECT_AND_WAIT = SIGINT_RAISES_LINE + textwrap.dedent("""
    import socket, sys, time
    import PostPyro as pg
    quiet = socket.socket()          # accepts (the kernel does) and never answers
    quiet.bind(("127.0.0.1", 0))
    quiet.listen(1)
    dsn = "host=127.0.0.1 port=%d dbname=x user=x" % quiet.getsockname()[1]
    print("connecting", flush=True)
    start = time.monotonic()
    try:
        pg.Connection(dsn)
    except KeyboardInterrupt:
        print("interrupted after %.2f" % (time.monotonic() - start), flush=True)
        sys.exit(0)
    print("connect returned", flush=True)
    sys.exit(1)
""")


def test_ctrl_c_interrupts_a_connect():
    child = subprocess.Popen([sys.executable, "-c", CONNECT_AND_WAIT], stdout=subprocess.PIPE,
                             text=True, env=os.environ.copy())
    try:
        assert child.stdout.readline().strip() == "connecting"
        time.sleep(0.5)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=10)
        # the child's exit included (PyPy's is slow on a loaded machine: margin); not
        # interrupted, its connect has no end (communicate's 10 s)
        assert time.monotonic() - sent < 8.0
        assert out.startswith("interrupted"), out
        assert child.returncode == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
