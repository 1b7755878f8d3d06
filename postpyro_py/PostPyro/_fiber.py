# SPDX-License-Identifier: MIT
"""Running the sync front end's code on an event loop without copying it.

The async front end runs a sync method (``Connection.query``, ``Transaction.commit``,
``Copy.write_rows``, …) on a *fiber*: where that code waits for the server (its one seam,
``Connection._wait``), the fiber switches back to the coroutine that drives it, which awaits
the socket the event loop's way and switches in again. So plans, parameters, results,
transactions, COPY and streams live once, and the front ends differ only in how they wait.

A fiber is a greenlet on CPython (Debian's python3-greenlet) and PyPy's built-in continulet
on PyPy (where a CPython greenlet module found on the path would not load). One fiber lives
as long as its connection and runs one call after another: a new greenlet per call cost an
mmap and a munmap of its frame stack (CPython 3.11) and their page faults, every statement.
"""

from __future__ import annotations

from typing import Any, Callable, Tuple

__all__ = ["Fiber"]

try:
    from _continuation import continulet  # PyPy
except ImportError:
    continulet = None
    from greenlet import GreenletExit, error, getcurrent, greenlet


def _outcome(fn: Callable[..., Any], args: Tuple[Any, ...]) -> Tuple[bool, Any, Any]:
    """One call, as what the fiber hands back: (True, result, None) or (True, None, exc)."""
    try:
        return True, fn(*args), None
    except BaseException as exc:  # noqa: B902 - re-raised by the driver (Fiber.run)
        if continulet is None and isinstance(exc, GreenletExit):
            raise  # the fiber is being killed (abandoned mid-call, then collected)
        return True, None, exc


# What a call gives back travels in a list (``box``), not as an argument of switch(): a
# suspended frame keeps its arguments alive, and a result kept by the idle fiber (a
# stream, say) would escape the collector's finalization. On CPython the box is one slot,
# box[0] (None: empty), never emptied: a list popped to empty frees its array, and CPython
# takes that to libc's malloc/realloc, four times per call.

class _Base:
    __slots__ = ("_box", "in_call")

    def __init__(self) -> None:
        self._box: list = []
        #: a call started and has not ended (it is suspended, or running): a fiber left so
        #: (its driver abandoned it) must be replaced, never run() again
        self.in_call = False

    def _result(self) -> Tuple[bool, Any]:
        """What the fiber left in the box: (done, value), or the call's exception raised."""
        return self._unpack(self._box.pop())

    def _unpack(self, got: Tuple[bool, Any, Any]) -> Tuple[bool, Any]:
        done, value, exc = got
        if done:
            self.in_call = False
        if exc is not None:
            try:
                raise exc
            finally:
                exc = None  # no cycle through this frame
        return done, value


if continulet is not None:

    def _serve(c: Any, box: list) -> None:
        while True:
            c.switch()  # wait for the next call (the first switch primes this)
            call = box.pop()
            if call is None:  # Fiber.end
                return
            fn, args = call
            box.append(_outcome(fn, args))
            fn = args = call = None

    class Fiber(_Base):
        """Runs ``fn(*args)`` calls one after another so that :meth:`suspend` inside one
        returns to whoever called :meth:`run` or :meth:`switch`."""

        __slots__ = ("_c",)

        def __init__(self) -> None:
            super().__init__()
            self._c = None

        def run(self, fn: Callable[..., Any], args: Tuple[Any, ...]) -> Tuple[bool, Any]:
            """Start ``fn(*args)``; run it until it suspends (False, the value it gave) or
            returns (True, its result); its exception propagates."""
            c = self._c
            if c is None or not c.is_pending():
                c = self._c = continulet(_serve, self._box)
                c.switch()
            self._box.append((fn, args))
            self.in_call = True
            c.switch()
            return self._result()

        def switch(self) -> Tuple[bool, Any]:
            """Go on with the suspended call: as :meth:`run`."""
            self._c.switch()
            return self._result()

        def suspend(self, value: Any) -> None:
            """(Inside the call.) Give ``value`` to the caller of run()/switch(); returns at
            the next switch()."""
            self._box.append((False, value, None))
            self._c.switch()

        def end(self) -> None:
            """End the fiber now if it is idle (a call left suspended is only dropped): its
            frame goes at once, not when the collector gets to it."""
            c, self._c = self._c, None
            if c is not None and c.is_pending() and not self.in_call:
                self._box.append(None)
                c.switch()

        def renewed(self, first: Callable[[], Any]) -> "Fiber":
            """Drops the call left suspended (its driver gave it up: it is never resumed),
            after ``first()`` (the caller's: what makes that safe, e.g. closing the
            connection the call uses); a new Fiber for the next calls. PyPy collects the
            call's frames with this one."""
            first()
            self._c = None
            return Fiber()

else:

    _END = "end"  # in the box: Fiber.end

    def _serve(box: list) -> None:
        # no reference to the Fiber or the greenlet itself: no cycle to keep it alive
        while True:
            call = box[0]
            box[0] = None
            if call is _END:
                return
            fn, args = call
            try:  # _outcome(fn, args), inlined: one Python call less per statement
                box[0] = (True, fn(*args), None)
            except GreenletExit:
                raise  # the fiber is being killed (abandoned mid-call, then collected)
            except BaseException as exc:  # noqa: B902 - re-raised by the driver
                box[0] = (True, None, exc)
            fn = args = call = None
            try:
                getcurrent().parent.switch()
            except BaseException:  # noqa: B902 - only a kill gets here (see end())
                return

    class Fiber(_Base):  # type: ignore[no-redef]
        __slots__ = ("_g",)

        def __init__(self) -> None:
            super().__init__()
            self._g = None
            self._box = [None]  # one slot (see above)

        def run(self, fn: Callable[..., Any], args: Tuple[Any, ...]) -> Tuple[bool, Any]:
            g = self._g
            box = self._box
            box[0] = (fn, args)
            self.in_call = True
            if g is None or g.dead:
                g = self._g = greenlet(_serve)
                g.parent = getcurrent()
                g.switch(box)
            else:
                me = getcurrent()
                if g.parent is not me:  # whoever drives it now gets control back
                    g.parent = me
                g.switch()
            got = box[0]
            box[0] = None
            done, value, exc = got  # _unpack(got), inlined but for an exception
            if exc is None:
                if done:
                    self.in_call = False
                return done, value
            return self._unpack(got)

        def switch(self) -> Tuple[bool, Any]:
            g = self._g
            me = getcurrent()
            if g.parent is not me:
                g.parent = me
            g.switch()
            box = self._box
            got = box[0]
            box[0] = None
            done, value, exc = got  # as in run()
            if exc is None:
                if done:
                    self.in_call = False
                return done, value
            return self._unpack(got)

        def suspend(self, value: Any) -> None:
            self._box[0] = (False, value, None)
            self._g.parent.switch()

        def end(self) -> None:
            # An idle fiber the collector finds is killed by greenlet: GreenletExit thrown in
            # at the switch above, whose greenlet 2.0.2 (Debian 12) sometimes loses on the
            # way (SystemError "returned NULL without setting an exception", reported as
            # unraisable). Ending it here, from its own thread, leaves nothing to kill; and
            # whatever the switch raises while idle ends the fiber quietly.
            g, self._g = self._g, None
            if g is not None and not g.dead and not self.in_call:
                self._box[0] = _END
                try:
                    g.parent = getcurrent()
                    g.switch()
                except (ValueError, error):  # another thread's fiber: the collector's
                    self._box[0] = None

        def renewed(self, first: Callable[[], Any]) -> "Fiber":
            # A suspended greenlet whose frames hold its Fiber (suspend's self) is a cycle
            # greenlet's collector never frees: the call's frames, their connection and its
            # server session would stay for good. Unwind the call now (GreenletExit at its
            # suspend), once first() made that safe (a closed connection: nothing the
            # unwinding code tries can wait).
            first()
            g, self._g = self._g, None
            if g is not None and not g.dead:
                try:
                    g.parent = getcurrent()
                    g.throw()
                except (ValueError, error):  # another thread's fiber: left to its thread
                    pass
            return Fiber()
