# SPDX-License-Identifier: MIT
"""AsyncConnection's socket on asyncio stays registered with the loop between waits
(_aio.AsyncioSocket); the three guards that make that safe, each shown by a failure it
prevents: a readiness already read wakes nobody (and an idle socket with data does not spin
the loop); a socket libpq closes, or the collector closes with a connection dropped without
close(), is forgotten by the loop before its number can come back (else the next socket
with that number is never reported ready); a wait ending late never unregisters a number
that belongs to another socket by then."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import uuid

import pytest

import PostPyro as pg
from PostPyro._ffi import lib

from stepcount import StepCount
from test_async import run_asyncio, run_trio, trio

RUN = uuid.uuid4().hex[:8]  # in channel names: suites running at once share the server

# A bound for "is reported ready": far more than a loaded machine needs, far less than a hang.
READY_WITHIN = 5.0


async def _registered(sdsn):
    """A connection whose socket is registered with the loop (a statement that waited)."""
    conn = await pg.AsyncConnection.connect(sdsn)
    await conn.query("SELECT pg_sleep(0.01)")
    assert conn._sock._reading
    return conn


def _sockets_taking(numbers, most=8):
    """Socket pairs made until one end of each has one of ``numbers`` (now free)."""
    pairs = []
    while len(pairs) < most:
        pairs.append(socket.socketpair())
        if set(numbers) <= {s.fileno() for pair in pairs for s in pair}:
            return pairs
    raise AssertionError("the numbers %s were not reused: %s"
                         % (numbers, [(a.fileno(), b.fileno()) for a, b in pairs]))


def _register(pairs):
    """Register every socket of ``pairs`` with the loop at once (no await in between): an
    awaitable that writes to each peer and waits until the loop reports every socket
    readable."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    seen = set()
    for pair in pairs:
        for s in pair:
            def on_read(s=s):
                s.recv(16)
                seen.add(s.fileno())
                if len(seen) == 2 * len(pairs):
                    ready.set()
            loop.add_reader(s.fileno(), on_read)

    async def reported_ready():
        try:
            for a, b in pairs:
                a.send(b"x")
                b.send(b"y")
            await asyncio.wait_for(ready.wait(), READY_WITHIN)
        finally:
            for pair in pairs:
                for s in pair:
                    loop.remove_reader(s.fileno())
                    s.close()
    return reported_ready()


# ---- 1. a readiness already read ----------------------------------------------------------

def test_a_readiness_already_read_wakes_no_call(sdsn):
    # the task wakes one loop turn after the reader callback, so asyncio runs the callback
    # once more for data the task is about to read; the next statement's wait must not take
    # that for its answer (a wasted C call and loop turn per statement)
    async def main():
        async with await pg.AsyncConnection.connect(sdsn) as conn:
            conn._idle = None  # every wait the loop's way (not test_async_idle's)
            steps = StepCount(conn)
            await conn.query_one("SELECT $1::int4, pg_sleep(0.005)", [0])  # prepared
            steps.n = 0
            for k in range(40):
                assert (await conn.query_one("SELECT $1::int4, pg_sleep(0.005)",
                                             [k]))[0] == k
            return steps.n
    steps = run_asyncio(main)
    # at most one wake-up per statement (a few more if a reply is split); fewer when the
    # answer was there before the statement's first read (a loaded machine: 36 and 39 of 40)
    assert 0 < steps <= 55


def test_an_idle_socket_with_data_does_not_spin_the_loop(sdsn):
    # readable while nobody waits (a notification, the server closing): the reader goes
    # until the next wait; the notification is still delivered
    async def main():
        conn = await _registered(sdsn)
        async with await pg.AsyncConnection.connect(sdsn) as other:
            await conn.execute("LISTEN areg_idle_" + RUN)
            await conn.query("SELECT pg_sleep(0.01)")
            await other.execute("NOTIFY areg_idle_%s, 'hello'" % RUN)
            loop = asyncio.get_running_loop()
            selector = loop._selector
            turns = 0
            select = selector.select

            def counting_select(timeout=None):
                nonlocal turns
                turns += 1
                return select(timeout)
            selector.select = counting_select
            try:
                await asyncio.sleep(0.5)
            finally:
                del selector.select
            got = [n.payload async for n in conn.notifies(timeout=READY_WITHIN,
                                                           stop_after=1)]
            await conn.close()
            return turns, got
    turns, got = run_asyncio(main)
    assert got == ["hello"]
    assert turns < 50  # a spinning loop turns thousands of times in 0.5 s


# ---- 2. a socket closed by libpq or by the collector ----------------------------------------

def test_a_socket_libpq_closed_leaves_the_loop_before_its_number_comes_back(sdsn, admin):
    async def main():
        conn = await _registered(sdsn)
        fd = lib.pp_socket(conn._engine._conn)
        admin.execute("SELECT pg_terminate_backend($1, 10000)", [conn.info()["backend_pid"]])
        with pytest.raises(pg.OperationalError):
            await conn.query("SELECT 1")  # libpq sees the end and closes its socket
        # at once, before any loop turn: a socket with the same number, and a connection
        await _register(_sockets_taking([fd]))
        await conn.close()
        async with await pg.AsyncConnection.connect(sdsn) as again:
            return (await again.query_one("SELECT $1::int4, pg_sleep(0.01)", [7]))[0]
    assert run_asyncio(main) == 7


def test_a_connection_dropped_without_close_leaves_the_loop_before_its_number_comes_back(
        sdsn):
    async def main():
        conn = await _registered(sdsn)
        fd = lib.pp_socket(conn._engine._conn)
        dup = conn._sock.fd
        del conn
        for _ in range(3):  # PyPy: finalizers run over more than one collection
            gc.collect()
        # the collector closed libpq's socket (whatever ran first, the connection's
        # finalizers or ours): its number is free; the loop's is only released next turn
        await _register(_sockets_taking([fd]))
        await asyncio.sleep(0)
        await _register(_sockets_taking([dup]))
        async with await pg.AsyncConnection.connect(sdsn) as again:
            return (await again.query_one("SELECT $1::int4, pg_sleep(0.01)", [8]))[0]
    assert run_asyncio(main) == 8


# ---- 3. a wait ending late ------------------------------------------------------------------

def test_a_wait_ending_after_close_unregisters_no_other_socket(sdsn):
    async def main():
        conn = await _registered(sdsn)
        numbers = [lib.pp_socket(conn._engine._conn), conn._sock.fd]

        async def listen():
            await conn.execute("LISTEN areg_late_" + RUN)
            with pytest.raises(pg.InterfaceError):
                async for _ in conn.notifies(timeout=30):
                    pass
        listener = asyncio.ensure_future(listen())
        await asyncio.sleep(0.1)  # it waits for the socket
        await conn.close()  # ends the wait; the waiter cleans up at its next turn
        # both numbers again, in use before that turn
        reported_ready = _register(_sockets_taking(numbers))
        await asyncio.wait_for(listener, READY_WITHIN)
        await reported_ready
    run_asyncio(main)


def test_close_ends_a_wait_for_notifications_on_trio_too(sdsn):
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn)
        await conn.execute("LISTEN areg_trio_" + RUN)
        ended = trio.Event()

        async def listen():
            with pytest.raises(pg.InterfaceError):
                async for _ in conn.notifies(timeout=30):
                    pass
            ended.set()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(listen)
            await trio.sleep(0.1)
            await conn.close()
            with trio.fail_after(READY_WITHIN):
                await ended.wait()
        return True
    assert run_trio(main)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() only")
def test_closing_in_a_forked_child_leaves_the_parents_loop_alone(sdsn):
    # the child's copy of the loop shares the parent's epoll: unregistering the socket
    # there would unregister it for the parent, whose next wait would never end
    async def main():
        conn = await _registered(sdsn)
        pid = os.fork()
        if pid == 0:  # the child: close its copy, report nothing, exit at once
            try:
                asyncio.set_event_loop_policy(None)
                asyncio.run(conn.close())
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        q = conn.query_one("SELECT $1::int4, pg_sleep(0.05)", [9])
        row = await asyncio.wait_for(q, READY_WITHIN)
        await conn.close()
        return row[0]
    assert run_asyncio(main) == 9
