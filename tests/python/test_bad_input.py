# SPDX-License-Identifier: MIT
"""Bad input raises a PostPyro error (DataError for a value, ProgrammingError for SQL or the
connection string) naming the parameter, with the original exception as __cause__ — never a
plain UnicodeEncodeError, ValueError, RecursionError or TypeError (issue 10, defect 10)."""

from __future__ import annotations

import sys

import pytest

import PostPyro as pg
from PostPyro import types as pgtypes

SURROGATE = "\udcff"
BIG = 10 ** 5000


def deep_list(n):
    x = [1]
    for _ in range(n - 1):
        x = [x]
    return x


def deep_dict(n):
    x = {}
    for _ in range(n):
        x = {"a": x}
    return x


def _str_of_any_size(x: int) -> str:
    """str(x) beyond Python's 4300-digit limit (sys.set_int_max_str_digits, where it
    exists), for an expected value."""
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    if limit:
        sys.set_int_max_str_digits(0)
    try:
        return str(x)
    finally:
        if limit:
            sys.set_int_max_str_digits(limit)


@pytest.fixture
def t(conn):
    conn.execute("CREATE TABLE t (a int, j jsonb, n numeric)")
    return conn


# ---- SQL and the connection string ---------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda c: c.query("SELECT '%s'" % SURROGATE),
    lambda c: c.execute("SELECT '%s'" % SURROGATE),
    lambda c: c.execute_batch(["SELECT 1", "SELECT '%s'" % SURROGATE]),
    lambda c: c.executemany("SELECT $1::int, '%s'" % SURROGATE, [[1]]),
    lambda c: c.cursor().execute("SELECT '%s'" % SURROGATE),
    lambda c: c.prepare("SELECT '%s'" % SURROGATE),
    lambda c: list(c.stream("SELECT '%s'" % SURROGATE)),
    lambda c: c.copy("COPY t FROM STDIN -- %s" % SURROGATE).start(),
], ids=["query", "execute", "execute_batch", "executemany", "cursor", "prepare", "stream",
        "copy"])
def test_sql_with_a_lone_surrogate_raises_programming_error(t, call):
    with pytest.raises(pg.ProgrammingError) as info:
        call(t)
    assert "UTF-8" in str(info.value)
    assert isinstance(info.value.__cause__, UnicodeEncodeError)
    assert t.query_one("SELECT 1")[0] == 1


def test_connection_string_with_a_lone_surrogate_raises_programming_error(dsn):
    with pytest.raises(pg.ProgrammingError, match="UTF-8"):
        pg.Connection(dsn + " application_name=x" + SURROGATE)
    with pytest.raises(pg.ProgrammingError) as info:
        pg.connect(dsn, password="s3cret" + SURROGATE)
    assert "s3cret" not in str(info.value)  # and no cause that holds the whole string
    assert info.value.__cause__ is None


# ---- parameter values -------------------------------------------------------------------------

def test_a_lone_surrogate_in_a_str_parameter_names_the_parameter(conn):
    for params in ([1, SURROGATE], [1, [SURROGATE]]):
        with pytest.raises(pg.DataError, match=r"parameter \$2") as info:
            conn.query("SELECT $1::int, $2::text[]" if type(params[1]) is list
                       else "SELECT $1::int, $2::text", params)
        assert isinstance(info.value.__cause__, UnicodeEncodeError)


def test_a_lone_surrogate_in_executemany_and_copy_rows_names_the_parameter(conn):
    conn.execute("CREATE TABLE s (a int, b text)")
    rows = [[1, "ok"], [2, "x" + SURROGATE]]
    with pytest.raises(pg.DataError, match=r"parameter \$2") as info:
        conn.executemany("INSERT INTO s VALUES ($1, $2)", rows)
    assert isinstance(info.value.__cause__, UnicodeEncodeError)
    with pytest.raises(pg.DataError, match=r"COPY row 1, column 2") as info:
        conn.copy_records_to_table("s", rows)
    assert isinstance(info.value.__cause__, UnicodeEncodeError)
    assert conn.query_one("SELECT count(*) FROM s")[0] == 0


def test_a_huge_int_is_sent_exactly_as_numeric(t):
    assert t.query_one("SELECT $1::numeric::text", [BIG])[0] == "1" + "0" * 5000
    assert t.query_one("SELECT $1::numeric = 10::numeric ^ 5000", [BIG])[0] is True
    neg = -(7 ** 9000)
    expected = _str_of_any_size(neg)
    assert t.query_one("SELECT $1::numeric::text", [neg])[0] == expected
    assert t.query_one("SELECT ($1::numeric[])[2] = 10::numeric ^ 5000", [[1, BIG]])[0]
    t.executemany("INSERT INTO t (a, n) VALUES ($1, $2)", [[1, BIG], [2, 5]])
    t.copy_records_to_table("t", [(3, None, BIG)])
    assert t.query_one("SELECT count(*) FROM t WHERE n = 10::numeric ^ 5000")[0] == 2


def test_an_int_beyond_numeric_raises_data_error_naming_the_parameter(conn):
    with pytest.raises(pg.DataError, match=r"parameter \$2.*numeric"):
        conn.query("SELECT $1::int, $2::numeric", [1, 10 ** 200000])


@pytest.mark.parametrize("depth", [7, 1000])
def test_a_list_nested_too_deep_raises_data_error_naming_the_parameter(conn, depth):
    with pytest.raises(pg.DataError, match=r"parameter \$2: lists nested more than 6"):
        conn.query("SELECT $1::int, $2::int[]", [1, deep_list(depth)])


def test_a_list_nested_six_deep_is_an_array(conn):
    assert conn.query_one("SELECT array_ndims($1::int[])", [deep_list(6)])[0] == 6


@pytest.mark.parametrize("value", [
    {"a": object()},
    pg.Json([1, object()]),
    [{"a": {1, 2}}],
    [pg.Json(object())],
    deep_dict(100000),
], ids=["dict", "Json", "dict-in-array", "Json-in-array", "too-deep"])
def test_a_value_json_cannot_serialize_raises_data_error_naming_the_parameter(conn, value):
    sqltype = "jsonb[]" if type(value) is list else "jsonb"
    with pytest.raises(pg.DataError, match=r"parameter \$2") as info:
        conn.query("SELECT $1::int, $2::%s" % sqltype, [1, value])
    assert isinstance(info.value.__cause__, (TypeError, ValueError, RecursionError))
    assert conn.query_one("SELECT 1")[0] == 1


def test_bad_json_in_executemany_copy_and_stream_names_the_parameter(t):
    bad = {"a": object()}
    with pytest.raises(pg.DataError, match=r"parameter \$2") as info:
        t.executemany("INSERT INTO t (a, j) VALUES ($1, $2)", [[1, {}], [2, bad]])
    assert isinstance(info.value.__cause__, TypeError)
    with pytest.raises(pg.DataError, match=r"COPY row 1, column 2: parameter \$2") as info:
        t.copy_records_to_table("t", [(1, {}, None), (2, bad, None)])
    assert isinstance(info.value.__cause__, TypeError)
    with pytest.raises(pg.DataError, match=r"parameter \$1"):
        list(t.stream("SELECT $1::jsonb", [bad]))
    with pytest.raises(pg.DataError, match=r"parameter \$1"):
        t.cursor().execute("SELECT $1::jsonb", [bad])
    assert t.query_one("SELECT count(*) FROM t")[0] == 0


def test_a_dumper_that_raises_gives_data_error_naming_the_parameter(conn):
    class Money:
        pass

    def dump(x):
        raise ValueError("no amount")

    pgtypes.register_dumper(Money, dump)
    try:
        with pytest.raises(pg.DataError, match=r"parameter \$1.*Money.*no amount") as info:
            conn.query("SELECT $1::text", [Money()])
        assert isinstance(info.value.__cause__, ValueError)
    finally:
        pgtypes.register_dumper(Money, None)


# ---- names and COPY data ------------------------------------------------------------------------

def test_names_with_a_lone_surrogate_raise_data_error(t):
    with pytest.raises(pg.DataError, match="identifier"):
        t.copy_records_to_table("t" + SURROGATE, [(1, None, None)])
    with pytest.raises(pg.DataError, match="identifier"):
        t.copy_records_to_table("t", [(1,)], columns=["a" + SURROGATE])
    with t.begin() as tx:
        with pytest.raises(pg.DataError, match="identifier"):
            tx.savepoint("sp" + SURROGATE)
    assert t.query_one("SELECT 1")[0] == 1


def test_copy_data_with_a_lone_surrogate_raises_data_error(t):
    with pytest.raises(pg.DataError, match="COPY data"):
        with t.copy("COPY t (a) FROM STDIN") as cp:
            cp.write("1" + SURROGATE + "\n")
    with pytest.raises(pg.DataError, match="COPY data"):
        t.copy_from("t", ["1\n", "2" + SURROGATE + "\n"], columns=["a"])
    assert t.query_one("SELECT count(*) FROM t")[0] == 0
