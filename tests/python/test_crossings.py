# SPDX-License-Identifier: MIT
"""Calls into libpostpyro per statement (issue 20). cffi releases and retakes the GIL around
every C call, so under threads each call is a turn of the GIL: a small statement makes one
(pp_query_call frees the previous result and says the transaction status in the same
call), and the transaction bookkeeping that used to need a second call stays right."""

from __future__ import annotations

import collections
import gc
import sys
import threading

import pytest

import PostPyro as pg
from PostPyro import _ffi


class _Counting:
    """Stands in for cffi's lib in PostPyro's modules: counts the C calls made through it."""

    def __init__(self, real):
        self._real = real
        self.calls = collections.Counter()

    def __getattr__(self, name):
        value = getattr(self._real, name)
        if not callable(value):
            return value

        def call(*args):
            self.calls[name] += 1
            return value(*args)
        return call


@pytest.fixture
def counted(monkeypatch):
    # connections of earlier tests left in reference cycles (a traceback kept by
    # pytest.raises) are freed now, not inside the counted calls
    gc.collect()
    real = _ffi.lib
    counter = _Counting(real)
    for name, mod in list(sys.modules.items()):
        if name.startswith("PostPyro") and getattr(mod, "lib", None) is real:
            monkeypatch.setattr(mod, "lib", counter)
    return counter


def _runs(counted) -> int:
    """Statements run (pp_query_call: pp_query_pack with its buffers in one struct; or
    pp_query_run, the same with the statement's constants in one struct)."""
    return counted.calls["pp_query_call"] + counted.calls["pp_query_run"]


def test_small_statement_is_one_call(sdsn, counted):
    with pg.Connection(sdsn) as c:  # made after the patch: its partials count too
        c.query("SELECT $1::int4", [0])  # first run: prepared, buffers made
        c.query("SELECT $1::int4", [0])  # second: the plan's dump function made
        counted.calls.clear()
        for k in range(20):
            assert c.query("SELECT $1::int4", [k]) == [(k,)]
            assert c.query_one("SELECT $1::text || 'x'", ["a"])[0] == "ax"
            assert c.execute("SELECT 1") == 1
        # known plan or not: pp_query_call (pp_query_reuse packing the facts, 6 arguments),
        # or pp_query_run (4) for a known plan whose ints went into the buffer set's array
        assert counted.calls == {"pp_query_run": 20, "pp_query_call": 40}


def test_large_result_is_freed_at_once(sdsn, counted):
    # more bytes than are kept for the next statement to reuse (40 MB of text)
    sql = "SELECT repeat('x', 20000) FROM generate_series(1, 2000) g"
    with pg.Connection(sdsn) as c:
        for _ in range(2):  # the first runs come in chunks, each freed once converted
            c.query(sql)
        counted.calls.clear()
        assert len(c.query(sql)) == 2000
        # (only these two: PyPy's collector may free other tests' connections meanwhile)
        assert (_runs(counted), counted.calls["pp_result_free"]) == (1, 1)


def test_mid_size_result_is_kept_for_the_next_statement(sdsn, counted):
    # 10 000 values: the next pp_query_reuse decodes into its column memory, then frees it
    sql = "SELECT g, g * 2 FROM generate_series(1, $1::int4) g"
    with pg.Connection(sdsn) as c:
        for _ in range(2):  # the first runs come in chunks, each freed once converted
            c.query(sql, [5000])
        counted.calls.clear()
        for n in (5000, 4000):
            rows = c.query(sql, [n])
            assert len(rows) == n and rows[-1] == (n, 2 * n)
        assert (_runs(counted), counted.calls["pp_result_free"]) == (2, 0)


def test_raw_begin_still_makes_the_connection_the_threads(sdsn, counted):
    # the status now comes from pp_query_call; another thread still waits for the
    # transaction a raw BEGIN opened
    with pg.Connection(sdsn) as c:
        c.execute("BEGIN")
        assert c.transaction_status == "intransaction"
        assert "pp_transaction_status" not in counted.calls
        done = threading.Event()
        th = threading.Thread(target=lambda: (c.query("SELECT 1"), done.set()))
        th.start()
        assert not done.wait(0.5)  # waits for this thread's transaction
        c.execute("COMMIT")
        th.join(10)
        assert done.is_set()


def test_failed_statement_in_transaction_keeps_owner(sdsn):
    with pg.Connection(sdsn) as c:
        c.execute("BEGIN")
        with pytest.raises(pg.DataError):
            c.query("SELECT 1/0")
        assert c.transaction_status == "inerror"
        assert c._lock.owner is threading.current_thread()
        c.execute("ROLLBACK")
        assert c._lock.owner is None


def test_dropped_buffer_sets_free_their_result(sdsn):
    # A result left in a buffer set is freed when the set is dropped (more sets than spares
    # are kept: nested statements of loaders, many threads). Under valgrind / ASan a leak
    # or a double free here shows.
    from PostPyro import _result
    with pg.Connection(sdsn) as c:
        sets = [_result.take_buffers() for _ in range(20)]
        for b in sets:
            res = c._query(c._conn, b"SELECT 1", 0, _ffi.ffi.NULL, 0, b, _result._QUERY_COLS)
            assert res == b[2][0]
        held = [b[2][0] for b in sets]
        assert all(p != _ffi.ffi.NULL for p in held)
        del sets, b
        gc.collect()
        assert c.query("SELECT 2") == [(2,)]
