/* test_copy.c — COPY FROM STDIN with raw data and with tagged rows (escaping, NULLs, every
 * tag), aborting a COPY, COPY TO STDOUT in chunks, misuse while a COPY runs. */
#include "harness.h"

static int64_t count_rows(pp_conn *c, const char *sql)
{
    pp_result *r = run(c, sql);
    pp_value v = {0};
    pp_error *err = NULL;
    if (r == NULL || pp_result_value(r, 0, 0, &v, &err) != PP_OK)
        v.i = -1;
    pp_error_free(err);
    pp_result_free(r);
    return v.i;
}

static void test_copy_raw_and_rows(pp_conn *c)
{
    pp_result_free(run(c, "CREATE TEMP TABLE t_copy (a int, b text, c float8, d date, e bytea)"));
    pp_error *err = NULL;
    CHECK_OK(pp_copy_in_start(c, "COPY t_copy (a, b) FROM STDIN", &err), err);
    /* other statements are refused while the COPY runs */
    pp_result *r = NULL;
    CHECK(pp_exec(c, "SELECT 1", 0, NULL, 0, &r, &err) == PP_ERROR);
    CHECK(pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
    err = NULL;
    const char *raw = "1\tone\n2\t\\N\n";
    CHECK_OK(pp_copy_put(c, raw, (int64_t)strlen(raw), &err), err);
    int64_t rows = 0;
    CHECK_OK(pp_copy_end(c, NULL, &rows, &err), err);
    CHECK(rows == 2);

    CHECK_OK(pp_copy_in_start(c, "COPY t_copy FROM STDIN", &err), err);
    enum { N = 20000 };
    pp_value *vals = calloc(5 * N, sizeof *vals);
    const char *tricky = "tab\there\nnew\\line\r";
    for (int k = 0; k < N; k++) {
        pp_value *row = vals + 5 * k;
        row[0] = (pp_value){.tag = PP_INT, .i = 100 + k};
        row[1] = (pp_value){.tag = PP_TEXT, .ptr = tricky, .len = (int64_t)strlen(tricky)};
        row[2] = (pp_value){.tag = k % 2 ? PP_FLOAT : PP_NULL, .f = 0.1};
        row[3] = (pp_value){.tag = PP_DATE, .i = -1};
        row[4] = (pp_value){.tag = PP_BYTES, .ptr = "\0\\\t", .len = 3};
    }
    CHECK_OK(pp_copy_put_rows(c, 5, N, vals, &err), err);
    CHECK_OK(pp_copy_end(c, NULL, &rows, &err), err);
    CHECK(rows == N);
    free(vals);
    char check[256];
    snprintf(check, sizeof check,
             "SELECT count(*) FROM t_copy WHERE b = E'tab\\there\\nnew\\\\line\\r' AND "
             "d = '1999-12-31' AND e = '\\x005c09'::bytea AND (c IS NULL OR c = 0.1)");
    CHECK(count_rows(c, check) == N);
    CHECK(count_rows(c, "SELECT count(*) FROM t_copy WHERE c = 0.1") == N / 2);

    /* an aborted COPY keeps nothing; a bad value fails at the end; the connection lives on */
    CHECK_OK(pp_copy_in_start(c, "COPY t_copy (a) FROM STDIN", &err), err);
    CHECK_OK(pp_copy_put(c, "7\n", 2, &err), err);
    CHECK(pp_copy_end(c, "changed my mind", &rows, &err) == PP_ERROR);
    CHECK(strstr(pp_error_message(err), "changed my mind") != NULL);
    pp_error_free(err);
    err = NULL;
    CHECK_OK(pp_copy_in_start(c, "COPY t_copy (a) FROM STDIN", &err), err);
    CHECK_OK(pp_copy_put(c, "x\n", 2, &err), err);
    CHECK(pp_copy_end(c, NULL, &rows, &err) == PP_ERROR);
    CHECK(strcmp(pp_error_sqlstate(err), "22P02") == 0);
    pp_error_free(err);
    err = NULL;
    CHECK(count_rows(c, "SELECT count(*) FROM t_copy") == N + 2);
    CHECK(pp_copy_in_start(c, "SELECT 1", &err) == PP_ERROR);
    pp_error_free(err);
    err = NULL;
    CHECK(pp_ping(c) == 1);
}

static void test_copy_out(pp_conn *c)
{
    pp_error *err = NULL;
    CHECK_OK(pp_copy_out_start(c, "COPY (SELECT g, 'x' FROM generate_series(1, 100000) g) "
                                  "TO STDOUT", &err), err);
    int64_t total = 0, rows = 0, lines = 0;
    int chunks = 0;
    for (;;) {
        const char *data;
        int64_t len;
        int rc = pp_copy_out_read(c, &data, &len, &rows, &err);
        if (rc != 1) {
            CHECK(rc == 0);
            break;
        }
        chunks++;
        total += len;
        for (int64_t k = 0; k < len; k++)
            lines += data[k] == '\n';
        CHECK(data[len - 1] == '\n'); /* whole rows only */
    }
    CHECK(rows == 100000 && lines == 100000 && chunks > 1);
    CHECK(pp_ping(c) == 1);
    CHECK(pp_copy_out_start(c, "COPY (SELECT 1/0) TO STDOUT", &err) == PP_ERROR);
    CHECK(strcmp(pp_error_sqlstate(err), "22012") == 0);
    pp_error_free(err);
    CHECK(pp_ping(c) == 1);
}

int main(void)
{
    pp_conn *c = test_connect();
    test_copy_raw_and_rows(c);
    test_copy_out(c);
    pp_conn_free(c);
    return test_summary();
}
