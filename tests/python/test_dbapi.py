# SPDX-License-Identifier: MIT
"""PEP 249 at module and connection level: globals, exceptions, constructors, type objects,
connect() versus Connection(), autocommit, commit/rollback/close. Cursor methods are in
test_cursor.py, parameters in test_dbapi_params.py."""

import datetime
import time

import pytest

import PostPyro as pg
from PostPyro.rows import dict_row

EXCEPTIONS = ["Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
              "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
              "NotSupportedError"]


# ---- module globals ------------------------------------------------------------------------

def test_apilevel_threadsafety_and_paramstyle():
    assert pg.apilevel == "2.0"
    assert pg.threadsafety == 2
    assert pg.paramstyle == "numeric"


def test_connect_is_a_module_function_returning_a_connection(dsn):
    c = pg.connect(dsn)
    try:
        assert isinstance(c, pg.Connection)
    finally:
        c.close()


# ---- exceptions ------------------------------------------------------------------------------

def test_warning_and_error_derive_from_exception():
    assert issubclass(pg.Warning, Exception)
    assert issubclass(pg.Error, Exception)
    assert not issubclass(pg.Warning, pg.Error)


@pytest.mark.parametrize("name, base", [
    ("InterfaceError", "Error"), ("DatabaseError", "Error"),
    ("DataError", "DatabaseError"), ("OperationalError", "DatabaseError"),
    ("IntegrityError", "DatabaseError"), ("InternalError", "DatabaseError"),
    ("ProgrammingError", "DatabaseError"), ("NotSupportedError", "DatabaseError"),
])
def test_exception_hierarchy(name, base):
    assert issubclass(getattr(pg, name), getattr(pg, base))


@pytest.mark.parametrize("name", EXCEPTIONS)
def test_exceptions_are_attributes_of_the_connection(conn, name):
    assert getattr(conn, name) is getattr(pg, name)
    assert getattr(pg.Connection, name) is getattr(pg, name)


def test_connection_exception_attributes_catch_server_errors(conn):
    with pytest.raises(conn.DataError):
        conn.query("SELECT 1/0")
    with pytest.raises(conn.ProgrammingError):
        conn.query("SELEC 1")


# ---- constructors --------------------------------------------------------------------------

def test_date_time_and_timestamp_constructors():
    assert pg.Date(2002, 12, 25) == datetime.date(2002, 12, 25)
    assert pg.Time(13, 45, 30) == datetime.time(13, 45, 30)
    assert pg.Timestamp(2002, 12, 25, 13, 45, 30) == \
        datetime.datetime(2002, 12, 25, 13, 45, 30)


def test_from_ticks_constructors_use_local_time():
    ticks = time.mktime((2002, 12, 25, 13, 45, 30, 0, 0, -1))
    assert pg.DateFromTicks(ticks) == pg.Date(2002, 12, 25)
    assert pg.TimeFromTicks(ticks) == pg.Time(13, 45, 30)
    assert pg.TimestampFromTicks(ticks) == pg.Timestamp(2002, 12, 25, 13, 45, 30)


def test_binary_makes_bytes_from_any_buffer():
    assert pg.Binary(b"Something") == b"Something"
    assert pg.Binary(b"") == b""
    assert pg.Binary(bytearray(b"\x00\xff")) == b"\x00\xff"
    assert pg.Binary(memoryview(b"ab")) == b"ab"


def test_constructed_values_round_trip_through_the_server(conn):
    conn.execute("CREATE TABLE v (d date, t time, ts timestamp, b bytea)")
    values = [pg.Date(2002, 12, 25), pg.Time(13, 45, 30),
              pg.Timestamp(2002, 12, 25, 13, 45, 30), pg.Binary(b"\x00bin\xff")]
    cur = conn.cursor()
    cur.execute("INSERT INTO v VALUES ($1, $2, $3, $4)", values)
    cur.execute("SELECT d, t, ts, b FROM v")
    assert list(cur.fetchone()) == values


# ---- type objects ----------------------------------------------------------------------------

@pytest.mark.parametrize("expr, family", [
    ("'x'::text", "STRING"), ("'x'::varchar(3)", "STRING"), ("'x'::char(2)", "STRING"),
    ("'x'::name", "STRING"), ("'{}'::json", "STRING"), ("'{}'::jsonb", "STRING"),
    ("'\\x00'::bytea", "BINARY"),
    ("1::int2", "NUMBER"), ("1::int4", "NUMBER"), ("1::int8", "NUMBER"),
    ("1::float4", "NUMBER"), ("1::float8", "NUMBER"), ("1::numeric", "NUMBER"),
    ("now()::date", "DATETIME"), ("now()::time", "DATETIME"), ("now()::timetz", "DATETIME"),
    ("now()::timestamp", "DATETIME"), ("now()", "DATETIME"),
    ("'1 day'::interval", "DATETIME"),
    ("'pg_class'::regclass::oid", "ROWID"), ("'(0,1)'::tid", "ROWID"),
])
def test_type_codes_of_real_columns_equal_their_type_object(conn, expr, family):
    cur = conn.cursor()
    cur.execute("SELECT %s AS c" % expr)
    code = cur.description[0].type_code
    assert code == getattr(pg, family)
    assert getattr(pg, family) == code
    others = {"STRING", "BINARY", "NUMBER", "DATETIME", "ROWID"} - {family}
    if family == "ROWID" and code == 26:
        others.discard("NUMBER")  # an oid is also a number
    for other in others:
        assert code != getattr(pg, other), other


def test_a_type_object_equals_itself_and_not_another():
    assert pg.STRING == pg.STRING
    assert pg.STRING != pg.NUMBER
    assert pg.NUMBER != "23"


def test_type_objects_are_hashable():
    assert len({pg.STRING, pg.BINARY, pg.NUMBER, pg.DATETIME, pg.ROWID}) == 5


# ---- connect() versus Connection() --------------------------------------------------------

def test_connect_starts_with_autocommit_off(dsn):
    with pg.connect(dsn) as c:
        assert c.autocommit is False


def test_connection_constructor_starts_with_autocommit_on(dsn):
    with pg.Connection(dsn) as c:
        assert c.autocommit is True


def test_connect_opens_no_transaction_until_the_first_statement(sdsn):
    with pg.connect(sdsn) as c:
        assert c.info()["transaction_status"] == "idle"
        c.cursor().execute("SELECT 1")
        assert c.info()["transaction_status"] == "intransaction"
        c.commit()
        assert c.info()["transaction_status"] == "idle"


def test_connect_work_is_invisible_to_others_until_commit(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    with pg.connect(sdsn) as c:
        cur = c.cursor()
        cur.execute("INSERT INTO t VALUES (1)")
        assert conn.query_one("SELECT count(*) FROM t")[0] == 0
        c.commit()
        assert conn.query_one("SELECT count(*) FROM t")[0] == 1


def test_connect_rollback_discards_work(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    with pg.connect(sdsn) as c:
        cur = c.cursor()
        cur.execute("INSERT INTO t VALUES (1)")
        c.rollback()
        cur.execute("SELECT count(*) FROM t")
        assert cur.fetchone() == (0,)


def test_connection_constructor_statements_commit_at_once(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    with pg.Connection(sdsn) as c:
        c.cursor().execute("INSERT INTO t VALUES (1)")
        assert c.info()["transaction_status"] == "idle"
        assert conn.query_one("SELECT count(*) FROM t")[0] == 1


def test_closing_with_uncommitted_work_rolls_it_back(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    c = pg.connect(sdsn)
    c.cursor().execute("INSERT INTO t VALUES (1)")
    c.close()
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_commit_and_rollback_with_nothing_to_do_succeed(sdsn):
    with pg.connect(sdsn) as c:
        c.commit()
        c.rollback()
        assert c.info()["transaction_status"] == "idle"


def test_connect_takes_libpq_parameters_as_keywords(admin, tcp_port):
    db = admin.query_one("SELECT current_database()")[0]
    with pg.connect(host="127.0.0.1", port=tcp_port, database=db, user="pp_pw",
                    password="secret", application_name="kw test", sslmode=None) as c:
        info = c.info()
        assert (info["user"], info["port"], info["database"]) == ("pp_pw", tcp_port, db)
        assert info["application_name"] == "kw test"


def test_connect_keywords_win_over_the_dsn(dsn):
    with pg.connect(dsn, application_name="it's \\ mine") as c:
        assert c.info()["application_name"] == "it's \\ mine"


def test_connect_keywords_are_added_to_a_url(tcp_port):
    url = "postgresql://pp_pw:secret@127.0.0.1:%d/postpyro_test" % tcp_port
    with pg.connect(url, application_name="a&b=c") as c:
        assert c.info()["application_name"] == "a&b=c"


def test_connect_refuses_a_keyword_that_is_not_a_parameter_name(dsn):
    with pytest.raises(pg.ProgrammingError, match="parameter name"):
        pg.connect(dsn, **{"user password": "x"})


def test_connect_passes_connection_options_through(sdsn):
    with pg.connect(sdsn, row_factory=dict_row, statement_cache=False) as c:
        assert c.query("SELECT 1 AS a") == [{"a": 1}]


# ---- autocommit --------------------------------------------------------------------------------

def test_autocommit_is_readable_and_writable(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    with pg.connect(sdsn) as c:
        c.autocommit = True
        assert c.autocommit is True
        c.cursor().execute("INSERT INTO t VALUES (1)")
        assert conn.query_one("SELECT count(*) FROM t")[0] == 1
        c.autocommit = False
        c.cursor().execute("INSERT INTO t VALUES (2)")
        assert conn.query_one("SELECT count(*) FROM t")[0] == 1
        c.rollback()


def test_autocommit_change_is_refused_in_an_implicit_transaction(sdsn):
    with pg.connect(sdsn) as c:
        c.cursor().execute("SELECT 1")
        with pytest.raises(pg.ProgrammingError, match="inside a transaction"):
            c.autocommit = True
        assert c.autocommit is False
        c.commit()
        c.autocommit = True
        assert c.autocommit is True


def test_autocommit_change_is_refused_inside_begin(conn):
    with conn.begin():
        with pytest.raises(pg.ProgrammingError, match="inside a transaction"):
            conn.autocommit = False
    conn.autocommit = False
    assert conn.autocommit is False


def test_autocommit_on_a_closed_connection_raises_interface_error(conn):
    conn.close()
    assert conn.autocommit is True
    with pytest.raises(pg.InterfaceError):
        conn.autocommit = False


# ---- a compliance-suite walk-through (the checks of the classic dbapi20.py, in $n style) ----

def test_compliance_walkthrough(sdsn, conn):
    db = pg.connect(sdsn)
    try:
        cur = db.cursor()
        cur.execute("CREATE TABLE booze (name varchar(20))")
        assert cur.description is None
        assert cur.rowcount in (-1, 0)
        cur.execute("INSERT INTO booze VALUES ($1)", ("Victoria Bitter",))
        assert cur.rowcount == 1
        cur.execute("INSERT INTO booze VALUES ($1)", ["Cooper's"])
        cur.execute("SELECT name FROM booze ORDER BY name")
        assert cur.rowcount == 2
        assert len(cur.description) == 1 and len(cur.description[0]) == 7
        assert cur.description[0][0] == "name"
        assert cur.description[0][1] == pg.STRING
        assert cur.fetchone() == ("Cooper's",)
        assert cur.fetchmany() == [("Victoria Bitter",)]
        assert cur.fetchmany() == []
        assert cur.fetchone() is None
        cur.execute("CREATE TABLE barflys (name varchar(20), drink varchar(30))")
        assert cur.description is None
        cur.executemany("INSERT INTO barflys VALUES ($1, $2)",
                        [("Bob", "Cooper's"), ("Jane", None)])
        assert cur.rowcount == 2
        cur.execute("SELECT drink FROM barflys WHERE name = 'Jane'")
        assert cur.fetchall() == [(None,)]
        r = cur.callproc("lower", ("FOO",))
        assert r == ["FOO"] and cur.fetchall() == [("foo",)]
        cur.close()
        with pytest.raises(pg.Error):
            cur.execute("SELECT 1")
        db.commit()
    finally:
        db.close()
    with pytest.raises(pg.Error):
        db.commit()
    with pytest.raises(pg.Error):
        db.cursor()
    db.close()  # a second close is not an error
    assert conn.query_one("SELECT count(*) FROM booze")[0] == 2
