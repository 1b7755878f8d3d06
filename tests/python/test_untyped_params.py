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
    # the first mention of $1 gives no type and the second an integer: the server cannot
    # type $1 (42P08); declared text, "integer = text" fails: the error is the server's
    # first one, with what to do (the text was only PostPyro's guess)
    conn.execute("CREATE TABLE v (col int)")
    for _ in range(3):  # the first run (unnamed statement), then the cached way
        with pytest.raises(pg.ProgrammingError,
                           match=r"(?s)parameter \$1.*\$1 is None.*\$1::integer IS NULL") \
                as info:
            conn.query("SELECT count(*) FROM v WHERE $1 IS NULL OR col = $1", [None])
        assert info.value.sqlstate == "42P08"
        assert "integer = text" not in str(info.value)
    assert conn.query_one("SELECT count(*) FROM v WHERE $1::int IS NULL OR col = $1",
                          [None])[0] == 0


@pytest.mark.parametrize("cache", [True, False])
def test_is_null_or_equal_on_a_table(sdsn, cache):
    # `$1 IS NULL OR col = $1`: with a value its type is declared (works), with None only
    # a text column works; the other order, or a cast, works for both
    with pg.Connection(sdsn, statement_cache=cache) as c:
        c.execute("CREATE TEMP TABLE w (n int, s text)")
        c.execute("INSERT INTO w VALUES (1, 'a'), (2, 'b')")
        for i in range(2):
            assert c.query_one("SELECT count(*) FROM w WHERE $1 IS NULL OR n = $1", [1])[0] == 1
            assert c.query_one("SELECT count(*) FROM w WHERE $1 IS NULL OR s = $1",
                               ["b"])[0] == 1
            assert c.query_one("SELECT count(*) FROM w WHERE $1 IS NULL OR s = $1",
                               [None])[0] == 2
            assert c.query_one("SELECT count(*) FROM w WHERE n = $1 OR $1 IS NULL",
                               [None])[0] == 2
            assert c.query_one("SELECT count(*) FROM w WHERE $1::int IS NULL OR n = $1",
                               [None])[0] == 2
            try:
                got = c.query_one("SELECT count(*) FROM w WHERE $1 IS NULL OR n = $1", [None])
            except pg.ProgrammingError as exc:
                assert "$1 is None" in str(exc) and "integer = text" not in str(exc)
            else:  # the statement cached by [1] (its $1 declared bigint) takes a NULL too
                assert cache and i == 1 and got[0] == 2
            assert c.query_one("SELECT count(*) FROM w WHERE $1 IS NULL OR n = $1",
                               [2])[0] == 1


def _prepared(c, sql):
    return c.query_one("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
                       [sql])[0]


@pytest.mark.parametrize("in_tx", [False, True])
def test_types_declared_from_values_do_not_stick_for_other_values(sdsn, in_tx):
    # the fallback declares the types of the values it was given: a cached statement
    # made so must not receive values of other types as those
    sql = "SELECT $1 IS NULL, $2"
    with pg.Connection(sdsn) as c:
        if in_tx:
            c.execute("BEGIN")
        assert c.query_one(sql, [None, None]) == (True, None)
        assert c.query_one(sql, [False, 5]) == (False, 5)     # cached: $1 bool, $2 int8
        assert c.query_one(sql, [True, "a"]) == (False, "a")  # was: invalid input for bigint
        assert c.query_one(sql, [False, 2.5]) == (False, 2.5)
        assert c.query_one(sql, [False, 7]) == (False, 7)
        assert c.query_one(sql, [None, None]) == (True, None)
        typeof = "SELECT pg_typeof($1)::text"
        for v in (1, 2, 3):
            assert c.query_one(typeof, [v])[0] == "bigint"
        assert _prepared(c, typeof) == 1
        assert c.query_one(typeof, ["x"])[0] == "text"
        assert c.query_one(typeof, [1.5])[0] == "double precision"
        assert c.query_one(typeof, [4])[0] == "bigint"
        assert _prepared(c, typeof) == 1  # the others ran unnamed: the cache kept its one
        if in_tx:
            c.execute("COMMIT")


def test_a_pep249_cursor_after_the_fallback(sdsn):
    with pg.connect(sdsn) as c:
        cur = c.cursor()
        for v, t in ((5, "bigint"), (6, "bigint"), ("x", "text"), (7, "bigint")):
            cur.execute("SELECT pg_typeof($1)::text, $1 IS NULL", (v,))
            assert cur.fetchone() == (t, False)


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
