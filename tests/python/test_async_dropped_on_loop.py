# SPDX-License-Identifier: MIT
"""An AsyncCopy or AsyncStream dropped unfinished and collected on the event loop's own
thread: its finalizer does no I/O (was: the end ran there at once, a blocking wait that
stalled every task of the loop); the connection's next call runs the end, awaited, while
other tasks go on. Each wait is bounded: a hang fails."""

from __future__ import annotations

import time

import pytest

import PostPyro as pg
from dropping import collect
from ticking import TICK, run

CURSORS = "SELECT count(*) FROM pg_cursors WHERE name LIKE 'pp_stream%'"
# what the end waits for on the server: well over many ticks of TICK
SLOW_SECONDS = 1.0
LIBRARIES = ["asyncio", "trio"]


async def open_copy_to(c):
    """A COPY TO inside a transaction whose rows come slowly: its end reads (and drops)
    the rest, as a cancel would fail the transaction."""
    tx = await c.begin()
    n = 100
    # 64 kB rows: a few fill the socket's buffers, so the server (sleeping per row) makes
    # the rest only as the end reads them, however late that end comes (2 kB rows all fit:
    # on a loaded machine the server had finished before the end began, and no tick came)
    cp = c.copy("COPY (SELECT repeat('x', 65536), pg_sleep(%r) FROM generate_series(1, %d))"
                " TO STDOUT" % (SLOW_SECONDS / n, n))
    await cp.start()
    assert await cp.read()  # the first row
    return tx, cp


async def open_stream(c):
    """A stream that began its transaction (autocommit), with a row written in it whose
    deferred trigger sleeps at COMMIT: its end (the COMMIT) takes SLOW_SECONDS."""
    await c.execute("CREATE TEMP TABLE slow_commit (n int)")
    await c.execute("CREATE FUNCTION pg_temp.slow() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$BEGIN PERFORM pg_sleep(%r); RETURN NULL; END$$" % SLOW_SECONDS)
    await c.execute("CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON slow_commit "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.slow()")
    s = c.stream("SELECT g FROM generate_series(1, 1000) g", chunk_size=10)
    assert (await s.__anext__())[0] == 1
    await c.execute("INSERT INTO slow_commit VALUES (1)")  # in the stream's transaction
    return None, s


async def collected(c, loop):
    """Collects until the dropped object's finalizer has left its end for the next call
    (``pending``; it never runs it here: no I/O in a finalizer on the loop). PyPy runs
    finalizers as an action of whichever thread comes first, so one may run on another
    thread just after gc.collect() returned (seen under CI's load): waited for, bounded."""
    give_up = time.monotonic() + 10.0
    collect()
    while not c._engine._lock.pending:
        assert time.monotonic() < give_up, "no end left for the next call after 10 s"
        await loop.sleep(TICK)
        collect()


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("kind", ["copy", "stream"])
def test_a_dropped_object_s_end_runs_awaited_while_other_tasks_go_on(sdsn, library, kind):
    async def main(loop):
        c = await pg.AsyncConnection.connect(sdsn)
        try:
            tx, obj = await (open_copy_to(c) if kind == "copy" else open_stream(c))
            status = c.transaction_status
            assert status == ("active" if kind == "copy" else "intransaction")
            ticks = [0]
            stop = []

            async def ticker():
                while not stop:
                    await loop.sleep(TICK)
                    ticks[0] += 1
            loop.spawn(ticker())
            # it runs (was: one sleep of 5 ticks then `ticks > 0`, which failed under load:
            # both woke in one batch of a late loop, and trio runs a batch in random order)
            while ticks[0] < 3:
                await loop.sleep(TICK)

            getattr(obj, "_" + kind).cycle = obj  # only the collector frees it
            del obj
            await collected(c, loop)  # on the loop's thread, in this task
            assert c.transaction_status == status  # was: ended here, blocking the loop

            before = ticks[0]
            if kind == "copy":
                assert (await tx.query_one("SELECT 41 + 1"))[0] == 42  # runs the end first
                assert c.transaction_status == "intransaction"
                await tx.commit()
            else:
                assert (await c.query_one("SELECT 41 + 1"))[0] == 42  # the COMMIT first
                assert (await c.query_one("SELECT count(*) FROM slow_commit"))[0] == 1
                assert (await c.query_one(CURSORS))[0] == 0
            # the ticker went on while the end waited for the server (it waits
            # SLOW_SECONDS = 100 ticks; was: none, the loop was blocked in the collector)
            assert ticks[0] - before >= 10, ticks[0] - before
            stop.append(True)
            assert c.transaction_status == "idle"
            assert not c._engine._lock.pending
            assert (await c.query_one("SELECT 6 * 7"))[0] == 42
        finally:
            await c.close()
    run(library, main)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("kind", ["copy", "stream"])
def test_a_dropped_object_s_end_is_left_to_close(sdsn, library, kind):
    # nothing runs it before close(): close() ends the session, the server the rest
    async def main(loop):
        c = await pg.AsyncConnection.connect(sdsn)
        try:
            _, obj = await (open_copy_to(c) if kind == "copy" else open_stream(c))
            getattr(obj, "_" + kind).cycle = obj
            del obj
            await collected(c, loop)
        finally:
            await c.close()
        assert c.closed
    run(library, main)
