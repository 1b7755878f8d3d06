/* SPDX-License-Identifier: MIT */
/* test_types.c — every tag both ways: parameters encoded to the server's type, binary and
 * text results decoded to the same values. */
#include "harness.h"

#include <math.h>

static pp_conn *c;

/* Runs `SELECT <expr>` in binary (flags 0) or text (PP_EXEC_TEXT) and returns cell 0,0 in *v;
 * the result is kept in *r for the caller to free. */
static void select1(const char *sql, uint32_t flags, int32_t np, const pp_value *p,
                    pp_result **r, pp_value *v)
{
    pp_error *err = NULL;
    *r = NULL;
    memset(v, 0, sizeof *v);
    v->tag = -1;
    if (pp_exec(c, sql, np, p, flags, r, &err) != PP_OK ||
        pp_result_value(*r, 0, 0, v, &err) != PP_OK) {
        fprintf(stderr, "  %s: %s\n", sql, pp_error_message(err));
        tests_failed++;
    }
    pp_error_free(err);
}

static void expect_int(const char *sql, int64_t want)
{
    for (int text = 0; text < 2; text++) {
        pp_result *r;
        pp_value v;
        select1(sql, text ? PP_EXEC_TEXT : 0, 0, NULL, &r, &v);
        CHECK(v.tag == PP_INT && v.i == want);
        pp_result_free(r);
    }
}

static void expect_text(const char *sql, uint32_t flags, int32_t tag, const char *want)
{
    pp_result *r;
    pp_value v;
    select1(sql, flags, 0, NULL, &r, &v);
    bool ok = v.tag == tag && v.len == (int64_t)strlen(want) && memcmp(v.ptr, want, v.len) == 0;
    if (!ok)
        fprintf(stderr, "  %s: got tag %d '%.*s', want '%s'\n", sql, v.tag, (int)v.len,
                v.ptr ? v.ptr : "", want);
    CHECK(ok);
    pp_result_free(r);
}

static void test_integers_and_floats(void)
{
    expect_int("SELECT 32767::int2", 32767);
    expect_int("SELECT (-2147483648)::int4", INT32_MIN);
    expect_int("SELECT 9223372036854775807::int8", INT64_MAX);
    expect_int("SELECT 4294967295::oid", 4294967295LL);
    const char *floats[] = {"SELECT 'NaN'::float8", "SELECT '-Infinity'::float8",
                            "SELECT '-0'::float8", "SELECT 1.5::float4"};
    for (int text = 0; text < 2; text++) {
        pp_result *r;
        pp_value v[4];
        for (int k = 0; k < 4; k++) {
            select1(floats[k], text ? PP_EXEC_TEXT : 0, 0, NULL, &r, &v[k]);
            pp_result_free(r);
        }
        CHECK(v[0].tag == PP_FLOAT && isnan(v[0].f));
        CHECK(isinf(v[1].f) && v[1].f < 0);
        CHECK(v[2].f == 0 && signbit(v[2].f));
        CHECK(v[3].f == 1.5);
    }
    pp_result *r;
    pp_value v;
    select1("SELECT true", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_BOOL && v.i == 1);
    pp_result_free(r);
    select1("SELECT false", PP_EXEC_TEXT, 0, NULL, &r, &v);
    CHECK(v.tag == PP_BOOL && v.i == 0);
    pp_result_free(r);
}

static void test_numeric(void)
{
    const char *cases[][2] = {
        {"SELECT 1.500::numeric", "1.500"},
        {"SELECT -0.00001::numeric", "-0.00001"},
        {"SELECT 123456789012345678901234567890.123456789::numeric",
         "123456789012345678901234567890.123456789"},
        {"SELECT 10000::numeric", "10000"},
        {"SELECT 0::numeric", "0"},
        {"SELECT 0.0::numeric", "0.0"},
        {"SELECT 'NaN'::numeric", "NaN"},
        {"SELECT 'Infinity'::numeric", "Infinity"},
        {"SELECT '-Infinity'::numeric", "-Infinity"},
        {"SELECT 1e-20::numeric", "0.00000000000000000001"},
        {"SELECT 99990000::numeric", "99990000"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        expect_text(cases[k][0], 0, PP_NUMERIC, cases[k][1]);
        expect_text(cases[k][0], PP_EXEC_TEXT, PP_TEXT, cases[k][1]);
    }
}

static void test_text_bytes_json_uuid(void)
{
    expect_text("SELECT 'héllo wörld'::text", 0, PP_TEXT, "héllo wörld");
    expect_text("SELECT 'ab'::char(4)", 0, PP_TEXT, "ab  ");
    expect_text("SELECT 'x'::varchar", 0, PP_TEXT, "x");
    expect_text("SELECT 'nm'::name", 0, PP_TEXT, "nm");
    expect_text("SELECT '{\"a\": [1, 2]}'::jsonb", 0, PP_JSON, "{\"a\": [1, 2]}");
    expect_text("SELECT '{\"a\":1}'::json", 0, PP_JSON, "{\"a\":1}");
    pp_result *r;
    pp_value v;
    select1("SELECT '\\x00ff10'::bytea", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_BYTES && v.len == 3 && memcmp(v.ptr, "\x00\xff\x10", 3) == 0);
    pp_result_free(r);
    select1("SELECT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_UUID && v.len == 16 && (unsigned char)v.ptr[0] == 0xa0 &&
          (unsigned char)v.ptr[15] == 0x11);
    pp_result_free(r);
    /* inet, cidr and MAC addresses decode in binary to the server's own text output */
    static const char *nets[][2] = {
        {"SELECT '192.168.0.1/24'::inet", "192.168.0.1/24"},
        {"SELECT '10.1.2.3'::inet", "10.1.2.3"},
        {"SELECT '10.0.0.0/8'::cidr", "10.0.0.0/8"},
        {"SELECT '::ffff:1.2.3.4'::inet", "::ffff:1.2.3.4"},
        {"SELECT '2001:db8:0:0:1:0:0:1/64'::inet", "2001:db8::1:0:0:1/64"},
        {"SELECT '::'::inet", "::"},
        {"SELECT '08:00:2b:01:02:03'::macaddr", "08:00:2b:01:02:03"},
        {"SELECT '08:00:2b:01:02:03:04:05'::macaddr8", "08:00:2b:01:02:03:04:05"},
    };
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
        expect_text(nets[k][0], 0, PP_TEXT, nets[k][1]);
        expect_text(nets[k][0], PP_EXEC_TEXT, PP_TEXT, nets[k][1]);
    }
}

static void test_dates_and_times(void)
{
    pp_result *r;
    pp_value v;
    select1("SELECT '2000-01-02'::date", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_DATE && v.i == 1);
    pp_result_free(r);
    select1("SELECT 'infinity'::date", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_DATE && v.i == INT32_MAX);
    pp_result_free(r);
    select1("SELECT '1999-12-31 23:59:59.999999'::timestamp", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_TIMESTAMP && v.i == -1);
    pp_result_free(r);
    select1("SELECT '2000-01-01 00:00:01+01'::timestamptz", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_TIMESTAMPTZ && v.i == -3599000000LL);
    pp_result_free(r);
    select1("SELECT '01:02:03.5'::time", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_TIME && v.i == 3723500000LL);
    pp_result_free(r);
    select1("SELECT '01:00:00+05:30'::timetz", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_TIMETZ && v.i == 3600000000LL && v.i2 == 19800);
    pp_result_free(r);
    select1("SELECT '1 year 2 mons 3 days 00:00:01.5'::interval", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_INTERVAL && v.i3 == 14 && v.i2 == 3 && v.i == 1500000);
    pp_result_free(r);
}

static void test_arrays(void)
{
    pp_result *r;
    pp_value v;
    pp_error *err = NULL;
    select1("SELECT ARRAY[[1,2,3],[4,NULL,6]]::int4[]", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_ARRAY && v.i == 2 && v.len == 6 && v.dims[0] == 2 && v.dims[1] == 3 &&
          v.dims[2] == 1);
    pp_value item;
    CHECK_OK(pp_result_array_item(r, 0, 0, 5, &item, &err), err);
    CHECK(item.tag == PP_INT && item.i == 6);
    CHECK_OK(pp_result_array_item(r, 0, 0, 4, &item, &err), err);
    CHECK(item.tag == PP_NULL);
    CHECK(pp_result_array_item(r, 0, 0, 6, &item, &err) == PP_ERROR);
    pp_error_free(err);
    err = NULL;
    pp_result_free(r);
    select1("SELECT '{}'::text[]", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_ARRAY && v.i == 0 && v.len == 0);
    pp_result_free(r);
    select1("SELECT '[0:1]={\"a,b\",\"c\\\"d\"}'::text[]", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_ARRAY && v.len == 2 && v.dims[1] == 0);
    CHECK_OK(pp_result_array_item(r, 0, 0, 1, &item, &err), err);
    CHECK(item.tag == PP_TEXT && item.len == 3 && memcmp(item.ptr, "c\"d", 3) == 0);
    pp_result_free(r);
    /* a whole column of arrays */
    pp_column col;
    r = run(c, "SELECT ARRAY[g, g + 1]::int8[] FROM generate_series(1, 100) g");
    CHECK_OK(pp_result_column(r, 0, &col, &err), err);
    CHECK(col.tag == PP_ARRAY && col.count == 100 && col.elements->count == 200 &&
          col.elements->ints[199] == 101 && col.elem_offsets[100] == 200);
    pp_result_free(r);
    /* arrays as parameters travel as text literals */
    const char *lit = "{1,2,NULL}";
    pp_value p = {.tag = PP_ARRAY, .ptr = lit, .len = (int64_t)strlen(lit)};
    select1("SELECT array_length($1::int4[], 1)", 0, 1, &p, &r, &v);
    CHECK(v.i == 3);
    pp_result_free(r);
}

static void roundtrip(const char *type, pp_value p)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT $1::%s", type);
    pp_result *r;
    pp_value v;
    select1(sql, 0, 1, &p, &r, &v);
    bool same = v.tag == p.tag && v.i == p.i && v.i2 == p.i2 && v.i3 == p.i3 &&
                (v.f == p.f || (isnan(v.f) && isnan(p.f))) && v.len == p.len &&
                (p.len == 0 || memcmp(v.ptr, p.ptr, (size_t)p.len) == 0);
    if (!same)
        fprintf(stderr, "  roundtrip %s: tag %d i %lld\n", type, v.tag, (long long)v.i);
    CHECK(same);
    pp_result_free(r);
}

static void test_parameter_roundtrips(void)
{
    roundtrip("int2", (pp_value){.tag = PP_INT, .i = -32768});
    roundtrip("int4", (pp_value){.tag = PP_INT, .i = 2147483647});
    roundtrip("int8", (pp_value){.tag = PP_INT, .i = INT64_MIN});
    roundtrip("float8", (pp_value){.tag = PP_FLOAT, .f = 0.1});
    roundtrip("float8", (pp_value){.tag = PP_FLOAT, .f = NAN});
    roundtrip("float4", (pp_value){.tag = PP_FLOAT, .f = 0.5});
    roundtrip("bool", (pp_value){.tag = PP_BOOL, .i = 1});
    roundtrip("date", (pp_value){.tag = PP_DATE, .i = -730119});
    roundtrip("time", (pp_value){.tag = PP_TIME, .i = 86399999999LL});
    roundtrip("timetz", (pp_value){.tag = PP_TIMETZ, .i = 5, .i2 = -12600});
    roundtrip("timestamp", (pp_value){.tag = PP_TIMESTAMP, .i = 1234567890123456LL});
    roundtrip("timestamptz", (pp_value){.tag = PP_TIMESTAMPTZ, .i = -1234567890123456LL});
    roundtrip("interval", (pp_value){.tag = PP_INTERVAL, .i = 7, .i2 = -3, .i3 = 25});
    roundtrip("uuid", (pp_value){.tag = PP_UUID, .ptr = "0123456789abcdef", .len = 16});
    roundtrip("bytea", (pp_value){.tag = PP_BYTES, .ptr = "\0\1\2", .len = 3});
    roundtrip("text", (pp_value){.tag = PP_TEXT, .ptr = "ünï", .len = (int64_t)strlen("ünï")});
    roundtrip("jsonb", (pp_value){.tag = PP_JSON, .ptr = "[1, 2]", .len = 6});
    roundtrip("numeric", (pp_value){.tag = PP_NUMERIC, .ptr = "-1.2500", .len = 7});

    /* A str is text for the server to parse, whatever the type. */
    pp_result *r;
    pp_value v;
    pp_value s = {.tag = PP_TEXT, .ptr = "2024-02-29", .len = 10};
    select1("SELECT $1::date", 0, 1, &s, &r, &v);
    CHECK(v.tag == PP_DATE && v.i == 8825);
    pp_result_free(r);
    /* A naive timestamp for timestamptz is read in the session time zone. */
    pp_result_free(run(c, "SET TimeZone = 'UTC'"));
    pp_value naive = {.tag = PP_TIMESTAMP, .i = 3600000000LL};
    select1("SELECT $1::timestamptz", 0, 1, &naive, &r, &v);
    CHECK(v.tag == PP_TIMESTAMPTZ && v.i == 3600000000LL);
    pp_result_free(r);
    /* an int into numeric and float8 */
    pp_value big = {.tag = PP_INT, .i = INT64_MAX};
    select1("SELECT $1::numeric", 0, 1, &big, &r, &v);
    CHECK(v.tag == PP_NUMERIC && strncmp(v.ptr, "9223372036854775807", 19) == 0);
    pp_result_free(r);
    pp_value f = {.tag = PP_FLOAT, .f = 0.1};
    select1("SELECT $1::numeric", 0, 1, &f, &r, &v);
    CHECK(v.tag == PP_NUMERIC && v.len == 3 && memcmp(v.ptr, "0.1", 3) == 0);
    pp_result_free(r);
    /* an untyped parameter the server cannot infer takes the value's type */
    pp_value i = {.tag = PP_INT, .i = 5};
    select1("SELECT pg_typeof($1)::text", 0, 1, &i, &r, &v);
    CHECK(v.tag == PP_TEXT && v.len == 6 && memcmp(v.ptr, "bigint", 6) == 0);
    pp_result_free(r);
    /* inside a transaction too: the failed first Parse does not abort it */
    pp_result_free(run(c, "BEGIN"));
    pp_value f8 = {.tag = PP_FLOAT, .f = 1.5};
    select1("SELECT pg_typeof($1)::text AS t", 0, 1, &f8, &r, &v);
    CHECK(v.tag == PP_TEXT && v.len == 16 && memcmp(v.ptr, "double precision", 16) == 0);
    pp_result_free(r);
    CHECK(pp_transaction_status(c) == 2);
    pp_result_free(run(c, "COMMIT"));
    /* while a genuine error in a transaction still aborts it */
    pp_result_free(run(c, "BEGIN"));
    pp_error *perr = NULL;
    CHECK(pp_exec(c, "SELECT $1::int4 +", 1, &i, 0, &r, &perr) == PP_ERROR);
    pp_error_free(perr);
    CHECK(pp_transaction_status(c) == 3);
    pp_result_free(run(c, "ROLLBACK"));
}

/* The same without the statement cache (the unnamed statement serves every statement): in
 * a transaction the untyped parameter's first Parse still runs under a savepoint. */
static void test_untyped_parameter_without_cache(void)
{
    pp_error *err = NULL;
    pp_conn *saved = c;
    c = pp_connect(test_dsn(), PP_CONNECT_NO_STATEMENT_CACHE, &err);
    CHECK(c != NULL);
    if (c == NULL) {
        pp_error_free(err);
        c = saved;
        return;
    }
    pp_result *r;
    pp_value v;
    pp_result_free(run(c, "BEGIN"));
    pp_value i = {.tag = PP_INT, .i = 41};
    select1("SELECT pg_typeof($1)::text", 0, 1, &i, &r, &v);
    CHECK(v.tag == PP_TEXT && v.len == 6 && memcmp(v.ptr, "bigint", 6) == 0);
    pp_result_free(r);
    select1("SELECT $1::int4 + 1", 0, 1, &i, &r, &v); /* parsed, then sent again whole */
    CHECK(v.tag == PP_INT && v.i == 42);
    pp_result_free(r);
    pp_result_free(run(c, "CREATE TEMP TABLE t_nocache (x int)"));
    pp_value rows[] = {{.tag = PP_INT, .i = 1}, {.tag = PP_INT, .i = 2}};
    int64_t affected = 0;
    CHECK_OK(pp_exec_many(c, "INSERT INTO t_nocache VALUES ($1)", 1, 2, rows, &affected, &err),
             err);
    CHECK(affected == 2);
    CHECK(pp_transaction_status(c) == 2);
    pp_result_free(run(c, "COMMIT"));
    CHECK(scalar(c, "SELECT sum(x) FROM t_nocache") == 3);
    CHECK(scalar(c, "SELECT count(*) FROM pg_prepared_statements") == 0);
    pp_conn_free(c);
    c = saved;
}

static void expect_refusal(const char *sql, pp_value p, int32_t category, const char *needle)
{
    pp_result *r = NULL;
    pp_error *err = NULL;
    CHECK(pp_exec(c, sql, 1, &p, 0, &r, &err) == PP_ERROR && r == NULL);
    bool ok = pp_error_category(err) == category && strstr(pp_error_message(err), needle) != NULL;
    if (!ok)
        fprintf(stderr, "  %s: got '%s'\n", sql, pp_error_message(err));
    CHECK(ok);
    pp_error_free(err);
}

static void test_refusals(void)
{
    expect_refusal("SELECT $1::int2", (pp_value){.tag = PP_INT, .i = 40000}, PP_ERR_DATA,
                   "parameter $1: PP_INT value 40000 is out of range for smallint");
    expect_refusal("SELECT $1::int4", (pp_value){.tag = PP_FLOAT, .f = 1.5},
                   PP_ERR_PROGRAMMING, "parameter $1: cannot send PP_FLOAT as integer");
    expect_refusal("SELECT $1::timestamp", (pp_value){.tag = PP_TIMESTAMPTZ, .i = 0},
                   PP_ERR_PROGRAMMING, "PP_TIMESTAMPTZ needs timestamp with time zone");
    expect_refusal("SELECT $1::text", (pp_value){.tag = PP_TEXT, .ptr = "a\0b", .len = 3},
                   PP_ERR_DATA, "NUL");
    expect_refusal("SELECT $1::jsonb", (pp_value){.tag = PP_ARRAY, .ptr = "{1}", .len = 3},
                   PP_ERR_PROGRAMMING, "send JSON as PP_JSON");
    /* decimals for integer and float types: integers in range only, checked before sending */
    expect_refusal("SELECT $1::int4", (pp_value){.tag = PP_NUMERIC, .ptr = "1.5", .len = 3},
                   PP_ERR_DATA, "parameter $1: PP_NUMERIC 1.5 is not an integer");
    expect_refusal("SELECT $1::int8",
                   (pp_value){.tag = PP_NUMERIC, .ptr = "9223372036854775808", .len = 19},
                   PP_ERR_DATA, "out of range for bigint");
    expect_refusal("SELECT $1::int2",
                   (pp_value){.tag = PP_NUMERIC, .ptr = "-00000000000000000000040000", .len = 27},
                   PP_ERR_DATA, "out of range for smallint");
    expect_refusal("SELECT $1::float8",
                   (pp_value){.tag = PP_NUMERIC, .ptr = "18446744073709551616", .len = 20},
                   PP_ERR_DATA, "cannot be held exactly by double precision");
    expect_refusal("SELECT $1::timestamp[]",
                   (pp_value){.tag = PP_ARRAY, .oid = 1185, .ptr = "{}", .len = 2},
                   PP_ERR_PROGRAMMING, "UTC offset");
    pp_result *r;
    pp_value v;
    pp_value ok = {.tag = PP_NUMERIC, .ptr = "-9223372036854775808", .len = 20};
    select1("SELECT $1::int8", 0, 1, &ok, &r, &v);
    CHECK(v.tag == PP_INT && v.i == INT64_MIN);
    pp_result_free(r);
    pp_value ok2 = {.tag = PP_NUMERIC, .ptr = "+0042", .len = 5};
    select1("SELECT $1::int2", 0, 1, &ok2, &r, &v);
    CHECK(v.tag == PP_INT && v.i == 42);
    pp_result_free(r);
    select1("SELECT '\\200'::\"char\", 'a'::\"char\", ''::\"char\"", 0, 0, NULL, &r, &v);
    CHECK(v.tag == PP_TEXT && v.len == 4 && memcmp(v.ptr, "\\200", 4) == 0);
    pp_error *err = NULL;
    CHECK_OK(pp_result_value(r, 0, 1, &v, &err), err);
    CHECK(v.len == 1 && v.ptr[0] == 'a');
    CHECK_OK(pp_result_value(r, 0, 2, &v, &err), err);
    CHECK(v.len == 0);
    pp_result_free(r);
    pp_value s = {.tag = PP_TEXT, .ptr = "abc", .len = 3};
    expect_refusal("SELECT $1::int4", s, PP_ERR_DATA, "invalid input syntax");
    CHECK(pp_ping(c) == 1);
}

int main(void)
{
    c = test_connect();
    test_integers_and_floats();
    test_numeric();
    test_text_bytes_json_uuid();
    test_dates_and_times();
    test_arrays();
    test_parameter_roundtrips();
    test_untyped_parameter_without_cache();
    test_refusals();
    pp_conn_free(c);
    return test_summary();
}
