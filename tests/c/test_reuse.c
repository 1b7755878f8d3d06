/* SPDX-License-Identifier: MIT */
/* test_reuse.c — pp_query_reuse decodes a statement's result into the column memory of the
 * previous result it frees (same types), and the values are right whatever the two results
 * were: more or fewer rows, NULLs then none, text, arrays, other types, other shapes. */
#include "harness.h"

#include <inttypes.h>

typedef struct {
    pp_result *r;
    pp_result_info info;
    pp_column cols[4];
} reuse_loop;

static void run_reuse(pp_conn *c, reuse_loop *l, const char *sql, int64_t n)
{
    pp_error *err = NULL;
    pp_value p = {.tag = PP_INT, .i = n};
    CHECK_OK(pp_query_reuse(c, sql, 1, &p, 0, &l->r, &l->info, l->cols, 4, NULL, &err), err);
}

#define INTS "SELECT g, g * 2 FROM generate_series(1, $1::int4) g"

/* The same statement again: its columns land in the memory of the previous result's. */
static void test_same_shape_same_memory(pp_conn *c)
{
    reuse_loop l = {0};
    run_reuse(c, &l, INTS, 10000);
    const int64_t *before = l.cols[1].ints;
    run_reuse(c, &l, INTS, 9000);
    CHECK(l.cols[1].ints == before);
    CHECK(l.info.nrows == 9000 && l.cols[1].count == 9000 && l.cols[1].ints[8999] == 18000);
    /* far fewer rows: the big buffers are not kept for a small result, values still right */
    run_reuse(c, &l, INTS, 10);
    CHECK(l.cols[0].count == 10 && l.cols[0].ints[9] == 10 && l.cols[1].ints[9] == 20);
    /* more rows than before: the reused memory grows */
    run_reuse(c, &l, INTS, 20000);
    CHECK(l.cols[0].count == 20000 && l.cols[0].ints[19999] == 20000 &&
          l.cols[1].ints[19999] == 40000);
    pp_result_free(l.r);
}

/* Fixed-size columns have no offsets; text columns do. */
static void test_offsets_only_for_data(pp_conn *c)
{
    reuse_loop l = {0};
    run_reuse(c, &l, "SELECT g, g::text, g::float8, g % 2 = 0 FROM generate_series(1, $1) g", 5);
    CHECK(l.cols[0].offsets == NULL && l.cols[2].offsets == NULL && l.cols[3].offsets == NULL);
    CHECK(l.cols[1].offsets != NULL && l.cols[1].offsets[5] == l.cols[1].data_len);
    pp_value v;
    pp_error *err = NULL;
    CHECK_OK(pp_result_value(l.r, 4, 0, &v, &err), err);
    CHECK(v.tag == PP_INT && v.i == 5);
    CHECK_OK(pp_result_value(l.r, 4, 1, &v, &err), err);
    CHECK(v.tag == PP_TEXT && v.len == 1 && memcmp(v.ptr, "5", 1) == 0);
    pp_result_free(l.r);
}

/* NULLs, text and arrays in reused columns: nothing of the previous values shows through. */
static void test_values_after_reuse(pp_conn *c)
{
    const char *sql = "SELECT CASE WHEN g % $1 = 0 THEN NULL ELSE g END, "
                      "'v' || g, ARRAY[g, NULL, g + 1], CASE WHEN g % $1 = 1 THEN NULL "
                      "ELSE 'x' || g END FROM generate_series(1, 1000) g";
    reuse_loop l = {0};
    run_reuse(c, &l, sql, 3); /* NULLs in columns 0 and 3 */
    CHECK(l.cols[0].nulls != NULL && l.cols[0].nulls[2] == 1 && l.cols[3].nulls[0] == 1);
    run_reuse(c, &l, sql, 5000); /* no NULL in column 0, one in column 3 */
    CHECK(l.cols[0].nulls == NULL && l.cols[0].ints[2] == 3 && l.cols[0].ints[999] == 1000);
    CHECK(l.cols[1].data_len == l.cols[1].offsets[1000] &&
          strcmp(l.cols[1].data + l.cols[1].offsets[999], "v1000") == 0);
    CHECK(strcmp(l.cols[1].data, "v1") == 0);
    CHECK(l.cols[3].nulls != NULL && l.cols[3].nulls[0] == 1 && l.cols[3].nulls[1] == 0 &&
          strcmp(l.cols[3].data + l.cols[3].offsets[1], "x2") == 0);
    const pp_column *e = l.cols[2].elements;
    CHECK(l.cols[2].tag == PP_ARRAY && e != NULL && e->count == 3000 &&
          l.cols[2].elem_offsets[1000] == 3000 && e->ints[2997] == 1000 &&
          e->nulls != NULL && e->nulls[2998] == 1 && e->ints[2999] == 1001);
    pp_result_free(l.r);
}

/* Another shape at the same positions (other types, fewer or more columns). */
static void test_other_shapes(pp_conn *c)
{
    reuse_loop l = {0};
    run_reuse(c, &l, INTS, 1000);
    run_reuse(c, &l, "SELECT g::text, g::float8, g, g FROM generate_series(1, $1) g", 1000);
    CHECK(l.cols[0].tag == PP_TEXT && strcmp(l.cols[0].data + l.cols[0].offsets[999], "1000") == 0);
    CHECK(l.cols[1].tag == PP_FLOAT && l.cols[1].floats[999] == 1000.0);
    CHECK(l.cols[3].tag == PP_INT && l.cols[3].ints[999] == 1000);
    run_reuse(c, &l, "SELECT $1::int4 AS one", 7);
    CHECK(l.info.ncols == 1 && l.cols[0].count == 1 && l.cols[0].ints[0] == 7);
    run_reuse(c, &l, "SELECT $1::int4 WHERE false", 1); /* no rows */
    CHECK(l.info.nrows == 0 && l.cols[0].count == 0);
    run_reuse(c, &l, INTS, 3);
    CHECK(l.cols[1].count == 3 && l.cols[1].ints[2] == 6);
    pp_result_free(l.r);
}

/* Every kind of column the decoder copies in runs of its own (text of 0 … 82 bytes, ASCII or
 * not; int2, int4, int8, date, timestamp), with NULLs and empty strings between, over more
 * rows than it decodes at a time (256): each value lands in its row, in fresh memory, in
 * reused memory (fewer rows, then more), and with one column decoded alone. */
#define RUNS "SELECT CASE WHEN g % 7 = 3 THEN NULL ELSE " \
             "CASE WHEN g % 3 = 0 THEN 'é' ELSE '' END || repeat('x', g % 83) END, " \
             "CASE WHEN g % 11 = 0 THEN NULL ELSE (g - 300)::int2 END, g::int8 * 3000000000, " \
             "CASE WHEN g % 13 = 0 THEN NULL ELSE g END, date '2000-01-01' + g, " \
             "timestamp '2000-01-01' + g * interval '1 second' FROM generate_series(1, $1) g"

/* Whether value row of text column col is what RUNS makes of g. */
static bool text_value_ok(const pp_column *col, int64_t row, int64_t g)
{
    char want[100] = "";
    if (g % 3 == 0)
        strcpy(want, "\xc3\xa9");
    memset(want + strlen(want), 'x', (size_t)(g % 83));
    const char *got = col->data + col->offsets[row];
    int64_t len = col->offsets[row + 1] - col->offsets[row] - 1;
    if (g % 7 == 3)
        return col->nulls != NULL && col->nulls[row] == 1 && len == 0;
    return (col->nulls == NULL || col->nulls[row] == 0) && len == (int64_t)strlen(want) &&
           strcmp(got, want) == 0;
}

/* The first row (counted from 0) of RUNS' first n rows in cols that is wrong, or -1. */
static int64_t wrong_row(const pp_column *cols, int64_t n)
{
    if (cols[0].count != n || cols[1].count != n || cols[5].count != n ||
        cols[4].tag != PP_DATE || cols[5].tag != PP_TIMESTAMP)
        return 0;
    for (int64_t row = 0; row < n; row++) {
        int64_t g = row + 1;
        if (!text_value_ok(&cols[0], row, g) ||
            cols[1].nulls[row] != (g % 11 == 0) || (g % 11 != 0 && cols[1].ints[row] != g - 300) ||
            cols[2].ints[row] != g * 3000000000 ||
            cols[3].nulls[row] != (g % 13 == 0) || (g % 13 != 0 && cols[3].ints[row] != g) ||
            cols[4].ints[row] != g || cols[5].ints[row] != g * 1000000)
            return row;
    }
    return -1;
}

static void test_runs_of_values(pp_conn *c)
{
    pp_result *r = NULL;
    pp_result_info info;
    pp_column cols[6];
    static const int64_t sizes[] = {1000, 300, 1700};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        pp_error *err = NULL;
        pp_value p = {.tag = PP_INT, .i = sizes[k]};
        CHECK_OK(pp_query_reuse(c, RUNS, 1, &p, 0, &r, &info, cols, 6, NULL, &err), err);
        CHECK(info.nrows == sizes[k]);
        int64_t row = wrong_row(cols, sizes[k]);
        CHECK(row == -1);
        if (row != -1)
            fprintf(stderr, "  %" PRId64 " rows: row %" PRId64 " is wrong\n", sizes[k], row);
    }
    pp_result_free(r);
    pp_error *err = NULL;
    pp_value p = {.tag = PP_INT, .i = 600};
    r = NULL;
    CHECK_OK(pp_exec(c, RUNS, 1, &p, 0, &r, &err), err);
    CHECK_OK(pp_result_column(r, 0, &cols[0], &err), err);
    bool ok = cols[0].count == 600;
    for (int64_t row = 0; ok && row < 600; row++)
        ok = text_value_ok(&cols[0], row, row + 1);
    CHECK(ok);
    pp_result_free(r);
}

/* The statement cache finds a statement again by the address of the SQL text it was last
 * found with: one buffer whose text changes between statements runs each text, the
 * statement of the old text is found again from another buffer, and from the first one
 * once it holds that text again. */
static void test_one_buffer_other_texts(pp_conn *c)
{
    char buf[64], other[64];
    reuse_loop l = {0};
    strcpy(buf, "SELECT $1::int4 + 1");
    for (int k = 0; k < 3; k++) { /* unnamed, then prepared and cached, then found by address */
        run_reuse(c, &l, buf, 10);
        CHECK(l.info.nrows == 1 && l.cols[0].ints[0] == 11);
    }
    strcpy(buf, "SELECT $1::int4 + 2");
    for (int k = 0; k < 3; k++) {
        run_reuse(c, &l, buf, 10);
        CHECK(l.info.nrows == 1 && l.cols[0].ints[0] == 12);
    }
    strcpy(other, "SELECT $1::int4 + 1");
    run_reuse(c, &l, other, 20);
    CHECK(l.info.nrows == 1 && l.cols[0].ints[0] == 21);
    strcpy(buf, "SELECT $1::int4 + 1");
    run_reuse(c, &l, buf, 30);
    CHECK(l.info.nrows == 1 && l.cols[0].ints[0] == 31);
    strcpy(buf, "SELECT $1::int4 + 2");
    run_reuse(c, &l, buf, 40);
    CHECK(l.info.nrows == 1 && l.cols[0].ints[0] == 42);
    pp_result_free(l.r);
}

int main(void)
{
    pp_conn *c = test_connect();
    test_same_shape_same_memory(c);
    test_offsets_only_for_data(c);
    test_values_after_reuse(c);
    test_other_shapes(c);
    test_runs_of_values(c);
    test_one_buffer_other_texts(c);
    pp_conn_free(c);
    return test_summary();
}
