# SPDX-License-Identifier: MIT
"""What test_async_idle and test_async_socket share: a count of an AsyncConnection's loop
trips (each ``conn._step``: the call suspended on its fiber goes on after the event loop
woke the task)."""

from __future__ import annotations


class StepCount:
    """Counts ``conn._step`` calls from now on in ``n`` (set it to 0 to count afresh)."""

    def __init__(self, conn) -> None:
        self.n = 0
        step = conn._step

        def counting_step(*query):  # (a planned statement's QueryStep, if any)
            self.n += 1
            return step(*query)
        conn._step = counting_step
