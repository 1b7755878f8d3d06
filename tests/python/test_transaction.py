"""Transactions: begin(), commit on success, rollback on error, savepoints."""

import time

import pytest

import PostPyro as pg


@pytest.fixture
def accounts(conn):
    conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL "
                 "CHECK (balance >= 0))")
    conn.execute("INSERT INTO accounts VALUES (1, 100), (2, 0)")
    return conn


def balances(conn):
    return [r[0] for r in conn.query("SELECT balance FROM accounts ORDER BY id")]


def test_begin_returns_a_transaction(conn):
    tx = conn.begin()
    assert isinstance(tx, pg.AsyncTransaction if isinstance(conn, pg.AsyncConnection)
                      else pg.Transaction)
    assert tx.active
    tx.rollback()


def test_with_block_commits_on_success(accounts, sdsn):
    with accounts.begin() as tx:
        tx.execute("UPDATE accounts SET balance = balance - $1 WHERE id = $2", [100, 1])
        tx.execute("UPDATE accounts SET balance = balance + $1 WHERE id = $2", [100, 2])
    with pg.Connection(sdsn) as other:
        assert balances(other) == [0, 100]


def test_with_block_rolls_back_on_exception_and_reraises(accounts):
    with pytest.raises(RuntimeError, match="boom"):
        with accounts.begin() as tx:
            tx.execute("UPDATE accounts SET balance = 0 WHERE id = 1")
            raise RuntimeError("boom")
    assert balances(accounts) == [100, 0]


def test_failed_begin_block_rolls_back_leaving_no_rows(conn):
    conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text)")
    with pytest.raises(pg.IntegrityError):
        with conn.begin() as tx:
            tx.execute("INSERT INTO users VALUES ($1, $2)", [1, "Alice"])
            tx.execute("INSERT INTO users VALUES ($1, $2)", [2, "Bob"])
            tx.execute("INSERT INTO users VALUES ($1, $2)", [1, "Again"])
    assert conn.query_one("SELECT count(*) FROM users")[0] == 0
    assert conn.info()["transaction_status"] == "idle"


def test_work_inside_a_transaction_is_invisible_to_others_until_commit(accounts, sdsn):
    other = pg.Connection(sdsn)
    try:
        tx = accounts.begin()
        tx.execute("UPDATE accounts SET balance = 7 WHERE id = 2")
        assert balances(other) == [100, 0]
        tx.commit()
        assert balances(other) == [100, 7]
    finally:
        other.close()


def test_transaction_works_without_with(accounts):
    tx = accounts.begin()
    tx.execute("UPDATE accounts SET balance = 1 WHERE id = 2")
    tx.commit()
    assert balances(accounts) == [100, 1]


def test_explicit_rollback_discards_work(accounts):
    tx = accounts.begin()
    tx.execute("UPDATE accounts SET balance = 1 WHERE id = 2")
    tx.rollback()
    assert balances(accounts) == [100, 0]


def test_transaction_query_and_query_one(accounts):
    with accounts.begin() as tx:
        rows = tx.query("SELECT id FROM accounts WHERE balance > $1", [50])
        assert [r["id"] for r in rows] == [1]
        for row in rows:
            tx.execute("UPDATE accounts SET balance = 0 WHERE id = $1", [row["id"]])
        assert tx.query_one("SELECT sum(balance) AS s FROM accounts")["s"] == 0


def test_transaction_executemany(accounts):
    with accounts.begin() as tx:
        assert tx.executemany("INSERT INTO accounts VALUES ($1, $2)", [[3, 1], [4, 2]]) == 2
    assert balances(accounts) == [100, 0, 1, 2]


def test_connection_returns_to_autocommit_after_the_transaction(accounts, sdsn):
    with accounts.begin() as tx:
        tx.execute("UPDATE accounts SET balance = 5 WHERE id = 2")
    accounts.execute("UPDATE accounts SET balance = 6 WHERE id = 2")
    assert accounts.info()["transaction_status"] == "idle"
    with pg.Connection(sdsn) as other:
        assert balances(other) == [100, 6]


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_using_a_finished_transaction_raises_interface_error(conn, end):
    tx = conn.begin()
    getattr(tx, end)()
    for call in (lambda: tx.execute("SELECT 1"), lambda: tx.query("SELECT 1"),
                 lambda: tx.query_one("SELECT 1"), tx.commit, tx.rollback):
        with pytest.raises(pg.InterfaceError):
            call()


def test_commit_of_a_failed_transaction_raises_instead_of_reporting_success(accounts):
    tx = accounts.begin()
    tx.execute("UPDATE accounts SET balance = 1 WHERE id = 2")
    with pytest.raises(pg.DataError):
        tx.execute("SELECT 1/0")
    with pytest.raises(pg.errors.InFailedSqlTransaction):
        tx.commit()
    assert not tx.active
    assert balances(accounts) == [100, 0]


def test_with_block_whose_error_was_swallowed_does_not_claim_a_commit(accounts):
    with pytest.raises(pg.errors.InFailedSqlTransaction):
        with accounts.begin() as tx:
            tx.execute("UPDATE accounts SET balance = 1 WHERE id = 2")
            try:
                tx.execute("UPDATE accounts SET balance = -1 WHERE id = 1")
            except pg.IntegrityError:
                pass
    assert balances(accounts) == [100, 0]
    assert accounts.query_one("SELECT 1")[0] == 1


def test_a_deferred_constraint_failing_at_commit_raises_integrity_error(conn):
    conn.execute("CREATE TABLE p (id int PRIMARY KEY)")
    conn.execute("CREATE TABLE c (p int REFERENCES p DEFERRABLE INITIALLY DEFERRED)")
    tx = conn.begin()
    tx.execute("INSERT INTO c VALUES (1)")
    with pytest.raises(pg.errors.ForeignKeyViolation):
        tx.commit()
    assert not tx.active
    assert conn.query_one("SELECT count(*) FROM c")[0] == 0


def test_isolation_level_read_only_and_deferrable(conn):
    with conn.begin(isolation_level="serializable", read_only=True, deferrable=True) as tx:
        assert tx.query_one("SHOW transaction_isolation")[0] == "serializable"
        assert tx.query_one("SHOW transaction_read_only")[0] == "on"
        assert tx.query_one("SHOW transaction_deferrable")[0] == "on"


@pytest.mark.parametrize("level", ["read committed", "REPEATABLE READ", "repeatable_read"])
def test_isolation_level_names_are_flexible(conn, level):
    with conn.begin(isolation_level=level) as tx:
        assert tx.query_one("SHOW transaction_isolation")[0] == \
            level.lower().replace("_", " ")


def test_unknown_isolation_level_is_refused_before_anything_is_sent(conn):
    with pytest.raises(pg.ProgrammingError, match="isolation level"):
        conn.begin(isolation_level="serializable; DROP TABLE x")
    assert conn.info()["transaction_status"] == "idle"


def test_read_only_transaction_refuses_writes(accounts):
    with pytest.raises(pg.errors.ReadOnlySqlTransaction):
        with accounts.begin(read_only=True) as tx:
            tx.execute("UPDATE accounts SET balance = 1")


def test_nested_begin_makes_a_savepoint(accounts):
    with accounts.begin() as outer:
        outer.execute("UPDATE accounts SET balance = 50 WHERE id = 1")
        with pytest.raises(pg.IntegrityError):
            with accounts.begin() as inner:
                assert inner.savepoint_name is not None
                inner.execute("UPDATE accounts SET balance = 60 WHERE id = 2")
                inner.execute("UPDATE accounts SET balance = -1 WHERE id = 1")
        outer.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 2")
    assert balances(accounts) == [50, 1]


def test_savepoint_commit_keeps_its_work(accounts):
    with accounts.begin() as tx:
        with tx.savepoint() as sp:
            sp.execute("UPDATE accounts SET balance = 3 WHERE id = 2")
    assert balances(accounts) == [100, 3]


def test_named_savepoint(accounts):
    with accounts.begin() as tx:
        sp = tx.savepoint("Before Update")
        assert sp.savepoint_name == "Before Update"
        tx.execute("UPDATE accounts SET balance = 3 WHERE id = 2")
        sp.rollback()
    assert balances(accounts) == [100, 0]


def test_outer_rollback_undoes_a_released_savepoint(accounts):
    tx = accounts.begin()
    with tx.savepoint() as sp:
        sp.execute("UPDATE accounts SET balance = 3 WHERE id = 2")
    tx.rollback()
    assert balances(accounts) == [100, 0]


def test_committing_the_outer_transaction_ends_open_savepoints(accounts):
    tx = accounts.begin()
    sp = tx.savepoint()
    sp.execute("UPDATE accounts SET balance = 4 WHERE id = 2")
    tx.commit()
    assert not sp.active
    with pytest.raises(pg.InterfaceError):
        sp.execute("SELECT 1")
    assert balances(accounts) == [100, 4]


def test_isolation_level_on_a_nested_begin_is_refused(conn):
    with conn.begin():
        with pytest.raises(pg.ProgrammingError):
            conn.begin(isolation_level="serializable")


def test_connection_commit_commits_the_open_transaction(accounts):
    tx = accounts.begin()
    tx.execute("UPDATE accounts SET balance = 9 WHERE id = 2")
    accounts.commit()
    assert not tx.active
    assert balances(accounts) == [100, 9]


def test_closing_the_connection_ends_the_transaction(accounts, sdsn):
    tx = accounts.begin()
    tx.execute("UPDATE accounts SET balance = 9 WHERE id = 2")
    accounts.close()
    with pytest.raises(pg.InterfaceError):
        tx.commit()
    with pg.Connection(sdsn) as other:
        assert balances(other) == [100, 0]


def test_begin_in_pep249_mode_after_a_statement_is_a_savepoint(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    with pg.connect(sdsn) as c:
        c.execute("INSERT INTO t VALUES (1)")
        with c.begin() as sp:
            assert sp.savepoint_name is not None
            sp.execute("INSERT INTO t VALUES (2)")
        c.rollback()
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_transaction_repr(conn):
    tx = conn.begin()
    kind = "AsyncTransaction" if isinstance(conn, pg.AsyncConnection) else "Transaction"
    assert repr(tx) == "<PostPyro.%s transaction active>" % kind
    tx.commit()
    assert repr(tx) == "<PostPyro.%s transaction committed>" % kind


def test_serialization_failure_is_a_transaction_rollback_error(accounts, sdsn):
    other = pg.Connection(sdsn)
    try:
        t1 = accounts.begin(isolation_level="repeatable read")
        t1.query("SELECT * FROM accounts")
        other.execute("UPDATE accounts SET balance = 1 WHERE id = 2")
        with pytest.raises(pg.errors.SerializationFailure) as info:
            t1.execute("UPDATE accounts SET balance = 2 WHERE id = 2")
        assert isinstance(info.value, pg.TransactionRollbackError)
        t1.rollback()
    finally:
        other.close()


def test_connection_lost_at_commit_raises_commit_unknown(conn, admin):
    tx = conn.begin()
    tx.execute("SELECT 1")
    admin.query("SELECT pg_terminate_backend($1)", [conn.info()["backend_pid"]])
    time.sleep(0.2)
    with pytest.raises(pg.CommitUnknown) as info:
        tx.commit()
    assert isinstance(info.value, pg.OperationalError)
    assert tx.status == "unknown"
    assert conn.is_closed()


# ---- explicit commit / rollback inside the with block ---------------------------------------

def test_explicit_commit_inside_the_with_block_commits_and_exit_does_nothing_more(accounts,
                                                                                  sdsn):
    with accounts.begin() as tx:
        tx.execute("UPDATE accounts SET balance = 1 WHERE id = 2")
        tx.commit()
        assert tx.status == "committed"
        with pg.Connection(sdsn) as other:
            assert balances(other) == [100, 1]
        accounts.execute("UPDATE accounts SET balance = 2 WHERE id = 2")  # autocommits
    assert balances(accounts) == [100, 2]
    assert accounts.info()["transaction_status"] == "idle"


def test_explicit_rollback_inside_the_with_block_discards_work(accounts):
    with accounts.begin() as tx:
        tx.execute("UPDATE accounts SET balance = 1 WHERE id = 2")
        tx.rollback()
        assert tx.status == "rolled back"
    assert balances(accounts) == [100, 0]


def test_the_transaction_refuses_statements_after_its_explicit_commit(accounts):
    with accounts.begin() as tx:
        tx.commit()
        with pytest.raises(pg.InterfaceError, match="already committed"):
            tx.execute("SELECT 1")


def test_an_exception_after_an_explicit_commit_keeps_the_commit(accounts):
    with pytest.raises(RuntimeError):
        with accounts.begin() as tx:
            tx.execute("UPDATE accounts SET balance = 1 WHERE id = 2")
            tx.commit()
            raise RuntimeError
    assert balances(accounts) == [100, 1]


# ---- isolation level, read only, deferrable --------------------------------------------------

@pytest.mark.parametrize("level", ["read committed", "repeatable read", "serializable"])
def test_each_isolation_level_is_applied(conn, level):
    with conn.begin(isolation_level=level) as tx:
        assert tx.query_one("SHOW transaction_isolation")[0] == level


def test_read_only_alone(conn):
    with conn.begin(read_only=True) as tx:
        assert tx.query_one("SHOW transaction_read_only")[0] == "on"
        assert tx.query_one("SHOW transaction_deferrable")[0] == "off"


def test_deferrable_alone(conn):
    with conn.begin(deferrable=True) as tx:
        assert tx.query_one("SHOW transaction_deferrable")[0] == "on"
        assert tx.query_one("SHOW transaction_read_only")[0] == "off"


def test_options_apply_to_that_transaction_only(conn):
    with conn.begin(isolation_level="serializable", read_only=True):
        pass
    with conn.begin() as tx:
        assert tx.query_one("SHOW transaction_isolation")[0] == "read committed"
        assert tx.query_one("SHOW transaction_read_only")[0] == "off"


def test_isolation_level_must_be_a_string(conn):
    with pytest.raises(pg.ProgrammingError, match="isolation_level"):
        conn.begin(isolation_level=3)


# ---- a failed statement aborts the transaction -----------------------------------------------

def test_after_a_failed_statement_the_next_one_says_the_transaction_is_aborted(accounts):
    with pytest.raises(pg.errors.InFailedSqlTransaction, match="transaction is aborted"):
        with accounts.begin() as tx:
            tx.execute("UPDATE accounts SET balance = 5 WHERE id = 2")
            with pytest.raises(pg.DataError):
                tx.execute("SELECT 1/0")
            tx.execute("UPDATE accounts SET balance = 6 WHERE id = 2")
    assert isinstance(pg.errors.InFailedSqlTransaction("x"), pg.InternalError)
    assert balances(accounts) == [100, 0]
    assert accounts.info()["transaction_status"] == "idle"
    assert accounts.execute("UPDATE accounts SET balance = 7 WHERE id = 2") == 1
    assert balances(accounts) == [100, 7]


def test_a_failed_statement_in_pep249_mode_aborts_until_rollback(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    with pg.connect(sdsn) as c:
        cur = c.cursor()
        cur.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(pg.DataError):
            cur.execute("SELECT 1/0")
        with pytest.raises(pg.errors.InFailedSqlTransaction):
            cur.execute("SELECT 1")
        c.rollback()
        cur.execute("SELECT count(*) FROM t")
        assert cur.fetchone() == (0,)


def test_a_failed_statement_ends_the_with_block_with_a_rollback(accounts):
    with pytest.raises(pg.IntegrityError):
        with accounts.begin() as tx:
            tx.execute("UPDATE accounts SET balance = 5 WHERE id = 2")
            tx.execute("UPDATE accounts SET balance = -1 WHERE id = 1")
    assert tx.status == "rolled back"
    assert balances(accounts) == [100, 0]
    assert accounts.query_one("SELECT 1")[0] == 1


# ---- savepoints --------------------------------------------------------------------------

def test_savepoints_nest_three_deep(accounts):
    with accounts.begin() as t1:
        t1.execute("UPDATE accounts SET balance = 1 WHERE id = 2")
        with accounts.begin() as t2:
            t2.execute("UPDATE accounts SET balance = 2 WHERE id = 2")
            with pytest.raises(pg.DataError):
                with t2.savepoint() as t3:
                    t3.execute("UPDATE accounts SET balance = 3 WHERE id = 2")
                    t3.execute("SELECT 1/0")
            assert t2.query_one("SELECT balance FROM accounts WHERE id = 2")[0] == 2
    assert balances(accounts) == [100, 2]


def test_an_inner_failure_whose_error_was_caught_rolls_back_only_the_inner_block(accounts):
    with accounts.begin() as outer:
        outer.execute("UPDATE accounts SET balance = 50 WHERE id = 1")
        with pytest.raises(pg.errors.InFailedSqlTransaction, match="savepoint"):
            with outer.savepoint() as inner:
                inner.execute("UPDATE accounts SET balance = 60 WHERE id = 2")
                try:
                    inner.execute("SELECT 1/0")
                except pg.DataError:
                    pass
        assert inner.status == "rolled back"
        outer.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 2")
    assert balances(accounts) == [50, 1]


def test_inner_rollback_then_outer_continues(accounts):
    with accounts.begin() as outer:
        sp = outer.savepoint()
        sp.execute("UPDATE accounts SET balance = 60 WHERE id = 2")
        sp.rollback()
        outer.execute("UPDATE accounts SET balance = 70 WHERE id = 1")
    assert balances(accounts) == [70, 0]


def test_a_savepoint_cannot_take_transaction_options(conn):
    with conn.begin() as tx:
        with pytest.raises(pg.ProgrammingError):
            conn.begin(read_only=True)
        assert tx.active


# ---- execute_batch is atomic ---------------------------------------------------------------

BAD_BATCH = [
    "UPDATE accounts SET balance = 10 WHERE id = 2",
    "UPDATE accounts SET balance = -5 WHERE id = 1",
    "UPDATE accounts SET balance = 20 WHERE id = 2",
]


def test_execute_batch_error_names_the_failing_statement_by_index_and_sql(accounts):
    with pytest.raises(pg.IntegrityError) as info:
        accounts.execute_batch(BAD_BATCH)
    assert info.value.index == 1
    assert "statement 1" in str(info.value)
    assert BAD_BATCH[1] in str(info.value)
    assert balances(accounts) == [100, 0]


def test_execute_batch_commits_every_statement_when_all_succeed(accounts, sdsn):
    assert accounts.execute_batch(["UPDATE accounts SET balance = 10 WHERE id = 2",
                                   "INSERT INTO accounts VALUES (3, 3)"]) == [1, 1]
    with pg.Connection(sdsn) as other:
        assert balances(other) == [100, 10, 3]


def test_execute_batch_inside_a_transaction_fails_the_whole_transaction(accounts):
    with pytest.raises(pg.IntegrityError):
        with accounts.begin() as tx:
            tx.execute("UPDATE accounts SET balance = 1 WHERE id = 2")
            tx.execute_batch(BAD_BATCH)
    assert balances(accounts) == [100, 0]
    assert accounts.info()["transaction_status"] == "idle"


def test_execute_batch_in_pep249_mode_waits_for_commit(sdsn, accounts):
    with pg.connect(sdsn) as c:
        c.execute_batch(["UPDATE accounts SET balance = 10 WHERE id = 2"])
        assert balances(accounts) == [100, 0]
        c.commit()
    assert balances(accounts) == [100, 10]


def test_execute_batch_failure_in_pep249_mode_keeps_nothing(sdsn, accounts):
    with pg.connect(sdsn) as c:
        with pytest.raises(pg.IntegrityError):
            c.execute_batch(BAD_BATCH)
        c.rollback()
        assert c.query_one("SELECT balance FROM accounts WHERE id = 2")[0] == 0


# ---- serialization failures and deadlocks ----------------------------------------------------

def test_serializable_write_skew_raises_serialization_failure(accounts, sdsn):
    other = pg.Connection(sdsn)
    try:
        t1 = accounts.begin(isolation_level="serializable")
        t2 = other.begin(isolation_level="serializable")
        t1.query("SELECT sum(balance) FROM accounts")
        t2.query("SELECT sum(balance) FROM accounts")
        t1.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 1")
        t2.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 2")
        t1.commit()
        with pytest.raises(pg.TransactionRollbackError) as info:
            t2.commit()
        assert isinstance(info.value, pg.errors.SerializationFailure)
        assert info.value.sqlstate == "40001"
    finally:
        other.close()
    assert balances(accounts) == [101, 0]


def test_deadlock_raises_a_transaction_rollback_error(accounts, sdsn):
    import threading
    other = pg.Connection(sdsn)
    errors = []
    try:
        t1 = accounts.begin()
        t2 = other.begin()
        t1.execute("SET LOCAL deadlock_timeout = '50ms'")
        t2.execute("SET LOCAL deadlock_timeout = '50ms'")
        t1.execute("UPDATE accounts SET balance = 1 WHERE id = 1")
        t2.execute("UPDATE accounts SET balance = 1 WHERE id = 2")

        def lock(tx, row):
            try:
                tx.execute("UPDATE accounts SET balance = 2 WHERE id = $1", [row])
            except pg.Error as exc:
                errors.append(exc)
                tx.rollback()

        threads = [threading.Thread(target=lock, args=(t1, 2)),
                   threading.Thread(target=lock, args=(t2, 1))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        for tx in (t1, t2):
            if tx.active:
                tx.rollback()
    finally:
        other.close()
    assert len(errors) == 1
    assert isinstance(errors[0], pg.errors.DeadlockDetected)
    assert isinstance(errors[0], pg.TransactionRollbackError)
    assert errors[0].sqlstate == "40P01"


def _docs_example(marker):
    """The Python code block that follows ``<!-- marker -->`` in docs/python-api.md."""
    import os
    import re
    from conftest import TOP_SRCDIR
    with open(os.path.join(TOP_SRCDIR, "docs", "python-api.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- %s -->\s*```python\n(.*?)```" % re.escape(marker), text, re.S)
    assert m, "docs/python-api.md has no example marked %s" % marker
    return m.group(1)


def test_the_retry_example_of_the_docs_retries_a_serialization_failure(accounts, sdsn):
    namespace = {}
    exec(compile(_docs_example("example: retry"), "python-api.md", "exec"), namespace)
    run_transaction = namespace["run_transaction"]
    other = pg.Connection(sdsn)
    attempts = []

    def work(tx):
        attempts.append(1)
        balance = tx.query_one("SELECT balance FROM accounts WHERE id = 1")[0]
        if len(attempts) == 1:  # someone else changes the row under our snapshot
            other.execute("UPDATE accounts SET balance = balance - 10 WHERE id = 1")
        tx.execute("UPDATE accounts SET balance = $1 WHERE id = 1", [balance - 1])
        return balance

    try:
        assert run_transaction(accounts, work) == 90
    finally:
        other.close()
    assert len(attempts) == 2
    assert balances(accounts) == [89, 0]


def test_the_retry_example_gives_up_after_the_last_attempt(accounts, sdsn):
    namespace = {}
    exec(compile(_docs_example("example: retry"), "python-api.md", "exec"), namespace)
    other = pg.Connection(sdsn)

    def work(tx):
        tx.query_one("SELECT balance FROM accounts WHERE id = 1")
        other.execute("UPDATE accounts SET balance = balance - 1 WHERE id = 1")
        tx.execute("UPDATE accounts SET balance = 0 WHERE id = 1")

    try:
        with pytest.raises(pg.errors.SerializationFailure):
            namespace["run_transaction"](accounts, work, attempts=2)
    finally:
        other.close()
    assert balances(accounts) == [98, 0]


# ---- row factories ---------------------------------------------------------------------------

def test_connection_row_factory_can_be_set_after_connecting(conn):
    from PostPyro.rows import dict_row, tuple_row
    conn.row_factory = dict_row
    assert conn.query("SELECT 1 AS a") == [{"a": 1}]
    with conn.begin() as tx:
        assert tx.query_one("SELECT 2 AS b") == {"b": 2}
    conn.row_factory = tuple_row
    row = conn.query_one("SELECT 1 AS a")
    assert type(row) is tuple
    conn.row_factory = None
    assert isinstance(conn.query_one("SELECT 1 AS a"), pg.Row)


def test_connection_row_factory_must_be_callable(conn):
    with pytest.raises(pg.ProgrammingError, match="row_factory"):
        conn.row_factory = "dict"
