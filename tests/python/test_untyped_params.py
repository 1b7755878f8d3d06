# SPDX-License-Identifier: MIT
"""Parameters whose type the server cannot infer: the types are then declared from the
values, where a None is left for the server to infer from the SQL (and declared text only
where the server names it as undeterminable), so the same SQL works with None or a value."""

import pytest

import PostPyro as pg

CASE = "SELECT CASE WHEN $1 IS NOT NULL THEN $2 ELSE 0 END"


@pytest.fixture
def t(conn):
    conn.execute("CREATE TABLE t (col int)")
    conn.execute("INSERT INTO t VALUES (1), (2)")
    return conn


@pytest.mark.parametrize("params, expected", [
    ((None, 5), 0), ((5, None), None), ((None, None), 0), ((1, 5), 5)])
def test_a_null_takes_the_type_the_sql_gives_it(conn, params, expected):
    # the server cannot type $1 (IS NOT NULL only); $2 is the CASE's type, not text
    assert conn.query_one(CASE, list(params))[0] == expected


def test_a_null_in_a_case_keeps_the_case_s_integer_type(conn):
    assert conn.query_one("SELECT pg_typeof(CASE WHEN $1 IS NOT NULL THEN $2 ELSE 0 END)::text",
                          [5, None])[0] == "integer"


def test_sqlalchemy_style_optional_filter_with_none_and_a_value(t):
    sql = "SELECT count(*) FROM t WHERE col = $1 OR $1 IS NULL"
    assert t.query_one(sql, [None])[0] == 2
    assert t.query_one(sql, [1])[0] == 1
    sql = "SELECT count(*) FROM t WHERE ($2 IS NULL OR col = $1) AND $3 IS NULL"
    assert t.query_one(sql, [None, None, None])[0] == 2
    assert t.query_one(sql, [2, 0, None])[0] == 1


def test_a_null_the_server_cannot_type_at_all_is_text(conn):
    assert conn.query_one("SELECT pg_typeof($1)::text", [None])[0] == "text"
    assert conn.query_one("SELECT $1 IS NULL, $2", [None, None]) == (True, None)
    assert conn.query_one("SELECT pg_typeof($1)::text", [5])[0] == "bigint"


def test_retries_inside_a_transaction_keep_the_transaction(sdsn):
    # every failed Parse but the last runs under a savepoint and is undone
    for cache in (True, False):
        with pg.Connection(sdsn, statement_cache=cache) as c:
            c.execute("CREATE TEMP TABLE u (a int)")
            with c.begin():
                c.execute("INSERT INTO u VALUES (1)")
                assert c.query_one(CASE, [None, None])[0] == 0
                assert c.query_one(CASE + " + 0", [5, None])[0] is None
                assert c.query_one("SELECT $1 IS NULL, $2::int", [None, 3]) == (True, 3)
                c.execute("INSERT INTO u VALUES (2)")
            assert c.query_one("SELECT sum(a) FROM u")[0] == 3


def test_a_statement_that_still_fails_raises_the_server_s_error(conn):
    # the first mention of $1 gives no type and the second an integer: the server calls
    # that inconsistent; declared text (as before), the comparison fails
    conn.execute("CREATE TABLE v (col int)")
    with pytest.raises(pg.ProgrammingError):
        conn.query("SELECT count(*) FROM v WHERE $1 IS NULL OR col = $1", [None])
    assert conn.query_one("SELECT count(*) FROM v WHERE $1::int IS NULL OR col = $1",
                          [None])[0] == 0


def test_the_same_on_an_async_connection(sdsn):
    # the retries run in nonblocking mode there (on the connection's fiber)
    import asyncio

    async def main():
        c = await pg.AsyncConnection.connect(sdsn)
        try:
            assert (await c.query_one(CASE, [None, None]))[0] == 0
            async with c.transaction():
                assert (await c.query_one(CASE + " + 1", [5, None]))[0] is None
                assert tuple(await c.query_one("SELECT $1 IS NULL, $2", [None, None])) \
                    == (True, None)
        finally:
            await c.close()
    asyncio.run(main())
