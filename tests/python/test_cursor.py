"""DB-API 2.0 cursors and type objects."""

import datetime

import pytest

import PostPyro as pg


@pytest.fixture
def cur(conn):
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, name varchar(20), price numeric(8,2))")
    conn.execute("INSERT INTO t VALUES (1, 'a', 1.50), (2, 'b', 2.00), (3, 'c', NULL)")
    c = conn.cursor()
    yield c
    c.close()


def test_execute_then_fetchall(cur):
    cur.execute("SELECT id, name FROM t ORDER BY id")
    assert cur.fetchall() == [(1, "a"), (2, "b"), (3, "c")]
    assert cur.fetchall() == []


def test_fetchone_returns_none_at_the_end(cur):
    cur.execute("SELECT id FROM t WHERE id = $1", [2])
    assert cur.fetchone() == (2,)
    assert cur.fetchone() is None


def test_fetchmany_uses_arraysize_by_default(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    assert cur.arraysize == 1
    assert cur.fetchmany() == [(1,)]
    cur.arraysize = 5
    assert cur.fetchmany() == [(2,), (3,)]
    cur.execute("SELECT id FROM t ORDER BY id")
    assert cur.fetchmany(2) == [(1,), (2,)]


def test_cursor_iterates_over_rows(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    assert [r[0] for r in cur] == [1, 2, 3]


def test_rows_from_a_cursor_answer_by_name(cur):
    cur.execute("SELECT id, name FROM t WHERE id = 1")
    assert cur.fetchone()["name"] == "a"


def test_description_has_seven_items_per_column(cur):
    cur.execute("SELECT id, name, price FROM t")
    d = cur.description
    assert [c[0] for c in d] == ["id", "name", "price"]
    assert all(len(c) == 7 for c in d)
    assert d[0].type_code == pg.NUMBER
    assert d[1].type_code == pg.STRING
    assert d[1].internal_size == 20
    assert (d[2].precision, d[2].scale) == (8, 2)


def test_description_is_none_for_statements_without_rows(cur):
    cur.execute("UPDATE t SET name = 'z' WHERE id = 1")
    assert cur.description is None


def test_rowcount_counts_affected_and_returned_rows(cur):
    assert cur.rowcount == -1
    cur.execute("UPDATE t SET name = 'z' WHERE id > $1", [1])
    assert cur.rowcount == 2
    cur.execute("SELECT * FROM t")
    assert cur.rowcount == 3


def test_executemany_sets_rowcount_to_the_total(cur):
    cur.executemany("INSERT INTO t (id, name) VALUES ($1, $2)", [(4, "d"), (5, "e")])
    assert cur.rowcount == 2


def test_fetch_without_a_result_raises_programming_error(cur):
    with pytest.raises(pg.ProgrammingError):
        cur.fetchone()
    cur.execute("UPDATE t SET name = 'z' WHERE id = 1")
    with pytest.raises(pg.ProgrammingError):
        cur.fetchall()


def test_closed_cursor_raises_interface_error(cur):
    cur.close()
    cur.close()
    with pytest.raises(pg.InterfaceError):
        cur.execute("SELECT 1")


def test_cursor_as_context_manager(conn):
    with conn.cursor() as c:
        c.execute("SELECT 1")
        assert c.fetchone() == (1,)
    assert c.closed


def test_cursor_in_pep249_mode_needs_commit(sdsn, conn):
    conn.execute("CREATE TABLE u (a int)")
    db = pg.connect(sdsn)
    try:
        c = db.cursor()
        c.execute("INSERT INTO u VALUES ($1)", (1,))
        db.rollback()
        c.execute("INSERT INTO u VALUES ($1)", (2,))
        db.commit()
    finally:
        db.close()
    assert conn.query("SELECT a FROM u") == [(2,)]


def test_callproc_calls_a_function(cur):
    cur.callproc("upper", ["abc"])
    assert cur.fetchone()[0] == "ABC"


def test_type_objects_compare_with_type_codes():
    assert pg.NUMBER == 23 and pg.NUMBER == 1700 and pg.NUMBER != 25
    assert pg.STRING == 25
    assert pg.BINARY == 17
    assert pg.DATETIME == 1184
    assert pg.ROWID == 26


def test_constructors():
    assert pg.Date(2020, 1, 2) == datetime.date(2020, 1, 2)
    assert pg.Time(1, 2, 3) == datetime.time(1, 2, 3)
    assert pg.Timestamp(2020, 1, 2, 3, 4, 5) == datetime.datetime(2020, 1, 2, 3, 4, 5)
    assert pg.Binary(bytearray(b"ab")) == b"ab"
    assert isinstance(pg.DateFromTicks(0), datetime.date)
    assert isinstance(pg.TimeFromTicks(0), datetime.time)
    assert isinstance(pg.TimestampFromTicks(0), datetime.datetime)
