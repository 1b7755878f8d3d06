/* conn.c — opening, closing and inspecting connections; the per-connection mutex. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOTICES_MAX (1u << 20) /* notices kept between two pp_take_notices calls */

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

static void collect_notice(void *arg, const PGresult *res)
{
    pp_conn *conn = arg;
    const char *msg = PQresultErrorMessage(res);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        n--;
    if (conn->notices_len + n + 1 > NOTICES_MAX)
        return;
    if (conn->notices_len + n + 1 > conn->notices_cap) {
        size_t cap = conn->notices_cap ? conn->notices_cap * 2 : 1024;
        while (cap < conn->notices_len + n + 1)
            cap *= 2;
        char *grown = realloc(conn->notices, cap);
        if (grown == NULL)
            return;
        conn->notices = grown;
        conn->notices_cap = cap;
    }
    memcpy(conn->notices + conn->notices_len, msg, n);
    conn->notices[conn->notices_len + n] = '\0';
    conn->notices_len += n + 1;
}

pp_conn *pp_connect(const char *conninfo, uint32_t flags, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (conninfo == NULL) {
        pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "conninfo is NULL"));
        return NULL;
    }
    pp_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        pp__fail(err, pp__error_oom());
        return NULL;
    }
    /* client_encoding comes after the expanded conninfo, so it wins: decoders need UTF-8. */
    const char *keys[] = {"dbname", "client_encoding", NULL};
    const char *vals[] = {conninfo, "UTF8", NULL};
    conn->pg = PQconnectdbParams(keys, vals, 1);
    if (conn->pg == NULL || PQstatus(conn->pg) != CONNECTION_OK) {
        pp__fail(err, pp__error_from_conn(conn->pg, PP_ERR_OPERATIONAL));
        PQfinish(conn->pg);
        free(conn);
        return NULL;
    }
    conn->cancel = PQgetCancel(conn->pg);
    if (pthread_mutex_init(&conn->lock, NULL) != 0 ||
        pthread_mutex_init(&conn->cancel_lock, NULL) != 0 ||
        pthread_cond_init(&conn->idle, NULL) != 0 || conn->cancel == NULL) {
        pp__fail(err, pp__error_new(PP_ERR_OPERATIONAL, "58000", "cannot set up connection"));
        PQfreeCancel(conn->cancel);
        PQfinish(conn->pg);
        free(conn);
        return NULL;
    }
    PQsetNoticeReceiver(conn->pg, collect_notice, conn);
    pthread_once(&atfork_once, install_atfork);
    conn->generation = atomic_load(&fork_generation);
    conn->flags = flags;
    conn->cache.capacity = (flags & PP_CONNECT_NO_STATEMENT_CACHE) ? 0 : DEFAULT_CACHE_SIZE;
    return conn;
}

static void close_locked(pp_conn *conn)
{
    if (conn->pg == NULL)
        return;
    pthread_mutex_lock(&conn->cancel_lock);
    PQfreeCancel(conn->cancel);
    conn->cancel = NULL;
    pthread_mutex_unlock(&conn->cancel_lock);
    if (!in_owner_process(conn)) {
        /* A forked child must not end the parent's session: point our copy of the socket
         * at /dev/null, so PQfinish's Terminate message goes nowhere, and free as usual. */
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (devnull >= 0) {
            dup2(devnull, PQsocket(conn->pg));
            close(devnull);
            PQfinish(conn->pg);
        } /* else: leak the handle rather than risk writing on the parent's socket */
    } else {
        PQfinish(conn->pg);
    }
    conn->pg = NULL;
    conn->closed = true;
    conn->copy_state = PP_COPY_NONE;
    pp__cache_clear(&conn->cache);
}

void pp_close(pp_conn *conn)
{
    if (conn == NULL)
        return;
    pthread_mutex_lock(&conn->lock);
    while (conn->pending && in_owner_process(conn)) {
        /* A statement interrupted by a signal is still running: stop it, then close. */
        pthread_mutex_lock(&conn->cancel_lock);
        if (conn->cancel != NULL) {
            char buf[256];
            PQcancel(conn->cancel, buf, sizeof buf);
        }
        pthread_mutex_unlock(&conn->cancel_lock);
        conn->pending = false;
        pp__pending_clear(conn);
    }
    close_locked(conn);
    pthread_cond_broadcast(&conn->idle);
    pthread_mutex_unlock(&conn->lock);
}

int32_t pp_is_closed(pp_conn *conn)
{
    if (conn == NULL)
        return 1;
    pthread_mutex_lock(&conn->lock);
    int32_t closed = conn->closed || conn->pg == NULL || PQstatus(conn->pg) == CONNECTION_BAD;
    pthread_mutex_unlock(&conn->lock);
    return closed;
}

void pp_conn_free(pp_conn *conn)
{
    if (conn == NULL)
        return;
    pp_close(conn);
    pthread_mutex_destroy(&conn->lock);
    pthread_mutex_destroy(&conn->cancel_lock);
    pthread_cond_destroy(&conn->idle);
    pp__pending_clear(conn);
    free(conn->notices);
    free(conn->copy_buf);
    free(conn->copy_oids);
    free(conn->scratch);
    free(conn);
}

int pp__conn_enter_state(pp_conn *conn, int copy_state, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (conn == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "connection is NULL"));
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
    else if (!in_owner_process(conn))
        e = pp__error_new(PP_ERR_INTERFACE, "08003", "connection belongs to the parent process");
    else if (conn->copy_state != copy_state)
        e = pp__error_new(PP_ERR_INTERFACE, "", "%s",
                          copy_state == PP_COPY_NONE
                              ? "connection is busy with a COPY; finish it first"
                              : "no COPY of that direction is running");
    else if (PQstatus(conn->pg) == CONNECTION_BAD)
        e = pp__error_new(PP_ERR_OPERATIONAL, "08003", "connection to the server was lost");
    if (e != NULL) {
        pthread_mutex_unlock(&conn->lock);
        return pp__fail(err, e);
    }
    return PP_OK;
}

void pp__conn_set_pending(pp_conn *conn)
{
    conn->pending = true;
    conn->pending_owner = pthread_self();
}

int pp__conn_enter(pp_conn *conn, pp_error **err)
{
    return pp__conn_enter_state(conn, PP_COPY_NONE, err);
}

void pp__conn_leave(pp_conn *conn) { pthread_mutex_unlock(&conn->lock); }

bool pp__scratch_reserve(pp_conn *conn, size_t n)
{
    if (n <= conn->scratch_cap)
        return true;
    size_t cap = conn->scratch_cap ? conn->scratch_cap : 256;
    while (cap < n)
        cap *= 2;
    char *grown = realloc(conn->scratch, cap);
    if (grown == NULL)
        return false;
    conn->scratch = grown;
    conn->scratch_cap = cap;
    return true;
}

int pp__wait_ready(PGconn *pg, bool interruptible)
{
    /* Poll first: right after a send the answer is rarely there yet, and reading before it
     * arrives is a wasted system call. */
    while (PQisBusy(pg)) {
        struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};
        if (poll(&p, 1, -1) < 0) {
            if (errno != EINTR)
                return -1;
            if (interruptible)
                return 1;
            continue;
        }
        if (!PQconsumeInput(pg))
            return -1;
    }
    return 0;
}

int32_t pp_ping(pp_conn *conn)
{
    if (pp__conn_enter(conn, NULL) != PP_OK)
        return 0;
    PGresult *r = PQexec(conn->pg, "");
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
    char buf[256] = "";
    pthread_mutex_lock(&conn->cancel_lock);
    int ok = conn->cancel != NULL && PQcancel(conn->cancel, buf, sizeof buf);
    bool closed = conn->cancel == NULL;
    pthread_mutex_unlock(&conn->cancel_lock);
    if (closed)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "08003", "connection is closed"));
    if (!ok)
        return pp__fail(err, pp__error_new(PP_ERR_OPERATIONAL, "08006", "cancel failed: %s", buf));
    return PP_OK;
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
    if (conn == NULL || key == NULL)
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
        }
    }
    char *copy = val != NULL ? strdup(val) : NULL;
    pthread_mutex_unlock(&conn->lock);
    return copy;
}

int32_t pp_transaction_status(pp_conn *conn)
{
    if (conn == NULL)
        return PQTRANS_UNKNOWN;
    pthread_mutex_lock(&conn->lock);
    int32_t s = conn->closed || conn->pg == NULL ? PQTRANS_UNKNOWN
                                                   : (int32_t)PQtransactionStatus(conn->pg);
    pthread_mutex_unlock(&conn->lock);
    return s;
}

char *pp_take_notices(pp_conn *conn, int64_t *len)
{
    if (len != NULL)
        *len = 0;
    if (conn == NULL)
        return NULL;
    pthread_mutex_lock(&conn->lock);
    char *out = conn->notices_len ? conn->notices : NULL;
    if (out != NULL) {
        if (len != NULL)
            *len = (int64_t)conn->notices_len;
        conn->notices = NULL;
        conn->notices_len = conn->notices_cap = 0;
    }
    pthread_mutex_unlock(&conn->lock);
    return out;
}

int pp_set_statement_cache_size(pp_conn *conn, int32_t size, pp_error **err)
{
    if (size < 0)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "cache size %d < 0", size));
    if (pp__conn_enter(conn, err) != PP_OK)
        return PP_ERROR;
    conn->cache.capacity = size;
    /* Shrinking: drop the least recently used unpinned statements on the server too. */
    for (;;) {
        int32_t unpinned = 0, victim = -1;
        for (int32_t k = 0; k < conn->cache.count; k++) {
            pp_stmt *s = conn->cache.items[k];
            if (s->pinned)
                continue;
            unpinned++;
            if (victim < 0 || s->last_used < conn->cache.items[victim]->last_used)
                victim = k;
        }
        if (unpinned <= size || victim < 0)
            break;
        pp_stmt *s = conn->cache.items[victim];
        pp__cache_remove(&conn->cache, s);
        if (s->simple)
            pp__stmt_free(s); /* never prepared on the server */
        else
            pp__drop_stmt(conn, s);
    }
    pp__conn_leave(conn);
    return PP_OK;
}
