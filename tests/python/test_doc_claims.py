# SPDX-License-Identifier: MIT
"""Claims of docs/types.md, docs/python-api.md and postpyro.h, run (issue 17 item 5)."""

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import PostPyro as pg
from PostPyro._ffi import lib


def text_path(conn, sql):
    # a string of two statements runs through the simple protocol: text results
    return conn.query("SELECT 1; " + sql)[0][0]


@pytest.fixture
def server_15(conn):
    if conn.info()["server_version"] < 150000:
        pytest.skip("PostgreSQL 15 changed how \"char\" prints bytes above 127")


def test_char_above_127_is_a_backslash_and_three_octal_digits(conn, server_15):
    sql = "SELECT (-56)::int::\"char\""
    assert conn.query_one(sql)[0] == "\\310"
    assert text_path(conn, sql) == "\\310"
    assert conn.query_one("SELECT ARRAY[(-56)::int::\"char\", 'a']")[0] == ["\\310", "a"]


def test_aware_datetimes_are_refused_for_timestamp_also_inside_lists(conn):
    aware = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=5)))
    for value in (aware, [aware], [[aware]]):
        kind = "timestamp[]" if isinstance(value, list) else "timestamp"
        with pytest.raises(pg.ProgrammingError, match=r"parameter \$1"):
            conn.query_one("SELECT $1::%s" % kind, [value])
    assert conn.query_one("SELECT $1::timestamptz[]", [[aware]])[0] == [aware]


@pytest.mark.parametrize("kind, limit", [("float8", 2**53), ("float4", 2**24)])
def test_ints_beyond_the_floats_exact_range_are_refused_never_rounded(conn, kind, limit):
    assert conn.query_one("SELECT $1::%s" % kind, [limit])[0] == limit
    for value in (limit + 1, 2**64, 2**70, -(2**80)):
        # within 64 bits DatatypeMismatch, beyond NumericValueOutOfRange (as types.md says)
        with pytest.raises((pg.errors.DatatypeMismatch, pg.errors.NumericValueOutOfRange),
                           match=r"parameter \$1: .*(cannot be held exactly|would lose "
                                 r"precision)"):
            conn.query_one("SELECT $1::%s" % kind, [value])
    # whole Decimals are checked the same way; fractions are the server's to round
    with pytest.raises(pg.errors.NumericValueOutOfRange, match=r"parameter \$1"):
        conn.query_one("SELECT $1::%s" % kind, [Decimal(limit + 1)])
    assert conn.query_one("SELECT $1::float8", [Decimal("1.00000000000000000001")])[0] == 1.0
    # an element of a list travels as text: the server rounds it
    assert conn.query_one("SELECT $1::float8[]", [[2**64]])[0] == [float(2**64)]


def test_copy_through_a_cursor_raises_and_rowcount_stays_minus_one(conn):
    conn.execute("CREATE TABLE c (a int)")
    cur = conn.cursor()
    for sql in ("COPY c FROM STDIN", "COPY c TO STDOUT"):
        with pytest.raises(pg.NotSupportedError, match="COPY API"):
            cur.execute(sql)
        assert cur.rowcount == -1
    assert conn.copy_records_to_table("c", [(1,), (2,)]) == 2


def test_box_arrays_with_several_elements(conn):
    sql = "SELECT '{(1,1),(0,0);(3,3),(2,2)}'::box[]"
    assert conn.query_one(sql)[0] == ["(1,1),(0,0)", "(3,3),(2,2)"]
    assert text_path(conn, sql) == ["(1,1),(0,0)", "(3,3),(2,2)"]
    # sent: as the array's text form (a str), as the docs say; a list is not a box[]
    assert conn.query_one("SELECT $1::box[]", ["{(1,1),(0,0);(3,3),(2,2)}"])[0] == \
        ["(1,1),(0,0)", "(3,3),(2,2)"]
    with pytest.raises(pg.DataError):
        conn.query_one("SELECT $1::box[]", [["(1,1),(0,0)", "(3,3),(2,2)"]])


def test_pp_is_closed_after_the_server_ended_the_session(conn, admin):
    pid = conn.info()["backend_pid"]
    assert admin.query_one("SELECT pg_terminate_backend($1)", [pid])[0] is True
    deadline = time.monotonic() + 10
    while admin.query_one("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [pid])[0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # nothing read yet: still 0, as the header says
    assert lib.pp_is_closed(conn._conn) == 0 and conn.is_closed() is False
    assert conn.ping() is False  # a call notices
    assert lib.pp_is_closed(conn._conn) == 1 and conn.is_closed() is True
    with pytest.raises(pg.InterfaceError, match="closed"):
        conn.query("SELECT 1")
