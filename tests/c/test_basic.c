/* SPDX-License-Identifier: MIT */
/* test_basic.c — connecting, running statements with parameters, reading results by cell
 * and by column, batches, prepared statements, info, ping, close. */
#include "harness.h"

#include <time.h>

static void test_versions(void)
{
    CHECK(pp_version_number() == PP_VERSION_NUMBER);
    CHECK(pp_abi_version() == PP_ABI_VERSION);
    CHECK(strcmp(pp_version(), "0.1.0") == 0);
    CHECK(pp_libpq_version() >= 140000);
}

static void test_query_with_params(pp_conn *c)
{
    pp_value params[3] = {
        {.tag = PP_INT, .i = 41},
        {.tag = PP_TEXT, .ptr = "héllo", .len = (int64_t)strlen("héllo")},
        {.tag = PP_NULL},
    };
    pp_result *r = NULL;
    pp_error *err = NULL;
    CHECK_OK(pp_exec(c, "SELECT $1::int4 + 1 AS n, $2::text AS s, $3::float8 AS f", 3, params,
                     0, &r, &err), err);
    CHECK(pp_result_nrows(r) == 1);
    CHECK(pp_result_ncols(r) == 3);
    CHECK(strcmp(pp_result_column_name(r, 0), "n") == 0);
    CHECK(pp_result_column_type(r, 0) == 23);
    pp_value v;
    CHECK_OK(pp_result_value(r, 0, 0, &v, &err), err);
    CHECK(v.tag == PP_INT && v.i == 42);
    CHECK_OK(pp_result_value(r, 0, 1, &v, &err), err);
    CHECK(v.tag == PP_TEXT && v.len == (int64_t)strlen("héllo") && memcmp(v.ptr, "héllo", 6) == 0);
    CHECK_OK(pp_result_value(r, 0, 2, &v, &err), err);
    CHECK(v.tag == PP_NULL);
    CHECK(pp_result_value(r, 1, 0, &v, &err) == PP_ERROR);
    CHECK(pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
    pp_result_free(r);
}

static void test_column_export(pp_conn *c)
{
    pp_result *r = run(c, "SELECT g, g::text, CASE WHEN g % 2 = 0 THEN NULL ELSE g * 0.5 END "
                          "FROM generate_series(1, 1000) g");
    pp_column col;
    pp_error *err = NULL;
    CHECK_OK(pp_result_column(r, 0, &col, &err), err);
    CHECK(col.tag == PP_INT && col.count == 1000 && col.ints[999] == 1000 && col.nulls == NULL);
    CHECK_OK(pp_result_column(r, 1, &col, &err), err);
    CHECK(col.tag == PP_TEXT && strcmp(col.data + col.offsets[9], "10") == 0);
    CHECK(col.data_len == col.offsets[1000]);
    CHECK_OK(pp_result_column(r, 2, &col, &err), err);
    CHECK(col.tag == PP_NUMERIC && col.nulls != NULL && col.nulls[1] == 1 && col.nulls[0] == 0);
    CHECK(strcmp(col.data + col.offsets[2], "1.5") == 0);
    pp_result_free(r);
}

static void test_describe_and_all_columns(pp_conn *c)
{
    pp_result *r = run(c, "SELECT 1::int4 AS one, 'x'::varchar(5) AS \"Two\", NULL::numeric(10,2) AS three");
    pp_result_info info;
    pp_error *err = NULL;
    CHECK_OK(pp_result_describe(r, &info, &err), err);
    CHECK(info.nrows == 1 && info.ncols == 3 && info.has_rows == 1 && info.rows_affected == 1);
    CHECK(strcmp(info.command, "SELECT 1") == 0);
    CHECK(info.names_len == 14 && memcmp(info.names, "one\0Two\0three\0", 14) == 0);
    CHECK(info.types[0] == 23 && info.types[1] == 1043 && info.types[2] == 1700);
    CHECK(info.typmods[1] == 9 && info.typmods[0] == -1);
    pp_column cols[3];
    CHECK_OK(pp_result_columns(r, cols, &err), err);
    CHECK(cols[0].tag == PP_INT && cols[0].ints[0] == 1 && cols[1].tag == PP_TEXT &&
          cols[2].nulls != NULL && cols[2].nulls[0] == 1);
    pp_result_free(r);
    r = run(c, "CREATE TEMP TABLE t_desc (x int)");
    CHECK_OK(pp_result_describe(r, &info, &err), err);
    CHECK(info.ncols == 0 && info.has_rows == 0 && info.rows_affected == -1 &&
          info.names_len == 0);
    CHECK_OK(pp_result_columns(r, NULL, &err), err);
    pp_result_free(r);
}

static void test_query_in_one_call(pp_conn *c)
{
    pp_value p = {.tag = PP_INT, .i = 7};
    pp_result *r = NULL;
    pp_result_info info;
    pp_column cols[2];
    pp_error *err = NULL;
    CHECK_OK(pp_query(c, "SELECT $1::int8 * 6 AS n, 'x' AS s", 1, &p, 0, &r, &info, cols, 2,
                      &err), err);
    CHECK(info.nrows == 1 && info.ncols == 2 && cols[0].ints[0] == 42 && cols[1].tag == PP_TEXT);
    CHECK(strcmp(pp_result_column_name(r, 1), "s") == 0); /* still there after decoding */
    pp_result_free(r);
    /* more columns than room: described, not decoded */
    CHECK_OK(pp_query(c, "SELECT 1, 2, 3", 0, NULL, 0, &r, &info, cols, 2, &err), err);
    CHECK(info.ncols == 3);
    pp_column three[3];
    CHECK_OK(pp_result_columns(r, three, &err), err);
    CHECK(three[2].ints[0] == 3);
    pp_result_free(r);
    CHECK(pp_query(c, "SELECT 1/0", 0, NULL, 0, &r, &info, cols, 2, &err) == PP_ERROR &&
          r == NULL);
    pp_error_free(err);
}

static void test_query_reuse(pp_conn *c)
{
    pp_result *r = NULL;
    pp_result_info info;
    pp_column cols[2];
    pp_error *err = NULL;
    int32_t st = 99;
    /* each call frees the previous result (valgrind / ASan see a leak or a double free) */
    for (int k = 0; k < 50; k++) {
        pp_value p = {.tag = PP_INT, .i = k};
        CHECK_OK(pp_query_reuse(c, "SELECT $1::int4 + 1", 1, &p, 0, &r, &info, cols, 2, &st,
                                &err), err);
        CHECK(r != NULL && info.nrows == 1 && cols[0].ints[0] == k + 1 && st == 0);
    }
    CHECK_OK(pp_query_reuse(c, "BEGIN", 0, NULL, 0, &r, &info, cols, 2, &st, &err), err);
    CHECK(st == 2); /* the status the statement left: in a transaction */
    CHECK(pp_query_reuse(c, "SELECT 1/0", 0, NULL, 0, &r, &info, cols, 2, &st, &err) ==
              PP_ERROR &&
          r == NULL && st == 3 && pp_error_category(err) == PP_ERR_DATA);
    pp_error_free(err);
    err = NULL;
    CHECK_OK(pp_query_reuse(c, "ROLLBACK", 0, NULL, 0, &r, &info, cols, 2, NULL, &err), err);
    /* a chunked statement: *txstatus stays -1 while it runs */
    CHECK(pp_query_reuse(c, "SELECT g FROM generate_series(1, 300000) g", 0, NULL,
                         PP_EXEC_CHUNKED, &r, &info, cols, 2, &st, &err) == PP_MORE &&
          st == -1 && r != NULL);
    CHECK_OK(pp_query_close(c, &err), err);
    CHECK(pp_transaction_status(c) == 0);
    /* bad arguments (no info): the result held is still freed, the error says so, and the
     * status is the connection's, as after any PP_ERROR */
    CHECK_OK(pp_query_reuse(c, "SELECT 1", 0, NULL, 0, &r, &info, cols, 2, &st, &err), err);
    CHECK(pp_query_reuse(c, "SELECT 1", 0, NULL, 0, &r, NULL, cols, 2, &st, &err) == PP_ERROR &&
          r == NULL && st == 0 && pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
    err = NULL;
    CHECK_OK(pp_query_reuse(c, "SELECT 1", 0, NULL, 0, &r, &info, cols, 2, &st, &err), err);
    pp_result_free(r);
}

static void test_execute_counts(pp_conn *c)
{
    /* temporary: test runs at once may share the server */
    pp_result_free(run(c, "CREATE TEMP TABLE t_basic (id serial PRIMARY KEY, name text)"));
    pp_result *r = run(c, "INSERT INTO t_basic (name) VALUES ('a'), ('b') RETURNING id");
    CHECK(pp_result_rows_affected(r) == 2);
    CHECK(pp_result_has_rows(r) == 1);
    CHECK(strcmp(pp_result_command(r), "INSERT 0 2") == 0);
    pp_result_free(r);
    r = run(c, "CREATE TEMP TABLE t_tmp (x int)");
    CHECK(pp_result_rows_affected(r) == -1 && pp_result_has_rows(r) == 0);
    pp_result_free(r);
}

static void test_exec_many_and_batch(pp_conn *c)
{
    enum { N = 5000 };
    pp_value *params = calloc(2 * N, sizeof *params);
    char (*names)[16] = calloc(N, 16);
    for (int k = 0; k < N; k++) {
        snprintf(names[k], 16, "n%d", k);
        params[2 * k] = (pp_value){.tag = PP_INT, .i = k};
        params[2 * k + 1] = (pp_value){.tag = PP_TEXT, .ptr = names[k], .len = (int64_t)strlen(names[k])};
    }
    pp_result_free(run(c, "CREATE TEMP TABLE t_many (a int, b text)"));
    int64_t affected = 0;
    pp_error *err = NULL;
    CHECK_OK(pp_exec_many(c, "INSERT INTO t_many VALUES ($1, $2)", 2, N, params, &affected, &err),
             err);
    CHECK(affected == N);
    /* a failing row keeps nothing of the batch */
    params[2 * 10].i = 1L << 40; /* out of int4 range: refused before sending */
    CHECK(pp_exec_many(c, "INSERT INTO t_many VALUES ($1, $2)", 2, N, params, &affected, &err) ==
          PP_ERROR);
    CHECK(pp_error_index(err) == 10 && pp_error_category(err) == PP_ERR_DATA);
    pp_error_free(err);
    err = NULL;
    pp_result *r = run(c, "SELECT count(*) FROM t_many");
    pp_value v;
    CHECK_OK(pp_result_value(r, 0, 0, &v, &err), err);
    CHECK(v.i == N);
    pp_result_free(r);

    const char *sqls[] = {"INSERT INTO t_many VALUES (1, 'x')", "UPDATE t_many SET b = 'y' WHERE a < 3",
                          "DELETE FROM t_many WHERE a = 4"};
    int64_t counts[3];
    CHECK_OK(pp_exec_batch(c, 3, sqls, counts, &err), err);
    CHECK(counts[0] == 1 && counts[1] == 4 && counts[2] == 1);
    const char *bad[] = {"INSERT INTO t_many VALUES (1, 'x')", "SELECT 1/0", "INSERT INTO t_many VALUES (2, 'z')"};
    CHECK(pp_exec_batch(c, 3, bad, counts, &err) == PP_ERROR);
    CHECK(pp_error_index(err) == 1 && strcmp(pp_error_sqlstate(err), "22012") == 0);
    CHECK(strstr(pp_error_message(err), "SELECT 1/0") != NULL);
    pp_error_free(err);
    err = NULL;
    r = run(c, "SELECT count(*) FROM t_many");
    CHECK_OK(pp_result_value(r, 0, 0, &v, &err), err);
    CHECK(v.i == N); /* +1 -1 from the first batch; nothing from the failed one */
    pp_result_free(r);
    free(params);
    free(names);
}

static void test_prepared(pp_conn *c)
{
    pp_error *err = NULL;
    CHECK_OK(pp_prepare(c, "double_it", "SELECT $1::int8 * 2", &err), err);
    pp_value p = {.tag = PP_INT, .i = 21};
    pp_result *r = NULL;
    CHECK_OK(pp_exec(c, "double_it", 1, &p, PP_EXEC_PREPARED, &r, &err), err);
    pp_value v;
    CHECK_OK(pp_result_value(r, 0, 0, &v, &err), err);
    CHECK(v.i == 42);
    pp_result_free(r);
    CHECK(pp_prepare(c, "double_it", "SELECT 1", &err) == PP_ERROR);
    pp_error_free(err);
    err = NULL;
    CHECK_OK(pp_deallocate(c, "double_it", &err), err);
    CHECK(pp_exec(c, "double_it", 1, &p, PP_EXEC_PREPARED, &r, &err) == PP_ERROR);
    CHECK(pp_error_category(err) == PP_ERR_PROGRAMMING);
    pp_error_free(err);
}

static void test_multi_statement(pp_conn *c)
{
    pp_result *r = run(c, "SELECT 1; SELECT 'two' AS x");
    pp_value v;
    pp_error *err = NULL;
    CHECK_OK(pp_result_value(r, 0, 0, &v, &err), err);
    CHECK(v.tag == PP_TEXT && v.len == 3 && memcmp(v.ptr, "two", 3) == 0);
    pp_result_free(r);

    /* inside a transaction too (a failed Parse would have aborted it) */
    pp_result_free(run(c, "BEGIN"));
    r = run(c, "SELECT 1; SELECT 2 AS y");
    CHECK(r != NULL && strcmp(pp_result_column_name(r, 0), "y") == 0);
    pp_result_free(r);
    pp_result_free(run(c, "COMMIT"));
    CHECK(pp_transaction_status(c) == 0);

    /* every command's result, in order */
    CHECK_OK(pp_exec(c, "SELECT 1 AS a; CREATE TEMP TABLE t_multi (x int); SELECT 'two' AS b",
                     0, NULL, PP_EXEC_ALL_RESULTS, &r, &err), err);
    CHECK(r != NULL && strcmp(pp_result_column_name(r, 0), "a") == 0);
    pp_result *second = pp_result_take_next(r);
    CHECK(second != NULL && pp_result_has_rows(second) == 0 &&
          strcmp(pp_result_command(second), "CREATE TABLE") == 0);
    pp_result_free(r); /* frees only the first: the second was taken */
    CHECK(pp_result_ncols(second) == 0);
    pp_result *third = pp_result_take_next(second);
    CHECK(third != NULL && strcmp(pp_result_column_name(third, 0), "b") == 0);
    CHECK(pp_result_take_next(third) == NULL);
    pp_result_free(second);
    pp_result_free(third);
    /* a chain freed whole */
    CHECK_OK(pp_exec(c, "SELECT 1; SELECT 2; SELECT 3", 0, NULL, PP_EXEC_ALL_RESULTS, &r, &err),
             err);
    pp_result_free(r);
    /* a failing command: an error, no results */
    CHECK(pp_exec(c, "SELECT 1; SELECT 1/0; SELECT 3", 0, NULL, PP_EXEC_ALL_RESULTS, &r, &err) ==
          PP_ERROR && r == NULL);
    pp_error_free(err);
}

static void test_info_ping_close(pp_conn *c)
{
    char *s = pp_conn_info(c, "dbname");
    CHECK(s != NULL && s[0] != '\0');
    pp_free(s);
    s = pp_conn_info(c, "transaction_status");
    CHECK(s != NULL && strcmp(s, "idle") == 0);
    pp_free(s);
    CHECK(pp_conn_info(c, "password") == NULL);
    CHECK(pp_ping(c) == 1);
    CHECK(pp_transaction_status(c) == 0);
    int64_t len = 0;
    pp_free(pp_take_notices(c, &len)); /* drop earlier ones: the buffer is NUL-separated */
    pp_result_free(run(c, "DO $$BEGIN RAISE NOTICE 'hello notice'; END$$"));
    char *notices = pp_take_notices(c, &len);
    CHECK(notices != NULL && strstr(notices, "hello notice") != NULL);
    pp_free(notices);
    pp_result *r = run(c, "SELECT 'outlives' AS x");
    pp_close(c);
    pp_close(c);
    CHECK(pp_is_closed(c) == 1);
    CHECK(pp_ping(c) == 0);
    pp_value v;
    pp_error *err = NULL;
    CHECK_OK(pp_result_value(r, 0, 0, &v, &err), err); /* results outlive the connection */
    CHECK(v.len == 8);
    pp_result_free(r);
    pp_result *r2 = NULL;
    CHECK(pp_exec(c, "SELECT 1", 0, NULL, 0, &r2, &err) == PP_ERROR);
    CHECK(pp_error_category(err) == PP_ERR_INTERFACE && r2 == NULL);
    pp_error_free(err);
}

static void test_exec_many_columns(pp_conn *c)
{
    enum { N = 3000 };
    int64_t *ids = calloc(N, sizeof *ids), *flags = calloc(N, sizeof *flags);
    double *halves = calloc(N, sizeof *halves);
    uint8_t *nulls = calloc(N, 1);
    char *text = malloc(N * 16); /* every value followed by a NUL, no offsets */
    int64_t len = 0;
    for (int k = 0; k < N; k++) {
        ids[k] = k;
        halves[k] = k * 0.5;
        flags[k] = k % 2;
        nulls[k] = k % 100 == 7;
        len += snprintf(text + len, 16, "%s", nulls[k] ? "" : (k % 3 ? "x" : "é")) + 1;
    }
    pp_column cols[4] = {
        {.tag = PP_INT, .count = N, .ints = ids},
        {.tag = PP_TEXT, .count = N, .nulls = nulls, .data = text, .data_len = len},
        {.tag = PP_FLOAT, .count = N, .floats = halves},
        {.tag = PP_BOOL, .count = N, .ints = flags},
    };
    pp_result_free(run(c, "CREATE TEMP TABLE t_cols (a int PRIMARY KEY, b text, c float8, "
                          "d bool)"));
    const char *sql = "INSERT INTO t_cols VALUES ($1, $2, $3, $4)";
    int64_t affected = 0;
    pp_error *err = NULL;
    CHECK_OK(pp_exec_many_columns(c, sql, 4, N, cols, &affected, &err), err);
    CHECK(affected == N);
    CHECK(scalar(c, "SELECT count(*) FROM t_cols WHERE b IS NULL") == N / 100);
    CHECK(scalar(c, "SELECT count(*) FROM t_cols WHERE b = 'é'") == 990);
    CHECK(scalar(c, "SELECT sum(a) FROM t_cols WHERE d AND c = a / 2.0") == 2250000);
    /* a failing row (a duplicate key at row 5) keeps nothing and is named */
    for (int k = 0; k < N; k++)
        ids[k] = N + k;
    ids[5] = 0;
    CHECK(pp_exec_many_columns(c, sql, 4, N, cols, &affected, &err) == PP_ERROR);
    CHECK(pp_error_index(err) == 5 && strcmp(pp_error_sqlstate(err), "23505") == 0);
    pp_error_free(err);
    err = NULL;
    CHECK(scalar(c, "SELECT count(*) FROM t_cols") == N);
    /* columns refused before anything is sent, naming the function and the column */
    cols[2].count = N - 1;
    CHECK(pp_exec_many_columns(c, sql, 4, N, cols, &affected, &err) == PP_ERROR);
    CHECK(pp_error_category(err) == PP_ERR_INTERFACE &&
          strstr(pp_error_message(err), "pp_exec_many_columns: column 3") != NULL);
    pp_error_free(err);
    err = NULL;
    cols[2].count = N;
    cols[0].ints = NULL;
    CHECK(pp_exec_many_columns(c, sql, 4, N, cols, &affected, &err) == PP_ERROR &&
          pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
    err = NULL;
    cols[0].ints = ids;
    /* a parameter count that does not match the statement */
    CHECK(pp_exec_many_columns(c, sql, 3, N, cols, &affected, &err) == PP_ERROR &&
          pp_error_category(err) == PP_ERR_PROGRAMMING);
    pp_error_free(err);
    err = NULL;
    /* text with offsets, and no parameters at all */
    int64_t offsets[3] = {0, 2, 5};
    pp_column two[2] = {{.tag = PP_INT, .count = 2, .ints = (int64_t[]){-1, -2}},
                        {.tag = PP_TEXT, .count = 2, .data = "abcde", .data_len = 5,
                         .offsets = offsets}};
    CHECK_OK(pp_exec_many_columns(c, "INSERT INTO t_cols (a, b) VALUES ($1, $2)", 2, 2, two,
                                  &affected, &err), err);
    CHECK(scalar(c, "SELECT count(*) FROM t_cols WHERE b IN ('ab', 'cde')") == 2);
    CHECK_OK(pp_exec_many_columns(c, "UPDATE t_cols SET d = NOT d WHERE a < 0", 0, 3, NULL,
                                  &affected, &err), err);
    CHECK(affected == 6);
    free(ids);
    free(flags);
    free(halves);
    free(nulls);
    free(text);
}

/* pp_poll_status: the transaction status without waiting; a session the server ended while
 * idle is found closed without a round trip. */
static void test_poll_status(pp_conn *c)
{
    pp_conn *c2 = test_connect();
    CHECK(pp_poll_status(c2) == 0);
    pp_result_free(run(c2, "BEGIN"));
    CHECK(pp_poll_status(c2) == 2);
    pp_result *r = NULL;
    pp_error *err = NULL;
    CHECK(pp_exec(c2, "SELECT 1/0", 0, NULL, 0, &r, &err) == PP_ERROR);
    pp_error_free(err);
    CHECK(pp_poll_status(c2) == 3);
    pp_result_free(run(c2, "ROLLBACK"));
    CHECK(pp_poll_status(c2) == 0);
    char *pid = pp_conn_info(c2, "backend_pid");
    CHECK(pid != NULL);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%s)", pid != NULL ? pid : "0");
    pp_free(pid);
    pp_result_free(run(c, sql));
    int32_t s = 0;
    const struct timespec pause = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 200 && (s = pp_poll_status(c2)) != 4; i++)
        nanosleep(&pause, NULL); /* the server needs a moment to end the session */
    CHECK(s == 4);
    CHECK(pp_is_closed(c2) == 1);
    CHECK(pp_poll_status(NULL) == 4);
    pp_conn_free(c2);
}

/* The server cannot type $1 (IS NOT NULL only): the retry declares the values' types but
 * leaves a NULL to the server ($2 becomes the CASE's integer, not text), and a NULL the
 * server still cannot type is declared text; in a transaction every failed try is undone. */
static void test_untyped_null(pp_conn *c)
{
    const char *sql = "SELECT CASE WHEN $1 IS NOT NULL THEN $2 ELSE 0 END";
    pp_value p[2] = {{.tag = PP_INT, .i = 5}, {.tag = PP_NULL}};
    pp_result *r = NULL;
    pp_error *err = NULL;
    pp_result_free(run(c, "BEGIN"));
    for (int k = 0; k < 2; k++) { /* (5, NULL), then (NULL, NULL) */
        CHECK_OK(pp_exec(c, sql, 2, p, 0, &r, &err), err);
        CHECK(pp_result_column_type(r, 0) == 23);
        pp_value v;
        CHECK_OK(pp_result_value(r, 0, 0, &v, &err), err);
        CHECK(k == 0 ? v.tag == PP_NULL : v.tag == PP_INT && v.i == 0);
        pp_result_free(r);
        p[0].tag = PP_NULL;
        sql = "SELECT CASE WHEN $1 IS NOT NULL THEN $2 ELSE 0 END + 0";
    }
    pp_result_free(run(c, "COMMIT"));
}

/* Types the cannot-infer fallback declared from a run's values are reused only for values of
 * those types: `SELECT $1 IS NULL, $2` cached with (false, 5) ($2 bigint) then runs with
 * (true, 'a') as text. A NULL the server cannot type where it is first used (`$1 IS NULL OR
 * n = $1`) fails with the server's 42P08, not with the text PostPyro tried. */
static void test_declared_types(pp_conn *c)
{
    const char *sql = "SELECT $1 IS NULL, $2";
    pp_value p[2] = {{.tag = PP_BOOL, .i = 0}, {.tag = PP_INT, .i = 5}};
    pp_result *r = NULL;
    pp_error *err = NULL;
    pp_value v;
    for (int k = 0; k < 3; k++) { /* the third run finds it cached */
        CHECK_OK(pp_exec(c, sql, 2, p, 0, &r, &err), err);
        CHECK_OK(pp_result_value(r, 0, 1, &v, &err), err);
        CHECK(v.tag == PP_INT && v.i == 5);
        pp_result_free(r);
    }
    p[1] = (pp_value){.tag = PP_TEXT, .ptr = "a", .len = 1};
    CHECK_OK(pp_exec(c, sql, 2, p, 0, &r, &err), err);
    CHECK(pp_result_column_type(r, 1) == 25);
    CHECK_OK(pp_result_value(r, 0, 1, &v, &err), err);
    CHECK(v.tag == PP_TEXT && v.len == 1 && v.ptr[0] == 'a');
    pp_result_free(r);
    pp_value null = {.tag = PP_NULL};
    for (int k = 0; k < 2; k++) { /* then inside a transaction (the tries under a savepoint) */
        if (k == 1)
            pp_result_free(run(c, "BEGIN"));
        CHECK(pp_exec(c, "SELECT count(*) FROM generate_series(1, 2) n WHERE $1 IS NULL OR "
                         "n = $1", 1, &null, 0, &r, &err) == PP_ERROR);
        CHECK(err != NULL && strcmp(pp_error_sqlstate(err), "42P08") == 0);
        pp_error_free(err);
        err = NULL;
    }
    pp_result_free(run(c, "ROLLBACK"));
}

int main(void)
{
    test_versions();
    pp_conn *c = test_connect();
    test_query_with_params(c);
    test_column_export(c);
    test_describe_and_all_columns(c);
    test_query_in_one_call(c);
    test_query_reuse(c);
    test_execute_counts(c);
    test_exec_many_and_batch(c);
    test_exec_many_columns(c);
    test_prepared(c);
    test_untyped_null(c);
    test_declared_types(c);
    test_multi_statement(c);
    test_poll_status(c);
    test_info_ping_close(c);
    pp_conn_free(c);
    pp_conn_free(NULL);
    return test_summary();
}
