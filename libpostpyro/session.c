/* SPDX-License-Identifier: MIT */
/* session.c — the server session as a whole: the parameters the server reports
 * (pp_parameter_status) and a new session in place of the old one (pp_reset). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

char *pp_parameter_status(pp_conn *conn, const char *name)
{
    if (conn == NULL || name == NULL || pp__conn_lock_owned(conn, NULL) != PP_OK)
        return NULL;
    const char *val = conn->closed || conn->pg == NULL ? NULL
                                                       : PQparameterStatus(conn->pg, name);
    char *copy = val != NULL ? strdup(val) : NULL;
    pthread_mutex_unlock(&conn->lock);
    return copy;
}

/* Drops everything of the old session (lock held): pending statement, COPY, statement cache,
 * the cancel key, a late cancel request, a timeout's error. */
static void forget_session(pp_conn *conn)
{
    pp__settle_late_cancel(conn, 0);
    if (conn->pending) {
        conn->pending = false;
        pthread_cond_broadcast(&conn->idle); /* waiting threads now find a fresh session */
    }
    pp__pending_clear(conn);
    pthread_mutex_lock(&conn->cancel_lock);
    pp__canceller_unref(conn->canceller);
    conn->canceller = NULL;
    conn->sock = -1;
    pthread_mutex_unlock(&conn->cancel_lock);
    pp__cache_clear(&conn->cache);
    conn->copy_state = PP_COPY_NONE;
    conn->copy_out_done = false;
    conn->unsynced = false;
    conn->cancel_sent = false;
    pp_error_free(conn->wait_error);
    conn->wait_error = NULL;
}

/* The password, for pp__connect_poll to remove from a failed connect's message. */
static void keep_password_out(pp_conn *conn)
{
    pp__secrets_free(conn->secrets);
    conn->secrets = NULL;
    const char *pw = PQpass(conn->pg);
    if (pw == NULL || pw[0] == '\0' || (conn->secrets = calloc(2, sizeof (char *))) == NULL)
        return;
    conn->secrets[0] = strdup(pw); /* without memory: nothing to remove, nothing shown */
}

int pp_reset(pp_conn *conn, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (conn == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_reset: bad arguments"));
    if (pp__conn_lock_owned(conn, err) != PP_OK)
        return PP_ERROR;
    if (conn->pg == NULL || conn->connecting) {
        pthread_mutex_unlock(&conn->lock);
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "08003", "pp_reset: the "
                                           "connection was closed by pp_close, or its connect "
                                           "has not finished"));
    }
    if (atomic_load(&conn->nonblocking)) { /* its connect would wait: never in this mode */
        pthread_mutex_unlock(&conn->lock);
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_reset: not in "
                                           "nonblocking mode (turn it off with "
                                           "pp_set_nonblocking first)"));
    }
    forget_session(conn);
    PQsetnonblocking(conn->pg, 0);
    int rc;
    if (!PQresetStart(conn->pg)) {
        rc = pp__fail(err, pp__error_from_connect(conn->pg, NULL, PP_ERR_OPERATIONAL));
        PQfinish(conn->pg);
        conn->pg = NULL;
        conn->closed = true;
    } else {
        conn->closed = false;
        conn->connecting = true;
        PQsetErrorVerbosity(conn->pg, PQERRORS_VERBOSE); /* connerr.c reads the SQLSTATE */
        keep_password_out(conn);
        conn->poll_status = PGRES_POLLING_WRITING;
        int32_t ms = atomic_load(&conn->timeout_ms);
        conn->deadline_ms = ms > 0 ? pp__now_ms() + ms : 0;
        rc = pp__connect_poll(conn, false, err);
        conn->connecting = false;
        conn->deadline_ms = 0;
    }
    pthread_cond_broadcast(&conn->idle);
    pthread_mutex_unlock(&conn->lock);
    return rc;
}
