# SPDX-License-Identifier: MIT
"""How an ``AsyncPool`` waits and runs its filler task, one small class per event-loop
library (asyncio, trio; the running one is found with sniffio).

A waiting checkout is woken through a *waker* — an asyncio future, a trio Event — made per
wait, so that waking one never wakes another and a waker left behind by a cancelled wait
is simply dropped.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional

__all__ = ["running_loop"]

# The longest a return (rollback, reset) of a cancelled trio task may take.
_RETURN_SECONDS = 10.0


def _wake_future(fut: Any, value: bool = True) -> None:
    if not fut.done():
        fut.set_result(value)


class AsyncioLoop:
    name = "asyncio"
    shield = None  # asyncio delivers a cancellation once: cleanup after it can await

    def __init__(self) -> None:
        import asyncio
        self._asyncio = asyncio
        self.loop = asyncio.get_running_loop()
        self.cancelled = asyncio.CancelledError

    def waker(self) -> Any:
        if self._asyncio.get_running_loop() is not self.loop:  # its futures would not work
            from . import errors as e
            raise e.InterfaceError("this pool belongs to the event loop that opened it, not "
                                   "to this one: make one pool per event loop")
        return self.loop.create_future()

    wake = staticmethod(_wake_future)

    async def wait(self, fut: Any, timeout: Optional[float]) -> bool:
        """True when woken, False when ``timeout`` seconds (None: no limit) passed first."""
        if timeout is None:
            return await fut
        timer = self.loop.call_later(max(0.0, timeout), _wake_future, fut, False)
        try:
            return await fut
        finally:
            timer.cancel()

    async def sleep(self, seconds: float) -> None:
        await self._asyncio.sleep(seconds)

    def spawn(self, fn: Callable[[], Awaitable[None]], name: str) -> Any:
        return self.loop.create_task(fn(), name=name)

    async def stop(self, task: Any, timeout: float) -> None:
        """Cancel a task from spawn() and wait (at most ``timeout`` s) until it has ended."""
        if task.done() or task is self._asyncio.current_task():
            return
        task.cancel()
        await self._asyncio.wait([task], timeout=timeout)


class TrioLoop:
    name = "trio"

    def __init__(self) -> None:
        import trio
        self._trio = trio
        self.cancelled = trio.Cancelled

    def shield(self) -> Any:
        """A return's scope: shielded (a cancelled scope would interrupt every await of the
        rollback and reset) but bounded, so that a server that stopped answering cannot hold
        a cancelled task forever (then the return is cut short and closes the connection)."""
        trio = self._trio
        return trio.CancelScope(shield=True, deadline=trio.current_time() + _RETURN_SECONDS)

    def waker(self) -> Any:
        return self._trio.Event()

    @staticmethod
    def wake(event: Any) -> None:
        event.set()

    async def wait(self, event: Any, timeout: Optional[float]) -> bool:
        if timeout is None:
            await event.wait()
            return True
        with self._trio.move_on_after(max(0.0, timeout)):
            await event.wait()
        return event.is_set()

    async def sleep(self, seconds: float) -> None:
        await self._trio.sleep(seconds)

    def spawn(self, fn: Callable[[], Awaitable[None]], name: str) -> Any:
        """A system task (it needs no nursery; trio cancels it when the run ends)."""
        trio = self._trio
        handle = (trio.CancelScope(), trio.Event())

        async def run() -> None:
            try:
                with handle[0]:
                    await fn()
            finally:
                handle[1].set()
        trio.lowlevel.spawn_system_task(run, name=name)
        return handle

    async def stop(self, handle: Any, timeout: float) -> None:
        scope, done = handle
        scope.cancel()
        with self._trio.move_on_after(timeout):
            await done.wait()


def running_loop() -> Any:
    """The primitives of the running event-loop library, or None outside one."""
    try:
        import sniffio
        name = sniffio.current_async_library()
    except ImportError:  # pragma: no cover - sniffio is a dependency of the async extra
        name = "asyncio"
    except Exception:  # sniffio.AsyncLibraryNotFoundError: no loop runs
        return None
    if name == "trio":
        return TrioLoop()
    if name == "asyncio":
        try:
            return AsyncioLoop()
        except RuntimeError:
            return None
    from . import errors as e
    raise e.NotSupportedError("PostPyro's AsyncPool runs on asyncio or trio, not on %s" % name)
