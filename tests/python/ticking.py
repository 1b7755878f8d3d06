# SPDX-License-Identifier: MIT
"""What the tests of "nothing stalls the event loop" share: ``run(library, main)`` runs
``main(loop)`` on asyncio or trio, bounded (a hang fails), where ``loop.sleep`` and
``loop.spawn(coro)`` (a task that ends with the run) are the library's; and a ``Ticker``, a
task that ticks every TICK seconds and says how long the loop left it waiting at most."""

from __future__ import annotations

import time
from typing import Any, Callable, List

TICK = 0.01
BOUND_SECONDS = 60


class Loop:
    def __init__(self, sleep: Callable[[float], Any], spawn: Callable[[Any], None]) -> None:
        self.sleep = sleep
        self.spawn = spawn


def run(library: str, main: Callable[[Loop], Any]) -> None:
    if library == "asyncio":
        import asyncio

        async def bounded():
            await asyncio.wait_for(main(Loop(asyncio.sleep, asyncio.ensure_future)),
                                   BOUND_SECONDS)
        asyncio.run(bounded())
    else:
        import trio

        async def in_nursery():
            with trio.fail_after(BOUND_SECONDS):
                async with trio.open_nursery() as nursery:
                    def spawn(coro):
                        nursery.start_soon(lambda: coro)
                    await main(Loop(trio.sleep, spawn))
                    nursery.cancel_scope.cancel()
        trio.run(in_nursery)


class Ticker:
    """``await Ticker.start(loop)``: ticks until ``stop()``; ``ticks`` counts them."""

    def __init__(self, loop: Loop) -> None:
        self._loop = loop
        self._times: List[float] = []
        self._stopped = False

    @classmethod
    async def start(cls, loop: Loop) -> "Ticker":
        t = cls(loop)
        loop.spawn(t._run())
        while len(t._times) < 3:  # it runs
            await loop.sleep(TICK)
        return t

    async def _run(self) -> None:
        while not self._stopped:
            self._times.append(time.monotonic())
            await self._loop.sleep(TICK)

    @property
    def ticks(self) -> int:
        return len(self._times)

    def stop(self) -> float:
        """Stops it; the longest time between two ticks (or the last one and now)."""
        self._stopped = True
        times = self._times + [time.monotonic()]
        return max(b - a for a, b in zip(times, times[1:]))
