# SPDX-License-Identifier: MIT
"""An AsyncCopy or AsyncStream dropped and collected on another thread leaves its end for
the connection's next call (Turns.pending). When the task whose transaction it is then only
awaits another task's call, that call runs the end first, in its own turn, instead of
waiting for the owner for ever (see _aturns). Each wait here is bounded: a hang fails."""

from __future__ import annotations


import pytest

import PostPyro as pg
from dropping import start_dropper

BOUND = 20  # seconds: far more than any of these calls needs on a loaded machine
CURSORS = "SELECT count(*) FROM pg_cursors WHERE name LIKE 'pp_stream%'"


def drop_on_another_thread(box):
    """The only reference goes, and the collector runs, on a thread that is not the loop's."""
    start_dropper(box).join()


class Loop:
    """What the tests need of asyncio or trio: run another task's coroutine and wait for it
    (bounded); start one in the background."""

    def __init__(self, library):
        self.library = library

    def run(self, main):
        if self.library == "asyncio":
            import asyncio
            asyncio.run(main(self))
        else:
            import trio
            trio.run(main, self)

    async def sleep(self, seconds):
        if self.library == "asyncio":
            import asyncio
            await asyncio.sleep(seconds)
        else:
            import trio
            await trio.sleep(seconds)

    async def in_another_task(self, fn):
        """Awaits fn() run by another task, at most BOUND seconds (then AssertionError)."""
        box = []
        if self.library == "asyncio":
            import asyncio
            try:
                return await asyncio.wait_for(asyncio.ensure_future(fn()), BOUND)
            except asyncio.TimeoutError:
                raise AssertionError("the other task's call still waits after %d s" % BOUND)
        import trio

        async def keep():
            box.append(await fn())
        with trio.move_on_after(BOUND):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(keep)
        assert box, "the other task's call still waits after %d s" % BOUND
        return box[0]


LIBRARIES = ["asyncio", "trio"]


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_dropped_copy_s_abort_does_not_keep_another_task_waiting(sdsn, library):
    # was: the other task's call waited until the owner made a call, which it never did
    async def main(loop):
        c = await pg.AsyncConnection.connect(sdsn)
        try:
            await c.execute("CREATE TEMP TABLE kept (n int)")
            cp = c.copy("COPY kept (n) FROM STDIN")
            await cp.start()
            await cp.write(b"1\n2\n")
            cp._copy.cycle = cp
            box = [cp]
            del cp
            drop_on_another_thread(box)
            assert c.transaction_status == "active"  # no I/O on the dropper's thread

            async def other():
                return (await c.query_one("SELECT 41 + 1"))[0]
            assert await loop.in_another_task(other) == 42
            assert c.transaction_status == "idle"
            assert (await c.query_one("SELECT count(*) FROM kept"))[0] == 0
        finally:
            await c.close()
    Loop(library).run(main)


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_dropped_stream_s_end_does_not_keep_another_task_waiting(sdsn, library):
    # the stream began its transaction (autocommit): the other task's turn ends it
    async def main(loop):
        c = await pg.AsyncConnection.connect(sdsn)
        try:
            s = c.stream("SELECT g FROM generate_series(1, 1000) g", chunk_size=10)
            assert (await s.__anext__())[0] == 1
            s._stream.cycle = s
            box = [s]
            del s
            drop_on_another_thread(box)
            assert c.transaction_status == "intransaction"

            async def other():
                return (await c.query_one(CURSORS))[0]
            assert await loop.in_another_task(other) == 0
            assert c.transaction_status == "idle"
        finally:
            await c.close()
    Loop(library).run(main)


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_dropped_copy_in_the_owner_s_transaction_ends_only_the_copy(sdsn, library):
    # PEP 249 mode: the transaction is the owner's. The other task aborts the COPY (which
    # fails that transaction) but neither commits nor rolls it back: it waits its turn
    # until the owner ends it, and then goes on.
    async def main(loop):
        c = await pg.AsyncConnection.connect(sdsn, autocommit=False)
        try:
            await c.execute("CREATE TEMP TABLE kept (n int)")
            await c.commit()
            await c.execute("INSERT INTO kept VALUES (7)")  # the owner's transaction
            cp = c.copy("COPY kept (n) FROM STDIN")
            await cp.start()
            await cp.write(b"1\n2\n")
            cp._copy.cycle = cp
            box = [cp]
            del cp
            drop_on_another_thread(box)
            got = []

            async def other():
                got.append((await c.query_one("SELECT count(*) FROM kept"))[0])
                await c.rollback()

            async def owner():
                for _ in range(BOUND * 10):
                    await loop.sleep(0.1)
                    if c.transaction_status != "active":
                        break
                assert c.transaction_status == "inerror"  # the COPY aborted, nothing more
                await loop.sleep(0.3)
                assert got == []  # still waiting for the owner's transaction
                await c.rollback()  # the owner ends its transaction
                for _ in range(BOUND * 10):
                    if got:
                        break
                    await loop.sleep(0.1)
                return got

            if loop.library == "asyncio":
                import asyncio
                task = asyncio.ensure_future(other())
                assert await owner() == [0]
                await task
            else:
                import trio
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(other)
                    assert await owner() == [0]
            assert c.transaction_status == "idle"
        finally:
            await c.close()
    Loop(library).run(main)


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_dropped_stream_in_the_owner_s_transaction_closes_only_its_cursor(sdsn, library):
    # begin(): the transaction is the owner's. The other task closes the dropped stream's
    # cursor, then waits for the owner's commit, and goes on after it.
    async def main(loop):
        c = await pg.AsyncConnection.connect(sdsn)
        try:
            tx = await c.begin()
            s = c.stream("SELECT g FROM generate_series(1, 1000) g", chunk_size=10)
            assert (await s.__anext__())[0] == 1
            s._stream.cycle = s
            box = [s]
            del s
            drop_on_another_thread(box)
            turns = c._engine._lock
            assert turns.pending  # left for the next call
            got = []

            async def other():
                got.append((await c.query_one(CURSORS))[0])

            async def owner():
                for _ in range(BOUND * 10):
                    await loop.sleep(0.1)
                    if not turns.pending:
                        break
                assert not turns.pending  # the other task ran the stream's end (CLOSE)
                assert c.transaction_status == "intransaction"  # not the owner's COMMIT
                await loop.sleep(0.3)
                assert got == []  # still waiting for the owner's transaction
                await tx.commit()
                for _ in range(BOUND * 10):
                    if got:
                        break
                    await loop.sleep(0.1)
                return got

            if loop.library == "asyncio":
                import asyncio
                task = asyncio.ensure_future(other())
                assert await owner() == [0]
                await task
            else:
                import trio
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(other)
                    assert await owner() == [0]
            assert c.transaction_status == "idle"
        finally:
            await c.close()
    Loop(library).run(main)
