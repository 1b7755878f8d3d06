/* SPDX-License-Identifier: MIT */
/* test_nonblock.c — the nonblocking API driven by an event loop: poll() for one connection
 * (connect, a multi-host connect past a dead host, statements with parameters, chunked
 * results, pipelined batches, COPY in and out, prepare, timeouts, cancel, close, LISTEN/NOTIFY
 * during a query and while idle, the queue's overflow), then epoll() with several
 * connections at once. */
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static short poll_events(int32_t ev)
{
    return (short)(((ev & PP_WAIT_READ) ? POLLIN : 0) | ((ev & PP_WAIT_WRITE) ? POLLOUT : 0));
}

/* One wait of the event loop for conn's unfinished call. */
static void wait_for(pp_conn *c)
{
    int32_t ev = pp_wait_events(c);
    CHECK(ev != 0);
    struct pollfd p = {.fd = pp_socket(c), .events = poll_events(ev)};
    int32_t t = pp_wait_timeout_ms(c);
    if (poll(&p, 1, t < 0 || t > 10000 ? 10000 : t) < 0)
        CHECK(errno == EINTR);
}

static int pendings; /* PP_PENDING seen by finish(): proof that calls did not wait */

/* Drives the call that returned rc to its end. */
static int finish(pp_conn *c, int rc, pp_result **r, pp_error **err)
{
    while (rc == PP_PENDING) {
        pendings++;
        wait_for(c);
        rc = pp_resume(c, r, err);
    }
    return rc;
}

static pp_conn *nb_connect(const char *dsn, pp_error **err)
{
    pp_conn *c = NULL;
    int rc = pp_connect_start(dsn, PP_CONNECT_NONBLOCKING, 0, &c, err);
    CHECK(rc == PP_PENDING || rc == PP_ERROR);
    while (rc == PP_PENDING) {
        wait_for(c);
        rc = pp_connect_resume(c, err);
    }
    if (rc != PP_OK) {
        pp_conn_free(c);
        return NULL;
    }
    CHECK(pp_is_nonblocking(c) == 1 && pp_wait_events(c) == 0);
    return c;
}

static pp_result *nb_exec(pp_conn *c, const char *sql, int32_t n, const pp_value *p)
{
    pp_result *r = NULL;
    pp_error *err = NULL;
    int rc = finish(c, pp_exec(c, sql, n, p, 0, &r, &err), &r, &err);
    CHECK(rc == PP_OK);
    if (rc != PP_OK)
        fprintf(stderr, "  %s: %s\n", sql, pp_error_message(err));
    pp_error_free(err);
    return r;
}

static void statements_with_parameters(pp_conn *c)
{
    pendings = 0;
    for (int k = 0; k < 3; k++) { /* unnamed, then prepared by the cache, then cached */
        pp_value p[2] = {{.tag = PP_INT, .i = 40 + k}, {.tag = PP_TEXT, .ptr = "ab", .len = 2}};
        /* the sleep: the answer cannot be there before the first wait */
        pp_result *r = nb_exec(c, "SELECT $1::int4 + 2, $2::text || 'c', pg_sleep(0.05)", 2, p);
        pp_value v;
        CHECK(r != NULL && pp_result_value(r, 0, 0, &v, NULL) == PP_OK && v.i == 42 + k);
        CHECK(r != NULL && pp_result_value(r, 0, 1, &v, NULL) == PP_OK && v.len == 3 &&
              memcmp(v.ptr, "abc", 3) == 0);
        pp_result_free(r);
    }
    CHECK(pendings >= 3); /* each waited for the server in the caller's loop */
    /* a server error comes back through pp_resume */
    pp_result *r = NULL;
    pp_error *err = NULL;
    int rc = finish(c, pp_exec(c, "SELECT 1/0", 0, NULL, 0, &r, &err), &r, &err);
    CHECK(rc == PP_ERROR && r == NULL && strcmp(pp_error_sqlstate(err), "22012") == 0);
    pp_error_free(err);
    /* while a call is unfinished, another is refused */
    err = NULL;
    rc = pp_exec(c, "SELECT pg_sleep(0.2)", 0, NULL, 0, &r, &err);
    CHECK(rc == PP_PENDING);
    pp_result *r2 = NULL;
    pp_error *err2 = NULL;
    CHECK(pp_exec(c, "SELECT 1", 0, NULL, 0, &r2, &err2) == PP_ERROR &&
          pp_error_category(err2) == PP_ERR_INTERFACE);
    pp_error_free(err2);
    CHECK(finish(c, rc, &r, &err) == PP_OK);
    pp_result_free(r);
}

static void chunked_results(pp_conn *c)
{
    pp_result *r = NULL;
    pp_error *err = NULL;
    pp_result_info info;
    pp_column cols[2];
    int64_t rows = 0, sum = 0, chunks = 0;
    int rc = pp_query(c, "SELECT g FROM generate_series(1, 200000) g", 0, NULL, PP_EXEC_CHUNKED,
                      &r, &info, cols, 2, &err);
    for (;;) {
        while (rc == PP_PENDING) {
            wait_for(c);
            rc = pp_query_next(c, &r, &info, cols, 2, &err);
        }
        if (rc != PP_MORE && rc != PP_OK)
            break;
        chunks++;
        rows += info.nrows;
        for (int64_t k = 0; k < info.nrows; k++)
            sum += cols[0].ints[k];
        pp_result_free(r);
        r = NULL;
        if (rc == PP_OK)
            break;
        rc = pp_query_next(c, &r, &info, cols, 2, &err);
    }
    CHECK(rc == PP_OK && rows == 200000 && sum == (int64_t)200000 * 200001 / 2 && chunks > 1);
    pp_error_free(err);
}

static void pipelined_batches(pp_conn *c)
{
    pp_result_free(nb_exec(c, "CREATE TEMP TABLE nb_t (k int8, s text)", 0, NULL));
    enum { N = 2000 };
    pp_value *params = calloc(2 * N, sizeof *params);
    for (int k = 0; k < N; k++) {
        params[2 * k] = (pp_value){.tag = PP_INT, .i = k};
        params[2 * k + 1] = (pp_value){.tag = PP_TEXT, .ptr = "row", .len = 3};
    }
    int64_t affected = -1;
    pp_error *err = NULL;
    pp_result *r = NULL;
    int rc = pp_exec_many(c, "INSERT INTO nb_t VALUES ($1, $2)", 2, N, params, &affected, &err);
    rc = finish(c, rc, &r, &err);
    CHECK(rc == PP_OK && r == NULL && affected == N);
    pp_error_free(err);
    err = NULL;
    free(params);
    const char *sqls[] = {"UPDATE nb_t SET s = 'x' WHERE k < 10", "DELETE FROM nb_t WHERE k >= 1000",
                          "SELECT pg_sleep(0.05)"};
    int64_t counts[3];
    rc = finish(c, pp_exec_batch(c, 3, sqls, counts, &err), &r, &err);
    CHECK(rc == PP_OK && counts[0] == 10 && counts[1] == 1000);
    pp_error_free(err);
    err = NULL;
    /* a failing row: nothing kept, the index named */
    pp_value bad[2] = {{.tag = PP_INT, .i = 1}, {.tag = PP_TEXT, .ptr = "x", .len = 1}};
    rc = finish(c, pp_exec_many(c, "INSERT INTO nb_t VALUES (1 / ($1 - 1), 'y')", 1, 2, bad,
                                NULL, &err), &r, &err);
    CHECK(rc == PP_ERROR && pp_error_index(err) == 0);
    pp_error_free(err);
}

static void copy_in_and_out(pp_conn *c)
{
    pp_result_free(nb_exec(c, "CREATE TEMP TABLE nb_copy (k int8, s text)", 0, NULL));
    pp_error *err = NULL;
    pp_result *r = NULL;
    CHECK(finish(c, pp_copy_in_start(c, "COPY nb_copy FROM STDIN", &err), &r, &err) == PP_OK);
    enum { ROWS = 50000 };
    static pp_value vals[2 * 1000];
    for (int k = 0; k < 1000; k++) {
        vals[2 * k] = (pp_value){.tag = PP_INT, .i = k};
        vals[2 * k + 1] = (pp_value){.tag = PP_TEXT, .ptr = "some text to make it longer",
                                     .len = 27};
    }
    bool ok = true;
    for (int b = 0; b < ROWS / 1000 && ok; b++)
        ok = finish(c, pp_copy_put_rows(c, 2, 1000, vals, &err), &r, &err) == PP_OK;
    CHECK(ok);
    int64_t rows = -1;
    CHECK(finish(c, pp_copy_end(c, NULL, &rows, &err), &r, &err) == PP_OK && rows == ROWS);
    pp_error_free(err);
    err = NULL;
    /* out: 1 with data, 1 with *data NULL (pending), 0 at the end */
    CHECK(finish(c, pp_copy_out_start(c, "COPY nb_copy TO STDOUT", &err), &r, &err) == PP_OK);
    const char *data = NULL;
    int64_t len = 0, bytes = 0, got_rows = -1;
    for (;;) {
        int rc = pp_copy_out_read(c, &data, &len, &got_rows, &err);
        if (rc == 1 && data == NULL) { /* PP_PENDING */
            do {
                wait_for(c);
                rc = pp_resume(c, &r, &err);
            } while (rc == PP_PENDING);
            CHECK(rc == PP_OK);
            if (rc != PP_OK)
                break;
            rc = data != NULL ? 1 : 0;
        }
        if (rc != 1)
            break;
        bytes += len;
    }
    CHECK(got_rows == ROWS && bytes > ROWS * 30);
    pp_error_free(err);
}

static void prepare_and_deallocate(pp_conn *c)
{
    pp_error *err = NULL;
    pp_result *r = NULL;
    CHECK(finish(c, pp_prepare(c, "nb_p", "SELECT $1::int8 * 2", &err), &r, &err) == PP_OK);
    pp_value p = {.tag = PP_INT, .i = 21};
    int rc = finish(c, pp_exec(c, "nb_p", 1, &p, PP_EXEC_PREPARED, &r, &err), &r, &err);
    pp_value v;
    CHECK(rc == PP_OK && pp_result_value(r, 0, 0, &v, NULL) == PP_OK && v.i == 42);
    pp_result_free(r);
    r = NULL;
    CHECK(finish(c, pp_deallocate(c, "nb_p", &err), &r, &err) == PP_OK);
    CHECK(finish(c, pp_set_statement_cache_size(c, 0, &err), &r, &err) == PP_OK);
    CHECK(finish(c, pp_set_statement_cache_size(c, 256, &err), &r, &err) == PP_OK);
    pp_error_free(err);
}

/* host list: a dead TCP port first, then the test server */
static void multi_host_connect(pp_conn *c)
{
    char *host = pp_conn_info(c, "host"), *port = pp_conn_info(c, "port");
    char *db = pp_conn_info(c, "dbname"), *user = pp_conn_info(c, "user");
    char dsn[1024];
    snprintf(dsn, sizeof dsn, "host=127.0.0.1,%s hostaddr=127.0.0.1, port=1,%s dbname=%s user=%s",
             host, port, db, user);
    pp_error *err = NULL;
    pp_conn *c2 = nb_connect(dsn, &err);
    CHECK(c2 != NULL);
    if (c2 == NULL)
        fprintf(stderr, "  multi-host: %s\n", pp_error_message(err));
    pp_error_free(err);
    if (c2 != NULL) {
        char *h = pp_conn_info(c2, "host");
        CHECK(h != NULL && strcmp(h, host) == 0);
        pp_free(h);
        pp_result_free(nb_exec(c2, "SELECT 1", 0, NULL));
    }
    pp_conn_free(c2);
    /* only dead hosts: fails; bounded by connect_timeout, which the library enforces */
    err = NULL;
    int64_t t0 = now_ms();
    c2 = nb_connect("host=10.255.255.1 hostaddr=10.255.255.1 port=5432 connect_timeout=1",
                    &err);
    CHECK(c2 == NULL && now_ms() - t0 < 4000);
    CHECK(err != NULL && pp_error_category(err) != PP_ERR_NONE);
    pp_error_free(err);
    pp_free(host);
    pp_free(port);
    pp_free(db);
    pp_free(user);
}

static bool is_fifo(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* pp_cancel_start/pp_cancel_poll stop a pg_sleep without blocking. newer_libpq_run() (the
 * test runs with libpq 17+) says which form must be used. */
static void cancel_without_blocking(pp_conn *c)
{
    pp_result *r = NULL;
    pp_error *err = NULL;
    int64_t t0 = now_ms();
    int rc = pp_exec(c, "SELECT pg_sleep(30) AS nb_cancel_me", 0, NULL, 0, &r, &err);
    CHECK(rc == PP_PENDING);
    /* drive it until the server runs it (a cancel before that cancels nothing) */
    pp_conn *watch = test_connect();
    for (int k = 0; k < 100 && rc == PP_PENDING; k++) {
        pp_result *a = run(watch, "SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                                  "AND query LIKE '%AS nb_cancel_me'");
        bool active = a != NULL && pp_result_nrows(a) == 1;
        pp_result_free(a);
        if (active)
            break;
        struct pollfd p = {.fd = pp_socket(c), .events = poll_events(pp_wait_events(c))};
        poll(&p, 1, 50);
        rc = pp_resume(c, &r, &err);
    }
    pp_conn_free(watch);
    CHECK(rc == PP_PENDING);
    int32_t fd = -1, ev = 0;
    int crc = pp_cancel_start(c, &fd, &ev, &err);
    if (crc == PP_PENDING)
        CHECK(newer_libpq_run() ? !is_fifo(fd) : is_fifo(fd));
    while (crc == PP_PENDING) {
        struct pollfd p = {.fd = fd, .events = poll_events(ev)};
        poll(&p, 1, 5000);
        crc = pp_cancel_poll(c, &fd, &ev, &err);
    }
    CHECK(crc == PP_OK);
    rc = finish(c, rc, &r, &err);
    CHECK(rc == PP_ERROR && strcmp(pp_error_sqlstate(err), "57014") == 0);
    if (rc != PP_ERROR || strcmp(pp_error_sqlstate(err), "57014") != 0)
        fprintf(stderr, "  cancel: rc %d %s\n", rc, err ? pp_error_message(err) : "");
    CHECK(now_ms() - t0 < 5000);
    pp_error_free(err);
    err = NULL;
    CHECK(pp_cancel_poll(c, &fd, &ev, &err) == PP_ERROR); /* none in flight */
    pp_error_free(err);
    pp_result_free(nb_exec(c, "SELECT 1", 0, NULL)); /* usable */
}

static void timeout_in_the_loop(pp_conn *c)
{
    pp_error *err = NULL;
    pp_result *r = NULL;
    CHECK_OK(pp_set_timeout(c, 300, &err), err);
    int64_t t0 = now_ms();
    int rc = pp_exec(c, "SELECT pg_sleep(10)", 0, NULL, 0, &r, &err);
    CHECK(rc == PP_PENDING && pp_wait_timeout_ms(c) >= 0 && pp_wait_timeout_ms(c) <= 300);
    rc = finish(c, rc, &r, &err);
    CHECK(rc == PP_ERROR && strcmp(pp_error_sqlstate(err), "57014") == 0 &&
          strstr(pp_error_message(err), "timeout") != NULL);
    CHECK(now_ms() - t0 < 3000);
    pp_error_free(err);
    err = NULL;
    CHECK_OK(pp_set_timeout(c, 0, &err), err);
    pp_result_free(nb_exec(c, "SELECT 1", 0, NULL));
}

/* pp_set_idle_wait: the next call waits in itself, on its socket and the caller's
 * descriptor, before it returns PP_PENDING; never past the time given, and not at all once
 * that descriptor is readable; the setting ends with the call. */
static void idle_waits(pp_conn *c)
{
    pp_error *err = NULL;
    pp_result *r = NULL;
    int fds[2];
    CHECK(pipe(fds) == 0);
    CHECK(pp_set_idle_wait(NULL, -1, 10) == PP_ERROR);
    /* the answer comes within the time: the call ends without returning PP_PENDING */
    CHECK(pp_set_idle_wait(c, fds[0], 5000) == PP_OK);
    CHECK(pp_exec(c, "SELECT pg_sleep(0.05)", 0, NULL, 0, &r, &err) == PP_OK && r != NULL);
    pp_result_free(r);
    r = NULL;
    /* the setting stays: the next call's bound counts from its own start (the first
     * call's 50 ms do not shorten it) */
    CHECK(pp_exec(c, "SELECT pg_sleep(0.05)", 0, NULL, 0, &r, &err) == PP_OK && r != NULL);
    pp_result_free(r);
    r = NULL;
    /* until turned off: then a call returns PP_PENDING */
    CHECK(pp_set_idle_wait(c, fds[0], 0) == PP_OK);
    int rc = pp_exec(c, "SELECT pg_sleep(0.05)", 0, NULL, 0, &r, &err);
    CHECK(rc == PP_PENDING);
    CHECK(finish(c, rc, &r, &err) == PP_OK);
    pp_result_free(r);
    r = NULL;
    /* the caller's descriptor is readable: PP_PENDING at once */
    CHECK(write(fds[1], "x", 1) == 1);
    CHECK(pp_set_idle_wait(c, fds[0], 5000) == PP_OK);
    int64_t t0 = now_ms();
    rc = pp_exec(c, "SELECT pg_sleep(0.3)", 0, NULL, 0, &r, &err);
    CHECK(rc == PP_PENDING && now_ms() - t0 < 250);
    CHECK(finish(c, rc, &r, &err) == PP_OK);
    pp_result_free(r);
    r = NULL;
    /* the time is up: PP_PENDING then */
    CHECK(pp_set_idle_wait(c, -1, 30) == PP_OK);
    t0 = now_ms();
    rc = pp_exec(c, "SELECT pg_sleep(0.5)", 0, NULL, 0, &r, &err);
    int64_t took = now_ms() - t0;
    CHECK(rc == PP_PENDING && took >= 25 && took < 450);
    CHECK(finish(c, rc, &r, &err) == PP_OK);
    pp_result_free(r);
    CHECK(pp_set_idle_wait(c, -1, 0) == PP_OK); /* off for the tests after this one */
    close(fds[0]);
    close(fds[1]);
}

static void close_while_pending(void)
{
    pp_error *err = NULL;
    pp_conn *c = nb_connect(test_dsn(), &err);
    pp_result *r = NULL;
    CHECK(pp_exec(c, "SELECT pg_sleep(30)", 0, NULL, 0, &r, &err) == PP_PENDING);
    int64_t t0 = now_ms();
    pp_close(c);
    CHECK(now_ms() - t0 < 6000 && pp_is_closed(c) == 1);
    CHECK(pp_resume(c, &r, &err) == PP_ERROR && pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
    pp_conn_free(c);
}

/* The channel: unique per process, since test runs at once may share the server. */
static char nb_chan[32];

static int64_t drain_notifications(pp_conn *c, const char *want_payload)
{
    int64_t n = 0;
    pp_notify *note = NULL;
    pp_error *err = NULL;
    while (pp_notify_take(c, &note, &err) == PP_OK && note != NULL) {
        CHECK(strcmp(note->channel, nb_chan) == 0 && note->pid > 0);
        if (want_payload != NULL)
            CHECK(strcmp(note->payload, want_payload) == 0);
        n++;
        pp_notify_free(note);
    }
    return n;
}

static void notifications(pp_conn *c)
{
    pp_conn *other = test_connect();
    char sql[256];
    snprintf(nb_chan, sizeof nb_chan, "nb_chan_%ld", (long)getpid());
    snprintf(sql, sizeof sql, "LISTEN %s", nb_chan);
    pp_result_free(nb_exec(c, sql, 0, NULL));
    /* sent during a long query: the server delivers it when the query's transaction ends,
     * and the call's own reading collects it (no pp_consume_input needed) */
    pp_result *r = NULL;
    pp_error *err = NULL;
    int rc = pp_exec(c, "SELECT pg_sleep(0.5)", 0, NULL, 0, &r, &err);
    CHECK(rc == PP_PENDING);
    snprintf(sql, sizeof sql, "NOTIFY %s, 'during'", nb_chan);
    pp_result_free(run(other, sql));
    CHECK(finish(c, rc, &r, &err) == PP_OK);
    pp_result_free(r);
    CHECK(pp_notify_count(c) == 1 && drain_notifications(c, "during") == 1);
    /* while idle: the socket turns readable, pp_consume_input reads it */
    snprintf(sql, sizeof sql, "NOTIFY %s, 'idle'", nb_chan);
    pp_result_free(run(other, sql));
    struct pollfd p = {.fd = pp_socket(c), .events = POLLIN};
    CHECK(poll(&p, 1, 5000) == 1);
    CHECK_OK(pp_consume_input(c, &err), err);
    CHECK(pp_notify_count(c) == 1 && drain_notifications(c, "idle") == 1);
    /* overflow: counted, never silent */
    CHECK_OK(pp_set_notify_limit(c, 3, &err), err);
    snprintf(sql, sizeof sql, "BEGIN; NOTIFY %s, '1'; NOTIFY %s, '2'; NOTIFY %s, '3'; "
             "NOTIFY %s, '4'; NOTIFY %s, '5'; COMMIT", nb_chan, nb_chan, nb_chan, nb_chan,
             nb_chan);
    pp_result_free(run(other, sql));
    pp_result_free(nb_exec(c, "SELECT pg_sleep(0.2)", 0, NULL)); /* they arrive meanwhile */
    CHECK(pp_notify_count(c) == 3 && pp_notify_dropped(c) == 2);
    CHECK(drain_notifications(c, NULL) == 3);
    pp_conn_free(other);
}

/* ---- several connections in one epoll loop ---- */

enum { NCONN = 4, PER_CONN = 60 };

typedef struct job {
    pp_conn *c;
    int done;       /* statements finished */
    int wrong;
    bool busy;      /* a call is unfinished */
    char token[32];
    pp_value param; /* borrowed by the call until it ends: kept here, not on the stack */
} job;

static void job_next(job *j, int epfd);

/* The outcome of job j's current statement. */
static void job_took(job *j, int rc, pp_result *r, pp_error *err)
{
    pp_value v;
    if (rc != PP_OK || pp_result_value(r, 0, 0, &v, NULL) != PP_OK ||
        v.len != (int64_t)strlen(j->token) || memcmp(v.ptr, j->token, (size_t)v.len) != 0) {
        j->wrong++;
        fprintf(stderr, "  job %p statement %d: rc %d, %s\n", (void *)j, j->done, rc,
                err != NULL ? pp_error_message(err) : "wrong value");
    }
    pp_result_free(r);
    pp_error_free(err);
    j->done++;
    j->busy = false;
}

static void job_arm(job *j, int epfd)
{
    struct epoll_event e = {.events = 0, .data.ptr = j};
    int32_t ev = pp_wait_events(j->c);
    e.events = ((ev & PP_WAIT_READ) ? EPOLLIN : 0) | ((ev & PP_WAIT_WRITE) ? EPOLLOUT : 0);
    CHECK(epoll_ctl(epfd, EPOLL_CTL_MOD, pp_socket(j->c), &e) == 0);
}

static void job_next(job *j, int epfd)
{
    while (j->done < PER_CONN) {
        snprintf(j->token, sizeof j->token, "%p-%d", (void *)j, j->done);
        j->param = (pp_value){.tag = PP_TEXT, .ptr = j->token,
                              .len = (int64_t)strlen(j->token)};
        pp_result *r = NULL;
        pp_error *err = NULL;
        int rc = pp_exec(j->c, j->done % 10 == 9 ? "SELECT $1::text, pg_sleep(0.01)"
                                                 : "SELECT $1::text", 1, &j->param, 0, &r, &err);
        if (rc == PP_PENDING) {
            j->busy = true;
            job_arm(j, epfd);
            return;
        }
        job_took(j, rc, r, err);
    }
}

static void epoll_several_connections(void)
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    job jobs[NCONN] = {0};
    for (int k = 0; k < NCONN; k++) {
        pp_error *err = NULL;
        jobs[k].c = nb_connect(test_dsn(), &err);
        CHECK(jobs[k].c != NULL);
        pp_error_free(err);
        if (jobs[k].c == NULL)
            return;
        struct epoll_event e = {.events = 0, .data.ptr = &jobs[k]};
        CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, pp_socket(jobs[k].c), &e) == 0);
    }
    for (int k = 0; k < NCONN; k++)
        job_next(&jobs[k], epfd);
    int64_t until = now_ms() + 60000;
    int active = NCONN;
    while (active > 0 && now_ms() < until) {
        struct epoll_event evs[NCONN];
        int n = epoll_wait(epfd, evs, NCONN, 1000);
        for (int k = 0; k < n; k++) {
            job *j = evs[k].data.ptr;
            pp_result *r = NULL;
            pp_error *err = NULL;
            int rc = pp_resume(j->c, &r, &err);
            if (rc == PP_PENDING) {
                job_arm(j, epfd);
                continue;
            }
            job_took(j, rc, r, err);
            job_next(j, epfd);
        }
        active = 0;
        for (int k = 0; k < NCONN; k++)
            active += jobs[k].busy || jobs[k].done < PER_CONN;
    }
    for (int k = 0; k < NCONN; k++) {
        CHECK(jobs[k].done == PER_CONN && jobs[k].wrong == 0);
        if (jobs[k].done != PER_CONN || jobs[k].wrong != 0)
            fprintf(stderr, "  job %d: %d done, %d wrong\n", k, jobs[k].done, jobs[k].wrong);
        pp_conn_free(jobs[k].c);
    }
    close(epfd);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (newer_libpq_run())
        CHECK(pp_libpq_version() >= 170000);
    pp_error *err = NULL;
    pp_conn *c = nb_connect(test_dsn(), &err);
    if (c == NULL) {
        fprintf(stderr, "nonblocking connect failed: %s\n", pp_error_message(err));
        return 1;
    }
    statements_with_parameters(c);
    chunked_results(c);
    pipelined_batches(c);
    copy_in_and_out(c);
    prepare_and_deallocate(c);
    multi_host_connect(c);
    cancel_without_blocking(c);
    timeout_in_the_loop(c);
    notifications(c);
    idle_waits(c);
    close_while_pending();
    epoll_several_connections();
    /* pp_reset would wait for its connect: refused in this mode, the connection still works */
    CHECK(pp_reset(c, &err) == PP_ERROR && err != NULL &&
          pp_error_category(err) == PP_ERR_INTERFACE);
    pp_error_free(err);
    err = NULL;
    /* back to blocking: the same connection, ordinary calls */
    CHECK_OK(pp_set_nonblocking(c, 0, &err), err);
    pp_result_free(run(c, "SELECT 1"));
    CHECK(pp_ping(c) == 1);
    pp_conn_free(c);
    run_again_with_newer_libpq(argv);
    return test_summary();
}
