/* SPDX-License-Identifier: MIT */
/* nonblock.c — nonblocking mode: a public call runs on the connection's fiber (fiber.c),
 * where wait.c's one wait switches back here instead of blocking; the call returns
 * PP_PENDING and pp_resume switches in again. The call's outcome waits in conn (nb_rc,
 * nb_out, nb_err) until the call that ends it hands it out. Also pp_set_nonblocking and
 * what a caller waits for (pp_socket, pp_wait_events, pp_wait_timeout_ms), and the
 * notification calls (pp_consume_input, pp_notify_take; the queue is notify.c's). */
#include "internal.h"

#include <stdlib.h>

void pp__nb_done(pp_conn *conn, int rc, pp_result *out, pp_error *err)
{
    conn->nb_rc = rc;
    conn->nb_out = out;
    conn->nb_err = err;
}

/* May this thread start (or, with `resume`, go on with) a nonblocking call? Lock held. */
static pp_error *nb_refusal(pp_conn *conn, bool resume, bool *go_on)
{
    *go_on = false;
    if (atomic_load(&conn->fiber) == NULL)
        return pp__error_new(PP_ERR_INTERFACE, "", "nonblocking mode is not set up");
    if (!conn->nb_busy)
        return NULL;
    if (!resume)
        return pp__error_new(PP_ERR_INTERFACE, "",
                             "a nonblocking call on this connection is not finished: call "
                             "pp_resume until it returns something other than PP_PENDING");
    if (!pthread_equal(conn->nb_thread, pthread_self()))
        return pp__error_new(PP_ERR_INTERFACE, "",
                             "pp_resume must come from the thread whose call returned "
                             "PP_PENDING");
    *go_on = true;
    return NULL;
}

int pp__nb_run(pp_conn *conn, void (*fn)(void *), void *arg, bool resume, pp_result **out,
               pp_error **err)
{
    if (out != NULL)
        *out = NULL;
    if (err != NULL)
        *err = NULL;
    if (pp__conn_lock_owned(conn, err) != PP_OK)
        return PP_ERROR;
    /* a blocking connection's call on the fiber (a COPY call with slices, copy.c): another
     * thread's call waits for it to end, as for any blocking call */
    while (!atomic_load(&conn->nonblocking) && conn->nb_busy &&
           !pthread_equal(conn->nb_thread, pthread_self()))
        pthread_cond_wait(&conn->idle, &conn->lock);
    bool go_on;
    pp_error *e = nb_refusal(conn, resume, &go_on);
    if (e != NULL) {
        pthread_mutex_unlock(&conn->lock);
        return pp__fail(err, e);
    }
    pp__fiber *f = atomic_load(&conn->fiber);
    if (!go_on) { /* a new call: pp_set_idle_wait's bound counts from its start */
        int32_t idle_ms = atomic_load(&conn->idle_ms);
        atomic_store(&conn->idle_until_ms, idle_ms > 0 ? pp__now_ms() + idle_ms : 0);
    }
    conn->nb_busy = true;
    conn->nb_thread = pthread_self();
    pthread_mutex_unlock(&conn->lock); /* the call on the fiber takes it as usual */
    int y = go_on ? pp__fiber_resume(f) : pp__fiber_start(f, fn, arg);
    if (y == 1)
        return PP_PENDING; /* it waits; its wait let the lock go */
    atomic_store(&conn->idle_until_ms, 0); /* the next call counts its own bound */
    pthread_mutex_lock(&conn->lock);
    conn->nb_busy = false;
    pthread_cond_broadcast(&conn->idle);
    int rc = y == 0 ? conn->nb_rc : PP_ERROR;
    pp_result *res = conn->nb_out;
    e = y == 0 ? conn->nb_err
               : pp__error_new(PP_ERR_INTERNAL, "", "cannot run a nonblocking call");
    conn->nb_out = NULL;
    conn->nb_err = NULL;
    pthread_mutex_unlock(&conn->lock);
    if (out != NULL)
        *out = res;
    else
        pp_result_free(res);
    if (rc == PP_ERROR)
        return pp__fail(err, e);
    pp_error_free(e);
    return rc;
}

int pp_set_nonblocking(pp_conn *conn, int32_t on, pp_error **err)
{
    if (pp__conn_enter(conn, err) != PP_OK)
        return PP_ERROR;
    int rc = PP_OK;
    if (conn->nb_busy) {
        rc = pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                         "a nonblocking call on this connection is not "
                                         "finished"));
    } else if (on && !pp__fiber_supported()) {
        rc = pp__fail(err, pp__error_new(PP_ERR_NOT_SUPPORTED, "0A000",
                                         "nonblocking mode is not available in this build "
                                         "(no way to switch stacks here)"));
    } else if (on && atomic_load(&conn->fiber) == NULL) {
        pp__fiber *f = pp__fiber_new();
        if (f == NULL)
            rc = pp__fail(err, pp__error_new(PP_ERR_INTERNAL, "53200",
                                             "out of memory for nonblocking mode"));
        else
            atomic_store(&conn->fiber, f);
    }
    if (rc == PP_OK) {
        atomic_store(&conn->nonblocking, on != 0);
        pp__pq_mode(conn);
    }
    pp__conn_leave(conn);
    return rc;
}

int32_t pp_is_nonblocking(pp_conn *conn)
{
    return conn != NULL && atomic_load(&conn->nonblocking) ? 1 : 0;
}

int32_t pp_socket(pp_conn *conn)
{
    if (conn == NULL || !pp__conn_owned(conn))
        return -1;
    /* connected: conn->sock (cancel_lock, never held long), so that a call running in
     * another thread is not waited for; while connecting, libpq's (no call runs then) */
    pthread_mutex_lock(&conn->cancel_lock);
    int32_t fd = conn->sock;
    pthread_mutex_unlock(&conn->cancel_lock);
    if (fd >= 0 || pp__conn_lock_owned(conn, NULL) != PP_OK)
        return fd;
    fd = conn->pg != NULL && !conn->closed && conn->connecting ? PQsocket(conn->pg) : -1;
    pthread_mutex_unlock(&conn->lock);
    return fd;
}

int pp_set_idle_wait(pp_conn *conn, int32_t fd, int32_t ms)
{
    if (conn == NULL)
        return PP_ERROR;
    atomic_store(&conn->idle_fd, fd);
    atomic_store(&conn->idle_ms, ms > 0 ? ms : 0);
    atomic_store(&conn->idle_until_ms, ms > 0 ? pp__now_ms() + ms : 0); /* the running call's */
    return PP_OK;
}

int32_t pp_wait_events(pp_conn *conn)
{
    return conn != NULL ? atomic_load(&conn->want_events) : 0;
}

int32_t pp_wait_timeout_ms(pp_conn *conn)
{
    int64_t at = conn != NULL ? atomic_load(&conn->wait_deadline_ms) : 0;
    if (at == 0)
        return -1;
    int64_t left = at - pp__now_ms();
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int32_t)left;
}

int pp_consume_input(pp_conn *conn, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (conn == NULL || !pp__conn_owned(conn))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "08003", "connection is closed"));
    if (pthread_mutex_trylock(&conn->lock) != 0)
        return PP_OK; /* a call is running: it reads and collects */
    pp_error *e = NULL;
    if (conn->closed || conn->pg == NULL || conn->connecting ||
        PQstatus(conn->pg) == CONNECTION_BAD)
        e = pp__error_new(PP_ERR_INTERFACE, "08003", "connection is closed");
    else if (!conn->pending && !conn->nb_busy && conn->copy_state == PP_COPY_NONE) {
        if (!PQconsumeInput(conn->pg))
            e = pp__error_from_conn(conn->pg, PP_ERR_OPERATIONAL);
        pp__notify_collect(conn);
    }
    pthread_mutex_unlock(&conn->lock);
    return e != NULL ? pp__fail(err, e) : PP_OK;
}

int pp_notify_take(pp_conn *conn, pp_notify **out, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (out != NULL)
        *out = NULL;
    if (conn == NULL || out == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_notify_take: bad arguments"));
    if (!pp__conn_owned(conn))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "08003",
                                           "connection belongs to the parent process"));
    /* what libpq holds already, unless a call is using the connection (it collects them) */
    if (pthread_mutex_trylock(&conn->lock) == 0) {
        if (!conn->pending && !conn->closed)
            pp__notify_collect(conn);
        pthread_mutex_unlock(&conn->lock);
    }
    *out = pp__notify_pop(&conn->notify);
    return PP_OK;
}

int pp_set_notify_limit(pp_conn *conn, int64_t limit, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (conn == NULL || limit < 1 || !pp__conn_owned(conn))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_set_notify_limit: bad arguments"));
    pp__notify_set_limit(&conn->notify, limit);
    return PP_OK;
}

int64_t pp_notify_dropped(pp_conn *conn)
{
    return conn != NULL && pp__conn_owned(conn) ? pp__notify_counter(&conn->notify, true) : 0;
}

int64_t pp_notify_count(pp_conn *conn)
{
    return conn != NULL && pp__conn_owned(conn) ? pp__notify_counter(&conn->notify, false) : 0;
}

/* pp_cancel_start and pp_cancel_poll: one step of the request in flight (cancel_lock
 * held); it is dropped once it ended. */
static int cancel_step(pp_conn *conn, int32_t *fd, int32_t *events, pp_error **err)
{
    char msg[256] = "";
    int rc = pp__nbcancel_step(conn->nbcancel, fd, events, msg, sizeof msg);
    if (rc != PP_PENDING) {
        pp__nbcancel_drop(conn->nbcancel);
        conn->nbcancel = NULL;
    }
    pthread_mutex_unlock(&conn->cancel_lock);
    if (rc == PP_ERROR)
        return pp__fail(err, pp__error_new(PP_ERR_OPERATIONAL, "08006", "%s", msg));
    return rc;
}

/* Arguments common to both; locks cancel_lock on success. */
static int cancel_enter(pp_conn *conn, int32_t *fd, int32_t *events, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (conn == NULL || fd == NULL || events == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_cancel_start/poll: bad "
                                                                 "arguments"));
    *fd = -1;
    *events = 0;
    if (!pp__conn_owned(conn))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "08003",
                                           "connection belongs to the parent process"));
    pthread_mutex_lock(&conn->cancel_lock);
    return PP_OK;
}

int pp_cancel_start(pp_conn *conn, int32_t *fd, int32_t *events, pp_error **err)
{
    if (cancel_enter(conn, fd, events, err) != PP_OK)
        return PP_ERROR;
    if (conn->nbcancel == NULL) {
        if (conn->canceller == NULL) {
            pthread_mutex_unlock(&conn->cancel_lock);
            return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "08003",
                                               "connection is closed"));
        }
        /* libpq 17's form needs the PGconn: only when no call holds it (trylock: the lock
         * order elsewhere is conn->lock, then cancel_lock) */
        bool locked = pthread_mutex_trylock(&conn->lock) == 0;
        PGconn *pg = locked && !conn->closed ? conn->pg : NULL;
        char msg[256] = "";
        pp__cancel_asked(conn);
        int rc = pp__nbcancel_begin(conn->canceller, pg, &conn->nbcancel, msg, sizeof msg);
        if (locked)
            pthread_mutex_unlock(&conn->lock);
        if (rc != PP_OK) {
            pthread_mutex_unlock(&conn->cancel_lock);
            return pp__fail(err, pp__error_new(PP_ERR_OPERATIONAL, "08006", "cancel failed: %s",
                                               msg));
        }
    }
    return cancel_step(conn, fd, events, err);
}

int pp_cancel_poll(pp_conn *conn, int32_t *fd, int32_t *events, pp_error **err)
{
    if (cancel_enter(conn, fd, events, err) != PP_OK)
        return PP_ERROR;
    if (conn->nbcancel == NULL) {
        pthread_mutex_unlock(&conn->cancel_lock);
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "no cancel request is in "
                                                                 "flight"));
    }
    return cancel_step(conn, fd, events, err);
}
