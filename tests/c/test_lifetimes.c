/* SPDX-License-Identifier: MIT */
/* test_lifetimes.c — no call keeps the caller's memory after it returns (issue 15 item 2):
 * each batch call is interrupted by a signal (PP_PENDING) while rows are still unsent, the
 * caller overwrites and frees every buffer it passed, and pp_resume finishes the batch from
 * the library's own copies. Run under ASan (tests/asan.sh) and valgrind (make
 * check-valgrind), any read of the freed memory is an error; in a plain run the overwritten
 * bytes ('Z') would reach the table. */
#include "harness.h"

#include <sys/time.h>

#define ROWS 160
#define VALUE_LEN 65536 /* ROWS * VALUE_LEN (10 MiB) is more than the socket buffers hold
                         * while the server sleeps on the first row: rows stay unsent */

/* SIGALRM every 100 ms, caught without SA_RESTART: waits for the server return PP_PENDING. */
static void ticks(bool on)
{
    struct sigaction sa = {0};
    sa.sa_handler = ignore_signal;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval t = {{0, on ? 100000 : 0}, {0, on ? 100000 : 0}};
    setitimer(ITIMER_REAL, &t, NULL);
}

/* How long the server sleeps on the first row: long enough that the caller, slowed down by
 * valgrind, blocks on the full socket while it sleeps (and a tick interrupts that wait). */
static double first_row_sleep(void)
{
    return getenv("PP_UNDER_VALGRIND") != NULL ? 5.0 : 1.0;
}

static pp_conn *interruptible_connect(void)
{
    pp_conn *c = NULL;
    pp_error *err = NULL;
    int rc = pp_connect_start(test_dsn(), PP_CONNECT_INTERRUPTIBLE, 0, &c, &err);
    while (rc == PP_PENDING)
        rc = pp_connect_resume(c, &err);
    if (rc != PP_OK) {
        fprintf(stderr, "cannot connect: %s\n", pp_error_message(err));
        exit(2);
    }
    return c;
}

static void scribble_free(void *p, size_t n)
{
    memset(p, 'Z', n);
    free(p);
}

/* Finishes what returned PP_PENDING; returns the counts result pp_resume gave. */
static pp_result *finish(pp_conn *c, int rc)
{
    ticks(false);
    pp_result *out = NULL;
    pp_error *err = NULL;
    while (rc == PP_PENDING)
        rc = pp_resume(c, &out, &err);
    CHECK(rc == PP_OK);
    if (rc != PP_OK)
        fprintf(stderr, "  resume: %s\n", pp_error_message(err));
    pp_error_free(err);
    return out;
}

/* The counts result: one int8 column, one row per command, each `expect` (or as listed). */
static void check_counts(pp_result *r, int64_t n, const int64_t *expect)
{
    CHECK(r != NULL && pp_result_nrows(r) == n && pp_result_ncols(r) == 1);
    CHECK(r != NULL && strcmp(pp_result_column_name(r, 0), "rows_affected") == 0);
    int64_t ok = 0;
    for (int64_t k = 0; r != NULL && k < n; k++) {
        pp_value v;
        if (pp_result_value(r, k, 0, &v, NULL) == PP_OK && v.tag == PP_INT &&
            v.i == expect[k < 3 ? k : 2])
            ok++;
    }
    CHECK(ok == n);
    pp_result_free(r);
}

static void check_table(pp_conn *c, const char *table)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE length(v) = %d AND "
             "v = repeat(left(v, 1), %d) AND v NOT LIKE '%%Z%%'", table, VALUE_LEN, VALUE_LEN);
    CHECK(scalar(c, sql) == ROWS);
}

static void test_batch(pp_conn *c)
{
    const char *texts[] = {"CREATE TEMP TABLE lt_b (v text)", "SELECT pg_sleep(1)",
                           "INSERT INTO lt_b VALUES ('a'), ('b')"};
    char **sqls = malloc(3 * sizeof *sqls);
    int64_t *counts = malloc(3 * sizeof *counts);
    for (int k = 0; k < 3; k++)
        sqls[k] = strdup(texts[k]);
    pp_error *err = NULL;
    ticks(true);
    int rc = pp_exec_batch(c, 3, (const char *const *)sqls, counts, &err);
    CHECK(rc == PP_PENDING);
    for (int k = 0; k < 3; k++)
        scribble_free(sqls[k], strlen(texts[k]));
    scribble_free(sqls, 3 * sizeof *sqls);
    scribble_free(counts, 3 * sizeof *counts);
    int64_t expect[3] = {-1, 1, 2};
    check_counts(finish(c, rc), 3, expect);
    CHECK(scalar(c, "SELECT count(*) FROM lt_b WHERE v IN ('a', 'b')") == 2);
}

static char *value_text(int64_t k)
{
    char *s = malloc(VALUE_LEN);
    memset(s, 'a' + (int)(k % 25), VALUE_LEN); /* a..y: never the scribbled 'Z' */
    return s;
}

static void test_many(pp_conn *c)
{
    pp_result_free(run(c, "CREATE TEMP TABLE lt_m (v text)"));
    pp_value *params = calloc(2 * ROWS, sizeof *params);
    for (int64_t k = 0; k < ROWS; k++) {
        params[2 * k] = (pp_value){.tag = PP_TEXT, .ptr = value_text(k), .len = VALUE_LEN};
        params[2 * k + 1] = (pp_value){.tag = PP_FLOAT, .f = k == 0 ? first_row_sleep() : 0};
    }
    int64_t *affected = malloc(sizeof *affected);
    pp_error *err = NULL;
    ticks(true);
    int rc = pp_exec_many(c, "INSERT INTO lt_m SELECT $1::text FROM pg_sleep($2::float8)", 2,
                          ROWS, params, affected, &err);
    if (rc != PP_PENDING)
        fprintf(stderr, "  pp_exec_many: %d %s\n", rc, pp_error_message(err));
    CHECK(rc == PP_PENDING);
    CHECK(*affected == 0);
    for (int64_t k = 0; k < ROWS; k++)
        scribble_free((void *)params[2 * k].ptr, VALUE_LEN);
    scribble_free(params, 2 * ROWS * sizeof *params);
    scribble_free(affected, sizeof *affected);
    int64_t one[3] = {1, 1, 1};
    check_counts(finish(c, rc), ROWS, one);
    check_table(c, "lt_m");
}

static void test_many_columns(pp_conn *c)
{
    pp_result_free(run(c, "CREATE TEMP TABLE lt_c (v text)"));
    char *data = malloc((size_t)ROWS * VALUE_LEN);
    int64_t *offsets = malloc((ROWS + 1) * sizeof *offsets);
    double *sleeps = calloc(ROWS, sizeof *sleeps);
    for (int64_t k = 0; k < ROWS; k++) {
        char *v = value_text(k);
        memcpy(data + k * VALUE_LEN, v, VALUE_LEN);
        free(v);
        offsets[k] = k * VALUE_LEN;
    }
    offsets[ROWS] = (int64_t)ROWS * VALUE_LEN;
    sleeps[0] = first_row_sleep();
    pp_column *cols = calloc(2, sizeof *cols);
    cols[0] = (pp_column){.tag = PP_TEXT, .count = ROWS, .data = data,
                          .data_len = (int64_t)ROWS * VALUE_LEN, .offsets = offsets};
    cols[1] = (pp_column){.tag = PP_FLOAT, .count = ROWS, .floats = sleeps};
    pp_error *err = NULL;
    ticks(true);
    int rc = pp_exec_many_columns(c, "INSERT INTO lt_c SELECT $1::text FROM "
                                     "pg_sleep($2::float8)", 2, ROWS, cols, NULL, &err);
    if (rc != PP_PENDING)
        fprintf(stderr, "  pp_exec_many_columns: %d %s\n", rc, pp_error_message(err));
    CHECK(rc == PP_PENDING);
    scribble_free(data, (size_t)ROWS * VALUE_LEN);
    scribble_free(offsets, (ROWS + 1) * sizeof *offsets);
    scribble_free(sleeps, ROWS * sizeof *sleeps);
    scribble_free(cols, 2 * sizeof *cols);
    int64_t one[3] = {1, 1, 1};
    check_counts(finish(c, rc), ROWS, one);
    check_table(c, "lt_c");
}

int main(void)
{
    pp_conn *c = interruptible_connect();
    test_batch(c);
    test_many(c);
    test_many_columns(c);
    pp_conn_free(c);
    return test_summary();
}
