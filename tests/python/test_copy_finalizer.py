# SPDX-License-Identifier: MIT
"""A COPY dropped while running: its finalizer aborts it with I/O only on the COPY's thread
between two operations; anywhere else (another thread, inside an operation, an event loop's
call in progress, PyPy's collector) the connection's next statement aborts it first, on its
own thread. Nothing of an abandoned COPY FROM is stored, and the connection goes on."""

from __future__ import annotations

import sys
import threading
import time

import pytest

import PostPyro as pg
from dropping import collect, spy_statements, start_dropper

IS_PYPY = sys.implementation.name == "pypy"


def aborts_seen(conn):
    """(thread name) of each COPY call from now on: an abandoned COPY's abort doing I/O."""
    seen = []
    for name in ("_call_batch", "_copy_read"):
        def spy(*args, _run=getattr(conn, name)):
            seen.append(threading.current_thread().name)
            return _run(*args)
        setattr(conn, name, spy)
    return seen


def dropped_copy_from(conn, table="kept"):
    """A COPY FROM with rows sent, that only the garbage collector will finalize."""
    cp = conn.copy("COPY %s (n) FROM STDIN" % table).start()
    cp.write(b"1\n2\n3\n")
    cp.cycle = cp
    return cp


def dropped_copy_to(conn):
    cp = conn.copy("COPY (SELECT g FROM generate_series(1, 100000) g) TO STDOUT").start()
    assert cp.read()
    cp.cycle = cp
    return cp


@pytest.fixture
def kept(sdsn):
    with pg.Connection(sdsn) as c:
        c.execute("CREATE TEMP TABLE kept (n int)")
        yield c


def test_a_copy_dropped_between_operations_is_aborted_at_once(kept):
    box = [dropped_copy_from(kept)]
    aborts = aborts_seen(kept)
    box.clear()
    collect()
    assert aborts == [threading.current_thread().name]  # CPython and PyPy: collect() here
    assert kept.transaction_status == "idle"
    assert kept.query_one("SELECT count(*) FROM kept")[0] == 0  # nothing stored


@pytest.mark.parametrize("where", ["between operations", "in the next statement"])
def test_a_copy_to_dropped_after_its_last_chunk_is_ended(kept, where):
    # the end came with the last chunk read (libpq: idle, libpostpyro: the COPY runs until
    # a read says so): was ignored as "ended", and every statement after failed with
    # "connection is busy with a COPY"
    cp = kept.copy("COPY (SELECT 1) TO STDOUT").start()
    assert cp.read() == b"1\n"
    cp.cycle = cp
    box = [cp]
    del cp
    if where == "between operations":
        box.clear()
        collect()
    else:
        with kept._lock.lock, kept._lock:
            box.clear()
            collect()
    assert kept.query_one("SELECT 41 + 1")[0] == 42
    assert kept.transaction_status == "idle"


@pytest.mark.parametrize("direction", ["from", "to"])
def test_a_copy_dropped_during_an_operation_is_aborted_by_the_next_statement(
        kept, direction):
    box = [dropped_copy_from(kept) if direction == "from" else dropped_copy_to(kept)]
    aborts = aborts_seen(kept)
    seen = spy_statements(kept)
    with kept._lock.lock, kept._lock:  # an operation of this thread is running: the collector runs in it
        box.clear()
        collect()
        assert aborts == [] and seen == []  # was: the abort's I/O inside that operation
        assert kept.transaction_status == "active"
    assert kept.query_one("SELECT 41 + 1")[0] == 42  # was: refused, a COPY is running
    assert aborts and set(aborts) == {threading.current_thread().name}
    assert kept.transaction_status == "idle"
    assert kept.query_one("SELECT count(*) FROM kept")[0] == 0


def test_a_copy_dropped_on_another_thread_does_no_io_there(kept):
    box = [dropped_copy_from(kept)]
    aborts = aborts_seen(kept)

    t = start_dropper(box)
    t.join(10)
    assert not t.is_alive()  # no hang
    assert "dropper" not in aborts  # was: the abort ran there
    assert kept.query_one("SELECT 41 + 1")[0] == 42
    assert aborts == [threading.current_thread().name]
    assert kept.transaction_status == "idle"
    assert kept.query_one("SELECT count(*) FROM kept")[0] == 0


def test_a_copy_dropped_on_another_thread_is_aborted_by_that_thread_s_next_statement(
        kept):
    # a COPY outside a transaction blocks everyone: the next statement of any thread ends it
    box = [dropped_copy_from(kept)]
    aborts = aborts_seen(kept)
    got = []

    def drop_then_query():
        box.clear()
        collect()
        got.append(kept.query_one("SELECT 6 * 7")[0])
    t = threading.Thread(target=drop_then_query, name="dropper")
    t.start()
    t.join(10)
    assert not t.is_alive()  # no hang
    assert got == [42]
    assert aborts == ["dropper"] or (IS_PYPY and len(aborts) == 1)
    assert kept.transaction_status == "idle"
    assert kept.query_one("SELECT count(*) FROM kept")[0] == 0


def test_a_copy_dropped_in_the_caller_s_transaction_fails_only_that_transaction(kept):
    kept.execute("INSERT INTO kept VALUES (7)")
    tx = kept.begin()
    kept.execute("INSERT INTO kept VALUES (8)")
    box = [dropped_copy_from(kept)]
    with kept._lock.lock, kept._lock:
        box.clear()
        collect()
    # the abort came first: the transaction failed (an aborted COPY fails it)
    with pytest.raises(pg.errors.InFailedSqlTransaction):
        kept.query_one("SELECT 1")
    tx.rollback()
    assert kept.transaction_status == "idle"
    assert kept.query_one("SELECT array_agg(n) FROM kept")[0] == [7]


def test_ctrl_c_in_a_pending_abort_keeps_it_for_the_next_statement(kept):
    box = [dropped_copy_from(kept)]
    with kept._lock.lock, kept._lock:
        box.clear()
        collect()
    run, hit = kept._call_batch, []

    def interrupted(*args):
        if not hit:
            hit.append(1)
            raise KeyboardInterrupt  # Ctrl-C as the abort begins
        return run(*args)
    kept._call_batch = interrupted
    with pytest.raises(KeyboardInterrupt):
        kept.query_one("SELECT 1")
    assert hit and kept.transaction_status == "active"
    assert kept.query_one("SELECT 41 + 1")[0] == 42  # the abort ran first (was: refused)
    assert kept.transaction_status == "idle"
    assert kept.query_one("SELECT count(*) FROM kept")[0] == 0


def test_a_copy_in_a_transaction_dropped_is_left_to_that_transaction_s_thread(kept):
    # another thread's statement does not abort it (that would fail this thread's
    # transaction under it): it waits its turn; this thread's next statement aborts it
    tx = kept.begin()
    box = [dropped_copy_from(kept)]
    aborts = aborts_seen(kept)
    with kept._lock.lock, kept._lock:
        box.clear()
        collect()
    got = []
    t = threading.Thread(target=lambda: got.append(kept.query_one("SELECT 6 * 7")[0]),
                         name="other")
    t.start()
    time.sleep(0.5)  # it waits for this thread's transaction
    assert aborts == [] and got == []
    with pytest.raises(pg.errors.InFailedSqlTransaction):
        kept.query_one("SELECT 1")
    assert aborts and set(aborts) == {threading.current_thread().name}
    tx.rollback()
    t.join(10)
    assert got == [42]
    assert kept.transaction_status == "idle"


@pytest.mark.parametrize("library", ["asyncio", "trio"])
def test_an_async_copy_dropped_on_another_thread_is_aborted_by_the_next_call(sdsn, library):
    # the collector runs on a thread that is not the loop's: no I/O there (was: the abort's
    # blocking waits from that thread, beside the loop's); the next call aborts it, on its
    # fiber
    async def main(sleep):
        c = await pg.AsyncConnection.connect(sdsn)
        try:
            await c.execute("CREATE TEMP TABLE kept (n int)")
            cp = c.copy("COPY kept (n) FROM STDIN")
            await cp.start()
            await cp.write(b"1\n2\n")
            cp._copy.cycle = cp
            box = [cp]
            del cp
            aborts = aborts_seen(c._engine)

            t = start_dropper(box)
            while t.is_alive():
                await sleep(0.01)
            assert "dropper" not in aborts
            assert (await c.query_one("SELECT 41 + 1"))[0] == 42
            assert aborts and set(aborts) == {threading.current_thread().name}
            assert c.transaction_status == "idle"
            assert (await c.query_one("SELECT count(*) FROM kept"))[0] == 0
        finally:
            await c.close()

    if library == "asyncio":
        import asyncio
        asyncio.run(main(asyncio.sleep))
    else:
        import trio
        trio.run(main, trio.sleep)
