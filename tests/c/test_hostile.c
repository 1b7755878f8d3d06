/* SPDX-License-Identifier: MIT */
/* test_hostile.c — what a broken or hostile server, or a careless caller, sends the library:
 * a fake server (tests/fakeserver.py) that changes a result's columns in the middle of its
 * rows and puts NUL bytes in text values; then, against the real server, parameter and COPY
 * values out of PostgreSQL's range, a binary COPY value with a huge negative length, empty
 * values without a pointer, and the SQL scanner on identifiers with non-ASCII letters and '$'.
 * Every case must fail cleanly (or succeed correctly) and leave the connection usable. */
#include "harness.h"

#include <errno.h>
#include <sys/wait.h>

#ifndef PP_FAKESERVER
#define PP_FAKESERVER "tests/fakeserver.py"
#endif

/* ---- the fake server ---- */

static pid_t fake_pid = -1;
static int fake_stdin = -1; /* closing it stops the server */

/* Starts tests/fakeserver.py ($PYTHON, else python3) and returns the port it listens on. */
static int start_fake_server(void)
{
    const char *python = getenv("PYTHON");
    const char *script = getenv("PP_FAKESERVER");
    if (python == NULL || python[0] == '\0')
        python = "python3";
    if (script == NULL)
        script = PP_FAKESERVER;
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) {
        perror("pipe");
        exit(2);
    }
    fake_pid = fork();
    if (fake_pid < 0) {
        perror("fork");
        exit(2);
    }
    if (fake_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execlp(python, python, script, (char *)NULL);
        perror(python);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    fake_stdin = in[1];
    char line[32] = "";
    size_t n = 0;
    while (n + 1 < sizeof line) {
        ssize_t got = read(out[0], line + n, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(out[0]);
    int port = atoi(line);
    if (port <= 0) {
        fprintf(stderr, "the fake server (%s %s) did not start\n", python, script);
        exit(2);
    }
    return port;
}

static void stop_fake_server(void)
{
    close(fake_stdin);
    int status;
    while (waitpid(fake_pid, &status, 0) < 0 && errno == EINTR)
        ;
}

static pp_conn *fake_connect(int port)
{
    char dsn[160];
    /* no SSL or GSS negotiation: the fake server answers both with 'N' anyway */
    snprintf(dsn, sizeof dsn, "host=127.0.0.1 port=%d user=fake dbname=fake "
             "sslmode=disable gssencmode=disable connect_timeout=10", port);
    pp_error *err = NULL;
    pp_conn *c = pp_connect(dsn, 0, &err);
    if (c == NULL) {
        fprintf(stderr, "cannot connect to the fake server: %s\n", pp_error_message(err));
        exit(2);
    }
    return c;
}

/* Whether err is the protocol-violation error hostile server bytes give. */
static bool is_violation(const pp_error *err)
{
    return err != NULL && pp_error_category(err) == PP_ERR_OPERATIONAL &&
           strcmp(pp_error_sqlstate(err), "08P01") == 0;
}

/* The connection still answers: the fake server's SELECT 1. */
static void check_usable(pp_conn *c)
{
    CHECK(scalar(c, "SELECT 1") == 1);
    CHECK(!pp_is_closed(c));
}

/* Whether err is a clean connection-level failure: the protocol violation the library
 * reports, or the one libpq reports itself for a data row that follows a second row
 * description ("server sent data without prior row description", 08006). */
static bool is_clean_failure(const pp_error *err)
{
    return err != NULL && pp_error_category(err) == PP_ERR_OPERATIONAL;
}

/* A chunked statement whose rows change shape fails, on every path a caller may take. */
static void test_shape_change(pp_conn *c)
{
    static const char *const sqls[] = {
        "SELECT 'shape_change_end'", "SELECT 'shape_change_rows'", "SELECT 'type_change'",
    };
    for (size_t k = 0; k < sizeof sqls / sizeof *sqls; k++) {
        /* the first one reaches the library's own check (libpq catches the others first,
         * at least from libpq 14 on) */
        bool (*expected)(const pp_error *) = k == 0 ? is_violation : is_clean_failure;
        for (int run = 0; run < 2; run++) { /* unnamed, then cached statement */
            pp_result *r = NULL;
            pp_error *err = NULL;
            int rc = pp_exec(c, sqls[k], 0, NULL, PP_EXEC_CHUNKED, &r, &err);
            CHECK(rc == PP_ERROR && r == NULL && expected(err));
            if (rc != PP_ERROR || !expected(err))
                fprintf(stderr, "  %s: rc %d, %s\n", sqls[k], rc, pp_error_message(err));
            pp_error_free(err);
            pp_result_free(r);
            check_usable(c);
        }
        /* pp_query (what Python's query() runs) */
        pp_result *r = NULL;
        pp_error *err = NULL;
        pp_result_info info;
        pp_column cols[4];
        int rc = pp_query(c, sqls[k], 0, NULL, PP_EXEC_CHUNKED, &r, &info, cols, 4, &err);
        CHECK(rc == PP_ERROR && r == NULL && expected(err));
        pp_error_free(err);
        pp_result_free(r);
        check_usable(c);
    }
    /* The change after the first chunk: that chunk is handed out (PP_MORE), the next call
     * fails, and the connection is usable again. */
    pp_result *r = NULL;
    pp_error *err = NULL;
    pp_result_info info;
    int64_t rows = 0;
    int rc = pp_query(c, "SELECT 'shape_change_late'", 0, NULL, PP_EXEC_CHUNKED, &r, &info,
                      NULL, 0, &err);
    while (rc == PP_MORE) {
        rows += info.nrows;
        pp_result_free(r);
        r = NULL;
        rc = pp_query_next(c, &r, &info, NULL, 0, &err);
    }
    CHECK(rc == PP_ERROR && r == NULL && is_violation(err) && rows >= 50000 && rows <= 60000);
    pp_error_free(err);
    check_usable(c);
    /* Without chunks each result libpq makes is whole and describes itself truthfully
     * (libpq keeps what it makes of the second description: no columns, no rows). */
    r = run(c, "SELECT 'shape_change_end'");
    pp_column cols[3];
    err = NULL;
    CHECK(pp_result_ncols(r) <= 3);
    CHECK_OK(pp_result_columns(r, cols, &err), err);
    pp_result_free(r);
    check_usable(c);
}

/* Text values with a NUL byte inside are refused, not cut or split. */
static void test_nul_in_text(pp_conn *c)
{
    static const char *const sqls[] = {
        "SELECT 'nul_text'", "SELECT 'nul_int'", /* extended protocol, text format */
        "SELECT 'nul_text'; SELECT 1", "SELECT 'nul_int'; SELECT 1", /* simple query */
    };
    for (size_t k = 0; k < sizeof sqls / sizeof *sqls; k++) {
        pp_result *r = run(c, sqls[k]);
        pp_column col;
        pp_error *err = NULL;
        CHECK(r != NULL && pp_result_nrows(r) >= 1);
        CHECK(pp_result_column(r, 0, &col, &err) == PP_ERROR && is_violation(err));
        pp_error_free(err);
        err = NULL;
        CHECK_OK(pp_result_column(r, 1, &col, &err), err); /* the point column is fine */
        pp_result_free(r);
        if (k < 2) { /* chunked: the row fails as it arrives */
            r = NULL;
            int rc = pp_exec(c, sqls[k], 0, NULL, PP_EXEC_CHUNKED, &r, &err);
            CHECK(rc == PP_ERROR && r == NULL && is_violation(err));
            pp_error_free(err);
        }
        check_usable(c);
    }
}

/* Binary text values with a NUL byte (after good values, wherever in the value the copy
 * of text looks for one) are refused too, by pp_query's decoding and by pp_result_column. */
static void test_nul_in_binary_text(pp_conn *c)
{
    static const char *const sqls[] = {
        "SELECT 'nul_bin_short'", "SELECT 'nul_bin_word'", "SELECT 'nul_bin_tail'",
        "SELECT 'nul_bin_long'",
    };
    for (size_t k = 0; k < sizeof sqls / sizeof *sqls; k++) {
        pp_result *r = NULL;
        pp_error *err = NULL;
        pp_result_info info;
        pp_column col;
        CHECK(pp_query(c, sqls[k], 0, NULL, 0, &r, &info, &col, 1, &err) == PP_ERROR &&
              r == NULL && is_violation(err));
        pp_error_free(err);
        err = NULL;
        r = run(c, sqls[k]);
        CHECK(r != NULL && pp_result_nrows(r) == 4);
        CHECK(pp_result_column(r, 0, &col, &err) == PP_ERROR && is_violation(err));
        pp_error_free(err);
        pp_result_free(r);
        check_usable(c);
    }
}

/* ---- against the real server ---- */

static int exec_params(pp_conn *c, const char *sql, int32_t n, const pp_value *params,
                       pp_result **r, pp_error **err)
{
    *r = NULL;
    *err = NULL;
    return pp_exec(c, sql, n, params, 0, r, err);
}

/* sql with the one parameter v fails with PP_ERR_DATA. */
static void expect_data_error(pp_conn *c, const char *sql, const pp_value *v)
{
    pp_result *r;
    pp_error *err;
    CHECK(exec_params(c, sql, 1, v, &r, &err) == PP_ERROR);
    CHECK(err != NULL && pp_error_category(err) == PP_ERR_DATA);
    pp_error_free(err);
    pp_result_free(r);
}

/* Time zone offsets beyond ±15:59:59 and dates beyond int32 days are refused before sending. */
static void test_value_ranges(pp_conn *c)
{
    pp_result *r;
    pp_error *err;
    const int64_t bad_offsets[] = {INT64_MIN, INT64_MAX, (1LL << 32) + 3600, 57600, -57600};
    for (size_t k = 0; k < sizeof bad_offsets / sizeof *bad_offsets; k++) {
        pp_value v = {.tag = PP_TIMETZ, .i = 3600000000LL, .i2 = bad_offsets[k]};
        expect_data_error(c, "SELECT $1::timetz", &v);
        /* a type the encoders do not know: the value would be written as text */
        expect_data_error(c, "SELECT $1::tsvector", &v);
    }
    pp_value ok = {.tag = PP_TIMETZ, .i = 0, .i2 = 57599};
    CHECK(exec_params(c, "SELECT extract(timezone FROM $1::timetz)::int8", 1, &ok, &r, &err) ==
          PP_OK);
    pp_value got = {0};
    pp_error_free(err);
    err = NULL;
    CHECK_OK(pp_result_value(r, 0, 0, &got, &err), err);
    CHECK(got.tag == PP_INT && got.i == 57599);
    pp_result_free(r);

    const int64_t bad_days[] = {INT64_MAX, INT64_MIN, (int64_t)INT32_MAX + 1};
    for (size_t k = 0; k < sizeof bad_days / sizeof *bad_days; k++) {
        pp_value v = {.tag = PP_DATE, .i = bad_days[k]};
        expect_data_error(c, "SELECT $1::date", &v);
        /* daterange: unknown to the encoders, so the date would be written as text */
        expect_data_error(c, "SELECT $1::daterange", &v);
    }
    /* text COPY writes dates and offsets itself */
    pp_result_free(run(c, "CREATE TEMP TABLE hostile_dates (d date, t timetz)"));
    err = NULL;
    CHECK_OK(pp_copy_in_start(c, "COPY hostile_dates FROM STDIN", &err), err);
    pp_value rows[2][2] = {
        {{.tag = PP_DATE, .i = INT64_MAX - 5}, {.tag = PP_NULL}},
        {{.tag = PP_NULL}, {.tag = PP_TIMETZ, .i2 = INT64_MIN}},
    };
    for (int k = 0; k < 2; k++) {
        CHECK(pp_copy_put_rows(c, 2, 1, rows[k], &err) == PP_ERROR);
        CHECK(err != NULL && pp_error_category(err) == PP_ERR_DATA &&
              strstr(pp_error_message(err), "row 0, column") != NULL);
        pp_error_free(err);
        err = NULL;
    }
    pp_value fine[2] = {{.tag = PP_DATE, .i = 0}, {.tag = PP_TIMETZ, .i = 0, .i2 = -3600}};
    CHECK_OK(pp_copy_put_rows(c, 2, 1, fine, &err), err);
    int64_t nrows = 0;
    CHECK_OK(pp_copy_end(c, NULL, &nrows, &err), err);
    CHECK(nrows == 1);
    CHECK(scalar(c, "SELECT count(*) FROM hostile_dates WHERE d = '2000-01-01' AND "
                    "t = '00:00:00-01'") == 1);
    pp_result_free(run(c, "DROP TABLE hostile_dates"));
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_hostile: timed out (an endless loop?)\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

/* A binary COPY value with a huge negative length fails at once instead of looping. */
static void test_copy_bad_length(pp_conn *c)
{
    pp_result_free(run(c, "CREATE TEMP TABLE hostile_copy (t text)"));
    pp_error *err = NULL;
    signal(SIGALRM, on_alarm);
    alarm(60);
    uint32_t oid = 25;
    CHECK_OK(pp_copy_in_start(c, "COPY hostile_copy FROM STDIN (FORMAT binary)", &err), err);
    CHECK_OK(pp_copy_use_binary(c, 1, &oid, &err), err);
    const int64_t lengths[] = {-(1LL << 40), -2, INT64_MIN, (1LL << 40)};
    for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
        pp_value v = {.tag = PP_TEXT, .ptr = "x", .len = lengths[k]};
        CHECK(pp_copy_put_rows(c, 1, 1, &v, &err) == PP_ERROR);
        CHECK(err != NULL && pp_error_category(err) == PP_ERR_INTERFACE);
        pp_error_free(err);
        err = NULL;
    }
    pp_value v = {.tag = PP_TEXT, .ptr = "ok", .len = 2};
    CHECK_OK(pp_copy_put_rows(c, 1, 1, &v, &err), err);
    int64_t nrows = 0;
    CHECK_OK(pp_copy_end(c, NULL, &nrows, &err), err);
    CHECK(nrows == 1);
    /* the same lengths in text COPY */
    CHECK_OK(pp_copy_in_start(c, "COPY hostile_copy FROM STDIN", &err), err);
    for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
        pp_value bad = {.tag = PP_TEXT, .ptr = "x", .len = lengths[k]};
        CHECK(pp_copy_put_rows(c, 1, 1, &bad, &err) == PP_ERROR);
        pp_error_free(err);
        err = NULL;
    }
    CHECK_OK(pp_copy_end(c, NULL, &nrows, &err), err);
    alarm(0);
    CHECK(scalar(c, "SELECT count(*) FROM hostile_copy") == 1);
    pp_result_free(run(c, "DROP TABLE hostile_copy"));
}

/* An empty value may come without a pointer (ptr NULL, len 0): it is '' and never NULL. */
static void test_empty_without_pointer(pp_conn *c)
{
    pp_result *r;
    pp_error *err;
    pp_value v = {.tag = PP_TEXT, .ptr = NULL, .len = 0};
    CHECK(exec_params(c, "SELECT $1::text IS NULL, $1::text = ''", 1, &v, &r, &err) == PP_OK);
    pp_value a = {0}, b = {0};
    pp_error_free(err);
    err = NULL;
    CHECK_OK(pp_result_value(r, 0, 0, &a, &err), err);
    CHECK_OK(pp_result_value(r, 0, 1, &b, &err), err);
    CHECK(a.tag == PP_BOOL && a.i == 0 && b.tag == PP_BOOL && b.i == 1);
    pp_result_free(r);
    /* as text for a type the encoder does not know, as jsonb, as bytea, as a number */
    static const struct { int32_t tag; const char *sql; bool ok; } cases[] = {
        {PP_TEXT, "SELECT length($1::tsvector::text)", true},
        {PP_JSON, "SELECT $1::jsonb", false}, /* '' is not JSON: the server says so */
        {PP_BYTES, "SELECT length($1::bytea)", true},
        {PP_NUMERIC, "SELECT $1::int4", false},
        {PP_NUMERIC, "SELECT $1::numeric", false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        pp_value e = {.tag = cases[k].tag, .ptr = NULL, .len = 0};
        int rc = exec_params(c, cases[k].sql, 1, &e, &r, &err);
        CHECK(rc == (cases[k].ok ? PP_OK : PP_ERROR));
        if (rc == PP_OK) {
            pp_value n = {0};
            pp_error_free(err);
            err = NULL;
            CHECK_OK(pp_result_value(r, 0, 0, &n, &err), err);
            CHECK(n.tag == PP_INT && n.i == 0);
        }
        pp_error_free(err);
        pp_result_free(r);
    }
    /* COPY, text and binary */
    pp_result_free(run(c, "CREATE TEMP TABLE hostile_empty (t text, j jsonb)"));
    err = NULL;
    pp_value row[2] = {{.tag = PP_TEXT}, {.tag = PP_NULL}};
    CHECK_OK(pp_copy_in_start(c, "COPY hostile_empty FROM STDIN", &err), err);
    CHECK_OK(pp_copy_put_rows(c, 2, 1, row, &err), err);
    CHECK_OK(pp_copy_end(c, NULL, NULL, &err), err);
    uint32_t oids[2] = {25, 3802};
    CHECK_OK(pp_copy_in_start(c, "COPY hostile_empty FROM STDIN (FORMAT binary)", &err), err);
    CHECK_OK(pp_copy_use_binary(c, 2, oids, &err), err);
    CHECK_OK(pp_copy_put_rows(c, 2, 1, row, &err), err);
    CHECK_OK(pp_copy_end(c, NULL, NULL, &err), err);
    CHECK(scalar(c, "SELECT count(*) FROM hostile_empty WHERE t = '' AND j IS NULL") == 2);
    pp_result_free(run(c, "DROP TABLE hostile_empty"));
}

/* Identifiers may hold non-ASCII letters and '$': "é$$" is a name, not a dollar quote, so
 * the string below is two commands (the simple-query path), as the server sees it. */
static void test_scanner_identifiers(pp_conn *c)
{
    static const char *const two[] = {
        "SELECT 1 AS \xc3\xa9$$; SELECT 2",
        "SELECT 1 AS a$$b; SELECT 2",
        "SELECT 1 AS \xc3\xa9$; SELECT 2",
        "SELECT 1 AS \"x\", 2 AS \xc3\xa9$x$; SELECT 2",
    };
    for (size_t k = 0; k < sizeof two / sizeof *two; k++) {
        pp_result *r = NULL;
        pp_error *err = NULL;
        int rc = pp_exec(c, two[k], 0, NULL, PP_EXEC_ALL_RESULTS, &r, &err);
        CHECK(rc == PP_OK);
        if (rc != PP_OK)
            fprintf(stderr, "  %s: %s\n", two[k], pp_error_message(err));
        pp_error_free(err);
        pp_result *second = pp_result_take_next(r);
        CHECK(second != NULL && pp_result_take_next(second) == NULL);
        pp_value v = {0};
        CHECK_OK(pp_result_value(second, 0, 0, &v, &err), err);
        CHECK(v.tag == PP_INT && v.i == 2);
        pp_result_free(r);
        pp_result_free(second);
    }
    /* still one command each: a dollar quote or E-string after a non-ASCII name */
    static const char *const one[] = {
        "SELECT 1 AS \xc3\xa9, $$;$$",
        "SELECT 1 AS \xc3\xa9, E'\\';'",
        "SELECT 1 AS \xc3\xa9, $q$;$q$",
    };
    for (size_t k = 0; k < sizeof one / sizeof *one; k++) {
        pp_result *r = NULL;
        pp_error *err = NULL;
        int rc = pp_exec(c, one[k], 0, NULL, PP_EXEC_ALL_RESULTS, &r, &err);
        CHECK(rc == PP_OK && pp_result_take_next(r) == NULL && pp_result_ncols(r) == 2);
        if (rc != PP_OK)
            fprintf(stderr, "  %s: %s\n", one[k], pp_error_message(err));
        pp_error_free(err);
        pp_result_free(r);
    }
}

int main(void)
{
    int port = start_fake_server();
    pp_conn *fake = fake_connect(port);
    test_shape_change(fake);
    test_nul_in_text(fake);
    test_nul_in_binary_text(fake);
    pp_conn_free(fake);
    stop_fake_server();

    pp_conn *c = test_connect();
    test_value_ranges(c);
    test_copy_bad_length(c);
    test_empty_without_pointer(c);
    test_scanner_identifiers(c);
    pp_conn_free(c);
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed == 0 ? 0 : 1;
}
