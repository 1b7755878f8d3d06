# SPDX-License-Identifier: MIT
"""A timeout's cancel request still on its way when the statement ended (a slow network
delays it) must not cancel the next statement: the next call first waits until it has been
delivered (pp_set_timeout). On an AsyncConnection that wait is one of the call's
nonblocking steps, not a blocking wait on the event loop's thread: other tasks run
meanwhile, and the loop sleeps between the steps, it does not spin (test_timeouts.py has the
sync case)."""

from __future__ import annotations

import asyncio
import time

import pytest

import PostPyro as pg
from tcpproxy import TcpProxy

TIMEOUT = 0.4
CANCEL_DELAY = 0.45  # the cancel request's connection reaches the server this much later


@pytest.fixture
def proxy(tcp_port):
    p = TcpProxy(tcp_port)
    yield p
    p.close()


@pytest.mark.parametrize("then", ["timeout kept", "timeout removed"])
def test_the_wait_for_a_late_cancel_lets_other_tasks_run(proxy, then):
    async def main():
        conn = await pg.AsyncConnection.connect(proxy.dsn(), timeout=TIMEOUT)
        try:
            proxy.connect_delay = CANCEL_DELAY
            # ends in the grace period after its deadline, before its cancel request arrives
            assert (await conn.query_one("SELECT 1 FROM pg_sleep(0.5)"))[0] == 1
            if then == "timeout removed":  # the call has no deadline of its own to wait for
                conn.timeout = None
            ticks = [time.monotonic()]
            running = True

            async def tick():
                while running:
                    await asyncio.sleep(0.005)
                    ticks.append(time.monotonic())
            ticker = asyncio.ensure_future(tick())
            await asyncio.sleep(0)
            start = time.monotonic()
            cpu = time.thread_time()  # the loop's thread (the proxy runs in others)
            # the request still on its way must not cancel this one
            assert (await conn.query_one("SELECT 2 FROM pg_sleep(0.05)"))[0] == 2
            took = time.monotonic() - start
            cpu = time.thread_time() - cpu
            running = False
            await ticker
            gaps = [b - a for a, b in zip(ticks, ticks[1:])]
            return took, max(gaps), len(ticks), cpu
        finally:
            await conn.close()

    took, gap, n, cpu = asyncio.run(main())
    print(then, "took %.3f s (CPU %.3f s), longest loop gap %.3f s, %d ticks"
          % (took, cpu, gap, n))
    assert took > 0.2, took  # it waited for the cancel request to be delivered
    assert gap < took / 2, (gap, took, n)  # and the loop went on meanwhile
    assert cpu < took / 5, (cpu, took)  # sleeping between its steps (spun: CPU ~ took)
