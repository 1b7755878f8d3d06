"""COPY: copy_records_to_table, copy_from, copy_to and the conn.copy() context manager."""

from __future__ import annotations

import io
import threading
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

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


TRICKY = ["tab\there", "new\nline", "back\\slash", "cr\rhere", "\\N", "", "é ✓ 𝄞", "a\\tb",
          "trailing\\", "quote ' and \" and ,"]


@pytest.fixture
def items(conn):
    conn.execute("CREATE TABLE items (id int, name text, price float8)")
    return conn


def test_records_round_trip_with_nulls(items):
    rows = [(1, "a", 0.5), (2, None, 1.5), (None, "c", None), (4, "d", -0.0)]
    assert items.copy_records_to_table("items", rows) == 4
    assert [tuple(r) for r in items.query("SELECT * FROM items ORDER BY id NULLS LAST")] == \
        [(1, "a", 0.5), (2, None, 1.5), (4, "d", -0.0), (None, "c", None)]


@pytest.mark.parametrize("fmt", ["binary", "text", None])
def test_records_special_characters_in_text(items, fmt):
    rows = [(k, s, float(k)) for k, s in enumerate(TRICKY)]
    assert items.copy_records_to_table("items", rows, format=fmt) == len(rows)
    got = [r["name"] for r in items.query("SELECT name FROM items ORDER BY id")]
    assert got == TRICKY


@pytest.mark.parametrize("fmt", ["binary", "text"])
def test_records_many_types(conn, fmt):
    conn.execute("CREATE TABLE t (b bool, i2 int2, i8 int8, f4 float4, n numeric, s varchar(20),"
                 " by bytea, d date, ts timestamp, tz timestamptz, iv interval, u uuid, "
                 "j jsonb)")
    row = (True, -3, 2 ** 62, 1.5, Decimal("-12.500"), "vc", b"\x00\xff\\", date(2024, 2, 29),
           datetime(2024, 1, 2, 3, 4, 5, 6),
           datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc),
           timedelta(days=2, seconds=3, microseconds=4),
           UUID("12345678-1234-5678-1234-567812345678"), {"a": [1, "x"]})
    nulls = (None,) * len(row)
    assert conn.copy_records_to_table("t", [row, nulls], format=fmt) == 2
    got = conn.query("SELECT * FROM t ORDER BY b NULLS LAST")
    assert tuple(got[0]) == row
    assert tuple(got[1]) == nulls


def test_records_text_format_lets_the_server_parse_strings(conn):
    conn.execute("CREATE TABLE t (d date, n int, a int4[])")
    conn.copy_records_to_table("t", [("2024-05-06", "42", [1, None, 3])])
    assert tuple(conn.query_one("SELECT * FROM t")) == (date(2024, 5, 6), 42, [1, None, 3])


def test_binary_format_refuses_a_str_for_an_int(conn):
    conn.execute("CREATE TABLE t (n int)")
    with pytest.raises(pg.ProgrammingError, match="binary COPY"):
        conn.copy_records_to_table("t", [("42",)], format="binary")
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0
    assert conn.ping()


def test_records_columns_subset_and_quoted_names(conn):
    conn.execute('CREATE TABLE "Odd Table" ("Mixed Case" int, "sel""ect" text, other int '
                 "DEFAULT 7)")
    n = conn.copy_records_to_table("Odd Table", [(1, "x"), (2, "y")],
                                   columns=["Mixed Case", 'sel"ect'])
    assert n == 2
    assert [tuple(r) for r in conn.query('SELECT * FROM "Odd Table" ORDER BY 1')] == \
        [(1, "x", 7), (2, "y", 7)]


def test_records_schema_name(conn, schema):
    conn.execute("CREATE TABLE items (id int)")
    assert conn.copy_records_to_table("items", [(1,)], schema_name=schema) == 1


def test_identifier_with_nul_is_refused(items):
    with pytest.raises(pg.DataError):
        items.copy_records_to_table("it\0ems", [(1, "a", 1.0)])
    with pytest.raises(pg.DataError):
        items.copy_records_to_table("items", [(1,)], columns=["i\0d"])


def test_records_from_a_generator_in_several_chunks(items):
    n = 25000
    gen = ((k, "n%d" % k, k / 2) for k in range(n))
    assert copy_records(items, "items", gen, chunk_rows=1000) == n
    assert tuple(items.query_one("SELECT count(*), sum(id), max(name) FROM items")) == \
        (n, n * (n - 1) // 2, "n9999")


def test_a_bad_value_late_stores_nothing(items):
    rows = [(k, "ok", 1.0) for k in range(3000)] + [(1, "bad\0nul", 1.0)]
    with pytest.raises(pg.DataError, match="NUL"):
        copy_records(items, "items", rows, chunk_rows=1000)
    assert items.query_one("SELECT count(*) FROM items")[0] == 0
    assert items.query_one("SELECT 1")[0] == 1


def test_rows_of_different_lengths_are_refused(items):
    with pytest.raises(pg.ProgrammingError, match="row 1"):
        items.copy_records_to_table("items", [(1, "a", 1.0), (2, "b")])
    assert items.query_one("SELECT count(*) FROM items")[0] == 0


def test_server_error_from_copy_is_raised(conn):
    conn.execute("CREATE TABLE t (n int PRIMARY KEY)")
    with pytest.raises(pg.IntegrityError):
        conn.copy_records_to_table("t", [(1,), (1,)])
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_missing_table(conn):
    with pytest.raises(pg.ProgrammingError):
        conn.copy_records_to_table("no_such_table", [(1,)])
    assert conn.ping()


def test_context_manager_write_row_and_raw_write(items):
    with items.copy("COPY items (id, name) FROM STDIN") as cp:
        cp.write_row((1, "one"))
        cp.write(b"2\ttwo\n")
        cp.write("3\tthr")  # a str, and a row split across writes
        cp.write("ee\n")
        cp.write_rows([(4, "four"), (5, None)])
    assert cp.rowcount == 5
    assert [tuple(r) for r in items.query("SELECT id, name FROM items ORDER BY id")] == \
        [(1, "one"), (2, "two"), (3, "three"), (4, "four"), (5, None)]


def test_abort_on_exception_leaves_nothing(items):
    with pytest.raises(RuntimeError, match="boom"):
        with items.copy("COPY items FROM STDIN") as cp:
            cp.write_rows([(k, "x", 1.0) for k in range(100)])
            raise RuntimeError("boom")
    assert items.query_one("SELECT count(*) FROM items")[0] == 0
    items.execute("INSERT INTO items VALUES (1, 'after', 2.0)")  # the connection is usable
    assert items.query_one("SELECT count(*) FROM items")[0] == 1


def test_abort_inside_a_transaction_fails_it(items):
    items.execute("INSERT INTO items VALUES (0, 'before', 0)")
    with pytest.raises(RuntimeError):
        with items.begin():
            items.execute("INSERT INTO items VALUES (1, 'in tx', 0)")
            with items.copy("COPY items FROM STDIN") as cp:
                cp.write_row((2, "copied", 0.0))
                raise RuntimeError("stop")
    assert [r[0] for r in items.query("SELECT id FROM items")] == [0]


def test_a_statement_in_the_copying_thread_is_refused_until_the_copy_ends(items):
    with items.copy("COPY items FROM STDIN") as cp:
        cp.write_row((1, "a", 1.0))
        with pytest.raises(pg.InterfaceError, match="COPY"):
            items.query("SELECT 1")
    assert items.query_one("SELECT count(*) FROM items")[0] == 1


def test_write_row_refused_for_csv(items):
    with items.copy("COPY items FROM STDIN (FORMAT csv)") as cp:
        with pytest.raises(pg.NotSupportedError):
            cp.write_row((1, "a", 1.0))
        cp.write(b'1,"a,b",2.5\n')
    assert tuple(items.query_one("SELECT * FROM items")) == (1, "a,b", 2.5)


def test_binary_copy_with_use_binary(items):
    with items.copy("COPY items FROM STDIN (FORMAT binary)") as cp:
        cp.use_binary(["int4", "text", "float8"])
        cp.write_rows([(1, "x", 0.25), (2, None, None)])
    assert cp.rowcount == 2
    assert [tuple(r) for r in items.query("SELECT * FROM items ORDER BY id")] == \
        [(1, "x", 0.25), (2, None, None)]


def test_copy_from_file_bytes_and_iterables(items):
    assert items.copy_from("items", io.BytesIO(b"1\ta\t0.5\n2\t\\N\t1\n")) == 2
    assert items.copy_from("items", io.StringIO("3\tc\t2\n")) == 1
    assert items.copy_from("items", [b"4\td\t", "3\n", b"5\te\t4\n"]) == 2
    assert items.copy_from("items", "6\tf\t5\n") == 1
    assert items.copy_from("COPY items (id, name) FROM STDIN (FORMAT csv)",
                           b'7,"g, h"\n') == 1
    assert items.copy_from("items", b"8\n", columns=["id"]) == 1
    assert [tuple(r) for r in items.query("SELECT id, name FROM items ORDER BY id")] == \
        [(1, "a"), (2, None), (3, "c"), (4, "d"), (5, "e"), (6, "f"), (7, "g, h"), (8, None)]


def test_copy_from_large_file(items):
    data = "".join("%d\tname %d\t%d.5\n" % (k, k, k) for k in range(100000)).encode()
    assert items.copy_from("items", io.BytesIO(data)) == 100000
    assert items.query_one("SELECT count(*) FROM items")[0] == 100000


def test_copy_from_bad_data_raises_and_stores_nothing(items):
    with pytest.raises(pg.DataError):
        items.copy_from("items", io.BytesIO(b"1\ta\t0.5\nnot a number\tb\t1\n"))
    assert items.query_one("SELECT count(*) FROM items")[0] == 0


def test_copy_to_file_table_query_and_sql(items):
    items.copy_records_to_table("items", [(1, "a\tb", 0.5), (2, None, 1.5)])
    out = io.BytesIO()
    assert items.copy_to("items", out) == 2
    assert out.getvalue() == b"1\ta\\tb\t0.5\n2\t\\N\t1.5\n"
    text = io.StringIO()
    assert items.copy_to("SELECT name FROM items WHERE id = 1", text) == 1
    assert text.getvalue() == "a\\tb\n"
    out = io.BytesIO()
    assert items.copy_to("COPY items (id) TO STDOUT (FORMAT csv, HEADER)", out) == 2
    assert out.getvalue() == b"id\n1\n2\n"


def test_copy_out_iterates_in_chunks_of_whole_rows(items):
    n = 50000
    items.copy_records_to_table("items", [(k, "x" * 20, 1.0) for k in range(n)])
    with items.copy("COPY items TO STDOUT") as cp:
        chunks = list(cp)
    assert len(chunks) > 1
    assert all(c.endswith(b"\n") for c in chunks)
    assert sum(c.count(b"\n") for c in chunks) == n
    assert cp.rowcount == n


def test_copy_out_left_early_leaves_connection_usable(items):
    items.copy_records_to_table("items", [(k, "y" * 50, 1.0) for k in range(50000)])
    with items.copy("COPY items TO STDOUT") as cp:
        first = cp.read()
        assert first
    assert items.query_one("SELECT count(*) FROM items")[0] == 50000
    with pytest.raises(ValueError):
        with items.copy("COPY items TO STDOUT") as cp:
            cp.read()
            raise ValueError("stop reading")
    assert items.query_one("SELECT 2")[0] == 2


def test_copy_direction_misuse(items):
    with items.copy("COPY items TO STDOUT") as cp:
        with pytest.raises(pg.ProgrammingError):
            cp.write(b"x")
    with items.copy("COPY items FROM STDIN") as cp:
        with pytest.raises(pg.ProgrammingError):
            cp.read()
    with pytest.raises(pg.ProgrammingError):
        items.copy_from("COPY items TO STDOUT", b"")
    assert items.ping()


def test_copy_in_pep249_mode_joins_the_transaction(sdsn, items):
    c = pg.connect(sdsn)
    try:
        c.copy_records_to_table("items", [(1, "a", 1.0)])
        assert items.query_one("SELECT count(*) FROM items")[0] == 0  # not committed yet
        c.rollback()
        c.copy_records_to_table("items", [(2, "b", 2.0)])
        c.commit()
    finally:
        c.close()
    assert [r[0] for r in items.query("SELECT id FROM items")] == [2]


@pytest.mark.sync_only("threads; for tasks see test_async's transaction-per-task test")
def test_a_query_from_another_thread_waits_for_the_copy(items):
    # The connection is shared: a COPY in progress belongs to its thread (like a
    # transaction); another thread's query waits until it ends, never corrupts it.
    seen = []
    errors = []

    def other():
        try:
            seen.append(items.query_one("SELECT count(*) FROM items")[0])
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    with items.copy("COPY items FROM STDIN") as cp:
        t = threading.Thread(target=other)
        t.start()
        cp.write_rows([(k, "t", 1.0) for k in range(500)])
        time.sleep(0.2)
        cp.write_rows([(k, "t", 1.0) for k in range(500, 1000)])
    t.join(10)
    assert not errors
    assert seen == [1000]
    assert items.query_one("SELECT count(*) FROM items")[0] == 1000


def test_quote_identifier():
    q = pp_copy.quote_identifier
    assert q("abc") == '"abc"'
    assert q('a"b') == '"a""b"'
    with pytest.raises(pg.ProgrammingError):
        q("")
    with pytest.raises(pg.DataError):
        q("a\0b")


def test_executemany_shares_the_column_layout(conn):
    # executemany lays parameters out a column at a time (copy.dump_many): every kind of
    # column must give what the value-by-value path gives.
    conn.execute("CREATE TABLE t (k int, i int8, s text, f float8, b bool, n numeric, "
                 "m float8)")
    rows = [(0, 1, "é ✓", 0.5, True, 2 ** 70, 1.5),  # m: int and float mixed
            (1, None, None, None, None, None, 5),
            (2, -2 ** 63, "", float("inf"), False, -3, None),
            (3, 2 ** 63 - 1, "tab\there", -0.0, True, 7, 2.25)]
    cur = conn.cursor()
    cur.executemany("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7)", rows)
    assert cur.rowcount == 4
    got = [tuple(r) for r in conn.query("SELECT * FROM t ORDER BY k")]
    want = [r[:5] + (None if r[5] is None else Decimal(r[5]), r[6]) for r in rows]
    assert got == want


def test_executemany_bad_value_reports_the_parameter(conn):
    conn.execute("CREATE TABLE t (s text)")
    with pytest.raises(pg.DataError, match=r"parameter \$1"):
        conn.cursor().executemany("INSERT INTO t VALUES ($1)", [("ok",), ("n\0ul",)])
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0
