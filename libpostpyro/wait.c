/* SPDX-License-Identifier: MIT */
/* wait.c — every wait on the server's socket: the deadline of a call (pp_set_timeout), what
 * happens when it passes (a cancel request, a grace period, then the connection is dropped),
 * cancel requests bounded in time, and the rule that a connection the server closed ends
 * every wait. */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* After a timeout's cancel request, how long the server has to answer before the
 * connection is given up. */
#define CANCEL_GRACE_MS 1000
/* pp_cancel waits this long for the server to take a cancel request when no timeout is set. */
#define CANCEL_WAIT_MS 5000
/* With PP_CONNECT_WAIT_SLICES an interruptible wait in pp_resume also ends this often
 * (PP__WAIT_SLICE): poll() sees only a signal that comes while it waits; one that came while
 * the thread ran elsewhere (in libpq's own wait to send, which goes on after EINTR, or just
 * before the poll) would wait for the statement's end. The caller runs its signal handlers
 * at each slice. */
#define SLICE_MS 100
/* The first slice of a call is longer: what a call does with the answer (e.g. prepare a
 * statement whose cached plan went stale again and retry it) it can only do before it has
 * returned PP_PENDING, and an answer rarely takes this long. */
#define FIRST_SLICE_MS 500
/* A cancel asked while a statement runs is sent again this often until the statement ends. */
#define RESEND_MS 200
/* In nonblocking mode, how often a call that waits for a late cancel request looks again
 * whether it has been delivered. */
#define SETTLE_STEP_MS 10

int64_t pp__now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int64_t pp__slice_end(bool resumed)
{
    return pp__now_ms() + (resumed ? SLICE_MS : FIRST_SLICE_MS);
}

static void settle_late_cancel_nb(pp_conn *conn, int32_t wait_ms);

void pp__arm_deadline(pp_conn *conn)
{
    if (conn->late_cancel != NULL && atomic_load(&conn->nonblocking) &&
        pp__fiber_current(atomic_load(&conn->fiber)))
        settle_late_cancel_nb(conn, pp__cancel_wait_ms(conn)); /* ends with it settled */
    else
        pp__settle_late_cancel(conn, pp__cancel_wait_ms(conn));
    int32_t ms = atomic_load(&conn->timeout_ms);
    conn->deadline_ms = ms > 0 ? pp__now_ms() + ms : 0;
    conn->cancel_sent = false;
    conn->cancel_asks_seen = atomic_load(&conn->cancel_asks);
    conn->interrupted = false;
    pp_error_free(conn->wait_error);
    conn->wait_error = NULL;
}

void pp__shutdown_socket(pp_conn *conn)
{
    pthread_mutex_lock(&conn->cancel_lock);
    if (conn->sock >= 0)
        shutdown(conn->sock, SHUT_RDWR); /* wakes every poll on it; libpq then reads EOF */
    pthread_mutex_unlock(&conn->cancel_lock);
}

/* ---- cancel requests on a helper thread ---- */

/* One cancel request; shared by the caller and the thread that sends it. */
typedef struct pp__cancel_req {
    pthread_mutex_t mu;
    pthread_cond_t done_cv;
    int refs;
    int wake_fd;          /* written to once done, or -1 */
    bool done;
    int ok;
    char msg[256];
    pp__canceller *c;
} cancel_req;

void pp__canceller_unref(pp__canceller *c)
{
    if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1)
        pp__canceller_free(c);
}

static void req_unref(cancel_req *r)
{
    pthread_mutex_lock(&r->mu);
    int left = --r->refs;
    pthread_mutex_unlock(&r->mu);
    if (left == 0) {
        if (r->wake_fd >= 0)
            close(r->wake_fd);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->done_cv);
        pp__canceller_unref(r->c);
        free(r);
    }
}

static void *cancel_thread(void *arg)
{
    cancel_req *r = arg;
    char buf[256] = "";
    int ok = pp__canceller_send(r->c, buf, sizeof buf); /* may block on a dead network */
    pthread_mutex_lock(&r->mu);
    r->ok = ok;
    memcpy(r->msg, buf, sizeof r->msg);
    r->done = true;
    pthread_cond_signal(&r->done_cv);
    if (r->wake_fd >= 0) /* under mu: the fd is closed only after finish took the request */
        (void)!write(r->wake_fd, "", 1);
    pthread_mutex_unlock(&r->mu);
    req_unref(r);
    return NULL;
}

/* Starts the thread that sends r, with every signal blocked (signals belong to the caller's
 * threads: Ctrl-C must interrupt the caller's wait, not this one). */
static bool start_cancel_thread(cancel_req *r)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return false;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    bool started = pthread_create(&t, &attr, cancel_thread, r) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return started;
}

cancel_req *pp__cancel_start(pp__canceller *c, char *msg, size_t cap)
{
    return pp__cancel_start_fd(c, -1, msg, cap);
}

cancel_req *pp__cancel_start_fd(pp__canceller *c, int wake_fd, char *msg, size_t cap)
{
    cancel_req *r = calloc(1, sizeof *r);
    if (r == NULL) {
        if (wake_fd >= 0)
            close(wake_fd);
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
    r->wake_fd = wake_fd;
    pthread_condattr_t ca;
    bool inited = pthread_condattr_init(&ca) == 0;
    if (inited && (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
                   pthread_cond_init(&r->done_cv, &ca) != 0))
        inited = false;
    if (inited)
        pthread_condattr_destroy(&ca);
    if (!inited || pthread_mutex_init(&r->mu, NULL) != 0) {
        if (inited)
            pthread_cond_destroy(&r->done_cv);
        if (wake_fd >= 0)
            close(wake_fd);
        free(r);
        snprintf(msg, cap, "cannot set up a cancel request");
        return NULL;
    }
    atomic_fetch_add(&c->refs, 1);
    r->c = c;
    r->refs = 2;
    if (!start_cancel_thread(r)) {
        r->refs = 1;
        req_unref(r);
        snprintf(msg, cap, "cannot start a thread for the cancel request");
        return NULL;
    }
    return r;
}

int pp__cancel_finish(cancel_req *r, int32_t wait_ms, char *msg, size_t cap)
{
    snprintf(msg, cap, "no answer to the cancel request within %d ms", (int)wait_ms);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    int rc = -1;
    pthread_mutex_lock(&r->mu);
    while (!r->done && wait_ms > 0 &&
           pthread_cond_timedwait(&r->done_cv, &r->mu, &until) != ETIMEDOUT)
        ;
    if (r->done) {
        rc = r->ok ? 1 : 0;
        snprintf(msg, cap, "%s", r->msg);
    }
    pthread_mutex_unlock(&r->mu);
    req_unref(r);
    return rc;
}

int pp__cancel_bounded(pp__canceller *c, int32_t wait_ms, char *msg, size_t cap)
{
    cancel_req *r = pp__cancel_start(c, msg, cap);
    return r != NULL ? pp__cancel_finish(r, wait_ms, msg, cap) : 0;
}

/* Whether r's request has been sent (or failed): then it can no longer reach the server. */
static bool req_done(cancel_req *r)
{
    pthread_mutex_lock(&r->mu);
    bool done = r->done;
    pthread_mutex_unlock(&r->mu);
    return done;
}

/* Sends a cancel request in the background as conn->late_cancel, which the next call
 * settles (waits for) before it starts, so that it cannot hit that call's statement. Not
 * while the last one is still on its way: that one does the same. */
static void cancel_in_background(pp_conn *conn)
{
    if (conn->late_cancel != NULL && !req_done(conn->late_cancel))
        return;
    pp__canceller *c = pp__canceller_get(conn);
    if (c != NULL) {
        char msg[256];
        pp__settle_late_cancel(conn, 0);
        conn->late_cancel = pp__cancel_start(c, msg, sizeof msg);
        pp__canceller_unref(c);
    }
}

void pp__resend_begin(pp_conn *conn)
{
    conn->resend_asks = conn->cancel_asks_seen;
    conn->resend_at_ms = 0;
}

/* During a statement's wait: a cancel asked since `since` (pp_cancel has sent it)
 * is sent again every RESEND_MS until the statement ends. A late one finds the backend
 * idle, which ignores it. */
static void resend_cancel(pp_conn *conn, unsigned since)
{
    if (atomic_load(&conn->cancel_asks) == since)
        return;
    int64_t now = pp__now_ms();
    if (conn->resend_at_ms == 0)
        conn->resend_at_ms = now + RESEND_MS;
    if (now < conn->resend_at_ms)
        return;
    conn->resend_at_ms = now + RESEND_MS;
    cancel_in_background(conn);
}

void pp__settle_late_cancel(pp_conn *conn, int32_t wait_ms)
{
    if (conn->late_cancel != NULL) {
        char msg[256];
        pp__cancel_finish(conn->late_cancel, wait_ms, msg, sizeof msg);
        conn->late_cancel = NULL;
    }
}

void pp__cancel_asked(pp_conn *conn)
{
    atomic_fetch_add(&conn->cancel_asks, 1);
}

pp__canceller *pp__canceller_get(pp_conn *conn)
{
    pthread_mutex_lock(&conn->cancel_lock);
    pp__canceller *c = conn->canceller;
    if (c != NULL)
        atomic_fetch_add(&c->refs, 1);
    pthread_mutex_unlock(&conn->cancel_lock);
    return c;
}

bool pp__nb_wanted(pp_conn *conn)
{
    return conn != NULL && atomic_load(&conn->nonblocking) &&
           !pp__fiber_current(atomic_load(&conn->fiber));
}

void pp__pq_mode(pp_conn *conn)
{
    if (conn->pg != NULL)
        PQsetnonblocking(conn->pg, atomic_load(&conn->nonblocking) ? 1 : 0);
}

bool pp__interruptible(const pp_conn *conn)
{
    return (conn->flags & PP_CONNECT_INTERRUPTIBLE) != 0;
}

int32_t pp__cancel_wait_ms(pp_conn *conn)
{
    int32_t t = atomic_load(&conn->timeout_ms);
    return t > 0 && t < CANCEL_WAIT_MS ? t : CANCEL_WAIT_MS;
}

/* ---- waiting ---- */

/* The deadline passed: the first time, ask the server to cancel and give it a grace period;
 * the second time, give the connection up. Returns 0 (keep waiting) or -1. */
static int deadline_passed(pp_conn *conn)
{
    int32_t ms = atomic_load(&conn->timeout_ms);
    if (!conn->cancel_sent) {
        conn->cancel_sent = true;
        conn->deadline_ms = pp__now_ms() + CANCEL_GRACE_MS;
        pp__cancel_asked(conn);
        cancel_in_background(conn);
        return 0;
    }
    if (conn->wait_error == NULL)
        conn->wait_error = pp__error_new(
            PP_ERR_TIMEOUT, "08006",
            "timeout expired: no answer from the server within %d ms, nor %d ms after a "
            "cancel request; the connection was closed", (int)ms, CANCEL_GRACE_MS);
    pp__shutdown_socket(conn);
    PQconsumeInput(conn->pg); /* reads the EOF: libpq now says CONNECTION_BAD */
    return -1;
}

/* pp_set_idle_wait: poll the socket for `events` and conn->idle_fd until the time set
 * (never past the call's deadline). True when the socket is ready first; otherwise the
 * setting is spent (the caller's descriptor is readable, the time is up, a signal came). */
static bool idle_wait(pp_conn *conn, int sock, short events)
{
    int64_t until = atomic_exchange(&conn->idle_until_ms, 0);
    if (until == 0)
        return false;
    if (conn->deadline_ms != 0 && conn->deadline_ms < until)
        until = conn->deadline_ms;
    int64_t left = until - pp__now_ms();
    if (left <= 0)
        return false;
    struct pollfd p[2] = {{.fd = sock, .events = events},
                          {.fd = atomic_load(&conn->idle_fd), .events = POLLIN}};
    int n = poll(p, p[1].fd >= 0 ? 2 : 1, (int)left);
    if (n <= 0 || p[0].revents == 0)
        return false;
    atomic_store(&conn->idle_until_ms, until); /* for the call's next wait */
    return true;
}

/* The wait of a call on the fiber (nonblocking mode): unless the socket is ready now
 * (`look_first`), switch back to the caller with the lock let go and the call marked pending (other calls
 * refuse or wait meanwhile); the caller's pp_resume switches in again. 0, or -1 when
 * pp_close ended the call meanwhile. */
static int nb_wait(pp_conn *conn, short events, bool look_first)
{
    if (atomic_load(&conn->closing))
        return -1;
    struct pollfd p = {.fd = PQsocket(conn->pg), .events = events};
    if (p.fd < 0)
        return -1;
    if (look_first && poll(&p, 1, 0) > 0)
        return 0;
    if (idle_wait(conn, p.fd, events))
        return 0;
    pp__notify_collect(conn); /* the caller may read them while this call waits */
    atomic_store(&conn->want_events, ((events & POLLIN) ? PP_WAIT_READ : 0) |
                                         ((events & POLLOUT) ? PP_WAIT_WRITE : 0));
    atomic_store(&conn->wait_deadline_ms, conn->deadline_ms);
    bool was = conn->pending;
    pthread_t owner = conn->pending_owner;
    pp__conn_set_pending(conn);
    pthread_mutex_unlock(&conn->lock);
    pp__fiber_yield(atomic_load(&conn->fiber));
    pthread_mutex_lock(&conn->lock);
    atomic_store(&conn->want_events, 0);
    atomic_store(&conn->wait_deadline_ms, 0);
    conn->pending = was;
    conn->pending_owner = owner;
    if (!was)
        pthread_cond_broadcast(&conn->idle);
    return atomic_load(&conn->closing) ? -1 : 0;
}

/* pp__settle_late_cancel for a call on the fiber in nonblocking mode (an event loop's
 * thread, where a blocking wait would stall every task): wait as the call's own steps,
 * switching back to the caller (PP_PENDING) until the request is done or wait_ms passed.
 * Each step waits for the readable socket (what comes is consumed: notifications) or
 * pp_wait_timeout_ms, SETTLE_STEP_MS: never for a writable one, ready at once, which would
 * have the caller resume at once, the loop spin until the request is delivered. Never
 * pp_set_idle_wait's wait in C here either: the steps go the caller's way. */
static void settle_late_cancel_nb(pp_conn *conn, int32_t wait_ms)
{
    int64_t until = pp__now_ms() + wait_ms;
    int64_t idle = atomic_exchange(&conn->idle_until_ms, 0);
    while (conn->late_cancel != NULL && !req_done(conn->late_cancel)) {
        int64_t now = pp__now_ms();
        if (now >= until)
            break;
        conn->deadline_ms = now + SETTLE_STEP_MS < until ? now + SETTLE_STEP_MS : until;
        if (nb_wait(conn, POLLIN, false) != 0)
            break; /* pp_close */
        atomic_store(&conn->idle_until_ms, 0);
        if (!PQconsumeInput(conn->pg))
            break; /* the connection broke: the call reports it */
        pp__notify_collect(conn);
    }
    atomic_store(&conn->idle_until_ms, idle);
    pp__settle_late_cancel(conn, 0);
}

bool pp__sliced_call_pending(pp_conn *conn)
{
    if (conn == NULL || atomic_load(&conn->fiber) == NULL || atomic_load(&conn->nonblocking) ||
        !pp__conn_owned(conn))
        return false;
    pthread_mutex_lock(&conn->lock);
    bool busy = conn->nb_busy;
    pthread_mutex_unlock(&conn->lock);
    return busy;
}

/* The wait of a blocking call that runs on the fiber so that it can end in slices (a COPY
 * call with PP_CONNECT_WAIT_SLICES, copy.c): poll() up to `timeout` (-1: none) and the end
 * of the slice; on a signal, or when the slice ends, switch back to the caller as nb_wait
 * does (its call returns PP_PENDING; pp_resume switches in again). A cancel asked since the
 * call began is sent again every RESEND_MS meanwhile. 0 when the socket is ready, 1 when
 * the caller switched in again (wait again), -1 on failure. */
static int sliced_wait(pp_conn *conn, short events, int timeout, bool resumed)
{
    int64_t now = pp__now_ms();
    int64_t slice_end = pp__slice_end(resumed);
    for (;;) {
        int ms = (int)(slice_end - now);
        /* a cancel asked since the call began (a time left by an earlier call only makes
         * the first resend come at once) */
        if (atomic_load(&conn->cancel_asks) != conn->cancel_asks_seen) {
            resend_cancel(conn, conn->cancel_asks_seen);
            ms = ms > RESEND_MS ? RESEND_MS : ms;
        }
        if (timeout >= 0 && timeout < ms)
            ms = timeout;
        struct pollfd p = {.fd = PQsocket(conn->pg), .events = events};
        if (p.fd < 0)
            return -1;
        int n = poll(&p, 1, ms < 0 ? 0 : ms);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
        now = pp__now_ms();
        if (n == 0 && timeout >= 0 && timeout <= ms)
            return 1; /* the deadline: the caller's loop deals with it */
        if (n < 0 || now >= slice_end)
            return nb_wait(conn, events, false) == 0 ? 1 : -1;
    }
}

/* pp__wait_socket; look_first false: on the fiber in nonblocking mode, switch back at once
 * without a poll(0) first (the caller has just found nothing to read). */
static int wait_socket(pp_conn *conn, short events, bool interruptible, bool look_first)
{
    PGconn *pg = conn->pg;
    if (interruptible && conn->interrupted) { /* a signal came during Parse/Describe */
        conn->interrupted = false;
        return PP__WAIT_SIGNAL;
    }
    int64_t slice_end = 0; /* PP_CONNECT_WAIT_SLICES: when this wait returns */
    bool resumed = false;  /* on the fiber: a slice of this wait has ended */
    for (;;) {
        int timeout = -1;
        if (conn->deadline_ms != 0) {
            int64_t left = conn->deadline_ms - pp__now_ms();
            if (left <= 0) {
                if (deadline_passed(conn) < 0)
                    return -1;
                continue;
            }
            timeout = left > 60000 ? 60000 : (int)left;
        }
        if (pp__fiber_current(atomic_load(&conn->fiber))) {
            if (atomic_load(&conn->nonblocking))
                return nb_wait(conn, events, look_first);
            int w = sliced_wait(conn, events, timeout, resumed);
            if (w != 1)
                return w;
            resumed = true; /* the slices after the first are short */
            continue;
        }
        if (interruptible && (conn->flags & PP_CONNECT_WAIT_SLICES)) {
            int64_t now = pp__now_ms();
            if (slice_end == 0) /* pending: the call is in pp_resume */
                slice_end = pp__slice_end(conn->pending);
            if (now >= slice_end)
                return PP__WAIT_SLICE;
            if (timeout < 0 || timeout > slice_end - now)
                timeout = (int)(slice_end - now);
        }
        if (conn->resending) {
            resend_cancel(conn, conn->resend_asks);
            if (timeout < 0 || timeout > RESEND_MS)
                timeout = RESEND_MS; /* to see a cancel another thread asks for */
        }
        struct pollfd p = {.fd = PQsocket(pg), .events = events};
        if (p.fd < 0)
            return -1;
        int n = poll(&p, 1, timeout);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
        if (n < 0 && interruptible)
            return PP__WAIT_SIGNAL;
    }
}

int pp__wait_socket(pp_conn *conn, short events, bool interruptible)
{
    return wait_socket(conn, events, interruptible, true);
}

int pp__wait_ready(pp_conn *conn, bool interruptible)
{
    PGconn *pg = conn->pg;
    if (PQisnonblocking(pg) && pp__wait_flush(conn) != 0)
        return -1; /* a nonblocking send may have left part of the request in libpq */
    if (atomic_load(&conn->nonblocking) && pp__fiber_current(atomic_load(&conn->fiber)) &&
        !(interruptible && conn->interrupted)) {
        /* On the fiber (the async front end), where a wait is a switch back, not a poll():
         * read first (a recv that finds nothing costs what poll(0) did), so an answer that
         * is already there costs one system call instead of two. */
        while (PQisBusy(pg)) {
            if (!PQconsumeInput(pg))
                return -1;
            pp__notify_collect(conn);
            if (!PQisBusy(pg))
                break;
            int w = wait_socket(conn, POLLIN, interruptible, false);
            if (w != 0)
                return w;
        }
        return 0;
    }
    /* Poll first: right after a send the answer is rarely there yet, and reading before it
     * arrives is a wasted system call. */
    while (PQisBusy(pg)) {
        int w = pp__wait_socket(conn, POLLIN, interruptible);
        if (w != 0)
            return w;
        if (!PQconsumeInput(pg))
            return -1;
        pp__notify_collect(conn);
    }
    return 0;
}

int pp__wait_input(pp_conn *conn, bool interruptible)
{
    PGconn *pg = conn->pg;
    if (PQstatus(pg) == CONNECTION_BAD)
        return -1;
    int w = pp__wait_socket(conn, POLLIN, interruptible);
    if (w != 0)
        return w;
    if (!PQconsumeInput(pg) || PQstatus(pg) == CONNECTION_BAD)
        return -1;
    pp__notify_collect(conn);
    return 0;
}

int pp__wait_flush(pp_conn *conn)
{
    PGconn *pg = conn->pg;
    for (;;) {
        int f = PQflush(pg);
        if (f <= 0)
            return f;
        if (pp__wait_socket(conn, POLLOUT | POLLIN, false) != 0)
            return -1;
        if (!PQconsumeInput(pg))
            return -1;
    }
}

void pp__abort_copy(PGconn *pg, ExecStatusType st)
{
    if (st == PGRES_COPY_IN) {
        PQputCopyEnd(pg, "COPY FROM STDIN is not supported by pp_exec");
    } else if (st == PGRES_COPY_OUT) {
        char *buf;
        while (PQgetCopyData(pg, &buf, 0) > 0)
            PQfreemem(buf);
    }
}

PGresult *pp__exec_wait(pp_conn *conn, const char *sql)
{
    return PQsendQuery(conn->pg, sql) ? pp__last_result_wait(conn) : NULL;
}

PGresult *pp__last_result_wait(pp_conn *conn)
{
    PGconn *pg = conn->pg;
    PGresult *last = NULL;
    for (;;) {
        if (pp__wait_ready(conn, false) != 0) {
            PQclear(last);
            return NULL;
        }
        PGresult *r = PQgetResult(pg);
        if (r == NULL)
            return last;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT)
            pp__abort_copy(pg, st);
        PQclear(last);
        last = r;
    }
}

pp_error *pp__conn_error(pp_conn *conn, int32_t category)
{
    if (conn->wait_error != NULL) {
        pp_error *e = conn->wait_error;
        conn->wait_error = NULL;
        return e;
    }
    if (atomic_load(&conn->closing))
        return pp__error_new(PP_ERR_INTERFACE, "08003",
                             "the connection was closed (by another thread) during the call");
    return pp__error_from_conn(conn->pg, category);
}

void pp__name_timeout(pp_conn *conn, pp_error *e)
{
    if (e == NULL || !conn->cancel_sent || strcmp(e->sqlstate, "57014") != 0)
        return;
    pp_error *named = pp__error_new(e->category, e->sqlstate,
                                    "%s (the timeout of %d ms expired)", e->message,
                                    (int)atomic_load(&conn->timeout_ms));
    if (named == pp__error_oom())
        return;
    free(e->message);
    e->message = named->message;
    named->message = NULL;
    pp_error_free(named);
}
