# SPDX-License-Identifier: MIT
"""Connections dropped without close() give their server session back in time, on PyPy too
(where the collector frees them late): opening and dropping far more connections than the
server's max_connections never meets "too many clients" (issue 10, defect 11)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import PostPyro as pg


@pytest.fixture
def rounds(admin) -> int:
    """Well beyond the server's slots: a leak runs out of them within this many."""
    return int(admin.query_one("SHOW max_connections")[0]) + 50


def open_and_drop(dsn, rounds, cycle=False):
    for i in range(rounds):
        c = pg.Connection(dsn)
        assert c.query_one("SELECT 1")[0] == 1
        if cycle:
            c.itself = c  # only the cyclic collector can free it, on CPython too
        del c


def test_connections_dropped_without_close_never_exhaust_the_server(dsn, rounds):
    open_and_drop(dsn, rounds)


def test_dropped_connections_in_reference_cycles_are_reclaimed_when_slots_run_out(
        dsn, rounds, monkeypatch):
    # without the size hint: the retry after a collection alone must do it
    from PostPyro import _reclaim
    monkeypatch.setattr(_reclaim, "SESSION_SIZE", 16)
    open_and_drop(dsn, rounds, cycle=True)


def test_too_many_connections_still_raises_when_none_were_dropped(dsn, admin):
    slots = int(admin.query_one("SHOW max_connections")[0])
    held = []
    try:
        with pytest.raises(pg.OperationalError, match="too many clients|connection slots"):
            for _ in range(slots + 1):
                held.append(pg.Connection(dsn))
    finally:
        for c in held:
            c.close()


def test_a_dropped_connection_is_freed_while_this_thread_holds_cffis_lock(dsn):
    # The collector may free a handle while the same thread is inside cffi, holding its
    # non-reentrant lock: freeing must not need that lock (it hung before).
    code = textwrap.dedent("""
        import gc, sys
        import PostPyro as pg
        from PostPyro._ffi import ffi
        c = pg.Connection(sys.argv[1])
        with ffi._lock:
            del c
            gc.collect()
        print("freed")
    """)
    out = subprocess.run([sys.executable, "-c", code, dsn], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "freed", out.stderr
