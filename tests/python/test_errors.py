# SPDX-License-Identifier: MIT
"""Errors: the right class for each failure, with everything the server said, and the
connection usable afterwards."""

import time
import uuid

import pytest

import PostPyro as pg
from PostPyro import errors

from conftest import dsn_with


@pytest.fixture
def shop(conn):
    conn.execute("CREATE TABLE customers (id int PRIMARY KEY, email text UNIQUE)")
    conn.execute("CREATE TABLE orders (id int PRIMARY KEY, customer int "
                 "CONSTRAINT orders_customer_fk REFERENCES customers, "
                 "qty int CONSTRAINT qty_positive CHECK (qty > 0), note text NOT NULL)")
    conn.execute("INSERT INTO customers VALUES (1, 'a@example.com')")
    return conn


def still_usable(conn):
    return conn.query_one("SELECT 41 + 1")[0] == 42


def test_syntax_error_is_a_programming_error(conn):
    with pytest.raises(pg.ProgrammingError) as info:
        conn.query("SELEC 1")
    assert isinstance(info.value, errors.SyntaxError)
    assert info.value.sqlstate == "42601"
    assert info.value.diag.statement_position == "1"
    assert still_usable(conn)


def test_unknown_table_is_a_programming_error(conn):
    with pytest.raises(errors.UndefinedTable) as info:
        conn.query("SELECT * FROM no_such_table")
    assert isinstance(info.value, pg.ProgrammingError)
    assert 'relation "no_such_table" does not exist' in str(info.value)
    assert still_usable(conn)


def test_unknown_column_is_a_programming_error(conn):
    with pytest.raises(errors.UndefinedColumn):
        conn.query("SELECT nope FROM (SELECT 1 AS a) s")
    assert still_usable(conn)


def test_wrong_number_of_parameters_is_a_programming_error(conn):
    with pytest.raises(pg.ProgrammingError, match="2 parameters"):
        conn.query("SELECT $1::int, $2::int", [1])
    with pytest.raises(pg.ProgrammingError):
        conn.query("SELECT $1::int", [1, 2])
    assert still_usable(conn)


def test_unique_violation_carries_the_constraint_and_table(shop):
    with pytest.raises(pg.IntegrityError) as info:
        shop.execute("INSERT INTO customers VALUES ($1, $2)", [2, "a@example.com"])
    exc = info.value
    assert isinstance(exc, errors.UniqueViolation)
    assert exc.sqlstate == exc.pgcode == "23505"
    assert exc.diag.constraint_name == "customers_email_key"
    assert exc.diag.table_name == "customers"
    assert exc.diag.severity == "ERROR"
    assert exc.diag.message_detail == "Key (email)=(a@example.com) already exists."
    assert "DETAIL: Key (email)=(a@example.com) already exists." in str(exc)
    assert str(exc).startswith('duplicate key value violates unique constraint')
    assert still_usable(shop)


def test_foreign_key_violation_is_an_integrity_error(shop):
    with pytest.raises(errors.ForeignKeyViolation) as info:
        shop.execute("INSERT INTO orders VALUES (1, 99, 1, 'x')")
    assert isinstance(info.value, pg.IntegrityError)
    assert info.value.diag.constraint_name == "orders_customer_fk"
    assert info.value.diag.table_name == "orders"
    assert still_usable(shop)


def test_check_violation_is_an_integrity_error(shop):
    with pytest.raises(errors.CheckViolation) as info:
        shop.execute("INSERT INTO orders VALUES (1, 1, 0, 'x')")
    assert info.value.diag.constraint_name == "qty_positive"
    assert still_usable(shop)


def test_not_null_violation_names_the_column(shop):
    with pytest.raises(errors.NotNullViolation) as info:
        shop.execute("INSERT INTO orders VALUES (1, 1, 1, NULL)")
    assert info.value.diag.column_name == "note"
    assert info.value.diag.schema_name is not None
    assert still_usable(shop)


def test_division_by_zero_is_a_data_error(conn):
    with pytest.raises(pg.DataError) as info:
        conn.query("SELECT 1 / 0")
    assert isinstance(info.value, errors.DivisionByZero)
    assert still_usable(conn)


def test_bad_cast_is_a_data_error(conn):
    with pytest.raises(errors.InvalidTextRepresentation) as info:
        conn.query("SELECT 'abc'::int")
    assert isinstance(info.value, pg.DataError)
    assert still_usable(conn)


def test_a_bad_string_for_an_integer_parameter_is_the_servers_data_error(conn):
    conn.execute("CREATE TABLE t (a int)")
    with pytest.raises(pg.DataError):
        conn.execute("INSERT INTO t VALUES ($1)", ["abc"])
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_hint_is_part_of_the_message(conn):
    with pytest.raises(pg.ProgrammingError) as info:
        conn.query("SELECT 1 + 'a'::text")
    exc = info.value
    assert exc.diag.message_hint
    assert "\nHINT: " + exc.diag.message_hint in str(exc)


def test_an_error_raised_by_plpgsql_carries_its_fields(conn):
    with pytest.raises(pg.DatabaseError) as info:
        conn.execute("""DO $$ BEGIN RAISE EXCEPTION 'custom failure'
            USING ERRCODE = '22023', DETAIL = 'the detail', HINT = 'the hint'; END $$""")
    exc = info.value
    assert isinstance(exc, errors.InvalidParameterValue)
    assert exc.diag.message_primary == "custom failure"
    assert exc.diag.message_detail == "the detail"
    assert exc.diag.message_hint == "the hint"
    assert exc.diag.context is not None
    assert exc.diag.source_file is not None
    assert exc.diag.source_function is not None
    assert str(exc) == "custom failure\nDETAIL: the detail\nHINT: the hint"


def test_a_python_value_that_cannot_become_the_parameter_type_is_refused(conn):
    conn.execute("CREATE TABLE t (a int, b int)")
    with pytest.raises(pg.ProgrammingError) as info:
        conn.execute("INSERT INTO t VALUES ($1, $2)", [1, uuid.uuid4()])
    message = str(info.value)
    assert "$2" in message
    assert "UUID" in message
    assert "integer" in message
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_integer_out_of_range_for_the_parameter_type_is_a_data_error(conn):
    with pytest.raises(pg.DataError, match=r"\$1"):
        conn.query("SELECT $1::int2", [40000])
    with pytest.raises(pg.DataError):
        conn.query("SELECT $1::int4", [2 ** 31])
    with pytest.raises(pg.DataError):
        conn.query("SELECT $1::int8", [2 ** 63])
    assert still_usable(conn)


def test_an_unsupported_python_type_names_the_parameter_and_type(conn):
    class Thing:
        pass
    with pytest.raises(pg.ProgrammingError, match=r"parameter \$2: .*Thing"):
        conn.query("SELECT $1::text, $2::text", ["a", Thing()])
    assert still_usable(conn)


def test_nul_in_a_str_parameter_is_refused_before_sending(conn):
    with pytest.raises(pg.DataError, match=r"parameter \$2: str contains a NUL"):
        conn.query("SELECT $1::text, $2::text", ["ok", "a\0b"])
    assert still_usable(conn)


def test_error_after_error_the_connection_stays_usable(conn):
    for sql in ["SELEC 1", "SELECT 1/0", "SELECT * FROM nope", "SELECT 'x'::int"]:
        with pytest.raises(pg.DatabaseError):
            conn.query(sql)
        assert still_usable(conn)


def test_error_in_a_transaction_leaves_it_failed_until_rollback(conn):
    tx = conn.begin()
    with pytest.raises(pg.DataError):
        tx.query("SELECT 1/0")
    with pytest.raises(errors.InFailedSqlTransaction) as info:
        tx.query("SELECT 1")
    assert isinstance(info.value, pg.InternalError)
    tx.rollback()
    assert still_usable(conn)


# ---- connection failures -----------------------------------------------------------------

def test_wrong_password_is_an_operational_error(pw_dsn, password_checked):
    bad = pw_dsn.replace("password=secret", "password=wrong")
    assert bad != pw_dsn
    with pytest.raises(pg.OperationalError) as info:
        pg.Connection(dsn_with(bad, connect_timeout="2"))
    assert "wrong" not in str(info.value)
    assert "password" in str(info.value)


def test_right_password_connects(pw_dsn):
    with pg.Connection(pw_dsn) as c:
        assert c.query_one("SELECT current_user")[0] == "pp_pw"


def test_unknown_user_is_an_operational_error(pw_role):
    with pytest.raises(pg.OperationalError) as info:
        pg.Connection("host=127.0.0.1 port=%d dbname=%s user=no_such_user_x "
                      "password=not-the-password connect_timeout=2"
                      % (pw_role["port"], pw_role["database"]))
    # refused for its user (class 28: no such role, or its password failed), not another way
    assert info.value.sqlstate.startswith("28")
    assert "no_such_user_x" in str(info.value)


def test_unknown_database_is_an_operational_error(dsn):
    with pytest.raises(pg.OperationalError):
        pg.Connection(dsn_with(dsn, dbname="no_such_database_x", connect_timeout="2"))


def test_refused_port_is_a_quick_operational_error():
    start = time.monotonic()
    with pytest.raises(pg.OperationalError) as info:
        pg.Connection("host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2")
    assert time.monotonic() - start < 5
    assert info.value.sqlstate is None or info.value.sqlstate.startswith("08")


def test_malformed_dsn_is_an_operational_error():
    with pytest.raises(pg.OperationalError):
        pg.Connection("this is = not a 'dsn")


def test_password_never_appears_in_connection_errors(password_checked):
    with pytest.raises(pg.OperationalError) as info:
        pg.Connection(password_checked["url"].replace(":secret@", ":hunter2xyz@")
                      + "?connect_timeout=2")
    assert "password authentication failed" in str(info.value)
    assert "hunter2xyz" not in str(info.value)
    assert "hunter2xyz" not in repr(info.value)


@pytest.mark.parametrize("cache", [False, True])
def test_a_statement_parsed_after_the_server_ended_the_session_gives_its_reason(
        sdsn, admin, cache):
    # The Parse + Describe round trip reads the server's farewell, not just a closed socket.
    with pg.Connection(sdsn, statement_cache=cache) as c:
        pid = c.info()["backend_pid"]
        admin.query("SELECT pg_terminate_backend($1)", [pid])
        for _ in range(100):
            if not admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid]):
                break
            time.sleep(0.05)
        with pytest.raises(pg.errors.AdminShutdown):
            c.query("SELECT $1::int", [1])


def test_connection_killed_by_the_server_raises_operational_error(conn, admin):
    pid = conn.info()["backend_pid"]
    admin.query("SELECT pg_terminate_backend($1)", [pid])
    time.sleep(0.2)
    with pytest.raises(pg.OperationalError):
        conn.query("SELECT 1")


def test_a_syntax_error_shows_the_line_and_a_caret_as_psql_does(conn):
    with pytest.raises(pg.ProgrammingError) as info:
        conn.query("SELECT 1,\n  2 FRO x")
    text = str(info.value)
    assert text.startswith('syntax error at or near "x"\nLINE 2:   2 FRO x\n')
    assert text.splitlines()[2] == " " * len("LINE 2:   2 FRO ") + "^"
    assert info.value.diag.message_primary == 'syntax error at or near "x"'
    assert info.value.origin == "server"


def test_library_errors_carry_a_fitting_sqlstate_and_their_origin(conn):
    with pytest.raises(pg.ProgrammingError, match=r"cannot send Python float as integer") as info:
        conn.query("SELECT $1::int4", [1.5])
    assert info.value.sqlstate == "42804"
    assert info.value.origin == "library"
    with pytest.raises(pg.OperationalError) as info:
        pg.connect("host=127.0.0.1 port=1 connect_timeout=5")
    assert info.value.origin == "connection"


def test_a_conversion_error_names_the_parameter_and_the_type_never_an_oid(conn):
    from datetime import datetime, timezone
    with pytest.raises(pg.ProgrammingError) as info:
        conn.query("SELECT 1, $1::timestamp[]", [[datetime(2020, 1, 1, tzinfo=timezone.utc)]])
    text = str(info.value)
    assert text.startswith("parameter $1: cannot send Python list as timestamp without time "
                           "zone[]")
    assert "OID" not in text and "1115" not in text
