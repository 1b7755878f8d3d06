# SPDX-License-Identifier: MIT
"""query()'s path for a statement run before (its plan is known, issue 20): the same
behaviour as the first run — result shape, row factory, PEP 249's BEGIN, parameters,
errors, big and wide results, threads."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

import PostPyro as pg
from PostPyro.rows import dict_row


def test_same_sql_new_columns_after_alter(sdsn):
    # the plan keeps its last result's names: a changed result must not reuse them
    with pg.Connection(sdsn) as c:
        c.execute("CREATE TABLE t (a int)")
        c.execute("INSERT INTO t VALUES (1)")
        assert c.query("SELECT * FROM t")[0].keys() == ["a"]
        assert c.query("SELECT * FROM t")[0].keys() == ["a"]
        c.execute("ALTER TABLE t ADD COLUMN b text DEFAULT 'x'")
        row = c.query("SELECT * FROM t")[0]
        assert row.keys() == ["a", "b"] and row == (1, "x")
        assert c.query("SELECT * FROM t")[0]["b"] == "x"


def test_same_sql_new_columns_without_statement_cache(sdsn):
    with pg.Connection(sdsn, statement_cache=False) as c:
        c.execute("CREATE TABLE t (a int)")
        c.execute("INSERT INTO t VALUES (1)")
        assert c.query("SELECT * FROM t")[0].keys() == ["a"]
        c.execute("ALTER TABLE t RENAME COLUMN a TO z")
        assert c.query("SELECT * FROM t")[0].to_dict() == {"z": 1}


def test_row_factory_change_applies_to_a_known_plan(sdsn):
    with pg.Connection(sdsn) as c:
        sql = "SELECT $1::int4 AS n"
        assert c.query(sql, [1]) == [(1,)]
        c.row_factory = dict_row
        assert c.query(sql, [2]) == [{"n": 2}]
        assert c.query_one(sql, [3]) == {"n": 3}
        c.row_factory = None
        assert c.query(sql, [4])[0]["n"] == 4


def test_pep249_mode_begins_again_after_commit(sdsn):
    with pg.connect(sdsn) as c:
        for _ in range(2):
            assert c.query("SELECT 1") == [(1,)]
            assert c.transaction_status == "intransaction"
            c.commit()
            assert c.transaction_status == "idle"
        # a COMMIT run as a statement ends the transaction too: the next one opens one
        c.query("SELECT 1")
        c.query("COMMIT")
        assert c.transaction_status == "idle"
        c.query("SELECT 1")
        assert c.transaction_status == "intransaction"
        c.rollback()


def test_parameters_of_a_known_plan(sdsn):
    with pg.Connection(sdsn) as c:
        for _ in range(2):  # first run, then the plan's
            assert c.query("SELECT $1::int8", [2**63 - 1]) == [(2**63 - 1,)]
            assert c.query("SELECT $1::int8", [-2**63]) == [(-2**63,)]
            assert c.query("SELECT $1::numeric", [2**63]) == [(Decimal(2**63),)]
            assert c.query("SELECT $1::numeric", [-2**63 - 1]) == [(Decimal(-2**63 - 1),)]
            assert c.query("SELECT $1::int4", (None,)) == [(None,)]
            assert c.query("SELECT $1::int4 + $2", [1, 2]) == [(3,)]


def test_known_plan_refuses_a_bad_parameter_and_stays_usable(sdsn):
    with pg.Connection(sdsn) as c:
        assert c.query("SELECT $1::int4", [1]) == [(1,)]
        with pytest.raises(pg.ProgrammingError, match=r"parameter \$1: cannot send"):
            c.query("SELECT $1::int4", [object()])
        with pytest.raises(pg.DataError):
            c.query("SELECT $1::int4", [2**40])  # the server's range check
        with pytest.raises(pg.ProgrammingError, match="list or a tuple"):
            c.query("SELECT $1::int4", "1")
        assert c.query("SELECT $1::int4", [5]) == [(5,)]


def test_known_plan_syntax_error_is_explained_each_time(sdsn):
    with pg.Connection(sdsn) as c:
        messages = []
        for _ in range(2):
            with pytest.raises(pg.ProgrammingError) as info:
                c.query("SELEC $1", [1])
            messages.append(str(info.value))
        assert messages[0] == messages[1] and "SELEC" in messages[0]
        assert c.query("SELECT 1") == [(1,)]


def test_sql_that_is_not_a_str(sdsn):
    with pg.Connection(sdsn) as c:
        for bad in (["SELECT 1"], b"SELECT 1"):
            with pytest.raises(pg.ProgrammingError, match="SQL must be a str"):
                c.query(bad)


def test_known_plan_big_and_wide_results(sdsn):
    with pg.Connection(sdsn) as c:
        big = "SELECT i FROM generate_series(1, $1) i"  # several chunks
        wide = "SELECT " + ", ".join("%d AS c%d" % (k, k) for k in range(40))  # > 32 columns
        for _ in range(2):
            rows = c.query(big, [30000])
            assert len(rows) == 30000 and rows[-1] == (30000,)
            # the statement ended with its last chunk: no transaction is this thread's
            assert c._lock.owner is None
            row = c.query_one(wide)
            assert len(row) == 40 and row["c39"] == 39
            assert c.query("SELECT 1 WHERE false") == []
            assert c.query("CREATE TEMP TABLE IF NOT EXISTS tmp (a int)") == []


def test_known_plan_waits_for_another_threads_transaction(sdsn):
    with pg.Connection(sdsn) as c:
        assert c.query("SELECT 1") == [(1,)]
        seen = []
        tx = c.begin()
        tx.__enter__()
        t = threading.Thread(target=lambda: seen.append(c.query("SELECT 1")))
        t.start()
        t.join(0.3)
        assert t.is_alive() and not seen  # the transaction is this thread's
        c.query("SELECT 1")  # the owner goes on
        tx.__exit__(None, None, None)
        t.join(10)
        assert seen == [[(1,)]]
        assert c.transaction_status == "idle"
