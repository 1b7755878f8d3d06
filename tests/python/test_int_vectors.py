# SPDX-License-Identifier: MIT
"""int2vector and oidvector (pg_index.indkey, pg_proc.proargtypes, …) read as lists of ints,
with NULLs and empty vectors, the same as the server's own text says, in both protocols."""

import pytest


def ints(text):
    return None if text is None else [int(p) for p in text.split()]


@pytest.fixture
def t(conn):
    conn.execute("CREATE TABLE t (a int, b int, c int)")
    conn.execute("CREATE INDEX t_ca ON t (c, a)")
    conn.execute("CREATE INDEX t_expr ON t ((a + b))")  # an expression: attnum 0
    return conn


def test_indkey_is_a_list_of_ints_equal_to_the_server_s_text(t):
    rows = t.query("SELECT i.relname, x.indkey, x.indkey::text FROM pg_index x "
                   "JOIN pg_class i ON i.oid = x.indexrelid "
                   "WHERE x.indrelid = 't'::regclass ORDER BY 1")
    assert [(r[0], r[1]) for r in rows] == [("t_ca", [3, 1]), ("t_expr", [0])]
    for _, vec, text in rows:
        assert vec == ints(text) and all(type(k) is int for k in vec)


def test_proargtypes_of_every_function_match_the_server_s_text(conn):
    rows = conn.query("SELECT proargtypes, proargtypes::text FROM pg_proc")
    assert len(rows) > 1000
    assert any(vec == [] for vec, _ in rows)  # functions without arguments
    for vec, text in rows:
        assert vec == ints(text)


@pytest.mark.parametrize("protocol", ["extended", "simple"])
def test_nulls_and_empty_vectors_in_both_protocols(conn, protocol):
    sql = ("SELECT NULL::int2vector, ''::int2vector, '0 -1 32767'::int2vector, "
           "NULL::oidvector, ''::oidvector, '4294967295 26'::oidvector, "
           "'{\"1 2\",NULL,\"\"}'::int2vector[]")
    if protocol == "simple":
        sql = "SELECT 1; " + sql  # several commands: simple protocol, text results
    assert tuple(conn.query_one(sql)) == (None, [], [0, -1, 32767], None, [], [4294967295, 26],
                                          [[1, 2], None, []])


def test_a_vector_parameter_is_sent_as_its_text(conn):
    assert conn.query_one("SELECT $1::int2vector", ["3 1"])[0] == [3, 1]
    assert conn.query_one("SELECT $1::oidvector::text", [""])[0] == ""
