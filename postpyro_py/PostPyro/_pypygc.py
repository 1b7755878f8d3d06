# SPDX-License-Identifier: MIT
"""PyPy: catching up, before a result's pause begins, on the major collections the earlier
pauses deferred (see _result._gc_paused).

On PyPy ``gc.disable()`` stops major collections only; minor ones go on. A big result
converted with them on pays PyPy's incremental major collection again and again: its
nursery (sized from the CPU cache, 1 MB on small machines) makes every value and row a
survivor, and with a small heap a major starts every 8–16 MB promoted, each marking the
result built so far. Paused, they would starve (nearly all minor collections fall inside
the pauses): so before each pause, once the heap has grown past the limit set at the last
catch-up, the major collection is run to its end here (before, not after: a result just
made is alive and would be marked whole; the one before is most likely garbage by the
next), and the next limit is set as PyPy
sets its own (1.82 x what is left, PYPY_GC_MAJOR_COLLECT) but at least _SLACK above it. The
heap thus grows at most _SLACK (or 82 %) past what is alive between these collections (plus
the result under way), never without bound; between pauses PyPy's own collections run.
"""

from __future__ import annotations

import gc
import os

# PyPy's GC statistics without their formatting (``gc.get_stats`` formats each number):
# 1 us a call. None elsewhere, or on a PyPy without it: then nothing is paused.
_stats = getattr(gc, "_get_stats", None)

_SLACK = 16 << 20


def _growth() -> float:
    """How far the heap may grow past what a major collection left: PyPy's own factor
    (PYPY_GC_MAJOR_COLLECT, read at start-up; 1.82 unless set)."""
    try:
        return max(1.0, float(os.environ.get("PYPY_GC_MAJOR_COLLECT", "1.82")))
    except ValueError:
        return 1.82


_GROWTH = _growth()
_limit = [0]  # the heap size (bytes) past which the next catch-up collects


def usable() -> bool:
    """Whether this interpreter gives what catch_up() needs."""
    if _stats is None:
        return False
    try:
        return _stats(False).total_gc_memory > 0
    except Exception:  # noqa: BLE001 - another PyPy's private API: do not pause
        return False


def catch_up() -> None:
    """Before a pause (the collector still on): run the deferred major collection to its
    end if the heap has grown past the limit; set the next limit."""
    used = _stats(False).total_gc_memory
    if used <= _limit[0]:
        return
    if _limit[0]:
        while not gc.collect_step().major_is_done:
            pass
        used = _stats(False).total_gc_memory
    _limit[0] = max(int(used * _GROWTH), used + _SLACK)
