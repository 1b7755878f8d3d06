# SPDX-License-Identifier: MIT
"""Parameters: $1, $2 with sequences; $name with mappings, rewritten to $1.. in Python only
outside string literals, quoted identifiers, dollar quotes and comments; misuse gets a
clear ProgrammingError. Values are never written into the SQL."""

import pytest

import PostPyro as pg
from PostPyro import _named


# ---- sequences ($1, $2) --------------------------------------------------------------------

@pytest.mark.parametrize("params", [[1, "a"], (1, "a")])
def test_sequence_parameters_bind_by_position(conn, params):
    cur = conn.cursor()
    cur.execute("SELECT $2::text, $1::int", params)
    assert cur.fetchone() == ("a", 1)


def test_a_positional_parameter_may_be_used_twice(conn):
    assert conn.query_one("SELECT $1::int + $1::int", [2])[0] == 4


@pytest.mark.parametrize("params, given", [([1], "1 was given"), ([1, 2, 3], "3 were given")])
def test_wrong_number_of_parameters_is_a_programming_error(conn, params, given):
    with pytest.raises(pg.ProgrammingError, match=given):
        conn.cursor().execute("SELECT $1::int, $2::int", params)


@pytest.mark.parametrize("params", ["ab", b"ab", 5, {1, 2}])
def test_parameters_of_another_type_are_a_programming_error(conn, params):
    with pytest.raises(pg.ProgrammingError, match="list or a tuple"):
        conn.cursor().execute("SELECT $1::text", params)


# ---- mappings ($name) ------------------------------------------------------------------------

def test_mapping_parameters_bind_by_name(conn):
    cur = conn.cursor()
    cur.execute("SELECT $b::text AS b, $a::int AS a", {"a": 1, "b": "x"})
    assert cur.fetchone() == ("x", 1)
    assert cur.query == "SELECT $1::text AS b, $2::int AS a"


def test_a_name_used_twice_is_one_parameter(conn):
    assert conn.query_one("SELECT $n::int * $n::int + $m::int", {"n": 3, "m": 1})[0] == 10


def test_extra_keys_in_the_mapping_are_ignored(conn):
    assert conn.query_one("SELECT $a::int", {"a": 1, "unused": object()})[0] == 1


def test_a_mapping_works_for_sql_without_placeholders(conn):
    assert conn.query_one("SELECT 7", {})[0] == 7


def test_named_parameters_work_with_every_connection_method(conn):
    conn.execute("CREATE TABLE t (id int, name text)")
    assert conn.execute("INSERT INTO t VALUES ($id, $name)", {"id": 1, "name": "a"}) == 1
    assert conn.query("SELECT name FROM t WHERE id = $id", {"id": 1}) == [("a",)]
    assert conn.query_one("SELECT id FROM t WHERE name = $n", {"n": "a"}) == (1,)
    assert conn.executemany("INSERT INTO t VALUES ($id, $name)",
                            [{"id": 2, "name": "b"}, {"id": 3, "name": "c"}]) == 2
    with conn.begin() as tx:
        assert tx.execute("DELETE FROM t WHERE id = $id", {"id": 3}) == 1
        assert tx.query_one("SELECT count(*) FROM t WHERE id < $max", {"max": 9})[0] == 2


def test_a_prepared_statement_takes_named_parameters(conn):
    stmt = conn.prepare("SELECT $a::int - $b::int")
    assert conn.query_one(stmt, {"b": 1, "a": 10})[0] == 9
    assert conn.executemany(stmt, [{"a": 1, "b": 2}]) == 1
    cur = conn.cursor()
    cur.execute(stmt, {"a": 5, "b": 2})
    assert cur.fetchone() == (3,)
    assert cur.query == "SELECT $1::int - $2::int"
    cur.executemany(stmt, [{"a": 5, "b": 2}, {"a": 1, "b": 1}])
    assert cur.rowcount == 2
    assert cur.query == "SELECT $1::int - $2::int"


def test_a_missing_name_is_a_programming_error_naming_it(conn):
    with pytest.raises(pg.ProgrammingError, match=r"\$b .*keys: 'a'"):
        conn.cursor().execute("SELECT $a::int, $b::int", {"a": 1})


def test_a_missing_name_in_an_executemany_row_names_the_row(conn):
    with pytest.raises(pg.ProgrammingError, match=r"\$b in parameter row 1"):
        conn.cursor().executemany("SELECT $a::int, $b::int", [{"a": 1, "b": 2}, {"a": 1}])


def test_a_mapping_for_positional_placeholders_is_a_programming_error(conn):
    with pytest.raises(pg.ProgrammingError, match="positional placeholders"):
        conn.cursor().execute("SELECT $1::int", {"1": 1})


@pytest.mark.parametrize("params", [[1], (1,), None])
def test_named_placeholders_without_a_mapping_are_a_clear_programming_error(conn, params):
    with pytest.raises(pg.ProgrammingError, match=r"named placeholders \(\$a\).*mapping"):
        conn.cursor().execute("SELECT $a::int", params)
    assert conn.query_one("SELECT 1")[0] == 1


def test_mixing_positional_and_named_placeholders_is_a_programming_error(conn):
    with pytest.raises(pg.ProgrammingError, match="mixes"):
        conn.cursor().execute("SELECT $1::int, $a::int", {"a": 1})
    with pytest.raises(pg.ProgrammingError, match="mixes"):
        conn.prepare("SELECT $1::int, $a::int")


def test_executemany_rows_must_all_be_mappings_or_all_sequences(conn):
    with pytest.raises(pg.ProgrammingError, match="row 1"):
        conn.cursor().executemany("SELECT $a::int", [{"a": 1}, [2]])
    with pytest.raises(pg.ProgrammingError):
        conn.cursor().executemany("SELECT $1::int", [[1], {"a": 2}])


def test_non_ascii_names_are_names(conn):
    assert conn.query_one("SELECT $größe::int", {"größe": 3})[0] == 3


def test_a_value_is_never_written_into_the_sql(conn):
    conn.execute("CREATE TABLE t (s text)")
    evil = "'); DROP TABLE t; -- $a $$ */"
    cur = conn.cursor()
    cur.execute("INSERT INTO t VALUES ($a)", {"a": evil})
    assert cur.query == "INSERT INTO t VALUES ($1)"
    assert conn.query("SELECT s FROM t") == [(evil,)]


# ---- hostile SQL: $name inside literals, identifiers, dollar quotes, comments ---------------

@pytest.mark.parametrize("sql, expected", [
    # string constants, with '' inside
    ("SELECT '$a', $a::int", ("$a", 1)),
    ("SELECT 'it''s $a', $a::int", ("it's $a", 1)),
    ("SELECT '', $a::int", ("", 1)),
    ("SELECT 'x'\n'$a' , $a::int", ("x$a", 1)),
    # escape strings: a backslash escapes the quote
    ("SELECT E'\\' $a', $a::int", ("' $a", 1)),
    ("SELECT e'\\\\', $a::int", ("\\", 1)),
    ("SELECT E'it''s \\'$a\\'', $a::int", ("it's '$a'", 1)),
    # a plain string ending in a backslash (standard_conforming_strings)
    ("SELECT 'C:\\', $a::int", ("C:\\", 1)),
    # other prefixes are plain strings
    ("SELECT U&'\\0041$a', $a::int", ("A$a", 1)),
    ("SELECT N'$a', $a::int", ("$a", 1)),
    ("SELECT B'101'::text, $a::int", ("101", 1)),
    # an identifier ending in e/E does not start an escape string
    ("SELECT (SELECT 'x\\' AS e)::text, $a::int", ("x\\", 1)),
    # quoted identifiers
    ('SELECT 1 AS "$a", $a::int', (1, 1)),
    ('SELECT 1 AS "say ""$a""", $a::int', (1, 1)),
    # dollar quotes, with and without tag, nested
    ("SELECT $$ $a $$, $a::int", (" $a ", 1)),
    ("SELECT $q$ it's $a $q$, $a::int", (" it's $a ", 1)),
    ("SELECT $x$ $y$ $a $y$ $x$, $a::int", (" $y$ $a $y$ ", 1)),
    ("SELECT $_$ -- $a $_$, $a::int", (" -- $a ", 1)),
    # comments, nested block comments
    ("SELECT '-' /* $a */, $a::int", ("-", 1)),
    ("SELECT '-' /* /* $a */ $a */, $a::int", ("-", 1)),
    ("SELECT '-' -- $a\n, $a::int", ("-", 1)),
    ("SELECT '--' , $a::int -- trailing $b", ("--", 1)),
    ("SELECT '/*', $a::int", ("/*", 1)),
    # identifiers may contain $
    ("SELECT x$a, $a::int FROM (SELECT 5 AS x$a) s", (5, 1)),
    # casts and array slices
    ("SELECT ($a::int[])[1:2]::text, $a::int[]::text", ("{1,2}", "{1,2,3}")),
    ("SELECT 'x'::text, $a::int::text", ("x", "1")),
])
def test_placeholders_inside_literals_comments_and_quotes_are_left_alone(conn, sql, expected):
    value = [1, 2, 3] if "[]" in sql else 1
    row = conn.query_one(sql, {"a": value})
    assert tuple(row) == expected


def test_only_real_placeholders_are_numbered():
    p = _named.parse("SELECT '$x', \"$y\", $$ $z $$, /* $w */ $a, $b, $a -- $v")
    assert p.names == ("a", "b")
    assert p.sql == "SELECT '$x', \"$y\", $$ $z $$, /* $w */ $1, $2, $1 -- $v"


def test_an_unterminated_literal_hides_the_rest_and_the_server_reports_it(conn):
    assert _named.parse("SELECT 'abc $a").names == ()
    with pytest.raises(pg.ProgrammingError):
        conn.query("SELECT 'abc $a", {"a": 1})


def test_an_unterminated_comment_or_dollar_quote_hides_the_rest():
    assert _named.parse("SELECT /* $a").names == ()
    assert _named.parse("SELECT /* /* */ $a").names == ()
    assert _named.parse("SELECT $t$ $a").names == ()
    assert _named.parse('SELECT "$a').names == ()


def test_a_dollar_quote_tag_is_not_a_placeholder():
    assert _named.parse("SELECT $a$ x $a$").names == ()
    assert _named.parse("SELECT $a$ x $a$, $a").names == ("a",)


def test_positional_placeholders_are_found_outside_literals():
    p = _named.parse("SELECT '$1', $2, $$ $3 $$")
    assert p.positional == ("$2",)
    assert p.names == ()


def test_named_placeholders_with_sequence_rows_in_executemany_are_a_clear_error(conn):
    with pytest.raises(pg.ProgrammingError, match=r"named placeholders \(\$a\).*mapping"):
        conn.cursor().executemany("SELECT $a::int", [[1], [2]])
