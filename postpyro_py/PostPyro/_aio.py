# SPDX-License-Identifier: MIT
"""How the async front end waits, one backend per event-loop library (asyncio, trio).

The running library is found with sniffio. A backend gives: waiting until a socket is
readable / writable (or a timeout passes, or someone wakes the waiter) — once (``wait_fd``),
or over and over for a connection's socket (``socket``, see AsyncioSocket) —, the library's
Event (for the connection's queue of tasks, see _aturns), the current task, a scope that
shields cleanup from cancellation, the library's exception for "this task was cancelled",
and its getaddrinfo. Nothing here talks to the server.
"""

from __future__ import annotations

import contextlib
import os
import select
import selectors
import socket
from functools import partial
from signal import SIGINT
from threading import get_ident
from types import MethodType
from typing import Any, Callable, List, Optional, Tuple

from ._ffi import PP_PENDING, lib

try:  # signal.getsignal without its enum conversion (an exception raised per call)
    from _signal import getsignal
except ImportError:  # pragma: no cover
    from signal import getsignal

__all__ = ["backend", "poll_wait"]

_READ = lib.PP_WAIT_READ
_WRITE = lib.PP_WAIT_WRITE
# The longest a statement's wait for its answer is spent in AsyncioSocket.idle_wait (ms):
# an answer later than that pays one loop trip, which is small beside the statement then.
_IDLE_WAIT_MS = 5


def poll_wait(conn: Any, rc: int, resume: Callable[..., int], args: Any) -> int:
    """Wait with poll() (blocks the loop: only for cleanup outside any task)."""
    fd = lib.pp_socket(conn)
    while rc == PP_PENDING:
        ev = lib.pp_wait_events(conn)
        p = select.poll()
        p.register(fd, (select.POLLIN if ev & lib.PP_WAIT_READ else 0)
                   | (select.POLLOUT if ev & lib.PP_WAIT_WRITE else 0))
        p.poll(lib.pp_wait_timeout_ms(conn))
        rc = resume(*args)
    return rc


# PP_WAIT_* bits (READ 1, WRITE 2) -> poll() events
_POLL_MASKS = (0, select.POLLIN, select.POLLOUT, select.POLLIN | select.POLLOUT)


class Waker:
    """Where a waiting call leaves a way to wake it (close() from another task uses it)."""

    __slots__ = ("wake",)

    def __init__(self) -> None:
        self.wake: Optional[Callable[[], None]] = None


def _interrupt() -> None:
    raise KeyboardInterrupt


def _set(fut: Any) -> None:
    if not fut.done():
        fut.set_result(None)


def _set_event(ev: Any) -> None:
    ev.set()


def _set_true(fut: Any) -> None:
    if not fut.done():
        fut.set_result(True)


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
        global _RUNNER_ON_SIGINT
        self._asyncio = asyncio
        _RUNNER_ON_SIGINT = getattr(getattr(asyncio, "Runner", None), "_on_sigint", None)
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

    def socket(self, fd: int) -> "AsyncioSocket":
        """A connection's socket ``fd`` (libpq's), waited on over and over."""
        return AsyncioSocket(self._asyncio.get_running_loop, fd)

    def event(self) -> Any:
        return self._asyncio.Event()

    async def wait_event(self, ev: Any, seconds: float) -> None:
        """Until ``ev`` (an event of this waiter's own) is set, or ``seconds`` passed."""
        timer = self._asyncio.get_running_loop().call_later(seconds, _set_event, ev)
        try:
            await ev.wait()
        finally:
            timer.cancel()

    @staticmethod
    def task_done(task: Any) -> bool:
        return task.done()

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


# asyncio.Runner's SIGINT handler (3.11+), once AsyncioBackend has imported asyncio
_RUNNER_ON_SIGINT = None

class AsyncioSocket:
    """A connection's socket on asyncio, for its waits (:meth:`wait` as
    AsyncioBackend.wait_fd). The reader stays registered with the loop between waits, as
    asyncpg's transports do: adding and removing it around every wait cost two epoll_ctl
    calls and asyncio's bookkeeping per statement. Three guards make that safe:

    - what is registered is a duplicate of libpq's socket, owned here: libpq closes its own
      number whenever it likes (a broken connection, pp_close, the collector freeing a
      connection dropped without close()), and asyncio, still holding that number, would
      skip the epoll_ctl for the next socket given it (never reported ready: a hang). This
      number stays taken until :meth:`release` has unregistered it, then closes it;
    - asyncio queues a second reader callback for a readiness the woken task has already
      read (the task runs one loop turn after the callback; epoll is level-triggered): the
      callback looks (poll, no wait) and drops it; when the socket is readable and nobody
      waits (a notification, the server closing), the reader is removed until the next
      wait, or the loop would spin;
    - nothing is unregistered after :meth:`release` (a wait ending late, a callback), so
      nothing can unregister a number that belongs to another socket by then; nor in a
      forked child (its copy of the loop's epoll is the parent's: it only closes its copy).
    """

    __slots__ = ("fd", "_running_loop", "_loop", "_fut", "_reading", "_poll", "_pid",
                 "_idle", "_idle_mask", "_epfd", "_armed")

    def __init__(self, running_loop: Callable[[], Any], fd: int) -> None:
        self._running_loop = running_loop
        self.fd = os.dup(fd)      # -1 once released
        self._loop: Any = None    # the loop it is registered with
        self._fut: Any = None     # the future of the wait for reading, if one runs
        self._reading = False     # the reader is registered
        self._poll = select.poll()
        self._poll.register(self.fd, select.POLLIN)
        self._pid = os.getpid()
        self._idle: Any = None    # for idle_wait: a poll of this socket and the loop's epoll
        self._idle_mask = 0       # the events _idle watches on this socket
        self._epfd = -1           # the loop's epoll descriptor, while _idle is set up
        self._armed = 0           # the pp_set_idle_wait setting libpostpyro holds (see arm)

    def idle_wait(self, events: int) -> bool:
        """Wait for this socket to be ready for ``events`` (PP_WAIT_* bits: a statement
        waits to read, a pipeline whose output fills the socket to write as well) without
        a loop trip, when the loop has nothing else to do (called on the loop's thread,
        inside a task's step: the call on the fiber, before it would switch back to wait
        the loop's way).

        When the loop has no callback ready, it would only sleep in its selector until a
        socket of its own is ready or its next timer is due: wait that way here, on the
        loop's epoll (readable as soon as any socket the loop watches is, its self-pipe
        too: another thread's call_soon_threadsafe, a signal) and on this socket, for at
        most _IDLE_WAIT_MS and never past the next timer. True: this socket is ready
        (the caller goes on now: no future, no two loop turns, no stale callback after);
        False: wait the loop's way (something else is ready, a timer is due, the time is
        up, the loop is not a plain epoll one)."""
        idle = self._idle
        if idle is None:
            return False
        timeout = self._idle_ms()
        if timeout <= 0:
            return False
        fd = self.fd
        mask = _POLL_MASKS[events & 3]
        if mask != self._idle_mask:  # select.poll keeps it in memory: no system call
            idle.modify(fd, mask)
            self._idle_mask = mask
        try:
            found = idle.poll(timeout)
        except KeyboardInterrupt:  # where the loop's select would have seen it: out of the
            self._loop.call_soon(_interrupt)  # loop, this task left waiting the loop's way
            return False
        for got, _ in found:
            if got == fd:
                return True
        return False

    def arm(self, conn: Any, wanted: bool) -> None:
        """Before every call (in a task's step, on the loop's thread; ``wanted``: False for
        a call that must wait the loop's way, e.g. one with a timeout=): when the loop has
        nothing to run, let the call's first waits be idle_wait's, done in libpostpyro
        (pp_set_idle_wait: poll this socket and the loop's epoll, never past the next
        timer): a statement whose answer comes meanwhile goes on without returning
        PP_PENDING, so without _wait, idle_wait, pp_resume and two C fiber switches. While
        the call runs, nothing of this thread can make a callback ready; other threads and
        signals wake the loop's epoll. libpostpyro keeps the setting from call to call:
        it is set again (a C call) only when it changes, so the loop's state is read here
        before every call, and the setting turned off when the call must not use it.

        Only while no Python code of the program handles SIGINT: a Python handler runs at
        the first Python step after the signal ends the C wait, which is on the fiber, and
        an exception it raises there abandons the call (closing the connection), where
        idle_wait's poll hands a KeyboardInterrupt to the loop. So: armed under no Python
        handler (SIG_DFL, SIG_IGN, one set in C) and under asyncio.run's (it cancels the
        main task on the first Ctrl-C, raising nothing); not under Python's default handler
        nor the program's own, which may raise."""
        ms = 0
        if wanted and self._idle is not None:
            # the loop's state first: with other tasks ready (gather) the handler is not asked
            ms = self._idle_ms()
            if ms > 0:
                handler = getsignal(SIGINT)
                if handler.__class__ is partial:  # asyncio.run's: partial(runner._on_sigint, …)
                    func = handler.func
                    if func.__class__ is not MethodType or func.__func__ is not _RUNNER_ON_SIGINT:
                        ms = 0
                elif callable(handler):
                    ms = 0
            else:
                ms = 0
        if ms != self._armed:
            lib.pp_set_idle_wait(conn, self._epfd, ms)
            self._armed = ms

    def _idle_ms(self) -> int:
        """How long (ms) a wait may take without a loop trip now (see idle_wait); 0 or
        less when the loop has something to run (this socket's stale callback is not),
        does not run in this thread, is stopping, or a timer is due."""
        loop = self._loop
        ready = loop._ready
        if ready and (len(ready) > 1 or ready[0]._callback != self._on_read):
            return 0
        # running now, in this thread: `self._running_loop() is not loop` without
        # get_running_loop's getpid() system call (CPython 3.11)
        if loop._stopping or loop._thread_id != get_ident():
            return 0
        scheduled = loop._scheduled
        if scheduled:
            due = (scheduled[0]._when - loop.time()) * 1000.0
            if due < _IDLE_WAIT_MS:
                return int(due)
        return _IDLE_WAIT_MS

    def _watch_idle(self, loop: Any) -> None:
        """Set up idle_wait for ``loop`` (an epoll-based selector loop), or leave it off."""
        self._idle = None
        sel = getattr(loop, "_selector", None)
        if not (isinstance(sel, selectors.EpollSelector) and hasattr(loop, "_ready")
                and hasattr(loop, "_scheduled") and hasattr(loop, "_stopping")
                and hasattr(loop, "_thread_id")):
            return
        idle = select.poll()
        idle.register(self.fd, select.POLLIN)
        idle.register(sel.fileno(), select.POLLIN)
        self._idle = idle
        self._idle_mask = select.POLLIN
        self._epfd = sel.fileno()
        self._armed = -1  # set it again, with this epoll

    def _on_read(self) -> None:
        if not self._poll.poll(0):
            return  # a readiness already read
        fut = self._fut
        if fut is None:  # nobody waits: stop watching until the next wait
            self._reading = False
            self._loop.remove_reader(self.fd)
        elif not fut.done():
            fut.set_result(True)

    async def wait(self, events: int, timeout_ms: int, waker: Waker) -> bool:
        """See AsyncioBackend.wait_fd (False at once once released)."""
        loop = self._loop
        if self._idle is None or loop._thread_id != get_ident():  # (as in idle_wait)
            loop = self._running_loop()
        fd = self.fd
        if fd < 0:
            await self._sleep0()
            return False
        if loop is not self._loop:
            self._unregister()
            self._loop = loop
            self._watch_idle(loop)
        fut = loop.create_future()
        if events & _READ:
            self._fut = fut
            if not self._reading:
                loop.add_reader(fd, self._on_read)
                self._reading = True
        if events & _WRITE:
            loop.add_writer(fd, _set_true, fut)
        timer = loop.call_later(timeout_ms / 1000.0, _set_false, fut) \
            if timeout_ms >= 0 else None
        waker.wake = lambda: _set_false(fut)
        try:
            return await fut
        finally:
            waker.wake = None
            if self._fut is fut:
                self._fut = None
            if events & _WRITE and self.fd == fd:  # not after release (the number is gone)
                loop.remove_writer(fd)
            if timer is not None:
                timer.cancel()

    @staticmethod
    async def _sleep0() -> None:
        import asyncio
        await asyncio.sleep(0)

    def _unregister(self) -> None:
        loop = self._loop
        self._reading = False
        self._idle = None
        if loop is not None and not loop.is_closed() and os.getpid() == self._pid:
            loop.remove_reader(self.fd)
            loop.remove_writer(self.fd)

    def release(self) -> None:
        """Unregister the socket, then close the duplicate (safe twice). On the loop's
        thread, before (or after) libpq closes its socket."""
        if self.fd >= 0:
            try:
                self._unregister()
            finally:
                fd, self.fd = self.fd, -1
                os.close(fd)

    def release_soon(self) -> None:
        """:meth:`release` from the collector (any thread, any moment): on the loop's
        thread at its next turn. The number stays taken until then."""
        loop = self._loop
        if self.fd >= 0 and loop is not None:
            try:
                loop.call_soon_threadsafe(self.release)
                return
            except RuntimeError:  # the loop is closed: so is its selector
                pass
        self._loop = None
        self.release()


class TrioSocket:
    """A connection's socket on trio: trio has no registration that outlives a wait
    (wait_readable registers and, once woken, disarms it), so nothing stays behind."""

    __slots__ = ("_b", "fd")

    def __init__(self, b: "TrioBackend", fd: int) -> None:
        self._b = b
        self.fd = fd

    async def wait(self, events: int, timeout_ms: int, waker: Waker) -> bool:
        if self.fd < 0:  # released
            await self._b.checkpoint()
            return False
        return await self._b.wait_fd(self.fd, events, timeout_ms, waker)

    def release(self) -> None:
        """Before libpq closes the socket: a wait on it ends (ClosedResourceError)."""
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            self._b._trio.lowlevel.notify_closing(fd)

    def release_soon(self) -> None:
        pass


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
                    await _either(trio, fd)
                ready = True
            except trio.ClosedResourceError:
                ready = False  # close() from another task
            finally:
                waker.wake = None
        return ready

    def socket(self, fd: int) -> TrioSocket:
        return TrioSocket(self, fd)

    def event(self) -> Any:
        return self._trio.Event()

    async def wait_event(self, ev: Any, seconds: float) -> None:
        """See AsyncioBackend.wait_event."""
        with self._trio.move_on_after(seconds):
            await ev.wait()

    @staticmethod
    def task_done(task: Any) -> bool:
        return task.coro.cr_frame is None  # a trio Task says it no other way

    def shielded(self) -> Any:
        return self._trio.CancelScope(shield=True)

    def now(self) -> float:
        return self._trio.current_time()

    async def sleep(self, seconds: float) -> None:
        await self._trio.sleep(seconds)

    async def getaddrinfo(self, host: str, port: int) -> List[Tuple[Any, ...]]:
        return await self._trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


async def _either(trio: Any, fd: int) -> None:
    """Until ``fd`` is readable or writable. The two waits run in a nursery, which raises
    their Cancelled (or ClosedResourceError) wrapped in a MultiError / ExceptionGroup that
    ``except trio.Cancelled`` misses (a COPY's cancellation went by unnoticed): raise one
    of them alone, as a single wait would."""
    try:
        async with trio.open_nursery() as nursery:
            async def one(wait: Any) -> None:
                await wait(fd)
                nursery.cancel_scope.cancel()
            nursery.start_soon(one, trio.lowlevel.wait_readable)
            nursery.start_soon(one, trio.lowlevel.wait_writable)
    except BaseException as exc:
        leaves = _leaves(exc)
        for kind in (trio.Cancelled, trio.ClosedResourceError):
            if all(isinstance(x, kind) for x in leaves):
                raise leaves[0] from None
        raise


def _leaves(exc: BaseException) -> List[BaseException]:
    """The exceptions inside a (nested) exception group; [exc] for any other."""
    inner = getattr(exc, "exceptions", None)
    if not isinstance(inner, (list, tuple)):
        return [exc]
    return [leaf for x in inner for leaf in _leaves(x)]


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
