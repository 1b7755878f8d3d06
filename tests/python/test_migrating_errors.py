# SPDX-License-Identifier: MIT
"""Errors a psycopg2 user understands, and PEP 249's numeric paramstyle taken at its word
(issue 17 item 3)."""

import pytest

import PostPyro as pg
from PostPyro import _named

PLACEHOLDER_HINT = r"PostPyro's placeholders are PostgreSQL's own: \$1, \$2"


@pytest.mark.parametrize("sql, params, found", [
    ("SELECT %s", [1], "%s"),
    ("SELECT * FROM (SELECT 1 AS a) t WHERE a = %(a)s", {"a": 1}, "%(a)s"),
    ("SELECT 1 WHERE 1 = ?", [1], "?"),
    ("SELECT :1", [1], ":1"),
    ("SELECT 1 WHERE 1 = :id", [1], ":id"),
])
def test_another_drivers_placeholder_gets_a_hint(conn, sql, params, found):
    with pytest.raises(pg.ProgrammingError, match=PLACEHOLDER_HINT) as info:
        conn.query(sql, params)
    msg = str(info.value)
    assert "not %s" % found in msg and "syntax error" in msg
    assert info.value.sqlstate == "42601"
    assert isinstance(info.value.__cause__, pg.ProgrammingError)


def test_a_syntax_error_elsewhere_gets_no_placeholder_hint(conn):
    with pytest.raises(pg.ProgrammingError) as info:
        conn.query("SELEC '%s'")
    assert "placeholders" not in str(info.value)


def test_a_percent_inside_a_string_is_not_blamed(conn):
    with pytest.raises(pg.ProgrammingError) as info:
        conn.query("SELECT '%s' FROM WHERE")
    assert "placeholders" not in str(info.value)


# ---- paramstyle "numeric": cursors take :1, :2 (as dbapi20.py writes them) ----------------

def test_cursor_takes_pep249_numeric_placeholders_as_dbapi20_writes_them(sdsn):
    assert pg.paramstyle == "numeric"
    db = pg.connect(sdsn)
    try:
        cur = db.cursor()
        cur.execute("create table booze (name varchar(20))")
        cur.execute("insert into booze values (:1)", ("Victoria Bitter",))
        assert cur.rowcount == 1
        cur.execute("create table barflys (name varchar(20), drink varchar(30))")
        cur.executemany("insert into barflys values (:1, :2)",
                        [("Bob", "Cooper's"), ("Jane", None)])
        assert cur.rowcount == 2
        cur.execute("select name from booze where name = :1", ["Victoria Bitter"])
        assert cur.fetchall() == [("Victoria Bitter",)]
        db.rollback()
    finally:
        db.close()


@pytest.mark.parametrize("sql, expected", [
    ("SELECT :1, :2", "SELECT $1, $2"),
    ("SELECT :1::int", "SELECT $1::int"),
    ("SELECT x::text FROM t WHERE a = :1", "SELECT x::text FROM t WHERE a = $1"),
    ("SELECT ':1', \":1\", $$:1$$, E'\\':1' -- :1\n, :2 /* :1 /* :1 */ */",
     "SELECT ':1', \":1\", $$:1$$, E'\\':1' -- :1\n, $2 /* :1 /* :1 */ */"),
    ("SELECT a[1:2], a[:3], (a[1:2])[1] FROM t WHERE b = :1",
     "SELECT a[1:2], a[:3], (a[1:2])[1] FROM t WHERE b = $1"),
    ("SELECT $1, ':1'", "SELECT $1, ':1'"),
    ("SELECT $1 WHERE :2", "SELECT $1 WHERE :2"),  # $n already: left alone
    ("SELECT f(a := 1)", "SELECT f(a := 1)"),
])
def test_numeric_placeholders_are_rewritten_only_outside_literals_and_slices(sql, expected):
    assert _named.numeric_sql(sql) == expected


def test_cursor_numeric_placeholders_with_casts_and_slices(conn):
    cur = conn.cursor()
    cur.execute("SELECT (ARRAY[10,20,30])[1:2], :1::int + 1, ':1'", [41])
    assert cur.fetchone() == ([10, 20], 42, ":1")


# ---- empty SQL --------------------------------------------------------------------------

@pytest.mark.parametrize("sql", ["", "   ", "\n\t"])
def test_empty_sql_is_a_clear_programming_error(conn, sql):
    with pytest.raises(pg.ProgrammingError, match="cannot run an empty statement"):
        conn.query(sql)
    with pytest.raises(pg.ProgrammingError, match="cannot run an empty statement"):
        conn.execute(sql)
    with pytest.raises(pg.ProgrammingError, match="cannot run an empty statement"):
        conn.cursor().execute(sql)
    with pytest.raises(pg.ProgrammingError, match="cannot run an empty statement"):
        conn.executemany(sql, [[1]])
    with pytest.raises(pg.ProgrammingError, match="cannot run an empty statement"):
        conn.execute_batch(["SELECT 1", sql])
    assert conn.query_one("SELECT 1")[0] == 1  # nothing was sent: the connection goes on


# ---- connection strings -------------------------------------------------------------------

@pytest.mark.parametrize("dsn", ["localhost:5432/db", "user:secret@localhost/db",
                                 "/var/run/postgresql", "my db"])
def test_a_connection_string_of_no_known_form_says_which_forms_are_accepted(dsn):
    with pytest.raises(pg.ProgrammingError, match="a URL .*key=value pairs .*a bare "
                                                  "database name") as info:
        pg.Connection(dsn)
    assert "secret" not in str(info.value)


def test_a_bare_database_name_stays_a_valid_connection_string(dsn, admin):
    # libpq (and psql) take a bare word as the database name: PostPyro still does
    db = admin.query_one("SELECT current_database()")[0]
    host = admin._info_str("host")
    port = admin._info_str("port")
    import os
    old = {k: os.environ.get(k) for k in ("PGHOST", "PGPORT", "PGUSER")}
    os.environ.update(PGHOST=host, PGPORT=port, PGUSER=admin._info_str("user"))
    try:
        with pg.Connection(db) as c:
            assert c.query_one("SELECT current_database()")[0] == db
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
