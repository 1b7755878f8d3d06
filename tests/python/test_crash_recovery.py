# SPDX-License-Identifier: MIT
"""A server that closes connections ends every wait (issue 10, defect 2).

When a backend crashes (here: SIGKILL), the postmaster stops every other backend with
SIGQUIT and restarts. An idle connection must then fail its next call at once with
OperationalError, over a Unix socket and TCP, whether its statements were cached (warm) or
not (cold) — before the fix a cold Unix-socket connection spun at 100 % CPU forever.

These tests crash a server on purpose, so they start their own throwaway one (with
tests/pgserver.sh) and never disturb the shared test server.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

import PostPyro as pg

from conftest import TOP_SRCDIR

PGSERVER = os.path.join(TOP_SRCDIR, "tests", "pgserver.sh")
BOUND = 1.0  # seconds: the "fails within 1 s" (measured: about 1 ms)


def server_env() -> dict:
    """Our environment without sanitizer preloads (tests/asan.sh sets them for Python; the
    server's own programs must not get them)."""
    return {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}


@pytest.fixture(scope="module")
def server():
    """A throwaway server of our own: {"unix": dsn, "tcp": dsn, "dir": path}."""
    base = "/tmp" if os.geteuid() == 0 else (os.environ.get("TMPDIR") or "/tmp")
    path = tempfile.mkdtemp(prefix="pp-crash.", dir=base)
    try:
        subprocess.run(["bash", PGSERVER, "start", path], check=True, stdout=subprocess.DEVNULL,
                       timeout=120, env=server_env())
        with open(os.path.join(path, "port")) as f:
            port = int(f.read())
        yield {"unix": "host=%s port=%d dbname=postpyro_test user=postgres" % (path, port),
               "tcp": "host=127.0.0.1 port=%d dbname=postpyro_test user=postgres" % port,
               "dir": path}
    finally:
        subprocess.run(["bash", PGSERVER, "stop", path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120, env=server_env())
        shutil.rmtree(path, ignore_errors=True)


def wait_until_up(dsn: str, limit: float = 60.0) -> pg.Connection:
    """A new connection once the server accepts them again after its crash recovery."""
    end = time.monotonic() + limit
    while True:
        try:
            return pg.Connection(dsn)
        except pg.OperationalError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def idle_connections(server):
    """For each transport, a cold connection (nothing run) and a warm one (the statements
    used below already prepared and cached), each for query() and for executemany()."""
    conns = {}
    for transport in ("unix", "tcp"):
        for call in ("query", "executemany"):
            conns[(transport, "cold", call)] = pg.Connection(server[transport])
            warm = pg.Connection(server[transport])
            for i in range(3):
                warm.query("SELECT $1::int AS v", [i])
                warm.executemany("SELECT $1::int", [[i], [i + 1]])
            conns[(transport, "warm", call)] = warm
    return conns


def bounded(call, limit: float = 2 * BOUND):
    """Runs call() on a daemon thread; its exception (None when it returned) and duration.
    Fails the test when it has not ended after `limit` seconds (a hang or a spin: the
    thread is left behind, the process can still exit)."""
    outcome = {}

    def run():
        try:
            call()
            outcome["exc"] = None
        except BaseException as exc:  # noqa: B902 - handed to the test
            outcome["exc"] = exc

    start = time.monotonic()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(limit)
    assert not t.is_alive(), "the call did not end within %.0f s" % limit
    return outcome["exc"], time.monotonic() - start


def assert_each_next_call_fails_quickly(conns):
    for key, c in conns.items():
        if key[2] == "query":
            exc, took = bounded(lambda: c.query("SELECT $1::int AS v", [7]))
        else:
            exc, took = bounded(lambda: c.executemany("SELECT $1::int", [[1], [2]]))
        assert isinstance(exc, pg.OperationalError), (key, exc)
        assert took < BOUND, (key, took)
        assert c.closed, key
        exc, took = bounded(lambda: c.query("SELECT 1"))  # the call after that fails too
        assert isinstance(exc, pg.Error) and took < BOUND, (key, exc, took)
        c.close()


def test_idle_connections_fail_fast_after_another_backend_is_killed(server):
    conns = idle_connections(server)
    victim = pg.Connection(server["unix"])
    pid = victim.query_one("SELECT pg_backend_pid()")[0]
    os.kill(pid, signal.SIGKILL)  # the postmaster then SIGQUITs every other backend
    time.sleep(1.0)
    assert_each_next_call_fails_quickly(conns)
    victim.close()
    with wait_until_up(server["unix"]) as c:  # the server recovers: usable again
        assert c.query_one("SELECT 1")[0] == 1


def test_a_connection_whose_own_backend_gets_sigquit_fails_fast(server):
    for transport in ("unix", "tcp"):
        c = wait_until_up(server[transport])
        c.query("SELECT $1::int", [1])
        pid = c.query_one("SELECT pg_backend_pid()")[0]
        os.kill(pid, signal.SIGQUIT)
        time.sleep(0.5)
        exc, took = bounded(lambda: c.query("SELECT $1::int", [2]))
        assert isinstance(exc, pg.OperationalError) and took < BOUND, (transport, exc, took)
        assert c.closed
        c.close()
    wait_until_up(server["unix"]).close()


def _pg_ctl(server_dir: str) -> list:
    """pg_ctl of the server's own installation (postmaster.opts names its binary), run as
    the server's user when we are root."""
    with open(os.path.join(server_dir, "data", "postmaster.opts")) as f:
        postgres = f.read().split()[0].strip("'\"")
    cmd = [os.path.join(os.path.dirname(postgres), "pg_ctl")]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", os.environ.get("PG_SERVER_USER", "postgres"), "--"] + cmd
    return cmd


def test_idle_connections_fail_fast_after_an_immediate_restart(server):
    conns = idle_connections(server)
    subprocess.run(_pg_ctl(server["dir"]) + ["-D", os.path.join(server["dir"], "data"),
                                             "-l", os.path.join(server["dir"], "server.log"),
                                             "-m", "immediate", "-w", "-t", "60", "restart"],
                   check=True, stdout=subprocess.DEVNULL, timeout=120, cwd=server["dir"],
                   env=server_env())
    assert_each_next_call_fails_quickly(conns)
    with wait_until_up(server["tcp"]) as c:
        assert c.query_one("SELECT 1")[0] == 1
