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


async def dropped(c, kind, owners):
    """An AsyncCopy (COPY FROM, rows sent) or an AsyncStream (one row read) dropped and
    collected on another thread; ``owners``: inside the transaction the calling task opened
    (PEP 249 mode for the COPY, ``begin()`` for the stream), else in one of its own
    (autocommit). Returns what ends the owner's transaction (or None)."""
    end = None
    if kind == "copy":
        await c.execute("CREATE TEMP TABLE kept (n int)")
        if owners:
            await c.commit()
            await c.execute("INSERT INTO kept VALUES (7)")  # the owner's transaction
            end = c.rollback
        obj = c.copy("COPY kept (n) FROM STDIN")
        await obj.start()
        await obj.write(b"1\n2\n")
        obj._copy.cycle = obj
    else:
        if owners:
            end = (await c.begin()).commit
        obj = c.stream("SELECT g FROM generate_series(1, 1000) g", chunk_size=10)
        assert (await obj.__anext__())[0] == 1
        obj._stream.cycle = obj
    box = [obj]
    del obj
    drop_on_another_thread(box)
    return end


# the other task's statement, and what it returns once it ran
OTHER = {"copy": ("SELECT 41 + 1", 42), "stream": (CURSORS, 0)}


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("kind", ["copy", "stream"])
def test_a_dropped_object_s_end_does_not_keep_another_task_waiting(sdsn, library, kind):
    # the COPY or stream began its transaction (autocommit): the other task's turn ends it
    # (was: the other task's call waited until the owner made a call, which it never did)
    async def main(loop):
        c = await pg.AsyncConnection.connect(sdsn)
        try:
            await dropped(c, kind, owners=False)
            # no I/O on the dropper's thread
            assert c.transaction_status == ("active" if kind == "copy" else "intransaction")
            sql, value = OTHER[kind]

            async def other():
                return (await c.query_one(sql))[0]
            assert await loop.in_another_task(other) == value
            assert c.transaction_status == "idle"
            if kind == "copy":
                assert (await c.query_one("SELECT count(*) FROM kept"))[0] == 0
        finally:
            await c.close()
    Loop(library).run(main)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("kind", ["copy", "stream"])
def test_a_dropped_object_in_the_owner_s_transaction_ends_only_itself(sdsn, library, kind):
    # The transaction is the owner's. The other task aborts the COPY (which fails that
    # transaction) or closes the stream's cursor, but neither commits nor rolls back: it
    # waits its turn until the owner ends its transaction, and then goes on.
    async def main(loop):
        c = await pg.AsyncConnection.connect(sdsn, autocommit=kind == "stream")
        try:
            end = await dropped(c, kind, owners=True)
            turns = c._engine._lock
            if kind == "stream":
                assert turns.pending  # left for the next call
            got = []

            async def other():
                if kind == "copy":
                    got.append((await c.query_one("SELECT count(*) FROM kept"))[0])
                    await c.rollback()
                else:
                    got.append((await c.query_one(CURSORS))[0])

            def ended():  # the other task ran the dropped object's end
                return (c.transaction_status != "active" if kind == "copy"
                        else not turns.pending)

            async def owner():
                for _ in range(BOUND * 10):
                    await loop.sleep(0.1)
                    if ended():
                        break
                if kind == "copy":
                    assert c.transaction_status == "inerror"  # the COPY aborted, nothing more
                else:
                    assert not turns.pending  # the other task ran the stream's end (CLOSE)
                    assert c.transaction_status == "intransaction"  # not the owner's COMMIT
                await loop.sleep(0.3)
                assert got == []  # still waiting for the owner's transaction
                await end()  # the owner ends its transaction
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
