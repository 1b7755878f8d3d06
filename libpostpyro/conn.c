/* SPDX-License-Identifier: MIT */
/* conn.c — opening, closing and inspecting connections; the per-connection mutex and the
 * pending state of a call a signal interrupted (conn->pend). */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bumped in the child after fork(): a connection whose generation differs belongs to the
 * parent. Cheaper than a getpid() system call on every use; process-wide by nature. */
static atomic_uint fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void bump_fork_generation(void) { atomic_fetch_add(&fork_generation, 1); }

static void install_atfork(void) { pthread_atfork(NULL, NULL, bump_fork_generation); }

static bool in_owner_process(const pp_conn *conn)
{
    return atomic_load(&fork_generation) == conn->generation;
}
#define DEFAULT_CACHE_SIZE 256

bool pp__conn_owned(const pp_conn *conn) { return in_owner_process(conn); }

static void conn_free_memory(pp_conn *conn)
{
    pp__notify_destroy(&conn->notify);
    pp__fiber_free(atomic_load(&conn->fiber));
    pp_result_free(conn->nb_out);
    pp_error_free(conn->nb_err);
    pthread_mutex_destroy(&conn->lock);
    pthread_mutex_destroy(&conn->cancel_lock);
    pthread_cond_destroy(&conn->idle);
    pp__pending_clear(conn);
    pp__secrets_free(conn->secrets);
    pp_error_free(conn->wait_error);
    pp__notices_clear(conn);
    free(conn->copy_buf);
    free(conn->copy_oids);
    free(conn->scratch);
    free(conn);
}

/* libpq's connect_timeout of conn (seconds; below 2 counts as 2, as libpq does), 0 none. */
static int32_t connect_timeout_ms(PGconn *pg)
{
    PQconninfoOption *opts = PQconninfo(pg);
    int32_t ms = 0;
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL) {
            long t = strtol(o->val, NULL, 10);
            ms = t <= 0 ? 0 : t < 2 ? 2000 : t > 86400 ? 86400000 : (int32_t)(t * 1000);
        }
    PQconninfoFree(opts);
    return ms;
}

/* The rest of a connect once libpq reports it established. */
static int connect_done(pp_conn *conn, pp_error **err)
{
    PQsetErrorVerbosity(conn->pg, PQERRORS_DEFAULT);
    pp__canceller *c = pp__canceller_new(conn->pg);
    if (c == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_OPERATIONAL, "58000",
                                           "cannot set up connection"));
    pthread_mutex_lock(&conn->cancel_lock); /* pp_socket and pp_cancel* read them */
    conn->canceller = c;
    conn->sock = PQsocket(conn->pg);
    pthread_mutex_unlock(&conn->cancel_lock);
    conn->connecting = false;
    conn->deadline_ms = 0;
    atomic_store(&conn->want_events, 0);
    atomic_store(&conn->wait_deadline_ms, 0);
    pp__pq_mode(conn); /* nonblocking mode: sends never wait either */
    pp__secrets_free(conn->secrets);
    conn->secrets = NULL;
    return PP_OK;
}

/* Drives PQconnectPoll, waiting on the socket until connected (PP_OK), failed (PP_ERROR:
 * the connection is closed, conn stays allocated), or a signal interrupted the wait
 * (PP_PENDING, only when interruptible; with PP_CONNECT_WAIT_SLICES also when a slice
 * passed). In nonblocking mode it never waits: PP_PENDING
 * with what to wait for in want_events (pp_connect_resume steps PQconnectPoll). */
int pp__connect_poll(pp_conn *conn, bool interruptible, pp_error **err)
{
    PGconn *pg = conn->pg;
    int64_t slice_end = 0; /* PP_CONNECT_WAIT_SLICES: when this wait returns PP_PENDING */
    for (;;) {
        if (conn->poll_status == PGRES_POLLING_OK)
            return connect_done(conn, err);
        if (conn->poll_status == PGRES_POLLING_FAILED)
            break;
        short events = conn->poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        int timeout = -1;
        if (conn->deadline_ms != 0) {
            int64_t left = conn->deadline_ms - pp__now_ms();
            if (left <= 0) {
                pp__fail(err, pp__error_new(PP_ERR_TIMEOUT, "08001",
                                            "timeout expired while connecting"));
                PQfinish(pg);
                conn->pg = NULL;
                conn->closed = true;
                return PP_ERROR;
            }
            timeout = left > 60000 ? 60000 : (int)left;
        }
        struct pollfd p = {.fd = PQsocket(pg), .events = events};
        if (p.fd < 0)
            break;
        if (atomic_load(&conn->nonblocking)) {
            atomic_store(&conn->want_events, events == POLLIN ? PP_WAIT_READ : PP_WAIT_WRITE);
            atomic_store(&conn->wait_deadline_ms, conn->deadline_ms);
            return PP_PENDING;
        }
        if (interruptible && (conn->flags & PP_CONNECT_WAIT_SLICES)) {
            /* as a statement's wait (wait.c): a signal poll() did not see (it came while
             * the thread was in PQconnectPoll, or to another thread) is acted on soon */
            int64_t now = pp__now_ms();
            if (slice_end == 0)
                slice_end = pp__slice_end(conn->connect_sliced);
            if (now >= slice_end) {
                conn->connect_sliced = true;
                return PP_PENDING;
            }
            if (timeout < 0 || timeout > slice_end - now)
                timeout = (int)(slice_end - now);
        }
        int n = poll(&p, 1, timeout);
        if (n < 0 && errno == EINTR && interruptible)
            return PP_PENDING;
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0)
            conn->poll_status = PQconnectPoll(pg);
    }
    pp__fail(err, pp__error_from_connect(pg, conn->secrets, PP_ERR_OPERATIONAL));
    PQfinish(pg);
    conn->pg = NULL;
    conn->closed = true;
    return PP_ERROR;
}

int pp_connect_start(const char *conninfo, uint32_t flags, int32_t timeout_ms, pp_conn **out,
                     pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (out != NULL)
        *out = NULL;
    if (conninfo == NULL || out == NULL || timeout_ms < 0)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_connect_start: bad arguments"));
    if (pp__check_flags("pp_connect", flags, PP__CONNECT_FLAGS, err) != PP_OK)
        return PP_ERROR;
    if ((flags & PP_CONNECT_NONBLOCKING) && !pp__fiber_supported())
        return pp__fail(err, pp__error_new(PP_ERR_NOT_SUPPORTED, "0A000",
                                           "nonblocking mode is not available in this build "
                                           "(no way to switch stacks here)"));
    pp_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL)
        return pp__fail(err, pp__error_oom());
    bool lock_ok = pthread_mutex_init(&conn->lock, NULL) == 0;
    bool cancel_lock_ok = pthread_mutex_init(&conn->cancel_lock, NULL) == 0;
    bool idle_ok = pthread_cond_init(&conn->idle, NULL) == 0;
    bool notify_ok = pp__notify_init(&conn->notify) == 0;
    pp__fiber *f = (flags & PP_CONNECT_NONBLOCKING) ? pp__fiber_new() : NULL;
    if (!lock_ok || !cancel_lock_ok || !idle_ok || !notify_ok ||
        ((flags & PP_CONNECT_NONBLOCKING) && f == NULL)) {
        pp__fiber_free(f);
        if (notify_ok)
            pp__notify_destroy(&conn->notify);
        if (lock_ok)
            pthread_mutex_destroy(&conn->lock);
        if (cancel_lock_ok)
            pthread_mutex_destroy(&conn->cancel_lock);
        if (idle_ok)
            pthread_cond_destroy(&conn->idle);
        free(conn);
        return pp__fail(err, pp__error_new(PP_ERR_OPERATIONAL, "58000", "cannot set up connection"));
    }
    conn->sock = -1;
    atomic_init(&conn->fiber, f);
    atomic_init(&conn->nonblocking, f != NULL);
    atomic_init(&conn->timeout_ms, timeout_ms);
    bool oom;
    conn->secrets = pp__secrets(conninfo, &oom);
    /* client_encoding comes after the expanded conninfo, so it wins: decoders need UTF-8. */
    const char *keys[] = {"dbname", "client_encoding", NULL};
    const char *vals[] = {conninfo, "UTF8", NULL};
    conn->pg = oom ? NULL : PQconnectStartParams(keys, vals, 1);
    if (conn->pg == NULL) {
        conn_free_memory(conn);
        return pp__fail(err, pp__error_oom());
    }
    /* Verbose: the message of a server error carries its SQLSTATE (connerr.c takes it). */
    PQsetErrorVerbosity(conn->pg, PQERRORS_VERBOSE);
    conn->poll_status = PQstatus(conn->pg) == CONNECTION_BAD ? PGRES_POLLING_FAILED
                                                              : PGRES_POLLING_WRITING;
    int32_t limit = connect_timeout_ms(conn->pg);
    if (timeout_ms > 0 && (limit == 0 || timeout_ms < limit))
        limit = timeout_ms;
    conn->deadline_ms = limit > 0 ? pp__now_ms() + limit : 0;
    PQsetNoticeReceiver(conn->pg, pp__notice_receiver, conn);
    pthread_once(&atfork_once, install_atfork);
    conn->generation = atomic_load(&fork_generation);
    conn->flags = flags;
    conn->cache.capacity = (flags & PP_CONNECT_NO_STATEMENT_CACHE) ? 0 : DEFAULT_CACHE_SIZE;
    conn->connecting = true;
    int rc = pp__connect_poll(conn, (flags & PP_CONNECT_INTERRUPTIBLE) != 0, err);
    if (rc == PP_ERROR) {
        conn_free_memory(conn);
        return PP_ERROR;
    }
    *out = conn;
    return rc;
}

int pp_connect_resume(pp_conn *conn, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (conn == NULL || !conn->connecting || conn->pg == NULL || !in_owner_process(conn))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_connect_resume: no connect is pending"));
    if (atomic_load(&conn->nonblocking)) {
        /* one step, once the socket is ready: libpq's PQconnectPoll must not be called
         * early (it would take a connect still in progress for done) */
        short events = conn->poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        struct pollfd p = {.fd = PQsocket(conn->pg), .events = events};
        if (p.fd >= 0 && poll(&p, 1, 0) > 0)
            conn->poll_status = PQconnectPoll(conn->pg);
    }
    int rc = pp__connect_poll(conn, (conn->flags & PP_CONNECT_INTERRUPTIBLE) != 0, err);
    if (rc != PP_PENDING)
        atomic_store(&conn->want_events, 0);
    return rc;
}

pp_conn *pp_connect(const char *conninfo, uint32_t flags, pp_error **err)
{
    pp_conn *conn = NULL;
    /* a signal's handler runs and the connect goes on; PP_CONNECT_INTERRUPTIBLE still
     * applies to the connection's later calls */
    int rc = pp_connect_start(conninfo, flags & ~(uint32_t)PP_CONNECT_NONBLOCKING, 0, &conn,
                              err);
    while (rc == PP_PENDING)
        rc = pp_connect_resume(conn, err);
    if (rc != PP_OK) {
        pp_conn_free(conn);
        conn = NULL;
    }
    return conn;
}

static void close_locked(pp_conn *conn)
{
    if (conn->pg == NULL)
        return;
    pp__settle_late_cancel(conn, 0); /* the session ends: it can hit nothing now */
    pthread_mutex_lock(&conn->cancel_lock);
    pp__nbcancel_drop(conn->nbcancel);
    conn->nbcancel = NULL;
    pp__canceller_unref(conn->canceller);
    conn->canceller = NULL;
    conn->sock = -1; /* no shutdown() from now on: PQfinish closes it, the number is reused */
    pthread_mutex_unlock(&conn->cancel_lock);
    PQsetnonblocking(conn->pg, 1); /* the goodbye message never waits on a dead network */
    PQfinish(conn->pg);
    conn->pg = NULL;
    conn->closed = true;
    conn->connecting = false;
    conn->copy_state = PP_COPY_NONE;
    pp__cache_clear(&conn->cache);
}

/* In a forked child: the parent may have held any of conn's locks at fork time, and its
 * libpq state may be half-updated. Take no lock and touch nothing of the session: close the
 * child's copy of the socket, once, and leave the rest to the parent. */
static void forget_in_child(pp_conn *conn)
{
    if (!atomic_exchange(&conn->forgotten, true)) {
        int fd = conn->sock >= 0 ? conn->sock : conn->pg != NULL ? PQsocket(conn->pg) : -1;
        if (fd >= 0)
            close(fd);
    }
}

/* A nonblocking call waiting on the fiber is run to its end, which its waits now make a
 * failure at once (closing, socket shut down): its frames free what they hold. Its outcome
 * is dropped. Lock held (let go meanwhile: the call takes it). */
static void end_nonblocking_call(pp_conn *conn)
{
    pp__fiber *f = atomic_load(&conn->fiber);
    if (!pp__fiber_suspended(f))
        return;
    atomic_store(&conn->closing, true);
    pp__shutdown_socket(conn);
    pthread_mutex_unlock(&conn->lock);
    while (pp__fiber_resume(f) == 1)
        ;
    pthread_mutex_lock(&conn->lock);
    conn->nb_busy = false;
    pp_result_free(conn->nb_out);
    pp_error_free(conn->nb_err);
    conn->nb_out = NULL;
    conn->nb_err = NULL;
}

/* pp_close; with may_wait false (pp_conn_free, which garbage collectors call, maybe on an
 * event loop's thread) the cancel of an unfinished statement is only sent, never waited for;
 * in nonblocking mode it never is (nothing of an event loop's connection may block it). */
static void close_conn(pp_conn *conn, bool may_wait)
{
    if (!in_owner_process(conn)) {
        forget_in_child(conn);
        return;
    }
    if (pthread_mutex_trylock(&conn->lock) != 0) {
        /* Another thread is in a call, maybe blocked on a dead network: end its wait (it
         * fails and lets the lock go), then close. */
        atomic_store(&conn->closing, true);
        pp__shutdown_socket(conn);
        pthread_mutex_lock(&conn->lock);
    }
    if (conn->pending && conn->pg != NULL) {
        /* A statement interrupted by a signal, or a nonblocking call, is still running: stop
         * it, then close. Unless waited for (bounded), the request goes on alone on its
         * helper thread. */
        pp__canceller *c = pp__canceller_get(conn);
        if (c != NULL) {
            char msg[256];
            bool wait = may_wait && !atomic_load(&conn->nonblocking);
            pp__cancel_bounded(c, wait ? pp__cancel_wait_ms(conn) : 0, msg, sizeof msg);
            pp__canceller_unref(c);
        }
        end_nonblocking_call(conn);
        conn->pending = false;
        pp__pending_clear(conn);
    }
    close_locked(conn);
    pthread_cond_broadcast(&conn->idle);
    pthread_mutex_unlock(&conn->lock);
}

void pp_close(pp_conn *conn)
{
    if (conn != NULL)
        close_conn(conn, true);
}

int32_t pp_is_closed(pp_conn *conn)
{
    if (conn == NULL || !in_owner_process(conn))
        return 1;
    /* Never wait for a call in another thread (it may be blocked on a dead network): while
     * one runs, the connection counts as open unless pp_close is ending it. */
    if (pthread_mutex_trylock(&conn->lock) != 0)
        return atomic_load(&conn->closing) ? 1 : 0;
    int32_t closed = conn->closed || conn->connecting || conn->pg == NULL ||
                     PQstatus(conn->pg) == CONNECTION_BAD;
    pthread_mutex_unlock(&conn->lock);
    return closed;
}

void pp_conn_free(pp_conn *conn)
{
    if (conn == NULL)
        return;
    if (!in_owner_process(conn)) {
        /* Its locks may be held by a thread that does not exist here: leave the handle
         * (libpq's part included) allocated rather than touch them. */
        forget_in_child(conn);
        return;
    }
    close_conn(conn, false);
    conn_free_memory(conn);
}

int pp__conn_enter_state(pp_conn *conn, int copy_state, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (conn == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "connection is NULL"));
    if (!in_owner_process(conn)) /* never its lock: the parent may have held it at fork */
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "08003",
                                           "connection belongs to the parent process"));
    pthread_mutex_lock(&conn->lock);
    while (conn->pending) {
        if (pthread_equal(conn->pending_owner, pthread_self())) {
            /* waiting would be forever: only this thread can finish that statement */
            pthread_mutex_unlock(&conn->lock);
            return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                               "this thread's previous statement is not "
                                               "finished (PP_PENDING or PP_MORE): read it to "
                                               "the end with pp_resume or pp_query_next, or "
                                               "drop it with pp_query_close"));
        }
        pthread_cond_wait(&conn->idle, &conn->lock);
    }
    pp_error *e = NULL;
    if (conn->closed || conn->pg == NULL)
        e = pp__error_new(PP_ERR_INTERFACE, "08003", "connection is closed");
    else if (conn->connecting)
        e = pp__error_new(PP_ERR_INTERFACE, "08003",
                          "the connection is not established yet (pp_connect_resume)");
    else if (conn->copy_state != copy_state)
        e = pp__error_new(PP_ERR_INTERFACE, "", "%s",
                          copy_state == PP_COPY_NONE
                              ? "connection is busy with a COPY; finish it first"
                              : "no COPY of that direction is running");
    else if (PQstatus(conn->pg) == CONNECTION_BAD)
        /* it broke during an earlier call, which reported the failure (PP_ERR_OPERATIONAL);
         * from then on the connection is closed, like after pp_close() */
        e = pp__error_new(PP_ERR_INTERFACE, "08003",
                          "connection is closed (the connection to the server was lost)");
    if (e != NULL) {
        pthread_mutex_unlock(&conn->lock);
        return pp__fail(err, e);
    }
    pp__arm_deadline(conn);
    return PP_OK;
}

int pp__conn_lock_owned(pp_conn *conn, pp_error **err)
{
    if (!in_owner_process(conn))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "08003",
                                           "connection belongs to the parent process"));
    pthread_mutex_lock(&conn->lock);
    return PP_OK;
}

void pp__conn_set_pending(pp_conn *conn)
{
    conn->pending = true;
    conn->pending_owner = pthread_self();
}

void pp__pending_drop_chunk(pp_pending *ps)
{
    for (int32_t k = 0; ps->cols != NULL && k < ps->ncols; k++)
        pp__colbuf_free(ps->cols[k]);
    free(ps->cols);
    ps->cols = NULL;
    ps->rows = ps->bytes = 0;
}

void pp__pending_clear(pp_conn *conn)
{
    pp_pending *ps = &conn->pend;
    pp_result_free(ps->head);
    PQclear(ps->last);
    pp_error_free(ps->error);
    pp__pending_drop_chunk(ps);
    PQclear(ps->shape);
    PQclear(ps->tagged);
    if (ps->is_pipe) {
        pp_error_free(ps->pipe.first);
        if (ps->pipe.own_counts)
            free(ps->pipe.counts);
        for (int64_t k = 0; ps->pipe.own_sqls != NULL && k < ps->pipe.n; k++)
            free(ps->pipe.own_sqls[k]);
        free(ps->pipe.own_sqls);
        free(ps->pipe.own_params);
        free(ps->pipe.own_data);
        free(ps->pipe.row);
        free(ps->pipe.at);
        if (ps->pipe.own_stmt)
            pp__stmt_free(ps->pipe.stmt);
    }
    memset(ps, 0, sizeof *ps);
}


int pp__conn_enter(pp_conn *conn, pp_error **err)
{
    return pp__conn_enter_state(conn, PP_COPY_NONE, err);
}

void pp__conn_leave(pp_conn *conn)
{
    pp__notify_collect(conn); /* any that came with the call's last answer */
    pthread_mutex_unlock(&conn->lock);
}

int32_t pp_ping(pp_conn *conn)
{
    if (pp__nb_wanted(conn))
        return 0; /* it would have to wait: refused in nonblocking mode */
    if (pp__conn_enter(conn, NULL) != PP_OK)
        return 0;
    PGresult *r = pp__exec_wait(conn, "");
    int32_t ok = r != NULL && PQresultStatus(r) == PGRES_EMPTY_QUERY;
    PQclear(r);
    pp__conn_leave(conn);
    return ok;
}

int pp_cancel(pp_conn *conn, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (conn == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "connection is NULL"));
    if (!in_owner_process(conn))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "08003",
                                           "connection belongs to the parent process"));
    pp__canceller *c = pp__canceller_get(conn);
    if (c == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "08003", "connection is closed"));
    char msg[256];
    int32_t wait = pp__cancel_wait_ms(conn);
    pp__cancel_asked(conn);
    int sent = pp__cancel_bounded(c, wait, msg, sizeof msg);
    pp__canceller_unref(c);
    if (sent < 0)
        return pp__fail(err, pp__error_new(PP_ERR_TIMEOUT, "08006",
                                           "cancel request not delivered within %d ms (the "
                                           "network or the server does not answer)", (int)wait));
    if (sent == 0) {
        pp_error *e = pp__error_new(PP_ERR_OPERATIONAL, "08006", "cancel failed: %s", msg);
        pp__error_set_origin(e, PP_ORIGIN_CONNECTION);
        return pp__fail(err, e);
    }
    return PP_OK;
}

int pp_set_timeout(pp_conn *conn, int32_t timeout_ms, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (conn == NULL || timeout_ms < 0)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_set_timeout: bad arguments"));
    atomic_store(&conn->timeout_ms, timeout_ms);
    return PP_OK;
}

int32_t pp_timeout(pp_conn *conn)
{
    return conn != NULL ? atomic_load(&conn->timeout_ms) : 0;
}

int pp_set_timeout_if(pp_conn *conn, int32_t expected_ms, int32_t timeout_ms)
{
    if (conn == NULL || expected_ms < 0 || timeout_ms < 0)
        return -1;
    return atomic_compare_exchange_strong(&conn->timeout_ms, &expected_ms, timeout_ms) ? 1 : 0;
}

static const char *tx_status_name(PGTransactionStatusType s)
{
    switch (s) {
    case PQTRANS_IDLE: return "idle";
    case PQTRANS_ACTIVE: return "active";
    case PQTRANS_INTRANS: return "intransaction";
    case PQTRANS_INERROR: return "inerror";
    default: return "unknown";
    }
}

char *pp_conn_info(pp_conn *conn, const char *key)
{
    if (conn == NULL || !in_owner_process(conn) || key == NULL)
        return NULL;
    pthread_mutex_lock(&conn->lock);
    PGconn *pg = conn->closed ? NULL : conn->pg;
    const char *val = NULL;
    char num[32];
    if (pg != NULL) {
        if (strcmp(key, "host") == 0)
            val = PQhost(pg);
        else if (strcmp(key, "port") == 0)
            val = PQport(pg);
        else if (strcmp(key, "dbname") == 0)
            val = PQdb(pg);
        else if (strcmp(key, "user") == 0)
            val = PQuser(pg);
        else if (strcmp(key, "application_name") == 0)
            val = PQparameterStatus(pg, "application_name");
        else if (strcmp(key, "client_encoding") == 0)
            val = PQparameterStatus(pg, "client_encoding");
        else if (strcmp(key, "server_encoding") == 0)
            val = PQparameterStatus(pg, "server_encoding");
        else if (strcmp(key, "timezone") == 0)
            val = PQparameterStatus(pg, "TimeZone");
        else if (strcmp(key, "ssl") == 0)
            val = PQsslInUse(pg) ? "on" : "off";
        else if (strcmp(key, "transaction_status") == 0)
            val = tx_status_name(PQtransactionStatus(pg));
        else if (strcmp(key, "server_version") == 0) {
            snprintf(num, sizeof num, "%d", PQserverVersion(pg));
            val = num;
        } else if (strcmp(key, "backend_pid") == 0) {
            snprintf(num, sizeof num, "%d", PQbackendPID(pg));
            val = num;
        } else if (strcmp(key, "row_mode") == 0) {
            val = pp__chunked_rows_mode() ? "chunked" : "single";
        }
    }
    char *copy = val != NULL ? strdup(val) : NULL;
    pthread_mutex_unlock(&conn->lock);
    return copy;
}

int32_t pp_transaction_status(pp_conn *conn)
{
    if (conn == NULL || !in_owner_process(conn))
        return PQTRANS_UNKNOWN;
    pthread_mutex_lock(&conn->lock);
    /* a COPY TO whose end came with its last chunk is idle for libpq, not for the caller:
     * it runs until pp_copy_out_read says it ended */
    int32_t s = conn->closed || conn->pg == NULL ? PQTRANS_UNKNOWN
                : conn->copy_state != PP_COPY_NONE ? PQTRANS_ACTIVE
                                                   : (int32_t)PQtransactionStatus(conn->pg);
    pthread_mutex_unlock(&conn->lock);
    return s;
}

int32_t pp_poll_status(pp_conn *conn)
{
    if (conn == NULL || !in_owner_process(conn))
        return PQTRANS_UNKNOWN;
    if (pthread_mutex_trylock(&conn->lock) != 0) /* a call runs: never wait for it */
        return atomic_load(&conn->closing) ? PQTRANS_UNKNOWN : PQTRANS_ACTIVE;
    int32_t s;
    if (conn->closed || conn->connecting || conn->pg == NULL) {
        s = PQTRANS_UNKNOWN;
    } else if (conn->pending || conn->copy_state != PP_COPY_NONE) {
        s = PQTRANS_ACTIVE;
    } else {
        /* Something arrived while idle (a notice, a notification, the server's "terminating
         * connection" and the end of the stream): read and parse it. One read stops after
         * the data, so read again while more is there: at the end of the stream
         * PQconsumeInput fails and libpq marks the connection CONNECTION_BAD. Bounded: a
         * server that keeps sending is read on the next call. */
        for (int i = 0; i < 8; i++) {
            struct pollfd p = {.fd = PQsocket(conn->pg), .events = POLLIN};
            if (p.fd < 0 || poll(&p, 1, 0) <= 0 || !PQconsumeInput(conn->pg))
                break;
            PQisBusy(conn->pg); /* parses what arrived (notices go to conn->notices) */
        }
        s = PQstatus(conn->pg) == CONNECTION_BAD ? PQTRANS_UNKNOWN
                                                 : (int32_t)PQtransactionStatus(conn->pg);
    }
    pthread_mutex_unlock(&conn->lock);
    return s;
}

