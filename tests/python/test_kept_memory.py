# SPDX-License-Identifier: MIT
"""Memory PostPyro keeps while idle: a converted result stays in its buffer set for the
set's next statement to decode into (issue 20), but all such results together hold at most
``_result._KEEP_TOTAL`` bytes of decoded values (plus up to 8 x ``_KEEP_SMALL`` for results
too small to count), results of few but big values counted too."""

from __future__ import annotations

import gc

import PostPyro as pg
from PostPyro import _result
from PostPyro._ffi import ffi, lib

BIG_TEXT = "SELECT repeat('x', 40000) FROM generate_series(1, $1::int4) g"


BOUND = _result._KEEP_TOTAL + 8 * _result._KEEP_SMALL


def held_bytes() -> int:
    """Bytes of decoded values in the results the spare buffer sets hold, read through the
    C API (independent of PostPyro's own count)."""
    total = 0
    for buffers in list(_result._spare_buffers):
        res = buffers[2][0]
        if res == ffi.NULL:
            continue
        info = ffi.new("pp_result_info *")
        assert lib.pp_result_describe(res, info, ffi.NULL) == lib.PP_OK
        cols = ffi.new("pp_column[]", max(info.ncols, 1))
        assert lib.pp_result_columns(res, cols, ffi.NULL) == lib.PP_OK
        for k in range(info.ncols):
            total += cols[k].data_len
    return total


def test_a_few_rows_of_big_values_are_not_kept_while_idle(sdsn):
    # 1 000 values of 40 000 bytes: 40 MB, though only 1 000 values
    with pg.Connection(sdsn) as c:
        for _ in range(3):  # unnamed, cached, then known: read whole
            rows = c.query(BIG_TEXT, [1000])
        assert len(rows) == 1000 and len(rows[-1][0]) == 40000
        gc.collect()
        assert held_bytes() <= BOUND < 40_000_000
        assert _result.kept_bytes() <= _result._KEEP_TOTAL


def test_results_kept_by_several_buffer_sets_stay_within_the_total(sdsn):
    # four sets (as four threads, or nested statements, use) each given 12 MB of text
    with pg.Connection(sdsn) as c:
        arg = ffi.new("pp_value[1]")
        arg[0].tag = lib.PP_INT
        arg[0].oid = 23
        arg[0].i = 300
        sql = BIG_TEXT.encode()
        for _ in range(3):
            c.query(BIG_TEXT, [300])
        sets = [_result.take_buffers() for _ in range(4)]
        for buffers in sets:
            res = c._query(c._conn, sql, 1, arg, 0, buffers, _result._QUERY_COLS)
            result = _result.take_result(res, buffers, False, None)
            assert result.nrows == 300 and len(result.columns[0][0]) == 40000
        held = held_bytes()
        assert held <= BOUND
        assert held >= 12_000_000  # the first is kept: the next statement decodes into it
        assert _result.kept_bytes() >= held  # the count covers at least the values' bytes


def test_the_count_goes_down_when_a_set_runs_a_small_statement(sdsn):
    with pg.Connection(sdsn) as c:
        for _ in range(3):
            c.query(BIG_TEXT, [300])
        assert _result.kept_bytes() >= 12_000_000
        for _ in range(len(_result._spare_buffers) + 1):  # every spare set, in turn
            sets = [_result.take_buffers() for _ in range(len(_result._spare_buffers))]
            for buffers in sets:
                res = c._query(c._conn, b"SELECT 1", 0, ffi.NULL, 0, buffers,
                               _result._QUERY_COLS)
                _result.take_result(res, buffers, False, None)
        assert _result.kept_bytes() < 1_000_000
        assert held_bytes() < 1_000_000


def test_dropped_sets_are_no_longer_counted(sdsn):
    with pg.Connection(sdsn) as c:
        for _ in range(3):
            c.query(BIG_TEXT, [300])
        assert _result.kept_bytes() >= 12_000_000
        while _result._spare_buffers:
            _result._spare_buffers.pop()  # dropped: each frees the result it holds
        gc.collect()
        assert _result.kept_bytes() == 0


def test_a_known_plan_keeps_no_small_result_of_big_values(sdsn):
    # 10 values of 4 MB: few enough for a known plan's rows function (_fastrows), whose
    # results stay in their set uncounted, so it must leave these to the general way
    sql = "SELECT repeat('y', $2::int4) FROM generate_series(1, $1::int4) g"
    with pg.Connection(sdsn) as c:
        for _ in range(4):  # small ones first: the plan makes its rows function
            assert c.query(sql, [2, 10])[0][0] == "y" * 10
        assert c._plans[sql].fast is not None
        for _ in range(3):
            rows = c.query(sql, [10, 4_000_000])
            assert len(rows) == 10 and len(rows[-1][0]) == 4_000_000
        gc.collect()
        assert held_bytes() <= BOUND < 40_000_000


class _Col:
    data_len = 100_000  # a result counted (above _KEEP_SMALL), below _KEEP_TOTAL


def test_a_sets_destructor_inside_the_count_loses_nothing(monkeypatch):
    # A dropped set's destructor runs where the collector happens to be (any point of any
    # thread on PyPy): here inside another set's count, while it holds the count's lock.
    dropped = []

    class DropsInside(dict):
        def pop(self, *args):
            while dropped:
                dropped.pop()  # the last reference to b: its destructor runs ...
                gc.collect()  # (... now, on PyPy too)
            return dict.pop(self, *args)

    monkeypatch.setattr(_result, "_kept", DropsInside())  # the test's own count
    monkeypatch.setattr(_result, "_kept_total", 0)
    a, b = _result._new_buffers(), _result._new_buffers()
    assert _result._hold(b, [_Col()], 1, 1)  # b holds a counted result
    assert _result.kept_bytes() > 100_000
    dropped.append(b)
    del b
    assert _result._hold(a, [_Col()], 1, 1)
    assert _result.kept_bytes() == sum(_result._kept.values()) > 100_000
    _result._unhold(id(a[2]))
    assert _result.kept_bytes() == 0


def test_a_big_result_s_decoded_columns_go_before_its_rows_are_made(sdsn, monkeypatch):
    # A result too big to keep is freed once its values are converted, not after its rows
    # are made: its decoded columns (40 MB here) do not live on next to the rows (peak
    # memory of 1 000 000 rows x 5 text columns read whole: 710 -> 619 MB).
    freed = []

    class Spy:
        def __getattr__(self, name):
            return getattr(lib, name)

        def pp_result_free(self, res):
            freed.append(res)
            lib.pp_result_free(res)

    monkeypatch.setattr(_result, "lib", Spy())
    frees_seen = []

    def factory(names):  # called once per result, after its values are converted
        frees_seen.append(len(freed))
        return tuple

    with pg.Connection(sdsn, row_factory=factory) as c:
        for _ in range(3):  # unnamed, cached (both in chunks), then known: read whole
            before = len(freed)
            rows = c.query(BIG_TEXT, [1000])
            assert len(rows) == 1000 and rows[-1] == ("x" * 40000,)
        assert frees_seen[-1] == before + 1  # the whole result, freed before its rows
        assert len(freed) == before + 1
