# SPDX-License-Identifier: MIT
"""DB-API 2.0 cursors: every method and attribute PEP 249 lists, and its error cases."""

import pytest

import PostPyro as pg
from PostPyro.rows import dict_row, tuple_row


@pytest.fixture
def cur(conn):
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, name varchar(20), price numeric(8,2))")
    conn.execute("INSERT INTO t VALUES (1, 'a', 1.50), (2, 'b', 2.00), (3, 'c', NULL)")
    c = conn.cursor()
    yield c
    c.close()


# ---- execute and fetch* ---------------------------------------------------------------------

def test_execute_then_fetchall(cur):
    cur.execute("SELECT id, name FROM t ORDER BY id")
    assert cur.fetchall() == [(1, "a"), (2, "b"), (3, "c")]


def test_fetchall_after_exhaustion_returns_an_empty_list(cur):
    cur.execute("SELECT id FROM t")
    cur.fetchall()
    assert cur.fetchall() == []
    assert cur.fetchall() == []


def test_fetchall_returns_the_rows_not_yet_fetched(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    cur.fetchone()
    assert cur.fetchall() == [(2,), (3,)]


def test_execute_returns_the_cursor(cur):
    assert cur.execute("SELECT 1").fetchone() == (1,)


def test_fetchone_returns_none_at_the_end(cur):
    cur.execute("SELECT id FROM t WHERE id = $1", [2])
    assert cur.fetchone() == (2,)
    assert cur.fetchone() is None
    assert cur.fetchone() is None


def test_fetchone_of_an_empty_result_returns_none(cur):
    cur.execute("SELECT id FROM t WHERE false")
    assert cur.fetchone() is None


def test_arraysize_defaults_to_one(cur):
    assert cur.arraysize == 1


def test_fetchmany_uses_arraysize_by_default(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    assert cur.fetchmany() == [(1,)]
    cur.arraysize = 5
    assert cur.fetchmany() == [(2,), (3,)]


def test_fetchmany_takes_an_explicit_size(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    assert cur.fetchmany(2) == [(1,), (2,)]
    assert cur.fetchmany(2) == [(3,)]


def test_fetchmany_after_exhaustion_returns_an_empty_list(cur):
    cur.execute("SELECT id FROM t")
    cur.fetchall()
    assert cur.fetchmany() == []
    assert cur.fetchmany(10) == []


def test_fetchmany_of_zero_rows_returns_an_empty_list(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    assert cur.fetchmany(0) == []
    assert cur.fetchone() == (1,)


def test_fetchmany_refuses_a_negative_size(cur):
    cur.execute("SELECT id FROM t")
    with pytest.raises(pg.ProgrammingError, match="size"):
        cur.fetchmany(-1)


@pytest.mark.parametrize("value", [0, -3, 1.5, "2", None])
def test_arraysize_must_be_a_positive_int(cur, value):
    with pytest.raises(pg.ProgrammingError, match="arraysize"):
        cur.arraysize = value
    assert cur.arraysize == 1


def test_mixed_fetches_share_one_position(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    assert cur.fetchone() == (1,)
    assert cur.fetchmany(1) == [(2,)]
    assert cur.fetchall() == [(3,)]
    assert cur.fetchone() is None


def test_rows_from_a_cursor_answer_by_name(cur):
    cur.execute("SELECT id, name FROM t WHERE id = 1")
    assert cur.fetchone()["name"] == "a"


def test_null_comes_back_as_none(cur):
    cur.execute("SELECT price FROM t WHERE id = 3")
    assert cur.fetchone() == (None,)


@pytest.mark.parametrize("fetch", [
    lambda c: c.fetchone(), lambda c: c.fetchmany(), lambda c: c.fetchall(),
    lambda c: next(c),
])
def test_fetching_before_any_execute_raises_an_error(cur, fetch):
    with pytest.raises(pg.ProgrammingError, match="nothing was executed"):
        fetch(cur)


@pytest.mark.parametrize("sql", [
    "CREATE TABLE u (a int)",
    "INSERT INTO t VALUES (9, 'z', 0)",
    "UPDATE t SET name = 'z' WHERE id = 1",
    "DELETE FROM t WHERE id = 2",
    "SET search_path TO DEFAULT",
])
@pytest.mark.parametrize("fetch", [
    lambda c: c.fetchone(), lambda c: c.fetchmany(), lambda c: c.fetchall(),
])
def test_fetching_after_a_statement_without_rows_raises_an_error(cur, sql, fetch):
    cur.execute(sql)
    with pytest.raises(pg.ProgrammingError, match="returned none"):
        fetch(cur)


def test_fetching_after_executemany_raises_an_error(cur):
    cur.executemany("INSERT INTO t (id) VALUES ($1)", [[7], [8]])
    with pytest.raises(pg.ProgrammingError):
        cur.fetchone()


def test_fetching_after_a_failed_execute_raises_an_error(cur):
    cur.execute("SELECT id FROM t")
    with pytest.raises(pg.DataError):
        cur.execute("SELECT 1/0")
    with pytest.raises(pg.ProgrammingError):
        cur.fetchall()


# ---- iteration ------------------------------------------------------------------------------

def test_cursor_iterates_over_rows(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    assert [r[0] for r in cur] == [1, 2, 3]


def test_iter_returns_the_cursor_itself(cur):
    assert iter(cur) is cur


def test_next_returns_rows_then_stops(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    assert next(cur) == (1,)
    assert cur.next() == (2,)
    assert next(cur) == (3,)
    with pytest.raises(StopIteration):
        next(cur)


def test_iteration_continues_from_the_current_position(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    cur.fetchone()
    assert list(cur) == [(2,), (3,)]


def test_iterating_after_a_statement_without_rows_raises_an_error(cur):
    cur.execute("UPDATE t SET name = 'z'")
    with pytest.raises(pg.ProgrammingError):
        list(cur)


# ---- description ----------------------------------------------------------------------------

def test_description_is_none_before_any_execute(cur):
    assert cur.description is None


def test_description_has_seven_items_per_column(cur):
    cur.execute("SELECT id, name, price FROM t")
    d = cur.description
    assert [c[0] for c in d] == ["id", "name", "price"]
    assert all(len(c) == 7 for c in d)
    assert d[0].type_code == pg.NUMBER
    assert d[1].type_code == pg.STRING
    assert d[1].internal_size == 20
    assert (d[2].precision, d[2].scale) == (8, 2)
    assert d[0] == ("id", 23, None, 4, None, None, None)


def test_description_is_there_for_a_result_without_rows(cur):
    cur.execute("SELECT id, name FROM t WHERE false")
    assert [c.name for c in cur.description] == ["id", "name"]


def test_description_is_none_for_statements_without_rows(cur):
    cur.execute("UPDATE t SET name = 'z' WHERE id = 1")
    assert cur.description is None


def test_description_is_reset_by_ddl_after_a_select(cur):
    cur.execute("SELECT id FROM t")
    assert cur.description is not None
    cur.execute("CREATE TABLE u (a int)")
    assert cur.description is None
    cur.execute("SELECT a FROM u")
    assert len(cur.description) == 1
    cur.execute("DROP TABLE u")
    assert cur.description is None


def test_description_is_reset_by_a_failed_execute(cur):
    cur.execute("SELECT id FROM t")
    with pytest.raises(pg.ProgrammingError):
        cur.execute("SELECT nope FROM t")
    assert cur.description is None


def test_description_is_reset_by_executemany(cur):
    cur.execute("SELECT id FROM t")
    cur.executemany("INSERT INTO t (id) VALUES ($1)", [[7]])
    assert cur.description is None


def test_description_of_insert_returning_describes_the_returned_columns(cur):
    cur.execute("INSERT INTO t (id, name) VALUES (5, 'e') RETURNING id, name")
    assert [c.name for c in cur.description] == ["id", "name"]
    assert cur.fetchone() == (5, "e")


# ---- rowcount ----------------------------------------------------------------------------

def test_rowcount_is_minus_one_before_any_execute(cur):
    assert cur.rowcount == -1


@pytest.mark.parametrize("sql, expected", [
    ("SELECT * FROM t", 3),
    ("SELECT * FROM t WHERE false", 0),
    ("INSERT INTO t (id) VALUES (4), (5)", 2),
    ("INSERT INTO t (id) VALUES (4), (5), (6) RETURNING id", 3),
    ("UPDATE t SET name = 'z' WHERE id > 1", 2),
    ("UPDATE t SET name = 'z' WHERE false", 0),
    ("DELETE FROM t WHERE id = 1", 1),
    ("CREATE TABLE u AS SELECT * FROM t", 3),
    ("CREATE TABLE u (a int)", -1),
    ("ALTER TABLE t ADD COLUMN x int", -1),
    ("SET search_path TO DEFAULT", -1),
    ("MERGE INTO t USING (VALUES (1), (9)) v(id) ON t.id = v.id "
     "WHEN MATCHED THEN UPDATE SET name = 'm' WHEN NOT MATCHED THEN INSERT (id) VALUES (v.id)", 2),
])
def test_rowcount_after_each_kind_of_statement(cur, sql, expected):
    cur.execute(sql)
    assert cur.rowcount == expected


def test_rowcount_after_executemany_is_the_total(cur):
    cur.executemany("INSERT INTO t (id, name) VALUES ($1, $2)", [(4, "d"), (5, "e")])
    assert cur.rowcount == 2
    cur.executemany("UPDATE t SET name = $1 WHERE id > $2", [("x", 3), ("y", 4)])
    assert cur.rowcount == 3


def test_rowcount_after_executemany_of_no_rows_is_zero(cur):
    cur.executemany("INSERT INTO t (id) VALUES ($1)", [])
    assert cur.rowcount == 0


def test_rowcount_is_minus_one_after_a_failed_execute(cur):
    cur.execute("SELECT * FROM t")
    with pytest.raises(pg.DataError):
        cur.execute("SELECT 1/0")
    assert cur.rowcount == -1


def test_rowcount_does_not_change_while_fetching(cur):
    cur.execute("SELECT * FROM t")
    cur.fetchmany(2)
    assert cur.rowcount == 3


# ---- rownumber, lastrowid, query, statusmessage, connection --------------------------------

def test_rownumber_is_none_without_a_result_set(cur):
    assert cur.rownumber is None
    cur.execute("UPDATE t SET name = 'z' WHERE id = 1")
    assert cur.rownumber is None


def test_rownumber_counts_the_rows_fetched(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    assert cur.rownumber == 0
    cur.fetchone()
    assert cur.rownumber == 1
    cur.fetchmany(5)
    assert cur.rownumber == 3


def test_lastrowid_is_none_since_postgresql_has_no_row_ids(cur):
    assert cur.lastrowid is None
    cur.execute("INSERT INTO t (id) VALUES (10)")
    assert cur.lastrowid is None


def test_query_is_none_before_any_execute(cur):
    assert cur.query is None


def test_query_is_the_last_sql_sent(cur):
    cur.execute("SELECT id FROM t WHERE id = $1", [1])
    assert cur.query == "SELECT id FROM t WHERE id = $1"
    cur.executemany("INSERT INTO t (id) VALUES ($1)", [[20]])
    assert cur.query == "INSERT INTO t (id) VALUES ($1)"


def test_query_shows_named_placeholders_numbered(cur):
    cur.execute("SELECT id FROM t WHERE id = $id OR id = $id + 1", {"id": 1})
    assert cur.query == "SELECT id FROM t WHERE id = $1 OR id = $1 + 1"
    assert cur.fetchall() == [(1,), (2,)]


def test_query_is_set_even_when_the_statement_fails(cur):
    with pytest.raises(pg.DataError):
        cur.execute("SELECT 1/0")
    assert cur.query == "SELECT 1/0"


def test_query_of_a_prepared_statement_is_its_sql(cur, conn):
    stmt = conn.prepare("SELECT name FROM t WHERE id = $1")
    cur.execute(stmt, [2])
    assert cur.fetchone() == ("b",)
    assert cur.query == "SELECT name FROM t WHERE id = $1"


def test_statusmessage_is_the_command_tag(cur):
    cur.execute("INSERT INTO t (id) VALUES (11)")
    assert cur.statusmessage == "INSERT 0 1"


def test_connection_attribute_is_the_connection(cur, conn):
    assert cur.connection is conn


# ---- scroll ----------------------------------------------------------------------------------

def test_scroll_moves_relative_and_absolute(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    cur.scroll(2)
    assert cur.fetchone() == (3,)
    cur.scroll(0, mode="absolute")
    assert cur.fetchone() == (1,)
    cur.scroll(-1)
    assert cur.fetchone() == (1,)


def test_scroll_out_of_the_result_raises_index_error_and_stays(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    cur.fetchone()
    with pytest.raises(IndexError):
        cur.scroll(5)
    with pytest.raises(IndexError):
        cur.scroll(-1, mode="absolute")
    assert cur.fetchone() == (2,)


def test_scroll_mode_must_be_known(cur):
    cur.execute("SELECT id FROM t")
    with pytest.raises(pg.ProgrammingError, match="mode"):
        cur.scroll(1, mode="sideways")


# ---- executemany --------------------------------------------------------------------------

def test_executemany_runs_the_statement_once_per_row(cur, conn):
    cur.executemany("INSERT INTO t (id, name) VALUES ($1, $2)", [(4, "d"), [5, "e"]])
    assert conn.query("SELECT id, name FROM t WHERE id > 3 ORDER BY id") == [(4, "d"), (5, "e")]


def test_executemany_takes_any_iterable_of_rows(cur, conn):
    cur.executemany("INSERT INTO t (id) VALUES ($1)", ((i,) for i in range(10, 13)))
    assert cur.rowcount == 3
    assert conn.query_one("SELECT count(*) FROM t WHERE id >= 10")[0] == 3


def test_executemany_is_all_or_nothing_and_names_the_failing_row(cur, conn):
    with pytest.raises(pg.errors.UniqueViolation) as info:
        cur.executemany("INSERT INTO t (id) VALUES ($1)", [[4], [5], [1], [6]])
    assert info.value.index == 2
    assert conn.query_one("SELECT count(*) FROM t")[0] == 3


def test_executemany_with_mappings_binds_names(cur, conn):
    cur.executemany("INSERT INTO t (id, name) VALUES ($id, $name)",
                    [{"id": 4, "name": "d"}, {"name": "e", "id": 5}])
    assert cur.rowcount == 2
    assert cur.query == "INSERT INTO t (id, name) VALUES ($1, $2)"
    assert conn.query("SELECT id, name FROM t WHERE id > 3 ORDER BY id") == [(4, "d"), (5, "e")]


def test_executemany_refuses_a_string_of_parameters(cur):
    with pytest.raises(pg.ProgrammingError):
        cur.executemany("INSERT INTO t (id) VALUES ($1)", "12")


# ---- callproc ----------------------------------------------------------------------------

def test_callproc_calls_a_function_and_returns_a_copy_of_the_parameters(cur):
    params = ["FOO"]
    result = cur.callproc("lower", params)
    assert result == ["FOO"]
    assert result is not params
    assert cur.fetchall() == [("foo",)]


def test_callproc_of_a_set_returning_function_gives_its_rows(cur):
    cur.callproc("generate_series", (1, 3))
    assert cur.fetchall() == [(1,), (2,), (3,)]
    assert cur.rowcount == 3


def test_callproc_without_parameters(cur):
    assert cur.callproc("pi") is None
    assert round(cur.fetchone()[0], 5) == 3.14159


def test_callproc_with_a_mapping_passes_named_arguments(cur, conn):
    conn.execute("CREATE FUNCTION sub(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a - b'")
    assert cur.callproc("sub", {"b": 1, "a": 10}) == {"a": 10, "b": 1}
    assert cur.fetchone() == (9,)


def test_callproc_calls_a_procedure_with_call(cur, conn):
    conn.execute("CREATE PROCEDURE double_it(INOUT n int) LANGUAGE plpgsql "
                 "AS $$BEGIN n := n * 2; END$$")
    assert cur.callproc("double_it", [21]) == [42]
    assert cur.query == "CALL double_it($1)"
    assert cur.fetchone() == (42,)


def test_callproc_returns_outputs_in_place_of_inout_and_out_arguments(cur, conn):
    conn.execute("CREATE PROCEDURE p(IN a int, INOUT b int, OUT c text) LANGUAGE plpgsql "
                 "AS $$BEGIN b := a + b; c := 'x' || a; END$$")
    params = [1, 2, None]
    assert cur.callproc("p", params) == [1, 3, "x1"]
    assert params == [1, 2, None]
    assert cur.callproc("p", {"a": 1, "b": 5, "c": None}) == {"a": 1, "b": 6, "c": "x1"}


def test_callproc_of_a_function_with_inout_arguments_updates_them(cur, conn):
    conn.execute("CREATE FUNCTION f(IN a int, INOUT b int, OUT c text) LANGUAGE plpgsql "
                 "AS $$BEGIN b := a + b; c := 'y' || a; END$$")
    assert cur.callproc("f", (1, 2)) == [1, 3]
    assert cur.fetchall() == [(3, "y1")]


def test_callproc_of_an_overloaded_name_leaves_the_copy_as_given(cur, conn):
    conn.execute("CREATE FUNCTION g(INOUT b int) LANGUAGE sql AS 'SELECT b + 1'")
    conn.execute("CREATE FUNCTION g(INOUT b int, c int) LANGUAGE sql AS 'SELECT b + c'")
    assert cur.callproc("g", [1]) == [1]
    assert cur.fetchall() == [(2,)]


def test_callproc_of_a_procedure_without_output_has_no_result_set(cur, conn):
    conn.execute("CREATE PROCEDURE add_row(i int) LANGUAGE sql "
                 "AS 'INSERT INTO t (id) VALUES (i)'")
    cur.callproc("add_row", [42])
    assert cur.description is None
    assert conn.query_one("SELECT count(*) FROM t WHERE id = 42")[0] == 1


def test_callproc_takes_a_schema_qualified_name(cur, schema):
    cur.callproc("pg_catalog.upper", ["abc"])
    assert cur.fetchone() == ("ABC",)
    cur.execute('CREATE FUNCTION "Mixed Case"() RETURNS int LANGUAGE sql AS \'SELECT 7\'')
    cur.callproc('%s."Mixed Case"' % schema)
    assert cur.fetchone() == (7,)


def test_callproc_quotes_a_name_that_is_not_an_identifier(cur, conn):
    with pytest.raises(pg.errors.UndefinedFunction):
        cur.callproc("lower('x'); DROP TABLE t; --", ["a"])
    assert conn.query_one("SELECT count(*) FROM t")[0] == 3


def test_callproc_of_an_unknown_function_raises_programming_error(cur):
    with pytest.raises(pg.ProgrammingError):
        cur.callproc("no_such_function", [1])


def test_callproc_refuses_parameters_of_another_type(cur):
    with pytest.raises(pg.ProgrammingError):
        cur.callproc("lower", "FOO")


# ---- nextset -----------------------------------------------------------------------------

def test_several_statements_give_several_result_sets(cur):
    cur.execute("SELECT 1 AS a; SELECT 2 AS b, 3 AS c")
    assert [c.name for c in cur.description] == ["a"]
    assert cur.fetchall() == [(1,)]
    assert cur.nextset() is True
    assert [c.name for c in cur.description] == ["b", "c"]
    assert cur.fetchall() == [(2, 3)]
    assert cur.nextset() is None


def test_nextset_steps_through_statements_without_rows(cur):
    cur.execute("SELECT id FROM t ORDER BY id; UPDATE t SET name = 'z' WHERE id < 3; "
                "SELECT count(*) FROM t WHERE name = 'z'")
    assert cur.rowcount == 3
    assert cur.nextset()
    assert cur.description is None and cur.rowcount == 2
    assert cur.statusmessage == "UPDATE 2"
    with pytest.raises(pg.ProgrammingError):
        cur.fetchone()
    assert cur.nextset()
    assert cur.fetchone() == (2,)
    assert cur.nextset() is None


def test_nextset_at_the_end_keeps_the_current_result_set(cur):
    cur.execute("SELECT id FROM t ORDER BY id")
    assert cur.fetchone() == (1,)
    assert cur.nextset() is None
    assert cur.fetchone() == (2,)


def test_nextset_before_any_execute_raises_an_error(cur):
    with pytest.raises(pg.ProgrammingError, match="no result set"):
        cur.nextset()


def test_nextset_after_a_statement_without_rows_raises_an_error(cur):
    cur.execute("CREATE TABLE u (a int)")
    with pytest.raises(pg.ProgrammingError, match="no result set"):
        cur.nextset()


def test_nextset_after_executemany_raises_an_error(cur):
    cur.executemany("INSERT INTO t (id) VALUES ($1)", [[7]])
    with pytest.raises(pg.ProgrammingError):
        cur.nextset()


def test_a_failure_in_a_string_of_statements_keeps_none_of_them(cur, conn):
    with pytest.raises(pg.errors.DivisionByZero):
        cur.execute("INSERT INTO t (id) VALUES (50); SELECT 1/0; INSERT INTO t (id) VALUES (51)")
    assert conn.query_one("SELECT count(*) FROM t WHERE id >= 50")[0] == 0
    with pytest.raises(pg.ProgrammingError):
        cur.nextset()


def test_a_new_execute_drops_the_remaining_result_sets(cur):
    cur.execute("SELECT 1; SELECT 2")
    cur.execute("SELECT 3")
    assert cur.fetchone() == (3,)
    assert cur.nextset() is None


# ---- setinputsizes / setoutputsize ---------------------------------------------------------

def test_setinputsizes_and_setoutputsize_do_nothing(cur):
    cur.setinputsizes([pg.NUMBER, 20])
    cur.setinputsizes((None,))
    cur.setoutputsize(1000)
    cur.setoutputsize(2000, 0)
    cur.execute("SELECT name FROM t WHERE id = $1", [1])
    assert cur.fetchall() == [("a",)]


# ---- close, context manager, a closed connection -------------------------------------------

def test_close_can_be_called_twice(cur):
    cur.close()
    cur.close()
    assert cur.closed


@pytest.mark.parametrize("use", [
    lambda c: c.execute("SELECT 1"),
    lambda c: c.executemany("SELECT $1::int", [[1]]),
    lambda c: c.callproc("lower", ["A"]),
    lambda c: c.fetchone(),
    lambda c: c.fetchmany(),
    lambda c: c.fetchall(),
    lambda c: next(c),
    lambda c: c.nextset(),
    lambda c: c.scroll(0),
    lambda c: c.setinputsizes([1]),
    lambda c: c.setoutputsize(1),
])
def test_a_closed_cursor_raises_interface_error_on_any_use(cur, use):
    cur.execute("SELECT id FROM t")
    cur.close()
    with pytest.raises(pg.InterfaceError, match="cursor is closed"):
        use(cur)


def test_rowcount_stays_readable_after_close(cur):
    cur.execute("UPDATE t SET name = 'x' WHERE id < 3")
    cur.close()
    assert cur.rowcount == 2  # as psycopg2: read after a `with conn.cursor()` block
    assert cur.description is None
    with pytest.raises(pg.InterfaceError, match="cursor is closed"):
        cur.fetchall()
    with pytest.raises(pg.InterfaceError, match="cursor is closed"):
        cur.execute("SELECT 1")
    assert cur.rowcount == 2


def test_rowcount_after_a_with_block(conn):
    conn.execute("CREATE TABLE w (a int)")
    with conn.cursor() as c:
        c.executemany("INSERT INTO w VALUES ($1)", [[1], [2], [3]])
    assert c.closed and c.rowcount == 3


def test_cursor_as_context_manager_closes_it(conn):
    with conn.cursor() as c:
        c.execute("SELECT 1")
        assert c.fetchone() == (1,)
    assert c.closed
    assert not conn.closed


@pytest.mark.parametrize("use", [
    lambda c: c.execute("SELECT 1"),
    lambda c: c.executemany("SELECT $1::int", [[1]]),
    lambda c: c.callproc("lower", ["A"]),
    lambda c: c.fetchone(),
    lambda c: c.fetchall(),
    lambda c: c.nextset(),
])
def test_a_cursor_of_a_closed_connection_raises_interface_error(cur, conn, use):
    cur.execute("SELECT id FROM t")
    conn.close()
    assert cur.closed
    with pytest.raises(pg.InterfaceError, match="connection is closed"):
        use(cur)
    assert cur.connection is conn


def test_two_cursors_of_one_connection_see_each_others_work(sdsn, conn):
    conn.execute("CREATE TABLE u (a int)")
    with pg.connect(sdsn) as db:
        c1, c2 = db.cursor(), db.cursor()
        c1.execute("INSERT INTO u VALUES (1)")
        c2.execute("SELECT a FROM u")
        assert c2.fetchall() == [(1,)]
        db.rollback()


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


def test_cursor_repr_says_whether_it_is_open(cur):
    kind = "AsyncCursor" if isinstance(cur, pg.AsyncCursor) else "Cursor"
    assert repr(cur) == "<PostPyro.%s open>" % kind
    cur.close()
    assert repr(cur) == "<PostPyro.%s closed>" % kind


# ---- row factories ----------------------------------------------------------------------------

def test_cursor_rows_are_row_objects_by_default(cur):
    cur.execute("SELECT id, name FROM t WHERE id = 1")
    row = cur.fetchone()
    assert isinstance(row, pg.Row)
    assert row.to_dict() == {"id": 1, "name": "a"}


def test_cursor_row_factory_gives_dicts(conn, cur):
    c = conn.cursor(row_factory=dict_row)
    c.execute("SELECT id, name FROM t ORDER BY id LIMIT 2")
    assert c.fetchall() == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]


def test_cursor_row_factory_gives_plain_tuples(conn, cur):
    c = conn.cursor(row_factory=tuple_row)
    c.execute("SELECT id, name FROM t WHERE id = 1")
    row = c.fetchone()
    assert type(row) is tuple and row == (1, "a")


def test_cursor_row_factory_can_change_between_statements(cur):
    cur.row_factory = dict_row
    cur.execute("SELECT 1 AS a")
    assert cur.fetchone() == {"a": 1}
    cur.row_factory = None
    cur.execute("SELECT 1 AS a")
    assert isinstance(cur.fetchone(), pg.Row)


def test_cursor_starts_with_the_connections_row_factory(sdsn):
    with pg.Connection(sdsn, row_factory=dict_row) as c:
        cur = c.cursor()
        assert cur.row_factory is dict_row
        cur.execute("SELECT 1 AS a")
        assert cur.fetchone() == {"a": 1}


def test_cursor_row_factory_overrides_the_connections(sdsn):
    with pg.Connection(sdsn, row_factory=dict_row) as c:
        cur = c.cursor(row_factory=tuple_row)
        cur.execute("SELECT 1 AS a")
        assert cur.fetchone() == (1,)
        assert c.query("SELECT 1 AS a") == [{"a": 1}]


def test_custom_row_factory_gets_the_column_names(cur):
    def pairs(names):
        return lambda values: list(zip(names, values))
    cur.row_factory = pairs
    cur.execute("SELECT 1 AS a, 2 AS b")
    assert cur.fetchone() == [("a", 1), ("b", 2)]


def test_row_factory_must_be_callable(conn, cur):
    with pytest.raises(pg.ProgrammingError, match="row_factory"):
        cur.row_factory = "dict"
    with pytest.raises(pg.ProgrammingError, match="row_factory"):
        conn.cursor(row_factory=42)


# ---- type objects and constructors (with real type codes) ------------------------------------

def test_type_objects_compare_with_type_codes():
    assert pg.NUMBER == 23 and pg.NUMBER == 1700 and pg.NUMBER != 25
    assert pg.STRING == 25
    assert pg.BINARY == 17
    assert pg.DATETIME == 1184
    assert pg.ROWID == 26


def test_rows_row_factory_gives_row_objects_on_a_dict_row_connection(sdsn):
    from PostPyro.rows import row
    with pg.Connection(sdsn, row_factory=dict_row) as c:
        cur = c.cursor(row_factory=row)
        cur.execute("SELECT 1 AS a")
        r = cur.fetchone()
        assert isinstance(r, pg.Row) and r["a"] == 1


def test_several_commands_in_one_execute_inside_a_transaction(sdsn):
    # PEP 249 mode: the first statement opened a transaction; a multi-command string must not
    # abort it (it goes through the simple-query protocol, never through a failing Parse).
    with pg.connect(sdsn) as c:
        cur = c.cursor()
        cur.execute("SELECT 1")
        cur.execute("CREATE TABLE multi_tx (a int); INSERT INTO multi_tx VALUES (1), (2)")
        cur.execute("SELECT count(*) FROM multi_tx")
        assert cur.fetchone()[0] == 2
        c.rollback()
        cur.execute("SELECT to_regclass('multi_tx') IS NULL")
        assert cur.fetchone()[0] is True


def test_parameter_whose_type_the_server_cannot_infer_inside_a_transaction(sdsn):
    # The first Parse fails ("could not determine the polymorphic type"); it ran under a
    # savepoint, so the retry with the value's own type leaves the transaction intact.
    with pg.connect(sdsn) as c:
        cur = c.cursor()
        cur.execute("SELECT 1")
        cur.execute("SELECT array_length($1, 1)", [[1, 2, 3]])
        assert cur.fetchone()[0] == 3
        cur.execute("SELECT 2")
        assert cur.fetchone()[0] == 2
