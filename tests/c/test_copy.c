/* SPDX-License-Identifier: MIT */
/* test_copy.c — COPY FROM STDIN with raw data, with tagged rows and with columns (escaping,
 * NULLs, every tag, every argument check), aborting a COPY, COPY TO STDOUT in chunks, misuse
 * while a COPY runs. */
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
    CHECK(r != NULL && pp_result_nrows(r) == N);
    for (int k = 0; r != NULL && k < N; k++) {
        /* the server writes 1E+3 and 5E-7 without exponent */
        const char *back = k == 2 ? "1000" : k == 7 ? "0.0000005" : nums[k];
        pp_value v;
        CHECK_OK(pp_result_value(r, k, 0, &v, &err), err);
        CHECK(v.tag == PP_TEXT);
        bool ok = v.tag == PP_TEXT && (size_t)v.len == strlen(back) &&
                  memcmp(v.ptr, back, (size_t)v.len) == 0;
        if (!ok)
            fprintf(stderr, "  numeric %s came back as %.*s\n", nums[k],
                    v.tag == PP_TEXT ? (int)v.len : 0, v.tag == PP_TEXT ? v.ptr : "");
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

/* ---- pp_copy_put_columns ---- */

/* The same values as columns (for pp_copy_put_columns) and as rows of pp_value (for
 * pp_copy_put_rows), so that the tables the two fill can be compared. */
enum { CC = 12 }; /* a int8, b text, c float8, d date, e bytea, f uuid, g interval, h timetz,
                   * i bool, j numeric, k int4[] (text only) or jsonb, l int4 (all NULL) */
typedef struct colset {
    int64_t n;
    pp_column cols[CC];
    pp_value *rows;
    int64_t *ints, *ints2, *ints3, *ivals, *times, *tzoffs, *dates, *bools;
    double *floats;
    uint8_t *nulls_a, *nulls_b;
    char *text, *bytes, *uuids, *nums, *arrays;
    int64_t *text_off, *bytes_off, *uuid_off, *array_off;
} colset;

static void colset_free(colset *s)
{
    free(s->rows); free(s->ints); free(s->ints2); free(s->ints3); free(s->ivals);
    free(s->times); free(s->tzoffs);
    free(s->dates); free(s->bools); free(s->floats); free(s->nulls_a); free(s->nulls_b);
    free(s->text); free(s->bytes); free(s->uuids); free(s->nums); free(s->arrays);
    free(s->text_off); free(s->bytes_off); free(s->uuid_off); free(s->array_off);
}

static void colset_make(colset *s, int64_t n, bool binary)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    size_t un = (size_t)n;
    s->rows = calloc(un * CC, sizeof *s->rows);
    s->ints = calloc(un, 8); s->ints2 = calloc(un, 8); s->ints3 = calloc(un, 8);
    s->ivals = calloc(un, 8); s->times = calloc(un, 8); s->tzoffs = calloc(un, 8); s->dates = calloc(un, 8); s->bools = calloc(un, 8);
    s->floats = calloc(un, 8);
    s->nulls_a = calloc(un, 1); s->nulls_b = calloc(un, 1);
    s->text = malloc(un * 32); s->bytes = malloc(un * 4); s->uuids = malloc(un * 16);
    s->nums = malloc(un * 24); s->arrays = malloc(un * 32);
    s->text_off = calloc(un + 1, 8); s->bytes_off = calloc(un + 1, 8);
    s->uuid_off = calloc(un + 1, 8); s->array_off = calloc(un + 1, 8);
    static const char *const words[] = {"plain", "tab\there", "new\nline", "back\\slash",
                                        "cr\r", "", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d",
                                        "\\N"};
    size_t nums_len = 0;
    for (int64_t k = 0; k < n; k++) {
        pp_value *r = s->rows + k * CC;
        s->nulls_a[k] = k % 7 == 3;
        s->nulls_b[k] = k % 5 == 1;
        s->ints[k] = k % 2 ? -k * 1000003 : (int64_t)1 << 40;
        r[0] = (pp_value){.tag = s->nulls_a[k] ? PP_NULL : PP_INT, .i = s->ints[k]};
        const char *w = words[k % 8];
        int64_t at = s->text_off[k], len = (int64_t)strlen(w);
        memcpy(s->text + at, w, (size_t)len);
        s->text_off[k + 1] = at + len;
        r[1] = (pp_value){.tag = s->nulls_b[k] ? PP_NULL : PP_TEXT, .ptr = s->text + at,
                          .len = len};
        s->floats[k] = k % 3 == 0 ? 0.1 * (double)k : -1e300 / (double)(k + 1);
        r[2] = (pp_value){.tag = PP_FLOAT, .f = s->floats[k]};
        s->dates[k] = k * 37 - 100000;
        r[3] = (pp_value){.tag = PP_DATE, .i = s->dates[k]};
        at = s->bytes_off[k];
        for (int64_t b = 0; b < k % 4; b++)
            s->bytes[at + b] = (char)(b == 0 ? 0 : b == 1 ? '\\' : '\t');
        s->bytes_off[k + 1] = at + k % 4;
        r[4] = (pp_value){.tag = PP_BYTES, .ptr = s->bytes + at, .len = k % 4};
        for (int b = 0; b < 16; b++)
            s->uuids[k * 16 + b] = (char)(k * 31 + b);
        s->uuid_off[k + 1] = (k + 1) * 16;
        r[5] = (pp_value){.tag = PP_UUID, .ptr = s->uuids + k * 16, .len = 16};
        s->ints2[k] = k % 40 - 20;
        s->ints3[k] = -(k % 13);
        s->ivals[k] = k * 999;
        r[6] = (pp_value){.tag = PP_INTERVAL, .i = s->ivals[k], .i2 = s->ints2[k],
                          .i3 = s->ints3[k]};
        s->times[k] = (k * 1000001) % 86400000000LL;
        s->tzoffs[k] = (k % 5 - 2) * 1800;
        r[7] = (pp_value){.tag = PP_TIMETZ, .i = s->times[k], .i2 = s->tzoffs[k]};
        s->bools[k] = k % 2;
        r[8] = (pp_value){.tag = PP_BOOL, .i = s->bools[k]};
        char *num = s->nums + nums_len; /* NUL-terminated: no offsets for this column */
        int nl = snprintf(num, 24, k % 4 == 0 ? "%lld.25" : "-%lld", (long long)k);
        nums_len += (size_t)nl + 1;
        r[9] = (pp_value){.tag = PP_NUMERIC, .ptr = num, .len = nl};
        at = s->array_off[k];
        int al = binary ? snprintf(s->arrays + at, 32, "{\"k\": %lld}", (long long)k)
                        : snprintf(s->arrays + at, 32, "{%lld,NULL,%lld}", (long long)k,
                                   (long long)-k);
        s->array_off[k + 1] = at + al;
        r[10] = (pp_value){.tag = binary ? PP_JSON : PP_ARRAY, .ptr = s->arrays + at,
                           .len = al};
        r[11] = (pp_value){.tag = PP_NULL};
    }
    pp_column *c = s->cols;
    for (int j = 0; j < CC; j++)
        c[j].count = n;
    c[0].tag = PP_INT; c[0].ints = s->ints; c[0].nulls = s->nulls_a;
    c[1].tag = PP_TEXT; c[1].data = s->text; c[1].data_len = s->text_off[n];
    c[1].offsets = s->text_off; c[1].nulls = s->nulls_b;
    c[2].tag = PP_FLOAT; c[2].floats = s->floats;
    c[3].tag = PP_DATE; c[3].ints = s->dates;
    c[4].tag = PP_BYTES; c[4].data = s->bytes; c[4].data_len = s->bytes_off[n];
    c[4].offsets = s->bytes_off;
    c[5].tag = PP_UUID; c[5].data = s->uuids; c[5].data_len = n * 16;
    c[5].offsets = s->uuid_off;
    c[6].tag = PP_INTERVAL; c[6].ints = s->ivals; c[6].ints2 = s->ints2;
    c[6].ints3 = s->ints3;
    c[7].tag = PP_TIMETZ; c[7].ints = s->times; c[7].ints2 = s->tzoffs;
    c[8].tag = PP_BOOL; c[8].ints = s->bools;
    c[9].tag = PP_NUMERIC; c[9].data = s->nums; c[9].data_len = (int64_t)nums_len;
    c[10].tag = binary ? PP_JSON : PP_ARRAY; c[10].data = s->arrays;
    c[10].data_len = s->array_off[n]; c[10].offsets = s->array_off;
    c[11].tag = PP_NULL;
}

static const char *const colset_table =
    "(a int8, b text, c float8, d date, e bytea, f uuid, g interval, h timetz, i bool, "
    "j numeric, k %s, l int4)";

static void test_copy_columns_same_as_rows(pp_conn *c, bool binary)
{
    char sql[300];
    const char *ktype = binary ? "jsonb" : "int4[]";
    pp_result_free(run(c, "DROP TABLE IF EXISTS t_cols, t_rows"));
    snprintf(sql, sizeof sql, "CREATE TEMP TABLE t_cols ");
    snprintf(sql + strlen(sql), sizeof sql - strlen(sql), colset_table, ktype);
    pp_result_free(run(c, sql));
    pp_result_free(run(c, "CREATE TEMP TABLE t_rows (LIKE t_cols)"));
    uint32_t oids[CC] = {20, 25, 701, 1082, 17, 2950, 1186, 1266, 16, 1700, 3802, 23};
    enum { N = 5000 }; /* a few 64 KiB pieces */
    colset s;
    colset_make(&s, N, binary);
    const char *fmt = binary ? " FROM STDIN (FORMAT binary)" : " FROM STDIN";
    pp_error *err = NULL;
    int64_t rows = 0;
    for (int pass = 0; pass < 2; pass++) {
        snprintf(sql, sizeof sql, "COPY %s%s", pass ? "t_rows" : "t_cols", fmt);
        CHECK_OK(pp_copy_in_start(c, sql, &err), err);
        if (binary)
            CHECK_OK(pp_copy_use_binary(c, CC, oids, &err), err);
        if (pass == 0) {
            pp_column empty[CC]; /* zero rows: nothing to send, nothing to check */
            for (int j = 0; j < CC; j++)
                empty[j] = (pp_column){.tag = s.cols[j].tag};
            CHECK_OK(pp_copy_put_columns(c, CC, 0, empty, &err), err);
            CHECK_OK(pp_copy_put_columns(c, CC, N, s.cols, &err), err);
        } else {
            CHECK_OK(pp_copy_put_rows(c, CC, N, s.rows, &err), err);
        }
        CHECK_OK(pp_copy_end(c, NULL, &rows, &err), err);
        CHECK(rows == N);
    }
    CHECK(count_rows(c, "SELECT count(*) FROM (SELECT * FROM t_cols EXCEPT ALL "
                        "SELECT * FROM t_rows) d") == 0);
    CHECK(count_rows(c, "SELECT count(*) FROM (SELECT * FROM t_rows EXCEPT ALL "
                        "SELECT * FROM t_cols) d") == 0);
    CHECK(count_rows(c, "SELECT count(*) FROM t_cols WHERE a IS NULL") == (N + 3) / 7);
    CHECK(count_rows(c, "SELECT count(*) FROM t_cols WHERE b IS NULL") == (N + 3) / 5);
    CHECK(count_rows(c, "SELECT count(*) FROM t_cols WHERE l IS NULL") == N);
    CHECK(count_rows(c, "SELECT count(*) FROM t_cols WHERE b = E'caf\\u00e9 \\u20ac "
                        "\\U0001F40D'") > 0);
    CHECK(count_rows(c, "SELECT count(*) FROM t_cols WHERE b = E'tab\\there' OR "
                        "b = E'new\\nline' OR b = E'back\\\\slash' OR b = E'cr\\r' OR "
                        "b = '\\N' OR b = ''") > 0);
    colset_free(&s);
}

/* Expects the last call to have failed with category cat and a message holding `part`. */
static void expect_error(pp_error **err, int rc, int32_t cat, const char *part)
{
    CHECK(rc == PP_ERROR);
    CHECK(pp_error_category(*err) == cat);
    bool has = strstr(pp_error_message(*err), part) != NULL;
    if (!has)
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", pp_error_message(*err), part);
    CHECK(has);
    pp_error_free(*err);
    *err = NULL;
}

static void test_copy_columns_errors(pp_conn *c)
{
    pp_result_free(run(c, "DROP TABLE IF EXISTS t_cerr"));
    pp_result_free(run(c, "CREATE TEMP TABLE t_cerr (a int2, b text)"));
    pp_error *err = NULL;
    int64_t ints[4] = {1, 2, 3, 4};
    const char *text = "onetwothreefour";
    int64_t offs[5] = {0, 3, 6, 11, 15};
    pp_column good[2] = {
        {.tag = PP_INT, .count = 4, .ints = ints},
        {.tag = PP_TEXT, .count = 4, .data = text, .data_len = 15, .offsets = offs},
    };
    /* not in a COPY */
    expect_error(&err, pp_copy_put_columns(c, 2, 4, good, &err), PP_ERR_INTERFACE, "COPY");
    CHECK_OK(pp_copy_in_start(c, "COPY t_cerr FROM STDIN", &err), err);
    expect_error(&err, pp_copy_put_columns(c, 0, 4, good, &err), PP_ERR_INTERFACE,
                 "bad arguments");
    expect_error(&err, pp_copy_put_columns(c, 2, -1, good, &err), PP_ERR_INTERFACE,
                 "bad arguments");
    expect_error(&err, pp_copy_put_columns(c, 2, 4, NULL, &err), PP_ERR_INTERFACE,
                 "bad arguments");
    expect_error(&err, pp_copy_put_columns(c, 2, 3, good, &err), PP_ERR_INTERFACE,
                 "column 1: count is 4 but nrows is 3");
    pp_column bad[2];
    memcpy(bad, good, sizeof bad);
    bad[1].tag = 99;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                 "column 2: unknown tag 99");
    bad[1].tag = -1;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                 "column 2: unknown tag -1");
    /* each tag's arrays */
    struct { int32_t tag; const char *needs; } needs[] = {
        {PP_INT, "ints is NULL, which a PP_INT column needs"},
        {PP_BOOL, "ints is NULL"}, {PP_DATE, "ints is NULL"}, {PP_TIMESTAMPTZ, "ints is NULL"},
        {PP_FLOAT, "floats is NULL, which a PP_FLOAT column needs"},
        {PP_TIMETZ, "ints2 is NULL"}, {PP_INTERVAL, "ints3 is NULL"},
        {PP_BYTES, "offsets is NULL, which a PP_BYTES column needs"},
        {PP_UUID, "offsets is NULL"},
    };
    int64_t twos[4] = {0};
    for (size_t k = 0; k < sizeof needs / sizeof needs[0]; k++) {
        memcpy(bad, good, sizeof bad);
        bad[0] = (pp_column){.tag = needs[k].tag, .count = 4};
        if (needs[k].tag == PP_TIMETZ || needs[k].tag == PP_INTERVAL)
            bad[0].ints = ints;
        if (needs[k].tag == PP_INTERVAL)
            bad[0].ints2 = twos;
        expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                     needs[k].needs);
    }
    /* data and offsets */
    memcpy(bad, good, sizeof bad);
    bad[1].data = NULL;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                 "column 2: data is NULL");
    bad[1].data = text;
    bad[1].data_len = -1;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                 "data_len (-1)");
    bad[1].data_len = 14; /* the last value ends beyond data */
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                 "row 3, column 2: offsets 11..15");
    int64_t backwards[5] = {0, 3, 2, 11, 15};
    bad[1].data_len = 15;
    bad[1].offsets = backwards;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                 "row 1, column 2: offsets 3..2");
    int64_t negative[5] = {-1, 3, 6, 11, 15};
    bad[1].offsets = negative;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                 "row 0, column 2");
    /* a NUL inside a text value; but not inside a NULL one */
    const char *nul = "one\0wothreefour";
    bad[1].offsets = offs;
    bad[1].data = nul;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_DATA,
                 "row 1, column 2: text contains a NUL byte");
    /* NUL-terminated values without offsets: count and final NUL */
    bad[1].offsets = NULL;
    bad[1].data = "one\0two\0three\0";
    bad[1].data_len = 14;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                 "it holds 3 NUL bytes");
    bad[1].data = "one\0two\0three\0four";
    bad[1].data_len = 18;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                 "holds 3 NUL bytes");
    bad[1].data = "one\0two\0three\0four\0five";
    bad[1].data_len = 23;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                 "4 NUL bytes and then more bytes");
    bad[1].data_len = 0;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                 "holds 0 NUL bytes");
    /* a UUID of 15 bytes */
    memcpy(bad, good, sizeof bad);
    bad[1] = (pp_column){.tag = PP_UUID, .count = 4, .data = text, .data_len = 15,
                         .offsets = offs};
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_INTERFACE,
                 "row 0, column 2: a UUID has 16 bytes, not 3");
    /* none of the refused calls sent anything: the good rows alone arrive; NULLs too */
    uint8_t nulls[5] = {0, 1, 0, 1, 0};
    memcpy(bad, good, sizeof bad);
    bad[1].nulls = nulls;
    bad[1].data = nul; /* the NUL lies in row 1, which is NULL */
    CHECK_OK(pp_copy_put_columns(c, 2, 4, bad, &err), err);
    int64_t rows = 0;
    CHECK_OK(pp_copy_end(c, NULL, &rows, &err), err);
    CHECK(rows == 4);
    CHECK(count_rows(c, "SELECT count(*) FROM t_cerr WHERE b IS NULL") == 2);
    CHECK(count_rows(c, "SELECT sum(a) FROM t_cerr WHERE b IN ('one', 'three')") == 4);

    /* binary: the wrong tag for a column's type fails before anything is sent, naming the
     * first non-NULL value; a column count other than the COPY's; a value out of range
     * fails at its row, the rows before it stay */
    CHECK_OK(pp_copy_in_start(c, "COPY t_cerr FROM STDIN (FORMAT binary)", &err), err);
    uint32_t oids[2] = {21, 25};
    CHECK_OK(pp_copy_use_binary(c, 2, oids, &err), err);
    expect_error(&err, pp_copy_put_columns(c, 1, 4, good, &err), PP_ERR_INTERFACE,
                 "1 columns for a binary COPY of 2 columns");
    memcpy(bad, good, sizeof bad);
    bad[0] = good[1];
    bad[0].nulls = nulls + 1; /* row 0 NULL: the first value is row 1 */
    int64_t five[6] = {0, 3, 6, 11, 15, 15};
    bad[0].offsets = five;
    bad[1].count = 4;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_PROGRAMMING,
                 "row 1, column 1: cannot send PP_TEXT as smallint");
    memcpy(bad, good, sizeof bad);
    double floats[4] = {1, 2, 3, 4};
    bad[1] = (pp_column){.tag = PP_FLOAT, .count = 4, .floats = floats};
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_PROGRAMMING,
                 "row 0, column 2: cannot send PP_FLOAT as text");
    int64_t big[4] = {5, 6, 40000, 7};
    memcpy(bad, good, sizeof bad);
    bad[0].ints = big;
    expect_error(&err, pp_copy_put_columns(c, 2, 4, bad, &err), PP_ERR_DATA,
                 "row 2, column 1: PP_INT value 40000 is out of range for smallint");
    pp_column nullcol[2] = {{.tag = PP_NULL, .count = 1}, {.tag = PP_NULL, .count = 1}};
    CHECK_OK(pp_copy_put_columns(c, 2, 1, nullcol, &err), err);
    CHECK_OK(pp_copy_end(c, NULL, &rows, &err), err);
    CHECK(rows == 3); /* 5, 6 and the row of NULLs */
    CHECK(count_rows(c, "SELECT count(*) FROM t_cerr") == 7);
    CHECK(count_rows(c, "SELECT count(*) FROM t_cerr WHERE a IN (5, 6) AND b IN ('one', "
                        "'two')") == 2);
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

/* A COPY TO whose end comes with its last chunk: libpq is idle then, the COPY is not
 * (statements are refused until a read returns 0), and pp_transaction_status says so. */
static void test_copy_out_status_until_its_end_is_read(pp_conn *c)
{
    pp_error *err = NULL;
    CHECK_OK(pp_copy_out_start(c, "COPY (SELECT 1) TO STDOUT", &err), err);
    const char *data;
    int64_t len, rows = 0;
    CHECK(pp_copy_out_read(c, &data, &len, &rows, &err) == 1 && len == 2);
    CHECK(pp_transaction_status(c) == PP_TRANS_ACTIVE); /* was: idle */
    CHECK(pp_copy_out_read(c, &data, &len, &rows, &err) == 0 && rows == 1);
    CHECK(pp_transaction_status(c) == PP_TRANS_IDLE);
    CHECK(pp_ping(c) == 1);
}

int main(void)
{
    pp_conn *c = test_connect();
    test_copy_raw_and_rows(c);
    test_copy_binary(c);
    test_copy_columns_same_as_rows(c, false);
    test_copy_columns_same_as_rows(c, true);
    test_copy_columns_errors(c);
    test_copy_out(c);
    test_copy_out_status_until_its_end_is_read(c);
    pp_conn_free(c);
    return test_summary();
}
