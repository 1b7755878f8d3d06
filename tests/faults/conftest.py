# SPDX-License-Identifier: MIT
"""The fault-injection suite's fixtures: a server of its own (it is stopped, restarted and
crashed), the fault proxy, bounded calls, and the run's tally.

Profiles (PP_FAULTS_PROFILE): ``short`` (the default, for CI: one or two minutes) and
``long`` (manual runs: 10 to 20 times the rounds and transactions; see ``sized``). At the end the tally — faults
injected, crashes, hangs, lost commits, bad inputs tried — is printed and, when
PP_FAULTS_SUMMARY names a file, written there (``make check-faults-long`` writes
tests/faults/LAST-RUN, which the README quotes).
"""

from __future__ import annotations

import collections
import datetime
import os
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "python"))  # ownserver.py, tcpproxy.py

import PostPyro as pg  # noqa: E402
from ownserver import own_server  # noqa: E402
from tcpproxy import TcpProxy  # noqa: E402

PROFILE = os.environ.get("PP_FAULTS_PROFILE", "short")
if PROFILE not in ("short", "long"):
    raise SystemExit("PP_FAULTS_PROFILE must be short or long, not %r" % PROFILE)


def sized(short: int, long: int) -> int:
    """How many rounds a test makes in this profile."""
    return long if PROFILE == "long" else short

TALLY: "collections.Counter[str]" = collections.Counter()
# "backends killed": server crashes provoked (SIGKILL). A crash of the client would end the
# run before the tally is written: a written tally means none.
TALLY_KEYS = ("faults injected", "backends killed", "hangs", "lost commits",
              "bad inputs tried", "transactions", "unknown outcomes")


class Hang(AssertionError):
    pass


def bounded(call, limit: float):
    """Runs call() on a daemon thread: (its exception or None, its result, seconds). A call
    still running after `limit` seconds is a hang: counted, and the test fails."""
    out = {"exc": None, "value": None}

    def run():
        try:
            out["value"] = call()
        except BaseException as exc:  # noqa: B902 - handed to the test
            out["exc"] = exc

    start = time.monotonic()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(limit)
    if t.is_alive():
        TALLY["hangs"] += 1
        raise Hang("the call did not end within %.0f s" % limit)
    return out["exc"], out["value"], time.monotonic() - start


@pytest.fixture(scope="session")
def server():
    with own_server("pp-faults.") as s:
        with pg.Connection(s.unix) as c:
            c.execute("ALTER SYSTEM SET log_min_messages = 'fatal'")
            c.query("SELECT pg_reload_conf()")
        yield s


@pytest.fixture
def proxy(server):
    p = TcpProxy(server.port)
    yield p
    TALLY["bad inputs tried"] += p.garbled
    p.close()


def pytest_terminal_summary(terminalreporter):
    line = ", ".join("%s: %d" % (k, TALLY[k]) for k in TALLY_KEYS)
    terminalreporter.write_line("fault suite (%s profile): %s; bad inputs are bytes of "
                                "garbage in place of the server's" % (PROFILE, line))
    path = os.environ.get("PP_FAULTS_SUMMARY")
    if path:
        stats = terminalreporter.stats
        with open(path, "w") as f:
            f.write("# written by tests/faults (conftest.py) at the end of a run\n")
            f.write("date: %s\n" % datetime.datetime.now(datetime.timezone.utc)
                    .strftime("%Y-%m-%d %H:%M UTC"))
            f.write("profile: %s\n" % PROFILE)
            f.write("interpreter: %s %s\n" % (sys.implementation.name,
                                              sys.version.split()[0]))
            f.write("libpq: %d\n" % pg.libpq_version())
            f.write("tests: %d passed, %d failed, %d xfailed\n" % (
                len(stats.get("passed", [])), len(stats.get("failed", [])),
                len(stats.get("xfailed", []))))
            f.write("client crashes: 0\n")
            for k in TALLY_KEYS:
                f.write("%s: %d\n" % (k, TALLY[k]))
