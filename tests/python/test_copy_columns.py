"""COPY rows sent column by column (pp_copy_put_columns): which chunks take that path, NULLs
in every kind of column, unicode, the fallback to pp_value rows, and errors."""

from __future__ import annotations

import enum
from decimal import Decimal

import pytest

import PostPyro as pg
from PostPyro import copy as pp_copy


def copy_records(conn, *args, **kwargs):
    """copy.copy_records_to_table(conn, …) on either front end (an AsyncConnection behind
    the test facade runs it with its Connection code, on its fiber)."""
    run = getattr(type(conn), "run_on_engine", None)
    if run is not None:
        return conn.run_on_engine(pp_copy.copy_records_to_table, *args, **kwargs)
    return pp_copy.copy_records_to_table(conn, *args, **kwargs)


FORMATS = ["binary", "text"]


@pytest.fixture
def paths(monkeypatch):
    """The layout each chunk got: True for columns, False for pp_value rows."""
    seen = []
    layout = pp_copy.layout_rows

    def spy(*args):
        laid = layout(*args)
        seen.append(laid[0])
        return laid

    monkeypatch.setattr(pp_copy, "layout_rows", spy)
    return seen


@pytest.fixture
def kinds(conn):
    conn.execute("CREATE TABLE kinds (k int8, i int8, b bool, f float8, s text, n int4)")
    return conn


def table(conn, name="kinds"):
    return [tuple(r) for r in conn.query("SELECT * FROM %s ORDER BY 1" % name)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_exact_int_bool_float_str_columns_go_by_columns(kinds, paths, fmt):
    rows = [(k, -k * 10 ** 12, k % 2 == 0, k / 4, "v%d" % k, None) for k in range(500)]
    assert copy_records(kinds, "kinds", rows, chunk_rows=200,
                                         format=fmt) == 500
    assert paths == [True, True, True]
    assert table(kinds) == rows


@pytest.mark.parametrize("fmt", FORMATS)
def test_nulls_in_each_kind_of_column(kinds, paths, fmt):
    rows = [(0, None, True, 0.5, "a", None),
            (1, 7, None, -0.0, "", None),
            (2, -2 ** 63, False, None, "\\N", None),
            (3, 2 ** 63 - 1, True, float("inf"), None, None),
            (4, None, None, None, None, None)]
    assert kinds.copy_records_to_table("kinds", rows, format=fmt) == len(rows)
    assert paths == [True]
    got = table(kinds)
    assert got == rows
    assert str(got[1][3]) == "-0.0"


@pytest.mark.parametrize("fmt", FORMATS)
def test_nan_and_infinities(kinds, fmt):
    rows = [(k, None, None, f, None, None)
            for k, f in enumerate([float("nan"), float("-inf"), 1e308, 5e-324])]
    kinds.copy_records_to_table("kinds", rows, format=fmt)
    got = [r[3] for r in table(kinds)]
    assert got[0] != got[0] and got[1:] == [float("-inf"), 1e308, 5e-324]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unicode_and_special_characters_in_text(kinds, paths, fmt):
    texts = ["é ✓ 𝄞", "日本語", "\U0001F40D snake", "tab\there", "new\nline", "back\\slash",
             "cr\rhere", "\\N", "", "a\\tb", "trailing\\", "quote ' \" ,", "\u00a0nbsp",
             "x" * 10000]
    rows = [(k, None, None, None, s, None) for k, s in enumerate(texts)]
    assert kinds.copy_records_to_table("kinds", rows, format=fmt) == len(rows)
    assert paths == [True]
    assert [r[4] for r in table(kinds)] == texts


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_table_by_columns_and_by_rows(conn, monkeypatch, fmt):
    conn.execute("CREATE TABLE a (k int4, i int8, b bool, f float8, s text, n int4)")
    conn.execute("CREATE TABLE b (LIKE a)")
    rows = [(k, None if k % 7 == 3 else k * 1000003, None if k % 5 == 1 else k % 3 == 0,
             None if k % 11 == 2 else k * 0.1, None if k % 4 == 0 else "t\t%dé" % k, None)
            for k in range(3000)]
    copy_records(conn, "a", rows, chunk_rows=700, format=fmt)
    monkeypatch.setattr(pp_copy, "COLUMNS", False)
    copy_records(conn, "b", rows, chunk_rows=700, format=fmt)
    assert table(conn, "a") == table(conn, "b") == rows


def test_write_row_after_use_binary_goes_by_columns(kinds, paths):
    with kinds.copy("COPY kinds FROM STDIN (FORMAT binary)") as cp:
        cp.use_binary(["int8", "int8", "bool", "float8", "text", "int4"])
        cp.write_row((1, 2, True, 0.5, "é", None))
        cp.write_rows([(2, None, None, None, None, 3)])
    assert cp.rowcount == 2
    assert paths == [True, True]
    assert table(kinds) == [(1, 2, True, 0.5, "é", None), (2, None, None, None, None, 3)]


class Color(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize("values, fmt", [
    ([2 ** 70, 1], "text"),                # beyond int64: sent as numeric text
    ([1, 2.5], "text"),                    # int and float mixed
    ([Decimal("1.5"), None], None),        # a type the columns do not carry
    ([Color.RED, 2], None),                # an int subclass
    ([True, 1], "text"),                   # bool among ints
])
def test_other_values_fall_back_to_rows(conn, paths, values, fmt):
    conn.execute("CREATE TABLE t (k int, v numeric)")
    rows = [(k, v) for k, v in enumerate(values)]
    if values[0] is True:
        conn.execute("ALTER TABLE t ALTER v TYPE text")
    assert copy_records(conn, "t", rows, format=fmt) == len(rows)
    assert paths == [False]
    got = [r[1] for r in conn.query("SELECT * FROM t ORDER BY k")]
    if values[0] is True:
        assert got == ["t", "1"]
    else:
        assert got == [None if v is None else Decimal(int(v) if isinstance(v, enum.Enum)
                                                      else str(v)) for v in values]


def test_a_fallback_chunk_between_column_chunks(kinds, paths):
    rows = [(k, k, None, None, "s", None) for k in range(300)]
    rows[150] = (150, 2 ** 64, None, None, "s", None)  # beyond int64: numeric text
    kinds.execute("ALTER TABLE kinds ALTER i TYPE numeric")
    assert copy_records(kinds, "kinds", rows, chunk_rows=100) == 300
    assert paths == [True, False, True]
    assert kinds.query_one("SELECT sum(i) FROM kinds")[0] == \
        sum(range(300)) - 150 + 2 ** 64


def test_a_registered_dumper_is_still_used(conn, paths):
    conn.execute("CREATE TABLE t (s text)")
    pg.types.register_dumper(int, lambda x: "n%d" % x)
    try:
        conn.copy_records_to_table("t", [(5,)], format="text")
    finally:
        pg.types.register_dumper(int, None)
    assert paths == [False]
    assert conn.query_one("SELECT s FROM t")[0] == "n5"


@pytest.mark.parametrize("fmt", FORMATS)
def test_nul_in_text_is_refused_as_before(kinds, fmt):
    rows = [(k, None, None, None, "ok", None) for k in range(250)]
    rows[210] = (210, None, None, None, "n\0ul", None)
    with pytest.raises(pg.DataError, match="NUL") as info:
        copy_records(kinds, "kinds", rows, chunk_rows=100, format=fmt)
    assert "row 210, column 5" in str(info.value)
    assert kinds.query_one("SELECT count(*) FROM kinds")[0] == 0


def test_lone_surrogate_is_refused_as_before(kinds):
    with pytest.raises(pg.DataError, match="UTF-8"):
        kinds.copy_records_to_table("kinds", [(1, None, None, None, "\udc80", None)])
    assert kinds.query_one("SELECT count(*) FROM kinds")[0] == 0


def test_binary_int_out_of_range_names_row_and_column(conn, paths):
    conn.execute("CREATE TABLE t (a int8, b int2)")
    rows = [(k, k) for k in range(10)] + [(10, 40000)]
    with pytest.raises(pg.DataError, match=r"row 10, column 2: .*out of range for smallint"):
        conn.copy_records_to_table("t", rows, format="binary")
    assert paths == [True]
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0
    assert conn.ping()


def test_binary_wrong_type_for_a_column_is_refused(conn, paths):
    conn.execute("CREATE TABLE t (a int4, b int4)")
    with pytest.raises(pg.ProgrammingError, match="column 2: cannot send Python str as "
                                                  "integer"):
        conn.copy_records_to_table("t", [(1, None), (2, "3")], format="binary")
    assert paths == [True]
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_bool_for_an_int_column_in_binary_is_refused(conn):
    conn.execute("CREATE TABLE t (a int4)")
    with pytest.raises(pg.ProgrammingError, match="cannot send Python bool as integer"):
        conn.copy_records_to_table("t", [(True,)], format="binary")


def test_float_for_an_int_column_in_binary_is_refused(conn):
    conn.execute("CREATE TABLE t (a int8)")
    with pytest.raises(pg.ProgrammingError, match="cannot send Python float as bigint"):
        conn.copy_records_to_table("t", [(1.5,)], format="binary")


def test_bad_text_for_the_server_in_a_later_chunk_stores_nothing(conn):
    conn.execute("CREATE TABLE t (a int4)")
    rows = [("%d" % k,) for k in range(500)] + [("x",)]
    with pytest.raises(pg.DataError):
        copy_records(conn, "t", rows, chunk_rows=100, format="text")
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_rows_of_different_lengths_still_name_the_row(kinds):
    rows = [(k, None, None, None, "s", None) for k in range(250)]
    rows[230] = (230, None)
    with pytest.raises(pg.ProgrammingError, match="COPY row 230 has 2 values; expected 6"):
        copy_records(kinds, "kinds", rows, chunk_rows=100)
    assert kinds.query_one("SELECT count(*) FROM kinds")[0] == 0
