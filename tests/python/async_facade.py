# SPDX-License-Identifier: MIT
"""A sync facade over AsyncConnection, so that one test body runs on both front ends.

:class:`LoopThread` runs an event loop (asyncio or trio) in a background thread, with one
worker task that runs every coroutine handed to it, one after the other: all calls of a
test come from the same task, as all calls of a sync test come from the same thread (a
transaction belongs to the task that opened it). :class:`Facade` wraps an AsyncConnection
(and the transactions, cursors, streams and COPYs it gives) and exposes the sync API:
each method call runs on the loop and returns its result; ``with`` is ``async with``,
``for`` is ``async for``.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import os
import sys
import threading
import traceback
import weakref
from typing import Any

import PostPyro as pg

# A call that takes longer fails the test instead of hanging the suite.
RESULT_TIMEOUT = 120


class LoopThread:
    """An event loop of ``library`` ("asyncio" or "trio") in a daemon thread."""

    def __init__(self, library: str) -> None:
        self.library = library
        self._pid = os.getpid()
        self._ready = threading.Event()
        self._submit: Any = None
        self._post: Any = None  # as _submit, without waiting: callable on the loop's thread
        self._stop: Any = None
        self._thread = threading.Thread(target=getattr(self, "_main_" + library),
                                        name="test-" + library, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @staticmethod
    async def _serve(item: Any) -> None:
        coro, fut = item
        try:
            fut.set_result(await coro)
        except BaseException as exc:  # noqa: B902 - handed to the caller
            fut.set_exception(exc)

    def _main_asyncio(self) -> None:
        import asyncio

        async def worker() -> None:
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue = asyncio.Queue()
            self._submit = self._post = lambda item: loop.call_soon_threadsafe(
                queue.put_nowait, item)
            self._stop = lambda: loop.call_soon_threadsafe(queue.put_nowait, None)
            self._ready.set()
            while True:
                item = await queue.get()
                if item is None:
                    return
                await self._serve(item)

        asyncio.run(worker())

    def _main_trio(self) -> None:
        import math

        import trio

        async def worker() -> None:
            token = trio.lowlevel.current_trio_token()
            send, receive = trio.open_memory_channel(math.inf)
            self._submit = lambda item: trio.from_thread.run_sync(send.send_nowait, item,
                                                                  trio_token=token)
            self._post = lambda item: token.run_sync_soon(send.send_nowait, item)
            self._stop = lambda: trio.from_thread.run_sync(send.close, trio_token=token)
            self._ready.set()
            async for item in receive:
                await self._serve(item)

        trio.run(worker)

    def run(self, coro: Any) -> Any:
        """Run ``coro`` in the worker task and return its result (or raise its error)."""
        if os.getpid() != self._pid:
            raise RuntimeError("the facade's event loop runs in the parent process")
        if threading.get_ident() == self._thread.ident:
            # the garbage collector finalizing a facade's generator on the loop's thread
            # (PyPy runs finalizers in whichever thread runs next): it cannot wait for the
            # loop, so the worker runs the call after the one running now. (Left to the
            # sync stream's own finalizer, a `for` loop's stream stayed open until one
            # more collection: test_stream's [trio] flake.)
            self._post((coro, concurrent.futures.Future()))
            return None
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._submit((coro, fut))
        try:
            return fut.result(RESULT_TIMEOUT)
        except concurrent.futures.TimeoutError:
            stack = sys._current_frames().get(self._thread.ident)
            raise AssertionError("the event loop did not answer in %d s; its thread is at:\n%s"
                                 % (RESULT_TIMEOUT, "".join(traceback.format_stack(stack))))

    def close(self) -> None:
        self._stop()
        self._thread.join(10)


def _async_types() -> tuple:
    return (pg.AsyncConnection, pg.AsyncTransaction, pg.AsyncCursor, pg.AsyncStream,
            pg.AsyncCopy)


class Facade:
    """The sync API of an async object (see the module's docstring)."""

    __slots__ = ("_loop", "_obj", "__weakref__")

    def __init__(self, loop: LoopThread, obj: Any) -> None:
        object.__setattr__(self, "_loop", loop)
        object.__setattr__(self, "_obj", obj)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(facade, pg.AsyncTransaction) is True
        return type(self._obj)

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, _async_types()):
            return facade(self._loop, value)
        return value

    def run_on_engine(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn(connection, *args, **kwargs)`` with the AsyncConnection's Connection code,
        run on its fiber (for tests that call a module function such as
        copy.copy_records_to_table with a connection)."""
        obj = self._obj
        return self._loop.run(obj._run(lambda: fn(obj._engine, *args, **kwargs)))

    def _done(self, value: Any) -> Any:
        if inspect.isawaitable(value):
            value = self._loop.run(_awaited(value))
        return self._wrap(value)

    def __getattr__(self, name: str) -> Any:
        obj = self._obj
        if name.startswith("_") and isinstance(obj, pg.AsyncConnection) \
                and not hasattr(obj, name):
            # a private method of Connection the tests use (_rows): run on the fiber
            method = getattr(obj._engine, name)
            return lambda *args, **kwargs: self._loop.run(
                obj._run(lambda: method(*args, **kwargs)))
        value = getattr(obj, name)
        if callable(value) and not isinstance(value, type):
            return lambda *args, **kwargs: self._done(value(*args, **kwargs))
        return self._wrap(value)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._obj, name, value)

    def __enter__(self) -> Any:
        return self._wrap(self._loop.run(self._obj.__aenter__()))

    def __exit__(self, *exc: Any) -> Any:
        return self._loop.run(self._obj.__aexit__(*exc))

    def __iter__(self) -> Any:
        if isinstance(self._obj, pg.AsyncCursor):
            return self  # as Cursor's
        return self._iterate()

    def _iterate(self) -> Any:
        obj = self._obj
        if isinstance(obj, pg.AsyncStream):  # a chunk per round trip to the loop
            try:
                rest, obj._buf, obj._pos = obj._buf[obj._pos:], [], 0  # what next() left
                yield from rest
                while True:
                    rows = self._loop.run(obj.fetch_chunk())
                    if not rows:
                        return
                    yield from rows
            finally:  # a `for` left early ends a stream, as the sync one does
                self._loop.run(obj.close())
        it = obj.__aiter__()
        while True:
            try:
                yield self._loop.run(it.__anext__())
            except StopAsyncIteration:
                return

    def __next__(self) -> Any:
        try:
            return self._loop.run(self._obj.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def __repr__(self) -> str:
        return repr(self._obj)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


# One facade per object, so that `cur.connection is conn` holds as in sync.
_facades: "weakref.WeakValueDictionary[int, Facade]" = weakref.WeakValueDictionary()


def facade(loop: LoopThread, obj: Any) -> Facade:
    f = _facades.get(id(obj))
    if f is None or f._obj is not obj:
        f = _facades[id(obj)] = Facade(loop, obj)
    return f


def connect(loop: LoopThread, dsn: str, **options: Any) -> Facade:
    """An AsyncConnection opened on ``loop``, behind the sync facade."""
    return facade(loop, loop.run(pg.AsyncConnection.connect(dsn, **options)))
