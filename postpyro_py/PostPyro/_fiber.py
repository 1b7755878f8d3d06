# SPDX-License-Identifier: MIT
"""Running the sync front end's code on an event loop without copying it.

The async front end runs a sync method (``Connection.query``, ``Transaction.commit``,
``Copy.write_rows``, …) on a *fiber*: where that code waits for the server (its one seam,
``Connection._wait``), the fiber switches back to the coroutine that drives it, which awaits
the socket the event loop's way and switches in again. So plans, parameters, results,
transactions, COPY and streams live once, and the front ends differ only in how they wait.

A fiber is a greenlet on CPython (Debian's python3-greenlet) and PyPy's built-in continulet
on PyPy (where a CPython greenlet module found on the path would not load).
"""

from __future__ import annotations

from typing import Any, Callable, Tuple

__all__ = ["Fiber"]

try:
    from _continuation import continulet  # PyPy
except ImportError:
    continulet = None
    from greenlet import getcurrent, greenlet


if continulet is not None:

    class Fiber:
        """``fn(*args)`` run so that :meth:`suspend` inside it returns to the caller of
        :meth:`switch`."""

        __slots__ = ("_c",)

        def __init__(self, fn: Callable[..., Any], args: Tuple[Any, ...]) -> None:
            self._c = continulet(lambda c: fn(*args))

        def switch(self) -> Tuple[bool, Any]:
            """Run until the function suspends (False, the value it gave) or returns (True,
            its result); its exception propagates."""
            c = self._c
            value = c.switch()
            return not c.is_pending(), value

        def suspend(self, value: Any) -> None:
            """(Inside the fiber.) Give ``value`` to the caller of switch(); returns at the
            next switch()."""
            self._c.switch(value)

else:

    class Fiber:  # type: ignore[no-redef]
        __slots__ = ("_g",)

        def __init__(self, fn: Callable[..., Any], args: Tuple[Any, ...]) -> None:
            self._g = greenlet(lambda: fn(*args))

        def switch(self) -> Tuple[bool, Any]:
            g = self._g
            g.parent = getcurrent()  # whoever drives it now gets control back
            value = g.switch()
            return g.dead, value

        def suspend(self, value: Any) -> None:
            self._g.parent.switch(value)
