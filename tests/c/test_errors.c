/* SPDX-License-Identifier: MIT */
/* test_errors.c — failures carry SQLSTATE, category and every diagnostic field, and leave
 * the connection usable; connection failures; cancel; the PP_PENDING protocol. */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static pp_error *fail_with(pp_conn *c, const char *sql)
{
    pp_result *r = NULL;
    pp_error *err = NULL;
    CHECK(pp_exec(c, sql, 0, NULL, 0, &r, &err) == PP_ERROR);
    CHECK(r == NULL && err != NULL);
    CHECK(pp_ping(c) == 1); /* still usable */
    return err;
}

static void test_server_errors(pp_conn *c)
{
    pp_error *e = fail_with(c, "SELEC 1");
    CHECK(strcmp(pp_error_sqlstate(e), "42601") == 0);
    CHECK(pp_error_category(e) == PP_ERR_PROGRAMMING);
    CHECK(strcmp(pp_error_field(e, 'S'), "ERROR") == 0);
    CHECK(pp_error_field(e, 'P') != NULL && strcmp(pp_error_field(e, 'P'), "1") == 0);
    pp_error_free(e);

    e = fail_with(c, "SELECT * FROM no_such_table");
    CHECK(strcmp(pp_error_sqlstate(e), "42P01") == 0 && pp_error_category(e) == PP_ERR_PROGRAMMING);
    pp_error_free(e);

    e = fail_with(c, "SELECT 1/0");
    CHECK(strcmp(pp_error_sqlstate(e), "22012") == 0 && pp_error_category(e) == PP_ERR_DATA);
    CHECK(strcmp(pp_error_message(e), "division by zero") == 0);
    pp_error_free(e);

    pp_result_free(run(c, "CREATE TEMP TABLE t_err (id int PRIMARY KEY CHECK (id > 0))"));
    pp_result_free(run(c, "INSERT INTO t_err VALUES (1)"));
    e = fail_with(c, "INSERT INTO t_err VALUES (1)");
    CHECK(strcmp(pp_error_sqlstate(e), "23505") == 0 && pp_error_category(e) == PP_ERR_INTEGRITY);
    CHECK(strcmp(pp_error_field(e, 'n'), "t_err_pkey") == 0);
    CHECK(strcmp(pp_error_field(e, 't'), "t_err") == 0);
    CHECK(strstr(pp_error_field(e, 'D'), "already exists") != NULL);
    pp_error_free(e);
    e = fail_with(c, "INSERT INTO t_err VALUES (-1)");
    CHECK(strcmp(pp_error_sqlstate(e), "23514") == 0);
    pp_error_free(e);
    CHECK(pp_error_field(NULL, 'M') == NULL && strcmp(pp_error_message(NULL), "") == 0);
}

static void test_parameter_count(pp_conn *c)
{
    pp_value p = {.tag = PP_INT, .i = 1};
    pp_result *r = NULL;
    pp_error *err = NULL;
    CHECK(pp_exec(c, "SELECT $1::int, $2::int", 1, &p, 0, &r, &err) == PP_ERROR);
    CHECK(pp_error_category(err) == PP_ERR_PROGRAMMING);
    CHECK(strstr(pp_error_message(err), "takes 2 parameters but 1 was given") != NULL);
    pp_error_free(err);
}

static void test_failed_transaction(pp_conn *c)
{
    pp_result_free(run(c, "BEGIN"));
    pp_error_free(fail_with(c, "SELECT 1/0"));
    pp_error *e = fail_with(c, "SELECT 1");
    CHECK(strcmp(pp_error_sqlstate(e), "25P02") == 0);
    pp_error_free(e);
    CHECK(pp_transaction_status(c) == 3);
    e = fail_with(c, "COMMIT"); /* the server answers ROLLBACK: that is no success */
    CHECK(strcmp(pp_error_sqlstate(e), "25P02") == 0);
    pp_error_free(e);
    CHECK(pp_transaction_status(c) == 0);
}

static void test_stale_cached_plan(pp_conn *c)
{
    pp_result_free(run(c, "CREATE TEMP TABLE t_stale (a int)"));
    pp_result_free(run(c, "INSERT INTO t_stale VALUES (1)"));
    /* twice: the cache prepares a statement by name on its second run */
    pp_result_free(run(c, "SELECT * FROM t_stale"));
    pp_result_free(run(c, "SELECT * FROM t_stale"));
    pp_result_free(run(c, "CREATE TEMP TABLE t_stale_was AS SELECT name FROM "
                          "pg_prepared_statements WHERE statement = 'SELECT * FROM t_stale'"));
    CHECK(scalar(c, "SELECT count(*) FROM t_stale_was") == 1);
    pp_result_free(run(c, "ALTER TABLE t_stale ADD COLUMN b text DEFAULT 'x'"));
    /* the prepared plan fails (0A000: cached plan must not change result type): the
     * statement is deallocated, prepared again under a new name and run again */
    pp_result *r = run(c, "SELECT * FROM t_stale");
    CHECK(r != NULL && pp_result_ncols(r) == 2);
    pp_result_free(r);
    CHECK(scalar(c, "SELECT count(*) FROM pg_prepared_statements WHERE statement = "
                    "'SELECT * FROM t_stale' AND name NOT IN (SELECT name FROM t_stale_was)") == 1);
    CHECK(scalar(c, "SELECT count(*) FROM pg_prepared_statements WHERE statement = "
                    "'SELECT * FROM t_stale'") == 1);
}

/* COPY through pp_exec or a batch is refused (the server's COPY is ended for us) and the
 * connection goes on: nothing was copied. */
static void test_copy_is_refused_outside_the_copy_api(pp_conn *c)
{
    pp_result_free(run(c, "CREATE TEMP TABLE t_nocopy (a int)"));
    const char *copies[] = {"COPY t_nocopy FROM STDIN", "COPY t_nocopy TO STDOUT"};
    for (int k = 0; k < 2; k++) {
        pp_error *e = fail_with(c, copies[k]);
        CHECK(pp_error_category(e) == PP_ERR_NOT_SUPPORTED);
        CHECK(strstr(pp_error_message(e), "COPY API") != NULL);
        pp_error_free(e);
        CHECK(scalar(c, "SELECT 7") == 7);
    }
    const char *batch[] = {"INSERT INTO t_nocopy VALUES (1)", "COPY t_nocopy FROM STDIN"};
    int64_t counts[2];
    pp_error *err = NULL;
    CHECK(pp_exec_batch(c, 2, batch, counts, &err) == PP_ERROR);
    CHECK(err != NULL && pp_error_index(err) == 1);
    pp_error_free(err);
    CHECK(pp_transaction_status(c) == 0);
    CHECK(scalar(c, "SELECT count(*) FROM t_nocopy") == 0); /* the batch kept nothing */
}

static void test_client_encoding_stays_utf8(pp_conn *c)
{
    pp_error *e = fail_with(c, "SET client_encoding TO 'LATIN1'");
    CHECK(pp_error_category(e) == PP_ERR_NOT_SUPPORTED);
    CHECK(strstr(pp_error_message(e), "LATIN1") != NULL);
    pp_error_free(e);
    char *enc = pp_conn_info(c, "client_encoding");
    CHECK(enc != NULL && strcmp(enc, "UTF8") == 0);
    pp_free(enc);
    /* a conninfo asking for another encoding is overridden at connect */
    char dsn[1024];
    snprintf(dsn, sizeof dsn, "%s client_encoding=LATIN1", test_dsn());
    pp_error *err = NULL;
    pp_conn *c2 = pp_connect(dsn, 0, &err);
    CHECK(c2 != NULL);
    enc = pp_conn_info(c2, "client_encoding");
    CHECK(enc != NULL && strcmp(enc, "UTF8") == 0);
    pp_free(enc);
    pp_error_free(err);
    pp_conn_free(c2);
    /* the same when the statement was interrupted and finished by pp_resume */
    interrupt_after(1);
    pp_result *r = NULL;
    e = NULL;
    CHECK(pp_exec(c, "SELECT pg_sleep(2), set_config('client_encoding', 'LATIN1', false)", 0,
                  NULL, 0, &r, &e) == PP_PENDING);
    int rc;
    while ((rc = pp_resume(c, &r, &e)) == PP_PENDING)
        ;
    CHECK(rc == PP_ERROR && r == NULL && pp_error_category(e) == PP_ERR_NOT_SUPPORTED);
    pp_error_free(e);
    enc = pp_conn_info(c, "client_encoding");
    CHECK(enc != NULL && strcmp(enc, "UTF8") == 0);
    pp_free(enc);
}

static void test_connect_failures(void)
{
    pp_error *err = NULL;
    CHECK(pp_connect("host=127.0.0.1 port=1 connect_timeout=2", 0, &err) == NULL);
    CHECK(pp_error_category(err) == PP_ERR_OPERATIONAL && pp_error_message(err)[0] != '\0');
    pp_error_free(err);
    err = NULL;
    char dsn[1024];
    snprintf(dsn, sizeof dsn, "%s user=no_such_user_xyz", test_dsn());
    CHECK(pp_connect(dsn, 0, &err) == NULL);
    CHECK(pp_error_category(err) == PP_ERR_OPERATIONAL);
    CHECK(strstr(pp_error_message(err), "no_such_user_xyz") != NULL);
    pp_error_free(err);
    err = NULL;
    CHECK(pp_connect("this is not a dsn", 0, &err) == NULL);
    CHECK(err != NULL);
    pp_error_free(err);
    CHECK(pp_connect(NULL, 0, NULL) == NULL);
}

/* A forked child cannot use the parent's connection, and closing it there leaves the
 * parent's session alone. */
static void test_fork(pp_conn *c)
{
    pid_t pid = fork();
    if (pid == 0) {
        pp_result *r = NULL;
        pp_error *err = NULL;
        int refused = pp_exec(c, "SELECT 1", 0, NULL, 0, &r, &err) == PP_ERROR &&
                      pp_error_category(err) == PP_ERR_INTERFACE &&
                      strstr(pp_error_message(err), "parent") != NULL;
        pp_error_free(err);
        pp_close(c);
        _exit(refused ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(pp_ping(c) == 1); /* the parent's session survived the child's close */
}

static void test_interrupted_statement(pp_conn *c)
{
    interrupt_after(1);
    pp_result *r = NULL;
    pp_error *err = NULL;
    int rc = pp_exec(c, "SELECT pg_sleep(30)", 0, NULL, 0, &r, &err);
    CHECK(rc == PP_PENDING);
    CHECK_OK(pp_cancel(c, &err), err);
    rc = pp_resume(c, &r, &err);
    CHECK(rc == PP_ERROR && strcmp(pp_error_sqlstate(err), "57014") == 0);
    pp_error_free(err);
    err = NULL;
    CHECK(pp_resume(c, &r, &err) == PP_ERROR && pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
    CHECK(pp_ping(c) == 1);
    /* a pipelined batch interrupted the same way keeps nothing */
    pp_result_free(run(c, "CREATE TEMP TABLE t_intr (x int)"));
    const char *sqls[] = {"INSERT INTO t_intr VALUES (1)", "SELECT pg_sleep(30)",
                          "INSERT INTO t_intr VALUES (2)"};
    int64_t counts[3];
    interrupt_after(1);
    rc = pp_exec_batch(c, 3, sqls, counts, &err);
    CHECK(rc == PP_PENDING);
    CHECK_OK(pp_cancel(c, &err), err);
    rc = pp_resume(c, &r, &err);
    CHECK(rc == PP_ERROR && strcmp(pp_error_sqlstate(err), "57014") == 0 &&
          pp_error_index(err) == 1 && r == NULL);
    pp_error_free(err);
    err = NULL;
    CHECK(scalar(c, "SELECT count(*) FROM t_intr") == 0);
    /* a late cancel does not hit the next statement */
    CHECK_OK(pp_cancel(c, &err), err);
    sleep_ms(200);
    r = run(c, "SELECT 1");
    CHECK(r != NULL);
    pp_result_free(r);
}

/* pp_close of a statement left PP_PENDING: quick, the handle is closed, and the server
 * session ends (the pg_sleep(30) does not run on). */
static void test_close_of_a_pending_statement(pp_conn *c)
{
    pp_conn *c2 = test_connect_flags(PP_CONNECT_INTERRUPTIBLE);
    if (c2 == NULL)
        return;
    int64_t pid = scalar(c2, "SELECT pg_backend_pid()");
    interrupt_after(1);
    pp_result *r = NULL;
    pp_error *err = NULL;
    CHECK(pp_exec(c2, "SELECT pg_sleep(30)", 0, NULL, 0, &r, &err) == PP_PENDING);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pp_close(c2);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(t1.tv_sec - t0.tv_sec < 5);
    CHECK(pp_is_closed(c2) == 1);
    CHECK(pp_resume(c2, &r, &err) == PP_ERROR && pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE pid = %lld",
             (long long)pid);
    int64_t left = 1;
    for (int k = 0; k < 50 && (left = scalar(c, sql)) != 0; k++)
        sleep_ms(100);
    CHECK(left == 0);
    pp_conn_free(c2);
}

static void *close_soon(void *arg)
{
    sleep_ms(300);
    pp_close(arg);
    return NULL;
}

static void test_close_from_other_thread(void)
{
    pp_conn *c = test_connect();
    pthread_t t;
    pthread_create(&t, NULL, close_soon, c);
    pp_result *r = NULL;
    pp_error *err = NULL;
    int rc = pp_exec(c, "SELECT pg_sleep(1)", 0, NULL, 0, &r, &err);
    pthread_join(t, NULL);
    /* close does not wait for the statement: it ends it (test_waits.c has more) */
    CHECK(rc == PP_ERROR && pp_error_category(err) == PP_ERR_INTERFACE);
    pp_result_free(r);
    pp_error_free(err);
    CHECK(pp_is_closed(c) == 1);
    pp_conn_free(c);
}

/* The call during which the connection breaks fails with PP_ERR_OPERATIONAL; every later
 * call fails with PP_ERR_INTERFACE "connection is closed", SQLSTATE 08003. */
static void test_calls_after_a_break(pp_conn *admin)
{
    pp_conn *c = test_connect();
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)",
             (long long)scalar(c, "SELECT pg_backend_pid()"));
    pp_result_free(run(admin, sql));
    sleep_ms(200);
    pp_result *r = NULL;
    pp_error *err = NULL;
    CHECK(pp_exec(c, "SELECT 1", 0, NULL, 0, &r, &err) == PP_ERROR);
    CHECK(r == NULL && pp_error_category(err) == PP_ERR_OPERATIONAL);
    pp_error_free(err);
    err = NULL;
    CHECK(pp_is_closed(c) == 1);
    CHECK(pp_exec(c, "SELECT 1", 0, NULL, 0, &r, &err) == PP_ERROR);
    CHECK(r == NULL && pp_error_category(err) == PP_ERR_INTERFACE);
    CHECK(strcmp(pp_error_sqlstate(err), "08003") == 0);
    CHECK(strstr(pp_error_message(err), "connection is closed") != NULL);
    pp_error_free(err);
    pp_conn_free(c);
}

int main(void)
{
    pp_conn *c = test_connect_flags(PP_CONNECT_INTERRUPTIBLE);
    test_server_errors(c);
    test_parameter_count(c);
    test_failed_transaction(c);
    test_stale_cached_plan(c);
    test_copy_is_refused_outside_the_copy_api(c);
    test_client_encoding_stays_utf8(c);
    test_fork(c);
    test_connect_failures();
    test_interrupted_statement(c);
    test_close_of_a_pending_statement(c);
    test_close_from_other_thread();
    test_calls_after_a_break(c);
    pp_conn_free(c);
    return test_summary();
}
