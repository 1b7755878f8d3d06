/* SPDX-License-Identifier: MIT */
/* test_close_cancel.c — libpq 17's paths and their fallbacks (PP_LIBPQ_NEWER runs it again
 * with a newer libpq, see harness.h):
 *   - statements the cache evicts and pp_deallocate's are closed on the server: with libpq
 *     17+ at once (a protocol-level Close, also in a failed transaction), else by a
 *     DEALLOCATE once no transaction is open; none is left behind either way;
 *   - a cancel asked while the statement's Parse/Describe is answered (the server ignores
 *     it there) makes the statement fail with 57014 without running it: in nonblocking
 *     mode the call is held inside that wait, so the window is certain;
 *   - pp_cancel from another thread stops a running statement. */
#include "harness.h"

#include <poll.h>
#include <pthread.h>
#include <time.h>

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static bool native_close(void) { return pp_libpq_version() >= 170000; }

/* Runs sql with one int parameter; returns its one int value (-1 on error, counted). */
static int64_t run_int(pp_conn *c, const char *sql, int64_t arg, uint32_t flags)
{
    pp_value p = {.tag = PP_INT, .i = arg};
    pp_result *r = NULL;
    pp_error *err = NULL;
    int64_t out = -1;
    if (pp_exec(c, sql, arg < 0 ? 0 : 1, &p, flags, &r, &err) == PP_OK) {
        pp_value v = {0};
        if (pp_result_value(r, 0, 0, &v, &err) == PP_OK)
            out = v.i;
    }
    CHECK(err == NULL);
    if (err != NULL)
        fprintf(stderr, "  %s: %s\n", sql, pp_error_message(err));
    pp_error_free(err);
    pp_result_free(r);
    return out;
}

/* The statements of the cache on the server, counted by a statement made with pp_prepare
 * (running it looks nothing up, so it drops no statement waiting to be DEALLOCATEd). */
static int64_t cached_on_server(pp_conn *c)
{
    return run_int(c, "cached", -1, PP_EXEC_PREPARED);
}

static void twice(pp_conn *c, const char *sql)
{
    for (int k = 0; k < 2; k++) /* the second run prepares it by name, for the cache */
        CHECK(run_int(c, sql, 1, 0) == 2);
}

static void fails(pp_conn *c, const char *sql, const char *sqlstate)
{
    pp_result *r = NULL;
    pp_error *err = NULL;
    CHECK(pp_exec(c, sql, 0, NULL, 0, &r, &err) == PP_ERROR);
    CHECK(err != NULL && strcmp(pp_error_sqlstate(err), sqlstate) == 0);
    pp_error_free(err);
}

static void evictions_in_a_failed_transaction(void)
{
    pp_conn *c = test_connect();
    pp_error *err = NULL;
    CHECK_OK(pp_prepare(c, "cached", "SELECT count(*) FROM pg_prepared_statements "
                                     "WHERE name NOT LIKE 'pp_n%'", &err), err);
    CHECK_OK(pp_prepare(c, "mine", "SELECT 42", &err), err);
    CHECK_OK(pp_set_statement_cache_size(c, 1, &err), err);
    twice(c, "SELECT 1 + $1::int");
    CHECK(cached_on_server(c) == 1);
    pp_result_free(run(c, "BEGIN"));
    twice(c, "SELECT $1::int * 2"); /* evicts the first */
    fails(c, "SELECT 1 / 0", "22012"); /* a new statement: the first goes now (Close) */
    CHECK(pp_transaction_status(c) == PP_TRANS_INERROR);
    CHECK_OK(pp_set_statement_cache_size(c, 0, &err), err); /* evicts the second */
    CHECK_OK(pp_deallocate(c, "mine", &err), err);
    fails(c, "SELECT 3 + 4", "25P02");
    pp_result_free(run(c, "ROLLBACK"));
    /* Close went at once, in the failed transaction too; DEALLOCATE waited */
    CHECK(cached_on_server(c) == (native_close() ? 0 : 2));
    pp_result_free(run(c, "SELECT 'a new statement'"));
    CHECK(cached_on_server(c) == 0);
    CHECK(scalar(c, "SELECT count(*) FROM pg_prepared_statements") == 1); /* "cached" */
    pp_conn_free(c);
}

/* ---- a cancel during Parse/Describe ---- */

/* The state of the backend running `marker`'s statement: its wait event, as "ClientRead"
 * while it waits for the Bind after answering Parse/Describe, "PgSleep" once it runs. */
static bool backend_waits_for(pp_conn *watch, const char *marker, const char *event)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = '%s' "
                              "AND query LIKE '%%%s'", event, marker);
    return scalar(watch, sql) == 1;
}

static void cancel_during_describe(bool nonblocking_cancel)
{
    pp_conn *watch = test_connect();
    bool tried = false;
    for (int attempt = 0; attempt < 20 && !tried; attempt++) {
        pp_conn *c = test_connect();
        pp_error *err = NULL;
        CHECK_OK(pp_set_nonblocking(c, 1, &err), err);
        char sql[100], marker[40];
        snprintf(marker, sizeof marker, "AS describe_%d_%d", nonblocking_cancel, attempt);
        snprintf(sql, sizeof sql, "SELECT pg_sleep(10) %s", marker);
        pp_result *r = NULL;
        int rc = pp_exec(c, sql, 0, NULL, 0, &r, &err);
        /* the call waits in Parse/Describe unless the answer was there at once: try again */
        if (rc == PP_PENDING && backend_waits_for(watch, marker, "ClientRead")) {
            tried = true;
            int64_t t0 = now_ms();
            if (nonblocking_cancel) {
                int32_t fd = -1, ev = 0;
                int crc = pp_cancel_start(c, &fd, &ev, &err);
                while (crc == PP_PENDING) {
                    struct pollfd p = {.fd = fd, .events = (ev & PP_WAIT_READ) ? POLLIN : POLLOUT};
                    poll(&p, 1, 1000);
                    crc = pp_cancel_poll(c, &fd, &ev, &err);
                }
                CHECK_OK(crc, err);
            } else {
                CHECK_OK(pp_cancel(c, &err), err);
            }
            sleep_ms(300); /* the server has taken the request, and ignored it */
            while (rc == PP_PENDING) {
                struct pollfd p = {.fd = pp_socket(c), .events = POLLIN | POLLOUT};
                poll(&p, 1, 1000);
                rc = pp_resume(c, &r, &err);
            }
            CHECK(rc == PP_ERROR && err != NULL && strcmp(pp_error_sqlstate(err), "57014") == 0);
            CHECK(now_ms() - t0 < 5000); /* not the 10 s of the statement */
            CHECK(!backend_waits_for(watch, marker, "PgSleep"));
            pp_error_free(err);
            err = NULL;
            CHECK_OK(pp_set_nonblocking(c, 0, &err), err);
            CHECK(run_int(c, "SELECT $1::int + 1", 41, 0) == 42); /* usable */
            CHECK(pp_transaction_status(c) == PP_TRANS_IDLE);
        } else {
            if (rc == PP_PENDING)
                CHECK_OK(pp_cancel(c, &err), err); /* missed the window: end it */
            while (rc == PP_PENDING) {
                struct pollfd p = {.fd = pp_socket(c), .events = POLLIN | POLLOUT};
                poll(&p, 1, 1000);
                rc = pp_resume(c, &r, &err);
            }
            pp_error_free(err);
        }
        pp_result_free(r);
        pp_conn_free(c);
    }
    CHECK(tried);
    pp_conn_free(watch);
}

/* ---- pp_cancel from another thread ---- */

static void *cancel_later(void *arg)
{
    sleep_ms(500);
    pp_error *err = NULL;
    CHECK_OK(pp_cancel(arg, &err), err);
    return NULL;
}

static void cancel_from_another_thread(void)
{
    pp_conn *c = test_connect();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, cancel_later, c) == 0);
    int64_t t0 = now_ms();
    fails(c, "SELECT pg_sleep(10)", "57014");
    CHECK(now_ms() - t0 < 5000);
    pthread_join(t, NULL);
    CHECK(scalar(c, "SELECT 1") == 1);
    pp_conn_free(c);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (newer_libpq_run())
        CHECK(pp_libpq_version() >= 170000);
    evictions_in_a_failed_transaction();
    cancel_during_describe(false);
    cancel_during_describe(true);
    cancel_from_another_thread();
    run_again_with_newer_libpq(argv);
    return test_summary();
}
