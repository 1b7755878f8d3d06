# SPDX-License-Identifier: MIT
"""LISTEN/NOTIFY on AsyncConnection, under asyncio and trio: the same behaviours as
test_notify.py (the sync front end), awaited."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

import PostPyro as pg

trio = pytest.importorskip("trio")


@pytest.fixture(params=["asyncio", "trio"])
def run(request):
    """run(async_fn, *args): the coroutine function on the event loop of the parameter."""
    if request.param == "asyncio":
        return lambda fn, *args: asyncio.run(fn(*args))
    return lambda fn, *args: trio.run(fn, *args)


@pytest.fixture
def channel() -> str:
    return "ch_" + uuid.uuid4().hex[:12]


def sleep(seconds: float):
    """The running library's sleep."""
    import sniffio
    if sniffio.current_async_library() == "trio":
        return trio.sleep(seconds)
    return asyncio.sleep(seconds)


async def both(first, second):
    """Runs two coroutine functions concurrently to their ends; returns their results."""
    import sniffio
    if sniffio.current_async_library() == "asyncio":
        return await asyncio.gather(first(), second())
    results = [None, None]

    async def one(i, fn):
        results[i] = await fn()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(one, 0, first)
        nursery.start_soon(one, 1, second)
    return results


async def pair(dsn):
    return (await pg.AsyncConnection.connect(dsn), await pg.AsyncConnection.connect(dsn))


async def collect(aiter):
    return [n async for n in aiter]


def test_notification_is_delivered(run, dsn, channel):
    async def main():
        listener, sender = await pair(dsn)
        try:
            await listener.listen(channel)
            await sender.notify(channel, "hello")
            got = await collect(listener.notifies(timeout=5, stop_after=1))
            assert got == [pg.Notify(channel, "hello", sender.info()["backend_pid"])]
        finally:
            await listener.close()
            await sender.close()
    run(main)


def test_notification_sent_while_a_long_query_runs_is_kept(run, dsn, admin, channel):
    async def main():
        listener, sender = await pair(dsn)
        try:
            await listener.listen(channel)
            pid = listener.info()["backend_pid"]

            async def long_query():
                return (await listener.query_one("SELECT 42 FROM pg_sleep(0.8)"))[0]

            async def send():
                for _ in range(500):
                    if await sender.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 "
                                          "AND state = 'active' AND query LIKE '%pg_sleep%'",
                                          [pid]):
                        break
                    await sleep(0.01)
                await sender.notify(channel, "during")

            assert (await both(long_query, send))[0] == 42
            got = await collect(listener.notifies(timeout=5, stop_after=1))
            assert [(n.channel, n.payload) for n in got] == [(channel, "during")]
        finally:
            await listener.close()
            await sender.close()
    run(main)


def test_notification_between_listen_and_notifies_is_kept(run, dsn, channel):
    async def main():
        listener, sender = await pair(dsn)
        try:
            await listener.listen(channel)
            await sender.notify(channel, "early-1")
            await sleep(0.2)
            for _ in range(3):
                await listener.query("SELECT 1")
            await sender.notify(channel, "early-2")
            await sleep(0.2)
            got = await collect(listener.notifies(timeout=5, stop_after=2))
            assert [n.payload for n in got] == ["early-1", "early-2"]
        finally:
            await listener.close()
            await sender.close()
    run(main)


def test_overflow_is_reported(run, dsn, channel):
    async def main():
        listener, sender = await pair(dsn)
        try:
            listener.notify_limit = 10
            await listener.listen(channel)
            async with sender.begin():
                for i in range(25):
                    await sender.notify(channel, str(i))
            await sleep(0.5)
            await listener.query("SELECT 1")
            got = []
            with pytest.raises(pg.NotificationsLost) as info:
                async for n in listener.notifies(timeout=5):
                    got.append(n.payload)
            assert got == [str(i) for i in range(10)]
            assert info.value.lost == 15 and listener.notifies_lost == 15
            await sender.notify(channel, "after")
            got = await collect(listener.notifies(timeout=5, stop_after=1))
            assert [n.payload for n in got] == ["after"]
        finally:
            await listener.close()
            await sender.close()
    run(main)


def test_unlisten_stops_delivery(run, dsn, channel):
    async def main():
        listener, sender = await pair(dsn)
        try:
            other = channel + "_b"
            await listener.listen(channel)
            await listener.listen(other)
            await listener.unlisten(channel)
            await sender.notify(channel, "no")
            await sender.notify(other, "yes")
            got = await collect(listener.notifies(timeout=1))
            assert [(n.channel, n.payload) for n in got] == [(other, "yes")]
            await listener.unlisten()
            await sender.notify(other, "no")
            assert await collect(listener.notifies(timeout=0.5)) == []
        finally:
            await listener.close()
            await sender.close()
    run(main)


def test_hostile_channel_name_is_quoted(run, dsn, admin, channel):
    victim = "pp_victim_" + channel[-8:]  # unique: another suite may run meanwhile
    name = 'evil"; DROP TABLE %s; --' % victim + channel
    admin.execute("CREATE TABLE %s (x int)" % victim)

    async def main():
        listener, sender = await pair(dsn)
        try:
            await listener.listen(name)
            await sender.notify(name, "'; --")
            got = await collect(listener.notifies(timeout=5, stop_after=1))
            assert got[0][:2] == (name, "'; --")
        finally:
            await listener.close()
            await sender.close()
    try:
        run(main)
        assert admin.query_one("SELECT to_regclass($1) IS NOT NULL", [victim])[0]
    finally:
        admin.execute("DROP TABLE IF EXISTS " + victim)


def test_a_channel_name_over_63_bytes_is_refused_everywhere(run, dsn, channel):
    name = channel + "c" * (62 - len(channel)) + "é"  # 64 bytes in UTF-8

    async def main():
        listener, sender = await pair(dsn)
        try:
            for call in (listener.listen, listener.unlisten, sender.notify):
                with pytest.raises(pg.ProgrammingError, match=r"at most 63 bytes"):
                    await call(name)
            assert await listener.query("SELECT pg_listening_channels()") == []
            await listener.listen(name[:-1])  # 63 bytes: whole
            await sender.notify(name[:-1], "x")
            got = await collect(listener.notifies(timeout=5, stop_after=1))
            assert [n.channel for n in got] == [name[:-1]]
        finally:
            await listener.close()
            await sender.close()
    run(main)


def test_timeout_ends_the_iteration_and_other_tasks_run_meanwhile(run, dsn, channel):
    async def main():
        conn = await pg.AsyncConnection.connect(dsn)
        try:
            await conn.listen(channel)
            t0 = time.monotonic()

            async def wait():
                return await collect(conn.notifies(timeout=1.0))

            async def queries():
                # the same connection answers while notifies() waits on it
                return [(await conn.query_one("SELECT $1::int", [i]))[0] for i in range(5)]

            got, answers = await both(wait, queries)
            assert got == [] and answers == list(range(5))
            assert 0.9 <= time.monotonic() - t0 < 5
        finally:
            await conn.close()
    run(main)


def test_cancelling_the_wait_leaves_the_connection_usable(run, dsn, channel):
    async def main():
        import sniffio
        conn = await pg.AsyncConnection.connect(dsn)
        try:
            await conn.listen(channel)
            t0 = time.monotonic()
            if sniffio.current_async_library() == "trio":
                with trio.move_on_after(0.3):
                    await collect(conn.notifies())
            else:
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(collect(conn.notifies()), 0.3)
            assert time.monotonic() - t0 < 3
            assert (await conn.query_one("SELECT 1"))[0] == 1
        finally:
            await conn.close()
    run(main)


def test_100000_notifications_none_lost(run, dsn, channel):
    total = 100_000

    async def main():
        listener, sender = await pair(dsn)
        try:
            await listener.listen(channel)

            async def send():
                for start in range(0, total, 10_000):
                    await sender.execute("SELECT pg_notify($1, g::text) "
                                         "FROM generate_series($2::int, $3) AS g",
                                         [channel, start, start + 9_999])

            async def receive():
                expected = 0
                async for n in listener.notifies(timeout=60, stop_after=total):
                    assert n.payload == str(expected)
                    expected += 1
                return expected

            t0 = time.monotonic()
            _, received = await both(send, receive)
            assert received == total
            assert listener.notifies_lost == 0
            assert time.monotonic() - t0 < 60
        finally:
            await listener.close()
            await sender.close()
    run(main)


def test_close_from_another_task_ends_the_wait(run, dsn, channel):
    async def main():
        conn = await pg.AsyncConnection.connect(dsn)
        await conn.listen(channel)

        async def wait():
            t0 = time.monotonic()
            with pytest.raises(pg.InterfaceError):
                await collect(conn.notifies(timeout=10))
            return time.monotonic() - t0

        async def close_soon():
            await sleep(0.3)
            await conn.close()

        waited, _ = await both(wait, close_soon)
        assert waited < 3
    run(main)
