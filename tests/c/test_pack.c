/* SPDX-License-Identifier: MIT */
/* test_pack.c — pp_query_pack: the per-column facts and int values of a small result in one
 * int64 array (layout in postpyro.h), nothing packed when the result does not fit or has no
 * rows or the statement failed, and its bad arguments; pp_query_call, the same call with its
 * buffers in a pp_query_buffers struct. */
#include "harness.h"

typedef struct {
    pp_result *r;
    pp_result_info info;
    pp_column cols[4];
    int64_t pack[64];
} pack_loop;

static int run_pack(pp_conn *c, pack_loop *l, const char *sql, int64_t n, int32_t max_cols,
                    int32_t pack_len)
{
    pp_error *err = NULL;
    pp_value p = {.tag = PP_INT, .i = n};
    int rc = pp_query_pack(c, sql, 1, &p, 0, &l->r, &l->info, l->cols, max_cols, NULL,
                           l->pack, pack_len, &err);
    pp_error_free(err);
    return rc;
}

static int64_t fnv(const char *s, int64_t len)
{
    uint64_t h = 14695981039346656037u;
    for (int64_t k = 0; k < len; k++)
        h = (h ^ (unsigned char)s[k]) * 1099511628211u;
    int64_t out;
    memcpy(&out, &h, sizeof out);
    return out;
}

#define MIXED "SELECT g, CASE WHEN g = 2 THEN NULL ELSE 'x' || g END AS t, NULLIF(g, 2) AS n, " \
              "g * 2 AS d FROM generate_series(1, $1::int4) g"

static void test_layout(pp_conn *c)
{
    pack_loop l = {0};
    CHECK(run_pack(c, &l, MIXED, 3, 4, 64) == PP_OK);
    const int64_t *p = l.pack;
    CHECK(p[0] == 6 + 4 * 4 && p[5 + 4 * 4] == -1); /* NULLs: no values, no text */
    CHECK(p[1] == 3 && p[2] == 4 && p[4] == 2);
    CHECK(p[3] == fnv(l.info.names, l.info.names_len));
    const int64_t *tags = p + 5, *oids = tags + 4, *flags = oids + 4, *lens = flags + 4;
    for (int k = 0; k < 4; k++) {
        CHECK(tags[k] == l.cols[k].tag && oids[k] == l.cols[k].oid);
        CHECK(flags[k] == (l.cols[k].nulls != NULL) && lens[k] == l.cols[k].data_len);
    }
    CHECK(tags[0] == PP_INT && tags[1] == PP_TEXT && oids[0] == 23 && oids[1] == 25);
    CHECK(flags[0] == 0 && flags[1] == 1 && flags[2] == 1 && flags[3] == 0);
    CHECK(lens[1] == (int64_t)sizeof "x1" + 1 + (int64_t)sizeof "x3"); /* NULL: its NUL */
    /* the columns are filled as by pp_query_reuse */
    CHECK(l.info.nrows == 3 && l.cols[3].ints[2] == 6 && l.cols[2].nulls[1] == 1);
    /* no NULL (rows 3 and 4 only): the int columns' values follow */
    CHECK(run_pack(c, &l, MIXED " OFFSET 2", 4, 4, 64) == PP_OK);
    CHECK(p[0] == 6 + 4 * 4 + 3 * 2 + 1 && p[1] == 2 && p[4] == 0);
    CHECK(flags[0] == 0 && flags[1] == 0 && flags[2] == 0 && flags[3] == 0);
    CHECK(lens[1] == (int64_t)sizeof "x3" + (int64_t)sizeof "x4");
    const int64_t *v = lens + 4;
    CHECK(v[0] == 3 && v[1] == 4);     /* g */
    CHECK(v[2] == 3 && v[3] == 4);     /* NULLIF */
    CHECK(v[4] == 6 && v[5] == 8);     /* g * 2 */
    CHECK(v[6] == 6 && memcmp(&v[7], "x3\0x4\0\0\0", 8) == 0); /* the text, padded */
    pp_result_free(l.r);
}

/* The text after the values: every PP_TEXT and PP_NUMERIC column's data (empty strings,
 * non-ASCII, a numeric between them), not bytea's or json's, in column order. */
static void test_text(pp_conn *c)
{
    pack_loop l = {0};
    CHECK(run_pack(c, &l, "SELECT g, CASE WHEN g = 1 THEN '' ELSE 'é' || g END AS t, "
                          "(g * 1.5)::numeric AS n, '\\x00ff'::bytea AS b FROM "
                          "generate_series(1, $1::int4) g", 2, 4, 64) == PP_OK);
    const int64_t *p = l.pack, *tags = p + 5;
    CHECK(tags[0] == PP_INT && tags[1] == PP_TEXT && tags[2] == PP_NUMERIC && tags[3] == PP_BYTES);
    const int64_t *t = p + 5 + 4 * 4 + 2;
    const char want[] = "\0\xc3\xa9" "2\0" "1.5\0" "3.0\0";
    CHECK(t[0] == (int64_t)sizeof want - 1);
    CHECK(t[0] == l.cols[1].data_len + l.cols[2].data_len);
    CHECK(memcmp(&t[1], want, sizeof want - 1) == 0);
    CHECK(p[0] == 5 + 4 * 4 + 2 + 1 + (t[0] + 7) / 8);
    for (int64_t k = t[0]; k < 8 * ((t[0] + 7) / 8); k++)
        CHECK(((const char *)&t[1])[k] == 0);
    /* json is not text here */
    CHECK(run_pack(c, &l, "SELECT '{}'::json AS j, 'a' || $1::int4 AS t", 7, 4, 64) == PP_OK);
    CHECK(p[0] == 6 + 8 + 1 && p[5 + 8] == 3 && memcmp(&p[6 + 8], "a7", 3) == 0);
    pp_result_free(l.r);
}

static void test_nothing_packed(pp_conn *c)
{
    pack_loop l = {0};
    /* too small for the values (the facts alone would fit): nothing, columns still there */
    CHECK(run_pack(c, &l, MIXED " OFFSET 2", 12, 4, 6 + 16 + 29) == PP_OK);
    CHECK(l.pack[0] == 0 && l.info.nrows == 10 && l.cols[0].ints[9] == 12);
    /* the values and the text's count, not its 33 bytes: -1 */
    CHECK(run_pack(c, &l, MIXED " OFFSET 2", 12, 4, 6 + 16 + 30 + 4) == PP_OK);
    CHECK(l.pack[0] == 6 + 16 + 30 && l.pack[5 + 16 + 30] == -1);
    CHECK(run_pack(c, &l, MIXED " OFFSET 2", 12, 4, 6 + 16 + 30 + 5) == PP_OK);
    CHECK(l.pack[0] == 6 + 16 + 30 + 5 && l.pack[5 + 16 + 30] == 33);
    /* with a NULL the facts fit where the values would not */
    CHECK(run_pack(c, &l, MIXED, 10, 4, 6 + 16) == PP_OK && l.pack[0] == 6 + 16);
    CHECK(run_pack(c, &l, MIXED, 10, 4, 5 + 16) == PP_OK && l.pack[0] == 0);
    /* more columns than max_cols: not decoded, not packed */
    CHECK(run_pack(c, &l, MIXED, 3, 2, 64) == PP_OK && l.pack[0] == 0 && l.info.ncols == 4);
    /* no rows: the facts, no values */
    CHECK(run_pack(c, &l, MIXED, 0, 4, 64) == PP_OK && l.pack[0] == 6 + 16 && l.pack[1] == 0);
    CHECK(l.pack[5 + 16] == 0); /* no text: no bytes */
    /* a statement without rows, then a failed one: nothing */
    pp_error *err = NULL;
    l.pack[0] = 99;
    CHECK_OK(pp_query_pack(c, "SET application_name = 'pack'", 0, NULL, 0, &l.r, &l.info,
                           l.cols, 4, NULL, l.pack, 64, &err), err);
    CHECK(l.pack[0] == 0 && l.info.has_rows == 0);
    l.pack[0] = 99;
    CHECK(run_pack(c, &l, "SELECT 1 / ($1::int4 - 1)", 1, 4, 64) == PP_ERROR);
    CHECK(l.pack[0] == 0 && l.r == NULL);
    /* pack_len 0, pack NULL: fine, nothing written */
    pp_value p = {.tag = PP_INT, .i = 2};
    CHECK_OK(pp_query_pack(c, MIXED, 1, &p, 0, &l.r, &l.info, l.cols, 4, NULL, NULL, 0, &err),
             err);
    CHECK(l.info.nrows == 2);
    pp_result_free(l.r);
}

static void test_bad_arguments(pp_conn *c)
{
    pack_loop l = {0};
    pp_error *err = NULL;
    int32_t st = 7;
    CHECK(run_pack(c, &l, MIXED, 2, 4, 64) == PP_OK);
    pp_result *held = l.r;
    CHECK(pp_query_pack(c, "SELECT 1", 0, NULL, 0, &l.r, &l.info, l.cols, 4, &st, l.pack, -1,
                        &err) == PP_ERROR);
    CHECK(err != NULL && pp_error_category(err) == PP_ERR_INTERFACE && st == -1);
    CHECK(l.r == held && pp_result_nrows(held) == 2); /* not freed (valgrind would say) */
    pp_error_free(err);
    err = NULL;
    CHECK(pp_query_pack(c, "SELECT 1", 0, NULL, 0, &l.r, &l.info, l.cols, 4, NULL, NULL, 8,
                        &err) == PP_ERROR);
    CHECK(err != NULL && pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
    /* the connection is still fine */
    CHECK(run_pack(c, &l, MIXED, 1, 4, 64) == PP_OK && l.pack[1] == 1);
    pp_result_free(l.r);
}

/* pp_query_call's shape of a packed result, as postpyro.h says it is made. */
static int64_t shape_of(const int64_t *p)
{
    uint64_t h = 14695981039346656037u;
    for (int64_t k = 2; k < 5 + 3 * p[2]; k++)
        h = (h ^ (uint64_t)p[k]) * 1099511628211u;
    int64_t out;
    memcpy(&out, &h, sizeof out);
    return out;
}

/* pp_query_call: what pp_query_pack does, from the struct's buffers; txstatus and shape
 * written. */
static void test_call(pp_conn *c)
{
    pack_loop l = {0}, k = {0};
    pp_error *err = NULL;
    pp_query_buffers b = {.out = &l.r, .info = &l.info, .cols = l.cols, .max_cols = 4,
                          .txstatus = 7, .pack = l.pack, .pack_len = 64, .err = &err};
    pp_value p = {.tag = PP_INT, .i = 3};
    CHECK_OK(pp_query_call(c, MIXED, 1, &p, 0, &b), err);
    CHECK(run_pack(c, &k, MIXED, 3, 4, 64) == PP_OK);
    CHECK(b.txstatus == PP_TRANS_IDLE && l.info.nrows == 3 && l.pack[0] == 6 + 4 * 4);
    CHECK(memcmp(l.pack, k.pack, sizeof(int64_t) * (size_t)l.pack[0]) == 0);
    CHECK(l.cols[3].ints[2] == 6);
    CHECK(b.shape != 0 && b.shape == shape_of(l.pack));
    int64_t mixed = b.shape;
    CHECK_OK(pp_query_call(c, MIXED, 1, &p, 0, &b), err); /* the same shape again */
    CHECK(b.shape == mixed);
    p.i = 1; /* no NULL in this one: another shape */
    CHECK_OK(pp_query_call(c, MIXED, 1, &p, 0, &b), err);
    CHECK(b.shape == shape_of(l.pack) && b.shape != mixed && l.pack[4] == 0);
    /* the next call frees the result held in *b.out (valgrind would say otherwise) */
    CHECK_OK(pp_query_call(c, "BEGIN", 0, NULL, 0, &b), err);
    CHECK(b.txstatus == PP_TRANS_INTRANS && l.info.has_rows == 0 && l.pack[0] == 0);
    CHECK(b.shape == 0); /* nothing packed */
    p.i = 1;
    CHECK(pp_query_call(c, "SELECT 1 / ($1::int4 - 1)", 1, &p, 0, &b) == PP_ERROR);
    CHECK(err != NULL && pp_error_category(err) == PP_ERR_DATA && l.r == NULL);
    CHECK(b.txstatus == PP_TRANS_INERROR);
    pp_error_free(err);
    err = NULL;
    CHECK_OK(pp_query_call(c, "ROLLBACK", 0, NULL, 0, &b), err);
    CHECK(b.txstatus == PP_TRANS_IDLE);
    /* a bad argument inside the struct: as pp_query_pack says */
    b.pack_len = -1;
    CHECK(pp_query_call(c, "SELECT 1", 0, NULL, 0, &b) == PP_ERROR);
    CHECK(err != NULL && pp_error_category(err) == PP_ERR_INTERFACE && b.txstatus == -1);
    pp_error_free(err);
    /* no struct: PP_ERROR, nothing else */
    CHECK(pp_query_call(c, "SELECT 1", 0, NULL, 0, NULL) == PP_ERROR);
    CHECK(run_pack(c, &l, MIXED, 1, 4, 64) == PP_OK && l.pack[1] == 1);
    pp_result_free(l.r);
    pp_result_free(k.r);
}

/* pp_query_run: pp_query_call with the statement's constants in a pp_query_stmt and the
 * values in b.params, written in place between runs. */
static void test_run(pp_conn *c)
{
    pack_loop l = {0}, k = {0};
    pp_error *err = NULL;
    pp_value p[2] = {{.tag = PP_INT, .i = 3}, {.tag = PP_INT, .i = 10}};
    pp_query_buffers b = {.out = &l.r, .info = &l.info, .cols = l.cols, .max_cols = 4,
                          .txstatus = 7, .pack = l.pack, .pack_len = 64, .err = &err,
                          .params = p};
    pp_query_stmt st = {.conn = c, .sql = MIXED, .flags = 0};
    CHECK_OK(pp_query_run(&st, 1, &b), err);
    CHECK(run_pack(c, &k, MIXED, 3, 4, 64) == PP_OK);
    CHECK(b.txstatus == PP_TRANS_IDLE && l.info.nrows == 3 && l.pack[0] == 6 + 4 * 4);
    CHECK(memcmp(l.pack, k.pack, sizeof(int64_t) * (size_t)l.pack[0]) == 0);
    CHECK(b.shape != 0 && b.shape == shape_of(l.pack));
    for (int64_t n = 1; n <= 3; n++) { /* the same statement, other values in place */
        p[0].i = n;
        CHECK_OK(pp_query_run(&st, 1, &b), err);
        CHECK(l.info.nrows == n && l.cols[3].ints[n - 1] == 2 * n);
    }
    pp_query_stmt two = {.conn = c, .sql = "SELECT $1::int8 * $2::int8", .flags = 0};
    p[0].i = 6;
    CHECK_OK(pp_query_run(&two, 2, &b), err);
    CHECK(l.info.nrows == 1 && l.cols[0].ints[0] == 60);
    /* the statement's flags: PP_EXEC_PREPARED runs a pp_prepare statement by name */
    CHECK_OK(pp_prepare(c, "pq_run", "SELECT $1::int4 + 100", &err), err);
    pp_query_stmt named = {.conn = c, .sql = "pq_run", .flags = PP_EXEC_PREPARED};
    CHECK_OK(pp_query_run(&named, 1, &b), err);
    CHECK(l.info.nrows == 1 && l.cols[0].ints[0] == 106);
    /* no values where some are needed, no statement, no struct */
    b.params = NULL;
    CHECK(pp_query_run(&two, 2, &b) == PP_ERROR);
    CHECK(err != NULL && pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
    err = NULL;
    b.shape = 5;
    CHECK(pp_query_run(NULL, 0, &b) == PP_ERROR);
    CHECK(err != NULL && pp_error_category(err) == PP_ERR_INTERFACE && b.txstatus == -1 &&
          b.shape == 0);
    pp_error_free(err);
    err = NULL;
    CHECK(pp_query_run(&st, 0, NULL) == PP_ERROR);
    pp_query_stmt noconn = {.conn = NULL, .sql = "SELECT 1", .flags = 0};
    CHECK(pp_query_run(&noconn, 0, &b) == PP_ERROR); /* as pp_query_call with conn NULL */
    CHECK(err != NULL && pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
    err = NULL;
    CHECK_OK(pp_query_run(&(pp_query_stmt){.conn = c, .sql = "SELECT 7", .flags = 0}, 0, &b), err);
    CHECK(l.info.nrows == 1 && l.cols[0].ints[0] == 7);
    pp_result_free(l.r);
    pp_result_free(k.r);
}

int main(void)
{
    pp_conn *c = test_connect();
    test_layout(c);
    test_text(c);
    test_nothing_packed(c);
    test_bad_arguments(c);
    test_call(c);
    test_run(c);
    pp_conn_free(c);
    return test_summary();
}
