/* SPDX-License-Identifier: MIT */
/* test_signals.c — a C caller's calls complete whatever signal handlers it has: with a 1 ms
 * SIGALRM timer (with SA_RESTART and without), 1000 pp_exec calls all return PP_OK, and so
 * do a connect, a pipelined batch and a COPY; only a connection made with
 * PP_CONNECT_INTERRUPTIBLE returns PP_PENDING on a signal (and, with PP_CONNECT_WAIT_SLICES,
 * every 100 ms, also while connecting and in COPY calls). */
#include "harness.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;

static void on_tick(int sig)
{
    (void)sig;
    ticks++;
}

static void start_timer(bool restart)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_tick;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 1000}, {0, 1000}}; /* every millisecond */
    setitimer(ITIMER_REAL, &it, NULL);
}

static void stop_timer(void)
{
    struct itimerval it = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &it, NULL);
    signal(SIGALRM, SIG_IGN); /* one may still be on its way (valgrind delivers late) */
}

static void calls_complete(bool restart)
{
    ticks = 0;
    start_timer(restart);
    pp_error *err = NULL;
    pp_conn *c = pp_connect(test_dsn(), 0, &err);
    CHECK(c != NULL);
    pp_error_free(err);
    err = NULL;
    if (c == NULL)
        return;
    int ok = 0, other = 0;
    for (int k = 0; k < 1000; k++) {
        pp_value p = {.tag = PP_INT, .i = k};
        pp_result *r = NULL;
        int rc = pp_exec(c, k % 100 == 0 ? "SELECT $1::int8, pg_sleep(0.005)" : "SELECT $1::int8",
                         1, &p, 0, &r, &err);
        pp_value v;
        if (rc == PP_OK && pp_result_value(r, 0, 0, &v, NULL) == PP_OK && v.i == k)
            ok++;
        else
            other++;
        pp_result_free(r);
        pp_error_free(err);
        err = NULL;
    }
    CHECK(ok == 1000 && other == 0);
    const char *sqls[] = {"SELECT pg_sleep(0.02)", "SELECT 1"};
    int64_t counts[2];
    CHECK_OK(pp_exec_batch(c, 2, sqls, counts, &err), err);
    CHECK_OK(pp_copy_out_start(c, "COPY (SELECT g FROM generate_series(1, 50000) g) TO STDOUT",
                               &err), err);
    const char *data;
    int64_t len, rows = 0, bytes = 0;
    int rc;
    while ((rc = pp_copy_out_read(c, &data, &len, &rows, &err)) == 1)
        bytes += len;
    CHECK(rc == 0 && rows == 50000 && bytes > 0);
    pp_error_free(err);
    stop_timer();
    CHECK(ticks > 10); /* the timer did fire during the calls */
    fprintf(stderr, "%s: %d signals during the calls\n", restart ? "SA_RESTART" : "no SA_RESTART",
            (int)ticks);
    pp_conn_free(c);
}

/* Asked for: a signal interrupts the wait (PP_PENDING) and pp_resume goes on. */
static void interruptible_connection_returns_pending(void)
{
    pp_conn *c = test_connect_flags(PP_CONNECT_INTERRUPTIBLE);
    interrupt_after(1);
    pp_result *r = NULL;
    pp_error *err = NULL;
    int rc = pp_exec(c, "SELECT pg_sleep(1.5)", 0, NULL, 0, &r, &err);
    CHECK(rc == PP_PENDING && err == NULL);
    while (rc == PP_PENDING)
        rc = pp_resume(c, &r, &err);
    CHECK(rc == PP_OK && r != NULL);
    pp_result_free(r);
    pp_error_free(err);
    pp_conn_free(c);
}

/* PP_CONNECT_WAIT_SLICES: the wait also ends after 500 ms without a signal (PP_PENDING), then
 * every 100 ms, so that the caller looks at a signal poll() missed; pp_resume goes on. */
static void wait_slices_return_pending(void)
{
    pp_conn *c = test_connect_flags(PP_CONNECT_INTERRUPTIBLE | PP_CONNECT_WAIT_SLICES);
    pp_result *r = NULL;
    pp_error *err = NULL;
    int pending = 0;
    int rc = pp_exec(c, "SELECT pg_sleep(1)", 0, NULL, 0, &r, &err);
    while (rc == PP_PENDING) {
        pending++;
        rc = pp_resume(c, &r, &err);
    }
    CHECK(rc == PP_OK && r != NULL && err == NULL);
    CHECK(pending >= 2 && pending <= 7); /* 500 ms, then 100 ms apart */
    pp_result_free(r);
    r = NULL;
    CHECK_OK(pp_exec(c, "SELECT 1", 0, NULL, 0, &r, &err), err); /* quick: no slice */
    pp_result_free(r);
    pp_conn_free(c);
}

/* A listening socket on 127.0.0.1 that nobody accepts on: the kernel completes the TCP
 * handshake, then the server never answers the startup. Writes its conninfo to buf. */
static int silent_server(char *buf, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 4) == 0 &&
          getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    snprintf(buf, cap, "host=127.0.0.1 port=%d user=x dbname=x sslmode=disable",
             (int)ntohs(a.sin_port));
    return fd;
}

/* Counts the PP_PENDING of a connect to a server that never answers, bounded by 1.5 s. */
static int connect_slices(const char *conninfo, uint32_t flags)
{
    pp_conn *c = NULL;
    pp_error *err = NULL;
    int pending = 0;
    int rc = pp_connect_start(conninfo, flags, 1500, &c, &err);
    while (rc == PP_PENDING) {
        pending++;
        rc = pp_connect_resume(c, &err);
    }
    CHECK(rc == PP_ERROR && pp_error_category(err) == PP_ERR_TIMEOUT);
    pp_error_free(err);
    pp_conn_free(c); /* pp_connect_resume's failure leaves the handle to the caller */
    return pending;
}

/* PP_CONNECT_WAIT_SLICES: a connect's wait returns PP_PENDING after 500 ms, then every
 * 100 ms (so a caller acts on a signal poll() missed); a half-open handle given up after
 * one is freed whole (valgrind, ASan). Without it, no PP_PENDING without a signal. */
static void connect_waits_in_slices(void)
{
    char conninfo[128];
    int fd = silent_server(conninfo, sizeof conninfo);
    int sliced = connect_slices(conninfo, PP_CONNECT_INTERRUPTIBLE | PP_CONNECT_WAIT_SLICES);
    CHECK(sliced >= 3 && sliced <= 12); /* 500 ms, then 100 ms apart, to 1500 ms */
    CHECK(connect_slices(conninfo, PP_CONNECT_INTERRUPTIBLE) == 0);
    pp_conn *c = NULL;
    pp_error *err = NULL;
    CHECK(pp_connect_start(conninfo, PP_CONNECT_INTERRUPTIBLE | PP_CONNECT_WAIT_SLICES, 0, &c,
                           &err) == PP_PENDING && c != NULL && err == NULL);
    pp_conn_free(c); /* given up half-open */
    close(fd);
}

/* Resumes a call left PP_PENDING until it ends: PP_OK or PP_ERROR (err set). *slices
 * counts the PP_PENDING. */
static int resume_all(pp_conn *c, pp_error **err, int *slices)
{
    int rc;
    pp_result *r = NULL;
    while ((rc = pp_resume(c, &r, err)) == PP_PENDING)
        ++*slices;
    pp_result_free(r);
    return rc;
}

/* rc of a call on an interruptible connection, finished: a stray signal (another test's
 * timer) may make any of its calls return PP_PENDING. */
static int settled(pp_conn *c, int rc, pp_error **err, int *slices)
{
    if (rc != PP_PENDING)
        return rc;
    ++*slices;
    return resume_all(c, err, slices);
}

/* pp_copy_out_read, finished the same way: 1 data, 0 end, -1 error. */
static int read_settled(pp_conn *c, const char **data, int64_t *len, int64_t *rows,
                        pp_error **err, int *slices)
{
    int rc = pp_copy_out_read(c, data, len, rows, err);
    if (rc != PP_COPY_DATA || *data != NULL)
        return rc;
    ++*slices;
    if (resume_all(c, err, slices) != PP_OK)
        return -1;
    return *data != NULL ? 1 : 0;
}

/* The SQLSTATE of err (freed), or "" */
static const char *state_of(pp_error *err, char *buf)
{
    snprintf(buf, 6, "%s", pp_error_sqlstate(err));
    pp_error_free(err);
    return buf;
}

/* PP_CONNECT_WAIT_SLICES: a COPY TO's wait for data ends in slices too (pp_copy_out_read
 * returns 1 with *data NULL, pp_resume goes on); a cancel asked meanwhile stops the COPY and
 * the connection stays usable. */
static void copy_to_waits_in_slices(void)
{
    pp_conn *c = test_connect_flags(PP_CONNECT_INTERRUPTIBLE | PP_CONNECT_WAIT_SLICES);
    pp_error *err = NULL;
    const char *data = NULL;
    int64_t len = 0, rows = 0;
    int slices = 0, none = 0;
    char st[6];
    /* ~100 KB of rows (the server sends them: more than its buffer), then it sleeps */
    const char *sql = "COPY (SELECT repeat('x', 100) FROM generate_series(1, 1000) "
                      "UNION ALL SELECT 'y' FROM pg_sleep(%d)) TO STDOUT";
    char buf[200];
    snprintf(buf, sizeof buf, sql, 1);
    CHECK(settled(c, pp_copy_out_start(c, buf, &err), &err, &slices) == PP_OK);
    int rc;
    while ((rc = read_settled(c, &data, &len, &rows, &err, &slices)) == 1)
        ;
    CHECK(rc == 0 && rows == 1001 && slices >= 1 && slices <= 7);

    snprintf(buf, sizeof buf, sql, 30);
    CHECK(settled(c, pp_copy_out_start(c, buf, &err), &err, &none) == PP_OK);
    while ((rc = pp_copy_out_read(c, &data, &len, &rows, &err)) == PP_COPY_DATA && data != NULL)
        ;
    CHECK(rc == PP_COPY_DATA && data == NULL); /* waiting for the sleep's row */
    CHECK_OK(pp_cancel(c, &err), err);
    CHECK(resume_all(c, &err, &none) == PP_ERROR && strcmp(state_of(err, st), "57014") == 0);
    err = NULL;
    CHECK(scalar(c, "SELECT 6") == 6);
    pp_conn_free(c);
}

/* The same for COPY FROM: the server waits for a row lock another connection holds, so
 * the sending waits for room; a cancel stops the COPY, pp_copy_end ends it, and the
 * connection stays usable. */
static void copy_from_waits_in_slices(void)
{
    pp_conn *c = test_connect_flags(PP_CONNECT_INTERRUPTIBLE | PP_CONNECT_WAIT_SLICES);
    pp_conn *holder = test_connect();
    pp_error *err = NULL;
    int none = 0;
    char st[6], table[32], sql[128];
    /* unique per process: test runs at once may share the server */
    snprintf(table, sizeof table, "slices_copy_%ld", (long)getpid());
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", table);
    pp_result_free(run(holder, sql));
    snprintf(sql, sizeof sql, "CREATE TABLE %s (id int PRIMARY KEY, pad text)", table);
    pp_result_free(run(holder, sql));
    pp_result_free(run(holder, "BEGIN"));
    snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (1, '')", table);
    pp_result_free(run(holder, sql));
    size_t n = 32u << 20, at = 0; /* more than every buffer on the way holds */
    char *data = malloc(n + 32);
    CHECK(data != NULL);
    for (int id = 1; at < n; id++) /* the first row waits for the holder's */
        at += (size_t)snprintf(data + at, 32, "%d\tx\n", id);
    snprintf(sql, sizeof sql, "COPY %s FROM STDIN", table);
    CHECK(settled(c, pp_copy_in_start(c, sql, &err), &err, &none) == PP_OK);
    CHECK(pp_copy_put(c, data, (int64_t)at, &err) == PP_PENDING && err == NULL);
    CHECK_OK(pp_cancel(c, &err), err);
    resume_all(c, &err, &none); /* PP_OK: the server drops the rest; or PP_ERROR */
    pp_error_free(err);
    err = NULL;
    CHECK(settled(c, pp_copy_end(c, "interrupted", NULL, &err), &err, &none) == PP_ERROR);
    CHECK(strcmp(state_of(err, st), "57014") == 0);
    err = NULL;
    CHECK(scalar(c, "SELECT 7") == 7);
    pp_result_free(run(holder, "ROLLBACK"));
    snprintf(sql, sizeof sql, "DROP TABLE %s", table);
    pp_result_free(run(holder, sql));
    free(data);
    pp_conn_free(holder);
    pp_conn_free(c);
}

static void *put_rows(void *arg)
{
    pp_conn *c = arg;
    int failed = 0;
    for (int k = 0; k < 3000; k++) {
        pp_error *err = NULL;
        int none = 0;
        if (settled(c, pp_copy_put(c, "1\n", 2, &err), &err, &none) != PP_OK) {
            if (failed++ == 0)
                fprintf(stderr, "pp_copy_put from a second thread: %s\n",
                        pp_error_message(err));
            pp_error_free(err);
        }
    }
    return (void *)(intptr_t)failed;
}

/* A blocking connection's COPY calls run on its fiber (with slices), but threads still take
 * turns as on any blocking call: another thread's pp_copy_put waits, it is not refused. */
static void copy_calls_from_two_threads_take_turns(void)
{
    pp_conn *c = test_connect_flags(PP_CONNECT_INTERRUPTIBLE | PP_CONNECT_WAIT_SLICES);
    pp_error *err = NULL;
    int64_t rows = 0;
    int none = 0;
    pp_result_free(run(c, "CREATE TEMP TABLE two_threads (x int)"));
    CHECK(settled(c, pp_copy_in_start(c, "COPY two_threads FROM STDIN", &err), &err, &none) ==
          PP_OK);
    pthread_t t[2];
    void *failed[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++)
        CHECK(pthread_create(&t[k], NULL, put_rows, c) == 0);
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], &failed[k]);
    CHECK(failed[0] == NULL && failed[1] == NULL);
    CHECK(settled(c, pp_copy_end(c, NULL, &rows, &err), &err, &none) == PP_OK && rows == 6000);
    pp_conn_free(c);
}

/* Not asked for: a signal during a long statement does not end it. */
static void plain_connection_waits_through_signals(void)
{
    pp_conn *c = test_connect();
    interrupt_after(1);
    pp_result *r = NULL;
    pp_error *err = NULL;
    CHECK_OK(pp_exec(c, "SELECT pg_sleep(1.5)", 0, NULL, 0, &r, &err), err);
    pp_result_free(r);
    pp_conn_free(c);
}

int main(void)
{
    calls_complete(true);
    calls_complete(false);
    interruptible_connection_returns_pending();
    wait_slices_return_pending();
    connect_waits_in_slices();
    copy_to_waits_in_slices();
    copy_from_waits_in_slices();
    copy_calls_from_two_threads_take_turns();
    plain_connection_waits_through_signals();
    return test_summary();
}
