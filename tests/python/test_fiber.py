# SPDX-License-Identifier: MIT
"""The one long-lived fiber of an AsyncConnection ends cleanly (PostPyro._fiber).

An idle fiber left for the collector is killed by greenlet with GreenletExit thrown in at
its idle switch; greenlet 2.0.2 (Debian 12) sometimes lost that exception, and the switch
failed with SystemError, reported as "Exception ignored in <greenlet …>" by a later test.
"""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest

import PostPyro as pg
from PostPyro import _fiber

ON_GREENLET = _fiber.continulet is None


def _alive(fiber):
    """The fiber's greenlet/continulet still has a suspended frame."""
    if ON_GREENLET:
        return fiber._g is not None and not fiber._g.dead
    return fiber._c is not None and fiber._c.is_pending()


def _handle(fiber):
    return fiber._g if ON_GREENLET else fiber._c


def _ended(handle):
    return handle.dead if ON_GREENLET else not handle.is_pending()


@pytest.fixture
def unraisable(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    return seen


def test_close_ends_the_idle_fiber_at_once(sdsn):
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn)
        assert (await conn.query("SELECT 7"))[0][0] == 7
        fiber = conn._fiber
        handle = _handle(fiber)
        assert not _ended(handle)  # idle between calls, as designed
        await conn.close()
        assert _ended(handle)
        assert not _alive(fiber)
    asyncio.run(asyncio.wait_for(main(), 60))


def test_close_while_a_call_runs_ends_the_fiber_when_the_call_fails(sdsn):
    async def main():
        conn = await pg.AsyncConnection.connect(sdsn)
        await conn.execute("SELECT 1")
        task = asyncio.ensure_future(conn.query("SELECT pg_sleep(10)"))
        await asyncio.sleep(0.3)
        handle = _handle(conn._fiber)
        await conn.close()
        with pytest.raises(pg.InterfaceError):
            await task
        assert _ended(handle)
        with pytest.raises(pg.InterfaceError):  # a call after close fails, leaves no fiber
            await conn.execute("SELECT 1")
        assert not _alive(conn._fiber)
    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.skipif(not ON_GREENLET, reason="greenlet's kill-on-collect; PyPy's "
                    "continulets are collected without running their frame")
def test_an_idle_fiber_whose_kill_fails_ends_quietly():
    # what greenlet 2.0.2 did: the idle switch raised SystemError instead of GreenletExit
    fiber = _fiber.Fiber()
    assert fiber.run(lambda x: x + 1, (1,)) == (True, 2)
    g = fiber._g
    g.throw(SystemError("returned NULL without setting an exception"))
    assert g.dead


def test_a_dropped_idle_fiber_is_collected_without_an_error(unraisable):
    fiber = _fiber.Fiber()
    assert fiber.run(lambda: "x", ()) == (True, "x")
    handle = _handle(fiber)
    del fiber, handle
    gc.collect()
    assert unraisable == []


def test_an_ended_fiber_runs_the_next_call_on_a_new_one():
    fiber = _fiber.Fiber()
    assert fiber.run(lambda: 1, ()) == (True, 1)
    first = _handle(fiber)
    fiber.end()
    assert _ended(first)
    assert fiber.run(lambda: 2, ()) == (True, 2)
    assert _handle(fiber) is not first
    fiber.end()
    fiber.end()  # twice is harmless


@pytest.mark.skipif(not ON_GREENLET, reason="greenlets belong to a thread; continulets don't")
def test_ending_another_threads_fiber_leaves_it_to_the_collector(unraisable):
    import threading
    fiber = _fiber.Fiber()
    t = threading.Thread(target=fiber.run, args=(lambda: None, ()))
    t.start()
    t.join()
    fiber.end()  # no error: that greenlet cannot be switched to from here
    assert not _alive(fiber)
    gc.collect()
    assert unraisable == []
