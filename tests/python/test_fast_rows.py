# SPDX-License-Identifier: MIT
"""The rows function a known plan makes for its small results (_fastrows, issue 20): the
same rows as the general conversion, and the general conversion again whenever the result
is not one it was made for (a column's type changed with the same names, NULLs, more rows,
no rows, a loader registered since, another row factory)."""

from __future__ import annotations

import datetime
import hashlib
import uuid
from decimal import Decimal

import pytest

import PostPyro as pg
from PostPyro import Range
from PostPyro.rows import tuple_row


def _made(c, sql):
    """Whether the plan of ``sql`` has its rows function (so the next run takes it)."""
    return c._plans[sql].fast is not None


def test_column_type_changed_under_the_same_name(sdsn):
    with pg.Connection(sdsn) as c:
        c.execute("CREATE TABLE t (a int)")
        c.execute("INSERT INTO t VALUES (1)")
        sql = "SELECT a FROM t"
        assert c.query(sql) == [(1,)]
        assert c.query(sql) == [(1,)]
        assert _made(c, sql)
        c.execute("ALTER TABLE t ALTER a TYPE text")
        assert c.query(sql) == [("1",)]
        assert c.query(sql) == [("1",)]


def test_column_renamed_with_the_same_type(sdsn):
    # pp_query_pack's facts match but for the names' hash: the rows get the new name
    with pg.Connection(sdsn) as c:
        c.execute("CREATE TABLE t (a int, b int)")
        c.execute("INSERT INTO t VALUES (1, 2)")
        sql = "SELECT * FROM t"
        for _ in range(3):
            assert c.query(sql)[0].to_dict() == {"a": 1, "b": 2}
        assert _made(c, sql)
        c.execute("ALTER TABLE t RENAME a TO c")
        for _ in range(3):
            assert c.query(sql)[0].to_dict() == {"c": 1, "b": 2}


def test_int_columns_of_a_known_plan_with_and_without_nulls(sdsn):
    # the int values cut from pp_query_pack's array (no NULL), the columns read one by one
    # (a NULL): the same rows, of 1 to 400 rows
    sql = ("SELECT g, g::int8 * 1000000000000 AS big, -g::int2 AS small, "
           "CASE WHEN g % $2 = 0 THEN NULL ELSE g END AS maybe "
           "FROM generate_series(1, $1::int4) g")
    with pg.Connection(sdsn) as c:
        for n in (1, 2, 7, 400, 1, 3):
            for every in (n + 1, 2, n + 1):
                rows = c.query(sql, [n, every])
                assert rows == [(g, g * 10 ** 12, -g, None if g % every == 0 else g)
                                for g in range(1, n + 1)]
                assert rows[-1].keys() == ["g", "big", "small", "maybe"]
        assert _made(c, sql)


def test_text_column_becomes_a_type_with_a_loader(sdsn):
    # both come as text (tag PP_TEXT): only the type OID tells the range from the str
    with pg.Connection(sdsn) as c:
        c.execute("CREATE TABLE t (r text)")
        c.execute("INSERT INTO t VALUES ('[1,5)')")
        sql = "SELECT r FROM t"
        assert c.query(sql) == [("[1,5)",)]
        assert c.query(sql) == [("[1,5)",)]
        assert _made(c, sql)
        c.execute("ALTER TABLE t ALTER r TYPE int4range USING r::int4range")
        assert c.query(sql) == [(Range(1, 5, "[)"),)]
        assert c.query(sql) == [(Range(1, 5, "[)"),)]


def test_nulls_in_any_column_of_a_known_plan(sdsn):
    with pg.Connection(sdsn) as c:
        sql = "SELECT $1::int4 AS i, $2::text AS t, $3::bool AS b, $4::numeric AS n"
        assert c.query(sql, [1, "x", True, Decimal("1.5")]) == [(1, "x", True, Decimal("1.5"))]
        assert c.query(sql, [2, "y", False, Decimal("2")]) == [(2, "y", False, Decimal("2"))]
        assert _made(c, sql)
        assert c.query(sql, [None, "z", True, Decimal(3)]) == [(None, "z", True, Decimal(3))]
        assert c.query(sql, [4, None, None, None]) == [(4, None, None, None)]
        assert c.query(sql, [5, "w", True, None])[0].to_dict() == {
            "i": 5, "t": "w", "b": True, "n": None}


def test_more_rows_no_rows_and_back(sdsn):
    with pg.Connection(sdsn) as c:
        sql = "SELECT i, i::text AS s FROM generate_series(1, $1) i"
        assert c.query(sql, [3]) == [(1, "1"), (2, "2"), (3, "3")]
        assert c.query(sql, [3]) == [(1, "1"), (2, "2"), (3, "3")]
        assert _made(c, sql)
        big = c.query(sql, [700])
        assert len(big) == 700 and big[-1] == (700, "700") and big[-1]["s"] == "700"
        assert c.query(sql, [0]) == []
        rows = c.query(sql, [2])
        assert rows == [(1, "1"), (2, "2")] and rows[1].keys() == ["i", "s"]


def test_bigger_results_between_small_ones_of_a_known_plan(sdsn):
    # a result of more rows than the function takes (its int values packed, or too many to
    # pack) goes the general way, and the function stays for the small ones after it
    sql = "SELECT g, g::int8 * 2 AS d FROM generate_series(1, $1::int4) g"
    with pg.Connection(sdsn) as c:
        c.query(sql, [3])
        c.query(sql, [3])
        fast = c._plans[sql].fast
        assert fast is not None
        for n in (1000, 3, 600, 5, 2000, 1, 499, 500, 2):
            rows = c.query(sql, [n])
            assert rows == [(g, 2 * g) for g in range(1, n + 1)]
            assert rows[-1]["d"] == 2 * n
            assert c._plans[sql].fast is fast


def test_loader_registered_after_the_function_was_made(sdsn):
    with pg.Connection(sdsn) as c:
        sql = "SELECT $1::int4 AS n, $2::text AS t"
        assert c.query(sql, [1, "a"]) == [(1, "a")]
        assert c.query(sql, [1, "a"]) == [(1, "a")]
        assert _made(c, sql)
        c.adapters.register_loader("int4", lambda v: v * 10)
        c.adapters.register_loader("text", str.upper)
        assert c.query(sql, [2, "b"]) == [(20, "B")]
        assert c.query(sql, [3, "c"]) == [(30, "C")]
        c.adapters.register_loader("int4", None)
        c.adapters.register_loader("text", None)
        assert c.query(sql, [4, "d"]) == [(4, "d")]
        assert c.query(sql, [5, "e"]) == [(5, "e")]
        assert _made(c, sql)


def test_global_loader_registered_after_the_function_was_made(sdsn):
    with pg.Connection(sdsn) as c:
        sql = "SELECT $1::int8 AS n"
        assert c.query(sql, [1]) == [(1,)]
        assert c.query(sql, [1]) == [(1,)]
        pg.register_loader("int8", str)
        try:
            assert c.query(sql, [2]) == [("2",)]
        finally:
            pg.register_loader("int8", None)
        assert c.query(sql, [3]) == [(3,)]


def test_values_of_every_kind_on_a_known_plan(sdsn):
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    ts = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    real = float.fromhex("0x1.99999ap-4")  # float4's 0.1, exactly
    with pg.Connection(sdsn) as c:
        c.execute("SET TIME ZONE 'UTC'")
        sql = ("SELECT 1::int8, 2.5::float8, 0.1::float4, true, 'é'::text, '\\x0001'::bytea, "
               "1.50::numeric, '%s'::uuid, '2024-01-02 03:04:05+00'::timestamptz, "
               "ARRAY[1, NULL, 3], '{\"a\": 1}'::jsonb, NULL::int4, '2024-01-02'::date, "
               "'03:04:05'::time, '2024-01-02 03:04:05'::timestamp, '1 day 2 hours'::interval, "
               "'[1,5)'::int4range, '1.1.1.1'::inet" % u)
        interval = c.query_one("SELECT '1 day 2 hours'::interval")[0]
        want = (1, 2.5, real, True, "é", b"\x00\x01", Decimal("1.50"), u, ts, [1, None, 3],
                {"a": 1}, None, datetime.date(2024, 1, 2), datetime.time(3, 4, 5),
                datetime.datetime(2024, 1, 2, 3, 4, 5), interval,
                Range(1, 5, "[)"), "1.1.1.1")
        first = c.query(sql)[0]
        assert first == want
        for _ in range(3):
            row = c.query(sql)[0]
            assert row == want
            assert [type(v) for v in row] == [type(v) for v in first]
        assert _made(c, sql)


def test_text_columns_of_a_known_plan_keep_their_values(sdsn):
    # CPython decodes a small result's loader-less text columns together (one split): each
    # column must get its own values, NULLs, empty strings and all, whatever the others hold
    sql = ("SELECT g AS i, CASE WHEN g = $2 THEN NULL ELSE $1 || g END AS a, "
           "(CASE WHEN g % 2 = 0 THEN '' ELSE 'é€😀 ' || g END)::varchar AS b, "
           "repeat(chr(1) || chr(127) || chr(255), g)::text AS c, "
           "CASE WHEN g = $3 THEN NULL ELSE 'x' END AS d, "
           "'[1,2)'::int4range AS r FROM generate_series(1, $4::int4) g")

    def want(prefix, null_a, null_d, n):
        return [(g, None if g == null_a else prefix + str(g),
                 "" if g % 2 == 0 else "é€😀 %d" % g, "\x01\x7fÿ" * g,
                 None if g == null_d else "x", Range(1, 2, "[)")) for g in range(1, n + 1)]
    with pg.Connection(sdsn) as c:
        for params in ([" v", 0, 0, 3], ["", 0, 0, 3], ["a\nb\tc", 0, 0, 3],
                       [" v", 2, 0, 3], [" v", 0, 3, 3], [" v", 1, 1, 1], [" v", 0, 0, 40],
                       ["ü", 5, 7, 10], [" v", 0, 0, 3]):
            assert c.query(sql, params) == want(*params)
        assert _made(c, sql)
        # only text columns, one of them all NULL, one row and several
        sql = "SELECT $1::text AS a, NULL::text AS b, '' AS c FROM generate_series(1, $2::int4)"
        for n in (1, 1, 1, 5, 1):
            assert c.query(sql, ["é", n]) == [("é", None, "")] * n
        assert _made(c, sql)


def test_numeric_and_uuid_columns_of_a_known_plan_keep_their_values(sdsn):
    # CPython decodes a small result's numeric columns with its text columns (one split),
    # and cuts a uuid column's values from one copy of its data: each gets its own values,
    # special values, NULLs and all, one row and several
    sql = ("SELECT (ARRAY['-12.500', 'NaN', 'Infinity', '-Infinity', '0', "
           "'0.00000000000000000001', '123456789012345678901234567890.5'])"
           "[1 + (g + $1) % 7]::numeric AS a, "
           "'t' || g AS t, CASE WHEN g = $2 THEN NULL ELSE g / 4.0 END AS b, "
           "g AS i, CASE WHEN g = $2 + 1 THEN NULL ELSE md5(g::text)::uuid END AS u "
           "FROM generate_series(1, $3::int4) g")
    vals = ["-12.500", "NaN", "Infinity", "-Infinity", "0", "1E-20",
            "123456789012345678901234567890.5"]

    def want(shift, null_b, n):
        return [(vals[(g + shift) % 7], "t%d" % g,
                 None if g == null_b else Decimal(g) / 4, g,
                 None if g == null_b + 1 else uuid.UUID(hashlib.md5(b"%d" % g).hexdigest()))
                for g in range(1, n + 1)]

    def got(rows):
        return [(str(a), t, b, i, u) for a, t, b, i, u in rows]
    with pg.Connection(sdsn) as c:
        for params in ([0, 0, 1], [1, 0, 1], [2, 0, 1], [0, 1, 1], [3, 0, 9], [0, 4, 9],
                       [5, 0, 1], [6, 0, 3], [0, 0, 1]):
            rows = c.query(sql, params)
            assert got(rows) == want(*params)
            assert all(type(r[0]) is Decimal for r in rows)
            assert all(type(r[4]) is uuid.UUID for r in rows if r[4] is not None)
        assert _made(c, sql)


def test_row_factory_and_wide_results(sdsn):
    with pg.Connection(sdsn) as c:
        sql32 = "SELECT " + ", ".join("%d AS c%d" % (k, k) for k in range(32))
        sql33 = "SELECT " + ", ".join("%d AS c%d" % (k, k) for k in range(33))
        for _ in range(3):
            assert c.query(sql32)[0] == tuple(range(32))
            assert c.query(sql33)[0]["c32"] == 32
        assert _made(c, sql32) and not _made(c, sql33)
        c.row_factory = tuple_row
        assert type(c.query(sql32)[0]) is tuple
        c.row_factory = None
        assert c.query(sql32)[0]["c31"] == 31


# ---- the plan's parameter dumper ----------------------------------------------------------


def test_parameter_types_change_on_a_known_plan(sdsn):
    import enum

    class Color(enum.IntEnum):
        RED = 7

    with pg.Connection(sdsn) as c:
        sql = "SELECT $1::int8 AS a, $2::text AS b"
        assert c.query(sql, [1, "x"]) == [(1, "x")]
        assert c.query(sql, (2, "y")) == [(2, "y")]
        assert c._plans[sql].dump is not None
        assert c.query(sql, [None, "z"]) == [(None, "z")]
        assert c.query(sql, [Color.RED, None]) == [(7, None)]
        assert c.query(sql, ["42", "w"]) == [(42, "w")]
        assert c.query(sql, [3, "v"]) == [(3, "v")]


def test_int_beyond_int64_on_a_known_plan(sdsn):
    with pg.Connection(sdsn) as c:
        sql = "SELECT $1::numeric"
        assert c.query(sql, [1]) == [(Decimal(1),)]
        assert c.query(sql, [2]) == [(Decimal(2),)]
        assert c.query(sql, [2 ** 70]) == [(Decimal(2 ** 70),)]
        assert c.query(sql, [-2 ** 63]) == [(Decimal(-2 ** 63),)]


def test_int_parameters_of_a_known_plan_in_the_buffer_sets_array(sdsn):
    # up to _INT_PARAMS ints alone go into the buffer set's pre-tagged pp_value array; a
    # None, a bigger int, another type or more parameters take the general way, and the
    # array's values never leak into another statement's
    from PostPyro import _fastrows, _result
    n = _fastrows._INT_PARAMS
    many = "SELECT " + ", ".join("$%d::int8" % (k + 1) for k in range(n))
    more = "SELECT " + ", ".join("$%d::int8" % (k + 1) for k in range(n + 1))
    with pg.Connection(sdsn) as c:
        for k in range(3):
            assert c.query(many, list(range(k, k + n))) == [tuple(range(k, k + n))]
            assert c.query("SELECT $1::int4, $2::int8", [k, -k]) == [(k, -k)]
            assert c.query(more, list(range(n + 1))) == [tuple(range(n + 1))]
            assert c.query(many, [None] + list(range(1, n))) == [(None,) + tuple(range(1, n))]
            assert c.query("SELECT $1::int8", [-2 ** 63]) == [(-2 ** 63,)]
            with pytest.raises(pg.DataError):
                c.query("SELECT $1::int8", [2 ** 63])
            assert c.query("SELECT $1::numeric", [2 ** 63]) == [(Decimal(2 ** 63),)]
            assert c.query("SELECT $1::int8", ["5"]) == [(5,)]
            assert c.query("SELECT $1::bool", [True]) == [(True,)]
            with pytest.raises(pg.DataError):  # refused on the server, the int ok
                c.query("SELECT $1::int2", [2 ** 20])
        # the arrays of the spare sets still hold PP_INT everywhere
        for buffers in _result._spare_buffers:
            ints = buffers[6]
            assert all(v.tag == pg._ffi.lib.PP_INT for v in ints[1:])


def test_refused_parameter_on_a_known_plan_says_why(sdsn):
    with pg.Connection(sdsn) as c:
        sql = "SELECT $1::text"
        assert c.query(sql, ["a"]) == [("a",)]
        assert c.query(sql, ["b"]) == [("b",)]
        try:
            c.query(sql, ["a\0b"])
        except pg.DataError as exc:
            assert "$1" in str(exc)
        else:
            raise AssertionError("a NUL in a str was sent")
        assert c.query(sql, ["c"]) == [("c",)]


def test_dumper_registered_after_the_function_was_made(sdsn):
    with pg.Connection(sdsn) as c:
        sql = "SELECT $1::int8"
        assert c.query(sql, [1]) == [(1,)]
        assert c.query(sql, [1]) == [(1,)]
        c.adapters.register_dumper(int, lambda x: str(x * 2))
        assert c.query(sql, [5]) == [(10,)]
        c.adapters.register_dumper(int, None)
        assert c.query(sql, [5]) == [(5,)]
        assert c.query(sql, [6]) == [(6,)]


def test_parameter_count_changes_on_a_known_plan(sdsn):
    with pg.Connection(sdsn) as c:
        sql = "SELECT $1::int4"
        assert c.query(sql, [1]) == [(1,)]
        assert c.query(sql, [1]) == [(1,)]
        try:
            c.query(sql, [1, 2])
        except pg.ProgrammingError:
            pass
        else:
            raise AssertionError("two parameters for one were accepted")
        assert c.query(sql, [3]) == [(3,)]


def test_optional_parameters_keep_the_plans_dumper(sdsn):
    with pg.Connection(sdsn) as c:
        sql = "SELECT $1::int8 AS a, $2::text AS b"
        assert c.query(sql, [1, "x"]) == [(1, "x")]
        assert c.query(sql, [2, "y"]) == [(2, "y")]
        dump = c._plans[sql].dump
        assert dump is not None
        for k in range(3):
            assert c.query(sql, [None, "z"]) == [(None, "z")]
            assert c.query(sql, [k, None]) == [(k, None)]
            assert c.query(sql, [None, None]) == [(None, None)]
        assert c._plans[sql].dump is dump
