# SPDX-License-Identifier: MIT
"""Connection: every method of the seed's API, PEP 249 mode, lifecycle."""

import os
import re
import threading
import time
import uuid

import pytest

import PostPyro as pg
from conftest import dsn_with


# ---- opening and closing -----------------------------------------------------------------

def test_connection_opens_with_a_key_value_dsn(dsn):
    c = pg.Connection(dsn)
    try:
        assert c.query_one("SELECT 1")[0] == 1
    finally:
        c.close()


def test_connection_opens_with_a_url(tcp_port):
    c = pg.Connection("postgresql://pp_pw:secret@127.0.0.1:%d/postpyro_test?connect_timeout=5"
                      % tcp_port)
    try:
        assert c.query_one("SELECT current_user")[0] == "pp_pw"
    finally:
        c.close()


def test_connect_returns_a_connection_with_autocommit_off(dsn):
    c = pg.connect(dsn)
    try:
        assert isinstance(c, pg.Connection)
        assert c.autocommit is False
    finally:
        c.close()


def test_connection_constructor_defaults_to_autocommit(conn):
    assert conn.autocommit is True


def test_connection_string_must_be_a_str():
    with pytest.raises(pg.ProgrammingError):
        pg.Connection(b"dbname=x")


def test_close_can_be_called_twice(conn):
    conn.close()
    conn.close()
    assert conn.is_closed()
    assert conn.closed


def test_is_closed_is_false_on_an_open_connection(conn):
    assert conn.is_closed() is False
    assert conn.closed is False


@pytest.mark.parametrize("call", [
    lambda c: c.query("SELECT 1"),
    lambda c: c.query_one("SELECT 1"),
    lambda c: c.execute("SELECT 1"),
    lambda c: c.execute_batch(["SELECT 1"]),
    lambda c: c.executemany("SELECT $1::int", [[1]]),
    lambda c: c.prepare("SELECT 1"),
    lambda c: c.begin(),
    lambda c: c.commit(),
    lambda c: c.rollback(),
    lambda c: c.cursor(),
    lambda c: c.cancel(),
])
def test_use_after_close_raises_interface_error(conn, call):
    conn.close()
    with pytest.raises(pg.InterfaceError, match="connection is closed"):
        call(conn)


def test_context_manager_closes_the_connection(sdsn):
    with pg.Connection(sdsn) as c:
        assert c.query_one("SELECT 2")[0] == 2
    assert c.is_closed()


def test_context_manager_commits_on_success_when_not_autocommit(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    with pg.connect(sdsn) as c:
        c.execute("INSERT INTO t VALUES (1)")
    assert conn.query_one("SELECT count(*) FROM t")[0] == 1


def test_context_manager_rolls_back_on_exception_when_not_autocommit(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    with pytest.raises(ZeroDivisionError):
        with pg.connect(sdsn) as c:
            c.execute("INSERT INTO t VALUES (1)")
            1 / 0
    assert c.is_closed()
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_closing_discards_uncommitted_work(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    c = pg.connect(sdsn)
    c.execute("INSERT INTO t VALUES (1)")
    c.close()
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


# ---- query / query_one / execute ------------------------------------------------------------

def test_query_returns_rows_addressable_by_name_and_position(users):
    rows = users.query("SELECT id, name, email FROM users WHERE active = $1 ORDER BY id",
                       [True])
    assert [r["name"] for r in rows] == ["Alice", "Carol"]
    assert rows[0][1] == "Alice"
    assert rows[0]["email"] == "alice@example.com"


def test_query_with_several_parameters(users):
    rows = users.query("SELECT name FROM users WHERE age > $1 AND city = $2 ORDER BY name",
                       [25, "New York"])
    assert [r[0] for r in rows] == ["Alice", "Carol"]


def test_query_without_rows_returns_an_empty_list(users):
    assert users.query("SELECT * FROM users WHERE id = $1", [999]) == []


def test_query_of_a_statement_without_result_columns_returns_an_empty_list(conn):
    assert conn.query("CREATE TABLE t (a int)") == []


@pytest.mark.parametrize("params", [None, [], (), [1], (1,)])
def test_params_may_be_omitted_none_a_list_or_a_tuple(conn, params):
    if params:
        assert conn.query_one("SELECT $1::int", params)[0] == 1
    else:
        assert conn.query_one("SELECT 1", params)[0] == 1


@pytest.mark.parametrize("params", ["abc", 5, {"a": 1}, {1, 2}])
def test_params_of_another_type_raise_programming_error(conn, params):
    with pytest.raises(pg.ProgrammingError, match="list or a tuple"):
        conn.query("SELECT $1::text", params)


def test_query_one_returns_the_only_row(users):
    user = users.query_one("SELECT * FROM users WHERE email = $1", ["bob@example.com"])
    assert user["name"] == "Bob"
    assert user["active"] is False


def test_query_one_raises_when_no_rows(users):
    with pytest.raises(pg.NoRowError) as info:
        users.query_one("SELECT * FROM users WHERE id = $1", [123])
    assert isinstance(info.value, pg.DatabaseError)


def test_query_one_raises_when_several_rows(users):
    with pytest.raises(pg.MultipleRowsError, match="returned 2") as info:
        users.query_one("SELECT * FROM users WHERE city = $1", ["New York"])
    assert isinstance(info.value, pg.DatabaseError)


def test_execute_returns_affected_rows_for_insert_update_delete(users):
    assert users.execute("INSERT INTO users (name, email) VALUES ($1, $2)",
                         ["Dan", "dan@example.com"]) == 1
    assert users.execute("UPDATE users SET city = $1 WHERE city = $2",
                         ["NYC", "New York"]) == 2
    assert users.execute("DELETE FROM users WHERE active = $1", [False]) == 1


def test_execute_returns_the_row_count_for_insert_returning(users):
    assert users.execute("INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id",
                         ["John Doe", "john@example.com"]) == 1


def test_one_off_commands_without_rows_keep_every_outcome(conn):
    # Each text runs once: sent whole, without a Parse + Describe round trip first.
    conn.execute("CREATE TABLE t (a int PRIMARY KEY, b text)")
    assert [conn.execute("INSERT INTO t VALUES (%d, 'v%d')" % (k, k)) for k in range(3)] \
        == [1, 1, 1]
    assert conn.execute("UPDATE t SET b = 'returning'") == 3  # the word, not the clause
    assert conn.execute("DELETE FROM t WHERE a = 2") == 1
    with pytest.raises(pg.errors.UniqueViolation):
        conn.execute("INSERT INTO t VALUES (0, 'again')")
    with pytest.raises(pg.errors.UndefinedTable):
        conn.execute("INSERT INTO missing VALUES (1)")
    with pytest.raises(pg.ProgrammingError, match="takes 1 parameter but 0 were given"):
        conn.execute("INSERT INTO t VALUES ($1, 'x')")
    tx = conn.begin()
    with pytest.raises(pg.errors.DivisionByZero):
        tx.execute("UPDATE t SET a = a / 0")
    with pytest.raises(pg.errors.InFailedSqlTransaction):
        tx.execute("DELETE FROM t")
    tx.rollback()
    assert conn.query("SELECT a, b FROM t ORDER BY a") == [(0, "returning"), (1, "returning")]


def test_execute_returns_zero_for_ddl(conn):
    assert conn.execute("CREATE TABLE products (id SERIAL PRIMARY KEY, name TEXT)") == 0


def test_execute_of_a_select_counts_its_rows(users):
    assert users.execute("SELECT * FROM users") == 3


def test_sql_must_be_a_str(conn):
    for sql in (b"SELECT 1", ["SELECT 1"], None, 1):  # hashable or not
        with pytest.raises(pg.ProgrammingError, match="SQL must be a str"):
            conn.query(sql)
    assert conn.query("SELECT 1") == [(1,)]  # the same text, run twice, from the cache
    assert conn.query("SELECT 1") == [(1,)]


def test_sql_with_a_nul_character_is_refused(conn):
    with pytest.raises(pg.ProgrammingError, match="NUL"):
        conn.query("SELECT 1\0")


def test_a_multi_statement_string_returns_the_last_result(conn):
    rows = conn.query("CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2); "
                      "SELECT a FROM t ORDER BY a")
    assert [r["a"] for r in rows] == [1, 2]


# ---- execute_batch / executemany ----------------------------------------------------------

def test_execute_batch_returns_each_statements_count(users):
    results = users.execute_batch([
        "INSERT INTO users (name) VALUES ('User 1')",
        "INSERT INTO users (name) VALUES ('User 2')",
        "UPDATE users SET age = 1 WHERE name LIKE 'User%'",
    ])
    assert results == [1, 1, 2]


def test_execute_batch_of_nothing_returns_an_empty_list(conn):
    assert conn.execute_batch([]) == []


def test_execute_batch_is_all_or_nothing_and_tells_the_failing_statement(users):
    with pytest.raises(pg.IntegrityError) as info:
        users.execute_batch([
            "INSERT INTO users (name, email) VALUES ('X', 'x@example.com')",
            "INSERT INTO users (name, email) VALUES ('Y', 'alice@example.com')",
            "INSERT INTO users (name, email) VALUES ('Z', 'z@example.com')",
        ])
    assert isinstance(info.value, pg.errors.UniqueViolation)
    assert info.value.index == 1
    assert users.query_one("SELECT count(*) FROM users")[0] == 3


def test_execute_batch_needs_a_list_of_strings(conn):
    with pytest.raises(pg.ProgrammingError):
        conn.execute_batch("SELECT 1")
    with pytest.raises(pg.ProgrammingError):
        conn.execute_batch([1])


def test_executemany_runs_once_per_row_and_returns_the_total(conn):
    conn.execute("CREATE TABLE t (a int, b text)")
    n = conn.executemany("INSERT INTO t VALUES ($1, $2)", [[1, "a"], (2, "b"), [3, None]])
    assert n == 3
    assert conn.query("SELECT a, b FROM t ORDER BY a") == [(1, "a"), (2, "b"), (3, None)]


def test_executemany_with_no_rows_does_nothing(conn):
    assert conn.executemany("SELECT $1::int", []) == 0


def test_executemany_rows_must_have_the_same_length(conn):
    with pytest.raises(pg.ProgrammingError, match="row 1"):
        conn.executemany("SELECT $1::int", [[1], [1, 2]])


def test_executemany_is_all_or_nothing_and_tells_the_failing_row(conn):
    conn.execute("CREATE TABLE t (a int PRIMARY KEY)")
    with pytest.raises(pg.errors.UniqueViolation) as info:
        conn.executemany("INSERT INTO t VALUES ($1)", [[1], [2], [1], [3]])
    assert info.value.index == 2
    assert conn.query_one("SELECT count(*) FROM t")[0] == 0


def test_executemany_columns_of_one_type_go_column_by_column(conn):
    # every column holds one of int, bool, float, str (and None): pp_exec_many_columns
    from PostPyro._layout import dump_many
    rows = [(k, "é%d" % k if k % 7 else None, k * 0.25, k % 2 == 0) for k in range(2000)]
    assert dump_many(rows)[0] is True
    conn.execute("CREATE TABLE t (a int PRIMARY KEY, b text, c float8, d bool)")
    assert conn.executemany("INSERT INTO t VALUES ($1, $2, $3, $4)", rows) == 2000
    assert [tuple(r) for r in conn.query("SELECT * FROM t ORDER BY a")] == rows
    with pytest.raises(pg.errors.UniqueViolation) as info:
        conn.executemany("INSERT INTO t VALUES ($1, $2, $3, $4)",
                         [(5000, "x", 0.0, True), (1, "y", 1.0, False)])
    assert info.value.index == 1
    with pytest.raises(pg.DataError, match=r"row 1: parameter \$1"):
        conn.executemany("INSERT INTO t (a) VALUES ($1)", [(6000,), (2 ** 40,)])
    assert conn.query_one("SELECT count(*) FROM t")[0] == 2000


def test_executemany_of_a_statement_without_parameters_runs_it_each_time(conn):
    conn.execute("CREATE TABLE t (n int)")
    conn.execute("INSERT INTO t VALUES (0)")
    assert conn.executemany("UPDATE t SET n = n + 1", [(), (), ()]) == 3
    assert conn.query_one("SELECT n FROM t")[0] == 3


# ---- prepare -------------------------------------------------------------------------------

def test_prepare_returns_an_id_usable_with_query_and_execute(users):
    stmt_id = users.prepare("SELECT name FROM users WHERE department = $1 ORDER BY name")
    assert isinstance(stmt_id, str)
    assert [r["name"] for r in users.query(stmt_id, ["eng"])] == ["Alice", "Carol"]
    assert users.query_one(stmt_id, ["ops"])["name"] == "Bob"
    assert users.execute(stmt_id, ["eng"]) == 2


def test_prepared_statement_ids_are_distinct(conn):
    assert conn.prepare("SELECT 1") != conn.prepare("SELECT 1")


def test_prepared_statement_works_with_executemany(conn):
    conn.execute("CREATE TABLE t (a int)")
    stmt = conn.prepare("INSERT INTO t VALUES ($1)")
    assert conn.executemany(stmt, [[1], [2]]) == 2


def test_prepare_of_bad_sql_raises_programming_error(conn):
    with pytest.raises(pg.ProgrammingError):
        conn.prepare("SELEC 1")
    assert conn.ping()


def test_deallocate_drops_a_prepared_statement(conn):
    stmt = conn.prepare("SELECT 1")
    conn.deallocate(stmt)
    with pytest.raises(pg.ProgrammingError):
        conn.deallocate(stmt)


def test_a_name_run_as_sql_before_prepare_then_runs_the_statement(conn):
    # the name is next in line; as plain SQL it is a syntax error, prepared it is a statement
    name = "pp_stmt_%d" % (int(conn.prepare("SELECT 1")[len("pp_stmt_"):]) + 1)
    with pytest.raises(pg.ProgrammingError):
        conn.query(name)
    assert conn.prepare("SELECT 2 AS two") == name
    assert conn.query_one(name)["two"] == 2
    conn.deallocate(name)
    with pytest.raises(pg.ProgrammingError):
        conn.query(name)  # SQL again: no statement of that name


# ---- ping / info / repr ----------------------------------------------------------------------

def test_ping_is_true_on_a_live_connection(conn):
    assert conn.ping() is True


def test_ping_is_false_after_close_and_never_raises(conn):
    conn.close()
    assert conn.ping() is False


def test_ping_is_false_when_the_server_ended_the_session(conn, admin):
    pid = conn.info()["backend_pid"]
    admin.query("SELECT pg_terminate_backend($1)", [pid])
    for _ in range(50):
        if not conn.ping():
            break
        time.sleep(0.05)
    assert conn.ping() is False


def test_info_describes_the_connection(conn, schema):
    info = conn.info()
    assert info["closed"] is False
    assert info["healthy"] is True
    assert isinstance(info["server_version"], int) and info["server_version"] >= 100000
    assert info["database"] == conn.query_one("SELECT current_database()")[0]
    assert info["user"] == conn.query_one("SELECT current_user")[0]
    assert info["backend_pid"] == conn.query_one("SELECT pg_backend_pid()")[0]
    assert info["transaction_status"] == "idle"
    assert info["encoding"] == "UTF8"
    assert info["ssl"] is False
    assert "host" in info and "port" in info and "application_name" in info


def test_info_works_on_a_closed_connection(conn):
    conn.close()
    info = conn.info()
    assert info["closed"] is True
    assert info["healthy"] is False
    assert info["server_version"] is None


def test_info_never_contains_the_password(pw_dsn):
    with pg.Connection(pw_dsn) as c:
        info = c.info()
        assert "secret" not in repr(info)
        assert "secret" not in repr(c)


def test_info_reports_the_transaction_status(conn):
    tx = conn.begin()
    assert conn.info()["transaction_status"] == "intransaction"
    tx.rollback()
    assert conn.info()["transaction_status"] == "idle"


def test_info_reports_the_application_name(sdsn):
    with pg.Connection(dsn_with(sdsn, application_name="myapp")) as c:
        assert c.info()["application_name"] == "myapp"


def test_repr_shows_where_and_state_but_no_password(pw_dsn):
    c = pg.Connection(pw_dsn)
    text = repr(c)
    assert text.startswith("<PostPyro.Connection host=127.0.0.1 port=")
    assert "user=pp_pw" in text and "status=idle" in text
    assert "secret" not in text
    c.close()
    assert repr(c) == "<PostPyro.Connection closed>"


# ---- PEP 249 mode (autocommit off) ---------------------------------------------------------

def test_without_autocommit_the_first_statement_opens_a_transaction(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    c = pg.connect(sdsn)
    try:
        c.execute("INSERT INTO t VALUES (1)")
        assert c.info()["transaction_status"] == "intransaction"
        assert conn.query_one("SELECT count(*) FROM t")[0] == 0
        c.commit()
        assert conn.query_one("SELECT count(*) FROM t")[0] == 1
    finally:
        c.close()


def test_rollback_discards_work_without_autocommit(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    with pg.connect(sdsn) as c:
        c.execute("INSERT INTO t VALUES (1)")
        c.rollback()
        assert c.query_one("SELECT count(*) FROM t")[0] == 0


def test_commit_and_rollback_without_a_transaction_do_nothing(conn):
    conn.commit()
    conn.rollback()
    assert conn.ping()


def test_autocommit_can_be_switched_outside_a_transaction(sdsn, conn):
    conn.execute("CREATE TABLE t (a int)")
    with pg.connect(sdsn) as c:
        c.autocommit = True
        c.execute("INSERT INTO t VALUES (1)")
        assert conn.query_one("SELECT count(*) FROM t")[0] == 1


def test_autocommit_cannot_change_inside_a_transaction(sdsn):
    with pg.connect(sdsn) as c:
        c.execute("SELECT 1")
        with pytest.raises(pg.ProgrammingError):
            c.autocommit = True
        c.rollback()
        c.autocommit = True
        assert c.autocommit is True


def test_commit_of_a_failed_transaction_raises(sdsn):
    with pg.connect(sdsn) as c:
        with pytest.raises(pg.DataError):
            c.execute("SELECT 1/0")
        with pytest.raises(pg.errors.InFailedSqlTransaction):
            c.commit()
        assert c.query_one("SELECT 1")[0] == 1


# ---- notices, cancel, threads, fork -------------------------------------------------------

def test_notices_are_collected(conn):
    conn.execute("DO $$BEGIN RAISE NOTICE 'hello %', 42; END$$")
    assert any("hello 42" in n for n in conn.notices)
    conn.notices.clear()
    assert conn.notices == []


@pytest.mark.sync_only("threads; test_async has the AsyncConnection's cancel from a task")
def test_cancel_from_another_thread_stops_a_running_statement(conn):
    timer = threading.Timer(0.3, conn.cancel)
    timer.start()
    start = time.monotonic()
    with pytest.raises(pg.errors.QueryCanceled) as info:
        conn.query("SELECT pg_sleep(10)")
    timer.join()
    assert isinstance(info.value, pg.OperationalError)
    assert time.monotonic() - start < 5
    assert conn.query_one("SELECT 1")[0] == 1


def test_cancel_when_nothing_runs_does_nothing(conn):
    conn.cancel()
    time.sleep(0.1)
    assert conn.query_one("SELECT 1")[0] == 1


def test_a_connection_can_be_shared_between_threads(conn):
    errors = []

    def work(k):
        try:
            for i in range(20):
                assert conn.query_one("SELECT $1::int + $2::int", [k, i])[0] == k + i
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_connections_in_threads_run_in_parallel(sdsn):
    # Each connection holds an advisory lock the other one's statement waits for, after
    # releasing its own: both statements end only if they run at the same time (one at a
    # time, the first waits for a lock nobody can release until lock_timeout fails it).
    conns = [pg.Connection(dsn_with(sdsn, options="-c lock_timeout=10s")) for _ in range(2)]
    one = uuid.uuid4().int >> 66  # unique (bigints): suites share the server
    two = one + 1
    conns[0].query("SELECT pg_advisory_lock($1)", [one])
    conns[1].query("SELECT pg_advisory_lock($1)", [two])
    results, errors = [], []

    def swap(c, mine, theirs):
        try:
            c.query("SELECT pg_advisory_unlock($1), pg_advisory_lock($2)", [mine, theirs])
            results.append(mine)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=swap, args=(conns[0], one, two)),
               threading.Thread(target=swap, args=(conns[1], two, one))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    assert errors == [] and sorted(results) == [one, two]


@pytest.mark.sync_only("fork(): the facade's event loop thread is not in the child")
def test_a_forked_child_does_not_touch_the_parents_connection(conn):
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            try:
                conn.query("SELECT 1")
                code = 3
            except pg.InterfaceError:
                pass
            conn.close()
        except BaseException:
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert conn.query_one("SELECT 1")[0] == 1


# ---- statement cache ------------------------------------------------------------------------

def test_statement_cache_can_be_turned_off(sdsn):
    with pg.Connection(sdsn, statement_cache=False) as c:
        for i in range(3):
            assert c.query_one("SELECT $1::int", [i])[0] == i
        assert c.query_one("SELECT count(*) FROM pg_prepared_statements")[0] == 0


def _backend_state(admin, pid: int) -> str:
    return admin.query_one("SELECT state FROM pg_stat_activity WHERE pid = $1", [pid])[0]


@pytest.mark.parametrize("cache", [False, True])
def test_a_statement_refused_between_parse_and_bind_leaves_the_session_idle(sdsn, admin,
                                                                           cache):
    # Parse goes out with a Flush, not a Sync (see "Deploying behind PgBouncer"): when the
    # Bind cannot follow, the Sync must still be sent, or the session stays inside the
    # statement's implicit transaction (and a pooler's server connection with it).
    with pg.Connection(sdsn, statement_cache=cache) as c:
        pid = c.info()["backend_pid"]  # (info() itself talks to the server)
        c.execute("CREATE TABLE t (a int)")
        for params in ([1, 2], [b"not an int"]):  # too many values; a value refused
            for _ in range(2):  # with the cache: the unnamed statement, then a named one
                with pytest.raises(pg.ProgrammingError):
                    c.query("SELECT $1::int4", params)
                assert _backend_state(admin, pid) == "idle"
                with pytest.raises(pg.ProgrammingError):
                    c.executemany("INSERT INTO t VALUES ($1)", [params])
                assert _backend_state(admin, pid) == "idle"
        assert c.query_one("SELECT $1::int4", [7])[0] == 7


def test_statement_names_are_unique_to_each_connection(sdsn):
    # Behind a pooler, server connections are shared: another client's Bind must never
    # find our statement under its own name.
    names = []
    for _ in range(2):
        with pg.Connection(sdsn) as c:
            for _ in range(2):
                c.query("SELECT $1::int", [1])
            stmt = c.prepare("SELECT 2")
            names += [r[0] for r in c.query("SELECT name FROM pg_prepared_statements "
                                            "ORDER BY name")]
            c.deallocate(stmt)
    assert len(names) == 4 and len(set(names)) == 4
    for name in names:
        assert re.fullmatch(r"pp_n?[0-9a-f]{16}_[0-9]+", name), name


def test_a_statement_evicted_in_a_transaction_is_deallocated_after_it(sdsn):
    # The evicted statement is gone from the server (as on another server connection a
    # pooler hands out): a DEALLOCATE inside the transaction would fail and abort it.
    with pg.Connection(sdsn) as c:
        c.set_statement_cache_size(1)
        c.execute("CREATE TABLE t (a int)")
        for _ in range(2):
            c.query("SELECT $1::int", [1])  # the second run prepares it by name
        c.execute("DEALLOCATE ALL")
        with c.begin():
            c.execute("INSERT INTO t VALUES ($1)", [1])  # prepared by name: evicts the other
            c.execute("INSERT INTO t VALUES ($1 + 1)", [1])
        assert c.query_one("SELECT sum(a) FROM t")[0] == 3
        with c.begin():
            for _ in range(2):
                c.execute("INSERT INTO t VALUES ($1 + 2)", [1])  # evicts a live statement
        c.query("SELECT $1::int + 3", [1])  # outside: the evicted one is deallocated
        assert c.query_one("SELECT count(*) FROM pg_prepared_statements")[0] == 1


def test_the_cache_keeps_its_256_latest_statements_and_shrinks_to_the_latest(conn):
    kept = ("SELECT statement FROM pg_prepared_statements "
            "WHERE statement LIKE 'SELECT %% + $1::int'")

    def numbers():
        return sorted(int(r[0].split()[1]) for r in conn.query(kept))

    for k in range(300):
        for _ in range(2):  # the second run prepares it by name
            assert conn.query_one("SELECT %d + $1::int" % k, [0])[0] == k
    assert numbers() == list(range(44, 300))  # the 44 oldest were deallocated
    conn.set_statement_cache_size(10)
    assert numbers() == list(range(290, 300))
    assert conn.query_one("SELECT 0 + $1::int", [0])[0] == 0  # evicted: prepared again


def test_shrinking_the_cache_in_a_transaction_keeps_the_transaction(sdsn):
    with pg.Connection(sdsn) as c:
        c.execute("CREATE TABLE t (a int)")
        for _ in range(2):
            c.query("SELECT $1::int", [1])  # the second run prepares it by name
        c.execute("DEALLOCATE ALL")  # gone from the server, still in the cache
        with c.begin():
            c.execute("INSERT INTO t VALUES ($1)", [1])
            c.set_statement_cache_size(0)
            c.execute("INSERT INTO t VALUES ($1)", [2])
        assert c.query_one("SELECT sum(a) FROM t")[0] == 3
        assert c.query_one("SELECT count(*) FROM pg_prepared_statements")[0] == 0


def test_commands_without_parameters_or_rows_are_never_prepared_by_name(sdsn):
    # A ROLLBACK must work on whatever server connection a pooler hands out.
    with pg.Connection(sdsn) as c:
        for _ in range(3):
            c.execute("BEGIN")
            c.execute("SET LOCAL work_mem = '8MB'")
            c.execute("ROLLBACK")
        assert c.query_one("SELECT count(*) FROM pg_prepared_statements")[0] == 0


def test_without_the_cache_an_untyped_parameter_keeps_the_transaction(sdsn):
    # the server cannot type pg_typeof's $1: the first Parse fails, under a savepoint
    with pg.Connection(sdsn, statement_cache=False) as c:
        with c.begin():
            assert c.query_one("SELECT pg_typeof($1)::text", [5])[0] == "bigint"
            assert c.query_one("SELECT $1::int + 1", [41])[0] == 42
            assert c.query_one("SELECT count(*) FROM pg_prepared_statements")[0] == 0


def test_a_cached_statement_survives_a_table_change(conn):
    names = "SELECT name FROM pg_prepared_statements WHERE statement = 'SELECT * FROM t'"
    conn.execute("CREATE TABLE t (a int)")
    conn.execute("INSERT INTO t VALUES (1)")
    # twice: the cache prepares a statement by name on its second run
    assert conn.query("SELECT * FROM t") == [(1,)]
    assert conn.query("SELECT * FROM t") == [(1,)]
    [(before,)] = conn.query(names)
    conn.execute("ALTER TABLE t ADD COLUMN b text DEFAULT 'x'")
    # the prepared plan fails (cached plan must not change result type): the statement is
    # deallocated, prepared again under a new name and run again
    assert conn.query("SELECT * FROM t") == [(1, "x")]
    [(after,)] = conn.query(names)
    assert after != before


def test_row_factory_changes_what_rows_are(sdsn):
    from PostPyro.row import dict_row
    with pg.Connection(sdsn, row_factory=dict_row) as c:
        assert c.query("SELECT 1 AS a, 'x' AS b") == [{"a": 1, "b": "x"}]
