# SPDX-License-Identifier: MIT
"""Every kind of operation meets every kind of network fault (through ../python/tcpproxy.py):
a cut, a reset or garbage in the middle of the server's reply ends the call with a
PostPyro error (never another exception, a crash or a hang), a dead network ends it when
the timeout passes, a slow link only makes it slow; afterwards the connection is either
usable or closed, and a new one works."""

from __future__ import annotations

import io
import random

import pytest

import PostPyro as pg

from conftest import TALLY, bounded, sized

BIG = "SELECT g, repeat('x', 50) AS pad FROM generate_series(1, 3000) g"


def op_query(c):
    rows = c.query(BIG)
    return len(rows), rows[-1][0]


def op_executemany(c):
    c.execute("CREATE TEMP TABLE IF NOT EXISTS nf (a int)")
    c.executemany("INSERT INTO nf VALUES ($1)", [[i] for i in range(300)])
    return c.query_one("SELECT count(*) >= 300 FROM nf")[0]


def op_batch(c):
    return c.execute_batch(["SELECT %d" % i for i in range(200)])[-1]


def op_copy_in(c):
    c.execute("CREATE TEMP TABLE IF NOT EXISTS nc (a int, b text)")
    return c.copy_records_to_table("nc", [(i, "r%d" % i) for i in range(3000)])


def op_copy_out(c):
    buf = io.BytesIO()
    c.copy_to("COPY (%s) TO STDOUT" % BIG, buf)
    return buf.getvalue().count(b"\n")


def op_stream(c):
    n = 0
    for row in c.stream(BIG, chunk_size=100):
        n += 1
    return n


def op_commit(c):
    with c.begin() as tx:
        tx.execute("CREATE TEMP TABLE IF NOT EXISTS nt (a int)")
        tx.execute("INSERT INTO nt SELECT generate_series(1, 100)")
        return tx.query_one("SELECT count(*) > 0 FROM nt")[0]


OPS = [op_query, op_executemany, op_batch, op_copy_in, op_copy_out, op_stream, op_commit]
EXPECTED = {}


def fresh(proxy, timeout=2):
    return pg.Connection(proxy.dsn(), timeout=timeout)


def after_fault(proxy, c):
    """The connection is closed, or usable; a new one works."""
    proxy.heal()
    exc, value, _ = bounded(lambda: c.query_one("SELECT 41 + 1")[0], 15)
    if exc is None:
        assert value == 42
    else:
        assert isinstance(exc, pg.Error), repr(exc)
    c.close()
    with fresh(proxy) as c2:
        assert c2.query_one("SELECT 1")[0] == 1


@pytest.fixture(scope="module")
def expected(server):
    """Each operation's result on a healthy link."""
    with pg.Connection(server.tcp) as c:
        for op in OPS:
            EXPECTED[op.__name__] = op(c)
    return EXPECTED


@pytest.mark.parametrize("fault", ["cut", "reset", "garble"])
@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__[3:])
def test_a_fault_in_the_middle_of_a_reply_ends_the_call_with_a_postpyro_error(
        proxy, expected, op, fault):
    rng = random.Random("%s-%s" % (op.__name__, fault))
    for _ in range(sized(1, 20)):
        c = fresh(proxy)
        getattr(proxy, fault + "_after")(rng.randint(0, 60000))
        TALLY["faults injected"] += 1
        exc, value, _ = bounded(lambda: op(c), 30)
        if exc is None:  # the fault came after the whole reply: the right answer
            assert value == expected[op.__name__]
        else:
            assert isinstance(exc, pg.Error), repr(exc)
            if fault != "garble":  # the FIN or RST reached the client: no waiting it out
                assert not isinstance(exc, pg.errors.ConnectionTimeout), repr(exc)
        after_fault(proxy, c)


# copy_out once reported a failed wait at COPY's start as "not a COPY TO STDOUT" (42601).
@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__[3:])
def test_a_dead_network_ends_the_call_when_the_timeout_passes(proxy, expected, op):
    c = fresh(proxy, timeout=1)
    proxy.mode = "blackhole"
    TALLY["faults injected"] += 1
    exc, _, took = bounded(lambda: op(c), 20)
    assert isinstance(exc, pg.errors.ConnectionTimeout), repr(exc)
    assert took < 8
    after_fault(proxy, c)


@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__[3:])
def test_a_slow_link_only_makes_the_call_slow(proxy, expected, op):
    c = fresh(proxy, timeout=60)
    c.query_one("SELECT 1")
    proxy.trickle_pause = 0.0  # 7 bytes per send, no pause: every read gets a fragment
    proxy.mode = "trickle"
    TALLY["faults injected"] += 1
    exc, value, _ = bounded(lambda: op(c), 120)
    assert exc is None, repr(exc)
    assert value == expected[op.__name__]
    proxy.heal()
    c.close()
