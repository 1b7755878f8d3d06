# SPDX-License-Identifier: MIT
"""How the async front end waits, one backend per event-loop library (asyncio, trio).

The running library is found with sniffio. A backend gives: waiting until a socket is
readable / writable (or a timeout passes, or someone wakes the waiter), the library's Event
(for the connection's queue of tasks, see _aturns), the current task, a scope that shields
cleanup from cancellation, the library's exception for "this task was cancelled", and its
getaddrinfo. Nothing here talks to the server.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any, Callable, List, Optional, Tuple

from ._ffi import lib

__all__ = ["backend"]

_READ = lib.PP_WAIT_READ
_WRITE = lib.PP_WAIT_WRITE


class Waker:
    """Where a waiting call leaves a way to wake it (close() from another task uses it)."""

    __slots__ = ("wake",)

    def __init__(self) -> None:
        self.wake: Optional[Callable[[], None]] = None


def _set(fut: Any) -> None:
    if not fut.done():
        fut.set_result(None)


def _set_false(fut: Any) -> None:
    if not fut.done():
        fut.set_result(False)


class AsyncioBackend:
    name = "asyncio"
    # what every call awaits first: nothing (an asyncio call that need not wait does not
    # yield, like Lock.acquire on a free lock)
    checkpoint = None

    def __init__(self) -> None:
        import asyncio
        self._asyncio = asyncio
        self.cancelled = asyncio.CancelledError
        self.current_task = asyncio.current_task

    async def wait_fd(self, fd: int, events: int, timeout_ms: int, waker: Waker) -> bool:
        """Wait until ``fd`` is ready for ``events`` (PP_WAIT_* bits): True; or until
        ``timeout_ms`` (-1: none) passed or ``waker.wake()`` was called: False."""
        loop = self._asyncio.get_running_loop()
        fut = loop.create_future()
        if events & _READ:
            loop.add_reader(fd, _set, fut)
        if events & _WRITE:
            loop.add_writer(fd, _set, fut)
        timer = loop.call_later(timeout_ms / 1000.0, _set_false, fut) \
            if timeout_ms >= 0 else None
        waker.wake = lambda: _set_false(fut)
        try:
            return await fut is None
        finally:
            waker.wake = None
            if events & _READ:
                loop.remove_reader(fd)
            if events & _WRITE:
                loop.remove_writer(fd)
            if timer is not None:
                timer.cancel()

    def forget_fd(self, fd: int) -> None:
        """Before the socket is closed."""
        loop = self._asyncio.get_running_loop()
        loop.remove_reader(fd)
        loop.remove_writer(fd)

    def event(self) -> Any:
        return self._asyncio.Event()

    def shielded(self) -> Any:
        # asyncio delivers a cancellation once: the cleanup that follows can await (a
        # second cancel is caught by the cleanup's own loop)
        return contextlib.nullcontext()

    def now(self) -> float:
        return self._asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await self._asyncio.sleep(seconds)

    async def getaddrinfo(self, host: str, port: int) -> List[Tuple[Any, ...]]:
        return await self._asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM)


class TrioBackend:
    name = "trio"

    def __init__(self) -> None:
        import trio
        self._trio = trio
        # trio's rule: every library call is a checkpoint (sees a cancel, lets others run)
        self.checkpoint = trio.lowlevel.checkpoint
        self.cancelled = trio.Cancelled
        self.current_task = trio.lowlevel.current_task

    async def wait_fd(self, fd: int, events: int, timeout_ms: int, waker: Waker) -> bool:
        """See AsyncioBackend.wait_fd."""
        trio = self._trio
        ready = False
        with trio.CancelScope() as scope:
            if timeout_ms >= 0:
                scope.deadline = trio.current_time() + timeout_ms / 1000.0
            waker.wake = scope.cancel
            try:
                if events == _READ:
                    await trio.lowlevel.wait_readable(fd)
                elif events == _WRITE:
                    await trio.lowlevel.wait_writable(fd)
                else:  # both: whichever comes first
                    async with trio.open_nursery() as nursery:
                        async def one(wait: Any) -> None:
                            await wait(fd)
                            nursery.cancel_scope.cancel()
                        nursery.start_soon(one, trio.lowlevel.wait_readable)
                        nursery.start_soon(one, trio.lowlevel.wait_writable)
                ready = True
            except trio.ClosedResourceError:
                ready = False  # close() from another task
            finally:
                waker.wake = None
        return ready

    def forget_fd(self, fd: int) -> None:
        self._trio.lowlevel.notify_closing(fd)

    def event(self) -> Any:
        return self._trio.Event()

    def shielded(self) -> Any:
        return self._trio.CancelScope(shield=True)

    def now(self) -> float:
        return self._trio.current_time()

    async def sleep(self, seconds: float) -> None:
        await self._trio.sleep(seconds)

    async def getaddrinfo(self, host: str, port: int) -> List[Tuple[Any, ...]]:
        return await self._trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


_backends: dict = {}


def backend() -> Any:
    """The backend of the running event-loop library."""
    try:
        import sniffio
        name = sniffio.current_async_library()
    except ImportError:  # pragma: no cover - sniffio is a dependency
        name = "asyncio"
    b = _backends.get(name)
    if b is None:
        if name == "asyncio":
            b = AsyncioBackend()
        elif name == "trio":
            b = TrioBackend()
        else:
            from . import errors as e
            raise e.NotSupportedError("PostPyro's AsyncConnection runs on asyncio or trio, "
                                      "not on %s" % name)
        _backends[name] = b
    return b
