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

static void test_copy_binary(pp_conn *c)
{
    pp_result_free(run(c, "CREATE TEMP TABLE t_bin (a int4, b text, c float8, d numeric, "
                          "e date, f timestamptz, g bytea, h uuid, i int8, j bool, k jsonb, "
                          "l interval, m int2)"));
    pp_error *err = NULL;
    CHECK_OK(pp_copy_in_start(c, "COPY t_bin FROM STDIN (FORMAT binary)", &err), err);
    uint32_t oids[13] = {23, 25, 701, 1700, 1082, 1184, 17, 2950, 20, 16, 3802, 1186, 21};
    CHECK_OK(pp_copy_use_binary(c, 13, oids, &err), err);
    static const char *nums[] = {"1.500", "-0.00012", "1E+3", "12345678901234567890.12345",
                                 "0", "NaN", "-Infinity", "5E-7", "10000", "0.0001"};
    enum { N = 10 };
    pp_value vals[N * 13];
    for (int k = 0; k < N; k++) {
        pp_value *v = vals + 13 * k;
        v[0] = (pp_value){.tag = PP_INT, .i = k};
        v[1] = (pp_value){.tag = PP_TEXT, .ptr = "tab\t\\", .len = 5};
        v[2] = (pp_value){.tag = PP_FLOAT, .f = -0.25};
        v[3] = (pp_value){.tag = PP_NUMERIC, .ptr = nums[k], .len = (int64_t)strlen(nums[k])};
        v[4] = (pp_value){.tag = PP_DATE, .i = k};
        v[5] = (pp_value){.tag = PP_TIMESTAMPTZ, .i = 1000000LL * k};
        v[6] = (pp_value){.tag = PP_BYTES, .ptr = "\0\1", .len = 2};
        v[7] = (pp_value){.tag = PP_UUID, .ptr = "0123456789abcdef", .len = 16};
        v[8] = (pp_value){.tag = k % 2 ? PP_NULL : PP_INT, .i = -5};
        v[9] = (pp_value){.tag = PP_BOOL, .i = 1};
        v[10] = (pp_value){.tag = PP_JSON, .ptr = "{\"a\": 1}", .len = 8};
        v[11] = (pp_value){.tag = PP_INTERVAL, .i = 1, .i2 = 2, .i3 = 3};
        v[12] = (pp_value){.tag = PP_INT, .i = -7};
    }
    CHECK_OK(pp_copy_put_rows(c, 13, N, vals, &err), err);
    int64_t rows = 0;
    CHECK_OK(pp_copy_end(c, NULL, &rows, &err), err);
    CHECK(rows == N);
    CHECK(count_rows(c, "SELECT count(*) FROM t_bin WHERE b = E'tab\\t\\\\' AND c = -0.25 AND "
                        "g = '\\x0001' AND h = '30313233-3435-3637-3839-616263646566' AND j "
                        "AND k = '{\"a\": 1}' AND l = '3 mons 2 days 00:00:00.000001' AND "
                        "m = -7 AND f = '2000-01-01 00:00:00+00'::timestamptz + a * "
                        "interval '1 second' AND e = '2000-01-01'::date + a") == N);
    CHECK(count_rows(c, "SELECT count(*) FROM t_bin WHERE i IS NULL") == N / 2);
    const char *want = "SELECT count(*) FROM t_bin WHERE d::text = ANY (ARRAY['1.500', "
                       "'-0.00012', '1000', '12345678901234567890.12345', '0', 'NaN', "
                       "'-Infinity', '0.0000005', '10000', '0.0001'])";
    CHECK(count_rows(c, want) == N);
    pp_result *r = run(c, "SELECT d::text FROM t_bin ORDER BY a");
    for (int k = 0; k < N; k++) {
        pp_value v;
        CHECK_OK(pp_result_value(r, k, 0, &v, &err), err);
        bool ok = v.tag == PP_TEXT;
        if (!ok || k == 2 || k == 7)
            continue;
        ok = (size_t)v.len == strlen(nums[k]) && memcmp(v.ptr, nums[k], (size_t)v.len) == 0;
        if (!ok)
            fprintf(stderr, "  numeric %s came back as %.*s\n", nums[k], (int)v.len, v.ptr);
        CHECK(ok);
    }
    pp_result_free(r);

    /* a value that would need the server to parse text is refused, naming row and column */
    CHECK_OK(pp_copy_in_start(c, "COPY t_bin (a) FROM STDIN (FORMAT binary)", &err), err);
    CHECK_OK(pp_copy_use_binary(c, 1, oids, &err), err);
    pp_value bad[2] = {{.tag = PP_INT, .i = 1}, {.tag = PP_TEXT, .ptr = "2", .len = 1}};
    CHECK(pp_copy_put_rows(c, 1, 2, bad, &err) == PP_ERROR);
    CHECK(strstr(pp_error_message(err), "row 1, column 1") != NULL);
    pp_error_free(err);
    err = NULL;
    CHECK(pp_copy_end(c, "a value was refused", &rows, &err) == PP_ERROR);
    pp_error_free(err);
    err = NULL;
    CHECK(count_rows(c, "SELECT count(*) FROM t_bin") == N);
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
    test_copy_binary(c);
    test_copy_out(c);
    pp_conn_free(c);
    return test_summary();
}
