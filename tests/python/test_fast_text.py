# SPDX-License-Identifier: MIT
"""A plan's rows function reading a small result's text from pp_query_pack's array (the
PP_TEXT and PP_NUMERIC columns' data after the int values, with its byte count T): the same
rows as the general conversion, wide and narrow, one row and several, and the columns read
one by one when T says the text did not fit (-1)."""

from __future__ import annotations

import sys
from decimal import Decimal

import pytest

import PostPyro as pg
from PostPyro import _planned

pytestmark = pytest.mark.skipif(sys.implementation.name == "pypy",
                                reason="CPython's path: PyPy reads each column (_fastrows)")


def _wide_sql(ncols):
    cols = []
    for k in range(ncols):
        if k % 4 == 1:
            cols.append("g + %d AS c%d" % (k, k))
        elif k % 4 == 3:
            cols.append("CASE WHEN g %% 3 = 0 THEN '' ELSE 'é%d ' || g END AS c%d" % (k, k))
        else:
            cols.append("'v%d ' || (g + %d) AS c%d" % (k, k, k))
    return "SELECT %s FROM generate_series(1, $1::int4) g" % ", ".join(cols)


def _want(ncols, n):
    def value(k, g):
        if k % 4 == 1:
            return g + k
        if k % 4 == 3:
            return "" if g % 3 == 0 else "é%d %d" % (k, g)
        return "v%d %d" % (k, g + k)
    return [tuple(value(k, g) for k in range(ncols)) for g in range(1, n + 1)]


@pytest.mark.parametrize("ncols", [1, 2, 5, 20, 32])
def test_text_and_ints_of_a_known_plan_from_the_pack(sdsn, ncols):
    sql = _wide_sql(ncols)
    with pg.Connection(sdsn) as c:
        for n in (1, 1, 2, 1, 30, 3, 1, min(499, 1024 // ncols), 1):
            assert c.query(sql, [n]) == _want(ncols, n)
            fast = c._plans[sql].fast
            if fast is not None:  # the same rows again, not None (the general way)
                info, cols, out, err, pack, call, ints = _last_set()
                assert fast(info, cols, pack, call) == _want(ncols, n)
        assert c._plans[sql].fast is not None


def _last_set():
    return _planned._spare_buffers[-1]


def test_text_that_did_not_fit_is_read_from_the_columns(sdsn):
    # T -1 (the text did not fit after the int values): the function goes on to read each
    # column's data, and makes the same rows; a T that does not match the text: None (the
    # general way then says what is wrong)
    sql = ("SELECT g AS i, 'a' || g AS a, (g / 4.0)::numeric AS n, 'é' || g AS b "
           "FROM generate_series(1, $1::int4) g")
    with pg.Connection(sdsn) as c:
        for n in (1, 3):
            for _ in range(3):
                rows = c.query(sql, [n])
            want = [(g, "a%d" % g, Decimal(g) / 4, "é%d" % g) for g in range(1, n + 1)]
            assert rows == want
            fast = c._plans[sql].fast
            info, cols, out, err, (pack, text), call, ints = _last_set()
            at = 5 + 4 * 4 + n  # T: after the facts and the int column's values
            tot = pack[at]
            assert tot == cols[1].data_len + cols[2].data_len + cols[3].data_len
            assert fast(info, cols, (pack, text), call) == want  # as it was
            pack[at] = -1
            assert fast(info, cols, (pack, text), call) == want  # from the columns
            pack[at] = tot - 1  # the last NUL left out
            assert fast(info, cols, (pack, text), call) is None
            pack[at] = tot
            assert fast(info, cols, (pack, text), call) == want


@pytest.mark.parametrize("expr, want", [
    ("''", lambda g: ""), ("'é€😀 ' || g", lambda g: "é€😀 %d" % g),
    ("(g / 4.0)::numeric", lambda g: Decimal(g) / 4),
    ("'NaN'::numeric", lambda g: Decimal("NaN"))])
def test_one_text_value_a_row_of_a_known_plan(sdsn, expr, want):
    # one row of one text or numeric value, with ints around it: its text without a split
    sql = "SELECT g AS i, %s AS v, -g AS j FROM generate_series(1, $1::int4) g" % expr
    with pg.Connection(sdsn) as c:
        for n in (1, 1, 1, 2, 1):
            rows = c.query(sql, [n])
            fast = c._plans[sql].fast
            if fast is not None:
                info, cols, out, err, pack, call, ints = _last_set()
                rows = fast(info, cols, pack, call)
            got = [(i, str(v) if v != v else v, j) for i, v, j in rows]
            assert got == [(g, "NaN" if want(g) != want(g) else want(g), -g)
                           for g in range(1, n + 1)]
        assert c._plans[sql].fast is not None
