# SPDX-License-Identifier: MIT
"""A table whose row 1 is held by another connection's open transaction, for the tests of
an interrupted or cancelled COPY FROM (test_interrupt_copy.py, test_async_copy_cancel.py)."""

from __future__ import annotations

import threading

import pytest

import PostPyro as pg


def terminate(dsn, pid):
    with pg.Connection(dsn) as c:
        c.query("SELECT pg_terminate_backend($1)", [pid])


@pytest.fixture
def locked_table(sdsn):
    """A table whose row 1 another connection has inserted and not committed: a COPY of
    row 1 waits for it, and the sending of the rows after it waits for room. The holder
    is ended after 12 s, so that a COPY that is not interrupted or cancelled still ends."""
    with pg.Connection(sdsn) as c:
        c.execute("CREATE TABLE copy_locked (id int PRIMARY KEY, pad text)")
    holder = pg.Connection(sdsn)
    holder.execute("BEGIN")
    holder.execute("INSERT INTO copy_locked VALUES (1, 'held')")
    timer = threading.Timer(12, terminate, (sdsn, holder.info()["backend_pid"]))
    timer.start()
    yield holder
    timer.cancel()
    timer.join()
    holder.close()


def rows_text(n):
    return "".join("%d\tsome padding to make the data bigger\n" % i
                   for i in range(1, n + 1)).encode()
