/* SPDX-License-Identifier: MIT */
/* test_product.c — what a C programmer reaches for (issue 15 items 3-5): where an error came
 * from, its full text, unknown flags, messages in C and PostgreSQL words, notices as records,
 * server parameters, quoting, type names, column lookup, date/time helpers, reset, the named
 * transaction states. */
#include "harness.h"

#include <stdint.h>

static void expect_part(const char *text, const char *part)
{
    bool has = text != NULL && strstr(text, part) != NULL;
    if (!has)
        fprintf(stderr, "  \"%s\" lacks \"%s\"\n", text ? text : "(null)", part);
    CHECK(has);
}

static void test_origins_and_format(pp_conn *c)
{
    pp_result *r = NULL;
    pp_error *err = NULL;
    /* the server's error: SERVER, with the LINE/caret context psql prints */
    CHECK(pp_exec(c, "SELEC 1", 0, NULL, 0, &r, &err) == PP_ERROR);
    CHECK(pp_error_origin(err) == PP_ORIGIN_SERVER);
    CHECK(strcmp(pp_error_sqlstate(err), "42601") == 0);
    char *full = pp_error_format(err);
    expect_part(full, "ERROR:  syntax error at or near \"SELEC\"\nLINE 1: SELEC 1\n        ^");
    pp_free(full);
    pp_error_free(err);
    err = NULL;
    /* DETAIL and HINT lines */
    CHECK(pp_exec(c, "DO $$BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'the detail', "
                     "HINT = 'the hint'; END$$", 0, NULL, 0, &r, &err) == PP_ERROR);
    full = pp_error_format(err);
    expect_part(full, "ERROR:  boom\nDETAIL:  the detail\nHINT:  the hint");
    pp_free(full);
    pp_error_free(err);
    err = NULL;
    /* the library's own refusal: LIBRARY, a SQLSTATE that fits, the type's name not its OID */
    pp_value v = {.tag = PP_ARRAY, .oid = 1185, .ptr = "{}", .len = 2};
    CHECK(pp_exec(c, "SELECT $1::timestamp[]", 1, &v, 0, &r, &err) == PP_ERROR);
    CHECK(pp_error_origin(err) == PP_ORIGIN_LIBRARY);
    CHECK(strcmp(pp_error_sqlstate(err), "42804") == 0);
    expect_part(pp_error_message(err), "parameter $1: cannot send PP_ARRAY as timestamp "
                                       "without time zone[]");
    CHECK(strstr(pp_error_message(err), "OID") == NULL);
    full = pp_error_format(err);
    expect_part(full, "ERROR:  parameter $1: cannot send PP_ARRAY");
    pp_free(full);
    pp_error_free(err);
    err = NULL;
    /* unknown flag bits are refused, named */
    CHECK(pp_exec(c, "SELECT 1", 0, NULL, 0x100 | PP_EXEC_TEXT, &r, &err) == PP_ERROR);
    CHECK(pp_error_category(err) == PP_ERR_INTERFACE);
    expect_part(pp_error_message(err), "pp_exec: unknown flag bits 0x100");
    pp_error_free(err);
    err = NULL;
    CHECK(pp_connect(test_dsn(), 0x40, &err) == NULL);
    CHECK(pp_error_category(err) == PP_ERR_INTERFACE);
    expect_part(pp_error_message(err), "unknown flag bits 0x40");
    pp_error_free(err);
    err = NULL;
    /* a connect that reaches no server: CONNECTION */
    CHECK(pp_connect("host=127.0.0.1 port=1 connect_timeout=5", 0, &err) == NULL);
    CHECK(pp_error_origin(err) == PP_ORIGIN_CONNECTION);
    pp_error_free(err);
    CHECK(pp_error_origin(NULL) == PP_ORIGIN_NONE);
    CHECK(pp_error_format(NULL) == NULL);
}

static void test_notices(pp_conn *c)
{
    pp_result_free(run(c, "DO $$BEGIN RAISE NOTICE 'first' USING DETAIL = 'd1', HINT = 'h1'; "
                          "RAISE WARNING 'second'; END$$"));
    pp_error *n = pp_take_notice(c);
    CHECK(n != NULL);
    CHECK(strcmp(pp_error_field(n, 'S'), "NOTICE") == 0);
    CHECK(strcmp(pp_error_field(n, 'C'), "00000") == 0);
    CHECK(strcmp(pp_error_message(n), "first") == 0);
    CHECK(strcmp(pp_error_field(n, 'D'), "d1") == 0);
    CHECK(strcmp(pp_error_field(n, 'H'), "h1") == 0);
    CHECK(pp_error_category(n) == PP_ERR_NONE);
    CHECK(pp_error_origin(n) == PP_ORIGIN_SERVER);
    pp_error_free(n);
    /* the rest of the same collection as text */
    int64_t len = 0;
    char *text = pp_take_notices(c, &len);
    CHECK(text != NULL && strcmp(text, "WARNING:  second") == 0 && len == 17);
    pp_free(text);
    CHECK(pp_take_notice(c) == NULL);
    CHECK(pp_take_notices(c, &len) == NULL && len == 0);
    CHECK(pp_take_notice(NULL) == NULL);
}

/* pp_value's comment: text-like values in results are NUL-terminated after len bytes. */
static void test_result_text_is_terminated(pp_conn *c)
{
    pp_result *r = run(c, "SELECT 'abc'::text, 12.50::numeric, '{\"a\": 1}'::json, "
                          "'{\"b\": 2}'::jsonb, 'x'::varchar, '10.0.0.1'::inet");
    for (int32_t col = 0; col < 6; col++) {
        pp_value v = {0};
        pp_error *err = NULL;
        CHECK_OK(pp_result_value(r, 0, col, &v, &err), err);
        CHECK(v.ptr != NULL && v.len > 0 && v.ptr[v.len] == '\0' &&
              strlen(v.ptr) == (size_t)v.len);
    }
    pp_result_free(r);
}

/* The header's limits: 1 MiB of text, 10000 notices; the rest is dropped until taken. */
static void test_notice_limits(pp_conn *c)
{
    pp_result_free(run(c, "DO $$BEGIN FOR k IN 1..1100 LOOP RAISE NOTICE '%', "
                          "repeat('n', 1000); END LOOP; END$$"));
    int64_t len = 0;
    char *text = pp_take_notices(c, &len); /* each: "NOTICE:  ", 1000 bytes, a NUL */
    CHECK(text != NULL && len == (1 << 20) / 1010 * 1010);
    pp_free(text);
    pp_result_free(run(c, "DO $$BEGIN FOR k IN 1..10005 LOOP RAISE NOTICE 'x'; END LOOP; "
                          "END$$"));
    int n = 0;
    pp_error *e;
    while ((e = pp_take_notice(c)) != NULL) {
        n++;
        pp_error_free(e);
    }
    CHECK(n == 10000);
}

static void test_parameters_and_types(pp_conn *c)
{
    char *v = pp_parameter_status(c, "server_version");
    CHECK(v != NULL && v[0] >= '1' && v[0] <= '9');
    pp_free(v);
    v = pp_parameter_status(c, "DateStyle");
    CHECK(v != NULL && strstr(v, "ISO") != NULL);
    pp_free(v);
    CHECK(pp_parameter_status(c, "no_such_parameter") == NULL);
    CHECK(pp_parameter_status(NULL, "TimeZone") == NULL);
    CHECK(strcmp(pp_type_name(PP_OID_INT4), "integer") == 0);
    CHECK(strcmp(pp_type_name(PP_OID_TIMESTAMP_ARRAY), "timestamp without time zone[]") == 0);
    CHECK(strcmp(pp_type_name(PP_OID_CHAR), "\"char\"") == 0);
    CHECK(pp_type_name(99999) == NULL);
    /* every name agrees with the server's own format_type() */
    pp_result *r = run(c, "SELECT oid::int8, format_type(oid, NULL) FROM pg_type "
                          "WHERE oid < 10000 AND typrelid = 0");
    int64_t agree = 0, n = pp_result_nrows(r);
    for (int64_t k = 0; k < n; k++) {
        pp_value o, name;
        pp_error *err = NULL;
        CHECK_OK(pp_result_value(r, k, 0, &o, &err), err);
        CHECK_OK(pp_result_value(r, k, 1, &name, &err), err);
        const char *ours = pp_type_name((uint32_t)o.i);
        agree += ours != NULL && strcmp(ours, name.ptr) == 0;
    }
    CHECK(n > 150 && agree == n);
    pp_result_free(r);
    r = run(c, "SELECT 1 AS a, 2 AS \"B\", 3 AS a");
    CHECK(pp_result_column_index(r, "a") == 0);
    CHECK(pp_result_column_index(r, "B") == 1);
    CHECK(pp_result_column_index(r, "b") == -1);
    CHECK(pp_result_column_index(r, NULL) == -1);
    CHECK(pp_result_column_index(NULL, "a") == -1);
    pp_result_free(r);
}

/* pp_quote_literal(s) read back by the server gives s. */
static void check_literal(pp_conn *c, const char *s)
{
    char *lit = NULL, sql[256];
    pp_error *err = NULL;
    CHECK_OK(pp_quote_literal(s, -1, &lit, &err), err);
    snprintf(sql, sizeof sql, "SELECT %s::text", lit ? lit : "NULL");
    pp_result *r = run(c, sql);
    pp_value v = {0};
    CHECK_OK(pp_result_value(r, 0, 0, &v, &err), err);
    CHECK(v.ptr != NULL && strcmp(v.ptr, s) == 0);
    pp_result_free(r);
    pp_free(lit);
}

static void test_quoting(pp_conn *c)
{
    check_literal(c, "plain");
    check_literal(c, "it's");
    check_literal(c, "back\\slash 'and' quote");
    check_literal(c, "");
    check_literal(c, "caf\xc3\xa9");
    pp_result_free(run(c, "SET standard_conforming_strings = off"));
    check_literal(c, "back\\slash 'and' quote");
    pp_result_free(run(c, "RESET standard_conforming_strings"));
    char *q = NULL;
    pp_error *err = NULL;
    CHECK(pp_quote_literal("a\0b", 3, &q, &err) == PP_ERROR && q == NULL);
    CHECK(pp_error_category(err) == PP_ERR_DATA && strcmp(pp_error_sqlstate(err), "22021") == 0);
    pp_error_free(err);
    err = NULL;
    CHECK(pp_quote_literal("\xc3(", -1, &q, &err) == PP_ERROR);
    pp_error_free(err);
    err = NULL;
    CHECK_OK(pp_quote_identifier("My \"Table\"", -1, &q, &err), err);
    CHECK(q != NULL && strcmp(q, "\"My \"\"Table\"\"\"") == 0);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE TEMP TABLE %s (x int)", q);
    pp_result_free(run(c, sql));
    CHECK(scalar(c, "SELECT count(*) FROM pg_class WHERE relname = 'My \"Table\"'") == 1);
    pp_free(q);
    CHECK(pp_quote_identifier("", 0, &q, &err) == PP_ERROR);
    CHECK(strcmp(pp_error_sqlstate(err), "42602") == 0);
    pp_error_free(err);
}

static void test_time_helpers(pp_conn *c)
{
    pp_error *err = NULL;
    pp_result *r = run(c, "SELECT '1970-01-01'::timestamp, '1999-12-31 23:59:59.123456'::timestamp,"
                          " '0044-03-15 BC'::date, '2024-02-29'::date");
    pp_value epoch, ts, bc, leap;
    CHECK_OK(pp_result_value(r, 0, 0, &epoch, &err), err);
    CHECK_OK(pp_result_value(r, 0, 1, &ts, &err), err);
    CHECK_OK(pp_result_value(r, 0, 2, &bc, &err), err);
    CHECK_OK(pp_result_value(r, 0, 3, &leap, &err), err);
    pp_result_free(r);
    CHECK(epoch.i == PP_UNIX_EPOCH_USECS);
    int64_t u = -1, back = 0;
    CHECK_OK(pp_timestamp_to_unix(epoch.i, &u, &err), err);
    CHECK(u == 0);
    CHECK_OK(pp_timestamp_from_unix(946684800000000LL, &back, &err), err);
    CHECK(back == 0);
    pp_datetime p = {0};
    CHECK_OK(pp_timestamp_to_parts(ts.i, &p, &err), err);
    CHECK(p.year == 1999 && p.month == 12 && p.day == 31 && p.hour == 23 && p.minute == 59 &&
          p.second == 59 && p.microsecond == 123456);
    CHECK_OK(pp_timestamp_from_parts(&p, &back, &err), err);
    CHECK(back == ts.i);
    CHECK_OK(pp_date_to_parts(bc.i, &p, &err), err);
    CHECK(p.year == -43 && p.month == 3 && p.day == 15); /* 44 BC is year -43 */
    CHECK_OK(pp_date_from_parts(&p, &back, &err), err);
    CHECK(back == bc.i);
    CHECK_OK(pp_date_to_parts(leap.i, &p, &err), err);
    CHECK(p.year == 2024 && p.month == 2 && p.day == 29);
    CHECK(bc.i == scalar(c, "SELECT '0044-03-15 BC'::date - '2000-01-01'::date"));
    /* refusals: infinities, impossible fields, beyond PostgreSQL's range */
    CHECK(pp_timestamp_to_unix(INT64_MAX, &u, &err) == PP_ERROR);
    CHECK(pp_error_category(err) == PP_ERR_DATA && strcmp(pp_error_sqlstate(err), "22008") == 0);
    pp_error_free(err);
    err = NULL;
    CHECK(pp_date_to_parts(INT32_MIN, &p, NULL) == PP_ERROR);
    p = (pp_datetime){.year = 2023, .month = 2, .day = 29};
    CHECK(pp_date_from_parts(&p, &back, NULL) == PP_ERROR);
    p = (pp_datetime){.year = 300000, .month = 1, .day = 1};
    CHECK(pp_timestamp_from_parts(&p, &back, NULL) == PP_ERROR);
    CHECK(pp_date_from_parts(&p, &back, NULL) == PP_OK);
    CHECK(pp_timestamp_from_unix(INT64_MIN, &back, NULL) == PP_ERROR);
    CHECK(pp_timestamp_to_parts(0, NULL, NULL) == PP_ERROR);
}

static void test_reset_and_states(void)
{
    pp_conn *c = test_connect();
    pp_error *err = NULL;
    CHECK(pp_transaction_status(c) == PP_TRANS_IDLE);
    int64_t pid = scalar(c, "SELECT pg_backend_pid()");
    pp_result_free(run(c, "SET application_name = 'before_reset'"));
    CHECK_OK(pp_prepare(c, "mine", "SELECT 41 + $1::int4", &err), err);
    pp_result_free(run(c, "BEGIN"));
    CHECK(pp_transaction_status(c) == PP_TRANS_INTRANS);
    pp_result_free(run(c, "SELECT 1"));  /* cached statements, gone after the reset */
    pp_result_free(run(c, "SELECT 1"));
    pp_result *r = NULL;
    CHECK(pp_exec(c, "SELECT 1/0", 0, NULL, 0, &r, &err) == PP_ERROR);
    pp_error_free(err);
    err = NULL;
    CHECK(pp_transaction_status(c) == PP_TRANS_INERROR);
    CHECK_OK(pp_reset(c, &err), err);
    CHECK(pp_transaction_status(c) == PP_TRANS_IDLE);
    CHECK(pp_is_closed(c) == 0);
    CHECK(scalar(c, "SELECT pg_backend_pid()") != pid);
    char *app = pp_parameter_status(c, "application_name");
    CHECK(app != NULL && strcmp(app, "before_reset") != 0);
    pp_free(app);
    CHECK(scalar(c, "SELECT 1") == 1);
    CHECK(scalar(c, "SELECT 1") == 1);
    CHECK(pp_exec(c, "mine", 0, NULL, PP_EXEC_PREPARED, &r, &err) == PP_ERROR);
    pp_error_free(err);
    err = NULL;
    CHECK(pp_copy_out_start(c, "COPY (SELECT 1) TO STDOUT", &err) == PP_OK);
    const char *data;
    int64_t len, rows = 0;
    CHECK(pp_copy_out_read(c, &data, &len, &rows, &err) == PP_COPY_DATA);
    CHECK(pp_copy_out_read(c, &data, &len, &rows, &err) == PP_OK && rows == 1);
    pp_close(c);
    CHECK(pp_reset(c, &err) == PP_ERROR && pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
    pp_conn_free(c);
}

/* The header's conventions: NULL handles give the "nothing" value or PP_ERR_INTERFACE. */
static void test_null_handles(void)
{
    pp_error *err = NULL;
    pp_result *r = NULL;
    pp_value v;
    pp_column col;
    pp_result_info info;
    const char *data;
    int64_t len;
    CHECK(pp_error_category(NULL) == PP_ERR_NONE && strcmp(pp_error_message(NULL), "") == 0);
    CHECK(strcmp(pp_error_sqlstate(NULL), "") == 0 && pp_error_field(NULL, 'M') == NULL);
    CHECK(pp_error_index(NULL) == -1);
    CHECK(pp_result_nrows(NULL) == 0 && pp_result_ncols(NULL) == 0);
    CHECK(pp_result_column_name(NULL, 0) == NULL && pp_result_column_type(NULL, 0) == 0);
    CHECK(pp_result_column_typmod(NULL, 0) == -1 && pp_result_rows_affected(NULL) == -1);
    CHECK(strcmp(pp_result_command(NULL), "") == 0 && pp_result_has_rows(NULL) == 0);
    CHECK(pp_result_take_next(NULL) == NULL);
    CHECK(pp_is_closed(NULL) == 1 && pp_ping(NULL) == 0 && pp_timeout(NULL) == 0);
    CHECK(pp_conn_info(NULL, "host") == NULL && pp_take_notices(NULL, &len) == NULL);
    CHECK(pp_transaction_status(NULL) == PP_TRANS_UNKNOWN);
#define NULL_FAILS(call)                                                                   \
    do {                                                                                   \
        err = NULL;                                                                        \
        int rc_ = (call);                                                                  \
        if (rc_ != PP_ERROR || pp_error_category(err) != PP_ERR_INTERFACE)                 \
            fprintf(stderr, "  %s with NULL: %d\n", #call, rc_);                           \
        CHECK(rc_ == PP_ERROR && pp_error_category(err) == PP_ERR_INTERFACE);              \
        pp_error_free(err);                                                                \
    } while (0)
    NULL_FAILS(pp_exec(NULL, "SELECT 1", 0, NULL, 0, &r, &err));
    NULL_FAILS(pp_resume(NULL, &r, &err));
    NULL_FAILS(pp_query_close(NULL, &err));
    NULL_FAILS(pp_cancel(NULL, &err));
    NULL_FAILS(pp_set_timeout(NULL, 1, &err));
    NULL_FAILS(pp_set_statement_cache_size(NULL, 1, &err));
    NULL_FAILS(pp_prepare(NULL, "n", "SELECT 1", &err));
    NULL_FAILS(pp_deallocate(NULL, "n", &err));
    NULL_FAILS(pp_exec_batch(NULL, 0, NULL, NULL, &err));
    NULL_FAILS(pp_copy_in_start(NULL, "COPY t FROM STDIN", &err));
    NULL_FAILS(pp_copy_put(NULL, "", 0, &err));
    NULL_FAILS(pp_copy_end(NULL, NULL, NULL, &err));
    NULL_FAILS(pp_copy_out_start(NULL, "COPY t TO STDOUT", &err));
    NULL_FAILS(pp_copy_out_read(NULL, &data, &len, NULL, &err));
    NULL_FAILS(pp_result_describe(NULL, &info, &err));
    NULL_FAILS(pp_result_column(NULL, 0, &col, &err));
    NULL_FAILS(pp_result_value(NULL, 0, 0, &v, &err));
    NULL_FAILS(pp_reset(NULL, &err));
    NULL_FAILS(pp_connect_resume(NULL, &err));
    pp_close(NULL);
    pp_conn_free(NULL);
    pp_result_free(NULL);
    pp_error_free(NULL);
    pp_free(NULL);
}

int main(void)
{
    test_null_handles();
    pp_conn *c = test_connect();
    test_origins_and_format(c);
    test_notices(c);
    test_result_text_is_terminated(c);
    test_notice_limits(c);
    test_parameters_and_types(c);
    test_quoting(c);
    test_time_helpers(c);
    pp_conn_free(c);
    test_reset_and_states();
    return test_summary();
}
