/* SPDX-License-Identifier: MIT */
/* pipeline.c — pipelined batches: one statement run once per row of parameters
 * (pp_exec_many, pp_exec_many_columns) and a list of SQL strings (pp_exec_batch), every
 * command sent before the answers are read, all in one transaction, resumable after a
 * signal (PP_PENDING, finished by pp_resume). */
#include "internal.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ABORT_SQL "DO $$BEGIN RAISE EXCEPTION 'batch abandoned by the client'; END$$"

/* Sends command k of the pipeline. */
static int pipe_send(pp_conn *conn, pp_pipe *p, int64_t k, pp_error **err)
{
    if (p->batch) {
        if (p->sqls[k] == NULL)
            return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "statement %lld is NULL",
                                               (long long)k));
        if (!PQsendQueryParams(conn->pg, p->sqls[k], 0, NULL, NULL, NULL, NULL, 0))
            return pp__fail(err, pp__error_from_conn(conn->pg, PP_ERR_OPERATIONAL));
        return PP_OK;
    }
    const pp_value *values =
        p->params != NULL ? p->params + (k - p->params_base) * p->nparams : NULL;
    if (p->cols != NULL) { /* rows are sent in order: row k comes next in every column */
        for (int32_t j = 0; j < p->nparams; j++)
            pp__column_value(&p->cols[j], k, &p->at[j], &p->row[j]);
        values = p->row;
    }
    pp_error *e = NULL;
    if (pp__send_prepared(conn, p->stmt, p->nparams, values, true, &e) == PP_OK)
        return PP_OK;
    /* name the row as well as the parameter */
    pp_error *named = pp__error_new(e->category, e->sqlstate, "row %lld: %s", (long long)k,
                                    e->message);
    pp__error_set_origin(named, e->origin);
    pp_error_free(e);
    return pp__fail(err, named);
}

/* Sends the pipeline's commands and reads their results, never letting our output buffer
 * and the server's block each other (non-blocking socket, poll on both directions). All
 * commands share one Sync, so they run as one implicit transaction. Returns PP_PENDING when
 * a signal interrupts a wait (the state stays in p), PP_ERROR when the connection broke. */
/* Sends the next commands: up to 64 between reads, then the Sync after the last; stops at
 * the first that cannot be sent (p->first) and flushes. PP_ERROR when libpq failed. */
static int pipe_send_some(pp_conn *conn, pp_pipe *p)
{
    PGconn *pg = conn->pg;
    while (!p->synced && !p->want_write && p->first == NULL) {
        if (p->sent < p->n) {
            pp_error *e = NULL;
            if (pipe_send(conn, p, p->sent, &e) != PP_OK) {
                e->index = p->sent;
                p->first = e;
                break;
            }
            p->sent++;
        }
        if (p->sent == p->n) {
            if (!PQpipelineSync(pg))
                return PP_ERROR;
            p->synced = true;
        }
        if (p->sent % 64 != 0 && !p->synced)
            continue; /* flush and read every 64 commands: one send, not one each */
        int f = PQflush(pg);
        if (f < 0)
            return PP_ERROR;
        p->want_write = f == 1;
        break; /* read what has arrived before sending more */
    }
    return PP_OK;
}

/* After a failure (p->first) and before the Sync went out: stop sending. */
static int pipe_stop_sending(pp_conn *conn, pp_pipe *p)
{
    PGconn *pg = conn->pg;
    /* When the failure was ours (a value that cannot be encoded) after commands went out,
     * make the server fail the implicit transaction too, so none of them is kept. */
    if (p->sent > 0 && !PQsendQueryParams(pg, ABORT_SQL, 0, NULL, NULL, NULL, NULL, 0))
        return PP_ERROR;
    if (!PQpipelineSync(pg))
        return PP_ERROR;
    p->synced = true;
    p->want_write = PQflush(pg) == 1;
    return PP_OK;
}

/* Reads the results that have arrived, without waiting: per-command counts, the first
 * error, the Sync. PP_ERROR when libpq failed. */
static int pipe_read_available(pp_conn *conn, pp_pipe *p)
{
    PGconn *pg = conn->pg;
    if (!PQconsumeInput(pg))
        return PP_ERROR;
    bool after_null = false;
    while (!PQisBusy(pg) && (p->done < p->sent || (p->synced && !p->sync_seen))) {
        PGresult *r = PQgetResult(pg);
        if (r == NULL) {
            if (after_null)
                break; /* nothing is pending: wait on the socket (an EOF ends it) */
            after_null = true;
            p->done++; /* end of one command's results */
            continue;
        }
        after_null = false;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            p->sync_seen = true;
        } else if (st == PGRES_FATAL_ERROR) {
            if (p->first == NULL) {
                p->first = pp__error_from_result(r);
                pp__name_timeout(conn, p->first);
                p->first->index = p->done;
            }
        } else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
            pp__abort_copy(pg, st);
            if (p->first == NULL) {
                p->first = pp__error_new(PP_ERR_NOT_SUPPORTED, "0A000",
                                         "COPY is not supported in a batch");
                p->first->index = p->done;
            }
        } else if (st != PGRES_PIPELINE_ABORTED && p->done < p->n) {
            const char *t = PQcmdTuples(r);
            p->counts[p->done] = t[0] ? strtoll(t, NULL, 10) : -1;
        }
        PQclear(r);
    }
    return PP_OK;
}

static int pipe_run(pp_conn *conn, pp_pipe *p, bool interruptible)
{
    PGconn *pg = conn->pg;
    for (;;) {
        if (pipe_send_some(conn, p) != PP_OK)
            return PP_ERROR;
        if (p->first != NULL && !p->synced && pipe_stop_sending(conn, p) != PP_OK)
            return PP_ERROR;
        if (pipe_read_available(conn, p) != PP_OK)
            return PP_ERROR;
        if (p->sync_seen)
            return PP_OK;
        bool need_read = p->done < p->sent || p->synced;
        short events = (short)((need_read ? POLLIN : 0) | (p->want_write ? POLLOUT : 0));
        if (events == 0)
            continue;
        if (!p->synced && !p->want_write)
            continue; /* more to send: the next read takes what has arrived meanwhile */
        int w = pp__wait_socket(conn, events, interruptible);
        if (w < 0)
            return PP_ERROR;
        if (w > 0) /* a signal, or a slice passed */
            return PP_PENDING;
        if (p->want_write) {
            int f = PQflush(pg);
            if (f < 0)
                return PP_ERROR;
            p->want_write = f == 1;
        }
    }
}

/* pipe_run, with a cancel asked meanwhile (Ctrl-C's, pp_cancel) sent again while it waits
 * (wait.c): one that reached the backend between two statements of the pipeline, or before
 * the pipeline itself, was ignored, and the statement after it ran to its end. */
int pp__pipe_run(pp_conn *conn, pp_pipe *p, bool interruptible)
{
    conn->resending = true;
    int rc = pipe_run(conn, p, interruptible);
    conn->resending = false;
    return rc;
}

/* After PP_PENDING, the counts as pp_resume reports them: a result with one int8 column,
 * "rows_affected", one row per command. NULL when out of memory. */
static pp_result *counts_result(const pp_pipe *p)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc att = {.name = "rows_affected", .typid = OID_INT8, .typlen = 8,
                        .atttypmod = -1};
    bool ok = r != NULL && PQsetResultAttrs(r, 1, &att);
    for (int64_t k = 0; ok && k < p->n; k++) {
        char buf[24];
        int len = snprintf(buf, sizeof buf, "%lld", (long long)p->counts[k]);
        ok = k <= INT32_MAX && PQsetvalue(r, (int)k, 0, buf, len);
    }
    pp_result *res = ok ? pp__result_new(r, false) : NULL;
    if (res == NULL)
        PQclear(r);
    return res;
}

/* The bytes value v needs copied (0 when the encoder will refuse its length anyway). */
static size_t value_bytes(const pp_value *v)
{
    switch (v->tag) {
    case PP_TEXT: case PP_BYTES: case PP_NUMERIC: case PP_UUID: case PP_JSON: case PP_ARRAY:
        return v->ptr != NULL && v->len > 0 && v->len <= 0x3fffffff ? (size_t)v->len : 0;
    default:
        return 0;
    }
}

/* Row k's values (from the caller's params or columns) into row; reading columns advances
 * at (rows are read in order). */
static void read_row(const pp_pipe *p, int64_t k, int64_t *at, pp_value *row)
{
    for (int32_t j = 0; j < p->nparams; j++) {
        if (p->cols != NULL)
            pp__column_value(&p->cols[j], k, &at[j], &row[j]);
        else
            row[j] = p->params[(k - p->params_base) * p->nparams + j];
    }
}

/* Copies the rows still to send (sent .. n-1) out of the caller's memory. */
static bool detach_values(pp_pipe *p)
{
    int64_t rows = p->n - p->sent;
    size_t count = (size_t)rows * (size_t)p->nparams, bytes = 0;
    if (count == 0)
        return true;
    int64_t *at = p->cols != NULL ? malloc((size_t)p->nparams * sizeof *at) : NULL;
    if (p->cols != NULL && at == NULL)
        return false;
    if (at != NULL) /* a first pass for the size must not move the real positions */
        memcpy(at, p->at, (size_t)p->nparams * sizeof *at);
    for (int64_t k = p->sent; k < p->n; k++) {
        for (int32_t j = 0; j < p->nparams; j++) {
            pp_value v;
            if (p->cols != NULL)
                pp__column_value(&p->cols[j], k, &at[j], &v);
            else
                v = p->params[(k - p->params_base) * p->nparams + j];
            bytes += value_bytes(&v);
        }
    }
    free(at);
    pp_value *vals = malloc(count * sizeof *vals);
    char *data = malloc(bytes + 1);
    if (vals == NULL || data == NULL) {
        free(vals);
        free(data);
        return false;
    }
    size_t used = 0;
    for (int64_t k = p->sent; k < p->n; k++) {
        pp_value *row = vals + (size_t)(k - p->sent) * (size_t)p->nparams;
        read_row(p, k, p->at, row);
        for (int32_t j = 0; j < p->nparams; j++) {
            size_t b = value_bytes(&row[j]);
            if (b > 0)
                memcpy(data + used, row[j].ptr, b);
            row[j].ptr = b > 0 ? data + used : NULL; /* a refused length stays refused */
            row[j].dims = NULL;
            used += b;
        }
    }
    p->own_params = vals;
    p->own_data = data;
    p->params = vals;
    p->params_base = p->sent;
    p->cols = NULL;
    return true;
}

/* Before the call returns PP_PENDING: copies everything the pipeline still needs of the
 * caller's memory (statements, parameter rows, counts), so that the caller may free it.
 * false when out of memory (nothing changed that matters: the call then finishes without
 * returning early). */
static bool pipe_detach(pp_pipe *p)
{
    int64_t *counts = malloc((size_t)(p->n > 0 ? p->n : 1) * sizeof *counts);
    if (counts == NULL)
        return false;
    if (p->batch) {
        if ((p->own_sqls = calloc((size_t)p->n, sizeof *p->own_sqls)) == NULL) {
            free(counts);
            return false;
        }
        for (int64_t k = 0; k < p->n; k++) {
            if (p->sqls[k] != NULL && (p->own_sqls[k] = strdup(p->sqls[k])) == NULL) {
                free(counts);
                return false; /* own_sqls is freed with the pending state */
            }
        }
        p->sqls = (const char *const *)p->own_sqls;
    } else if (!detach_values(p)) {
        free(counts);
        return false;
    }
    memcpy(counts, p->counts, (size_t)p->n * sizeof *counts);
    if (p->own_counts)
        free(p->counts);
    p->counts = counts;
    p->own_counts = true;
    p->affected = NULL;
    p->detached = true;
    return true;
}

/* Ends a pipeline that pipe_run finished (rc PP_OK or PP_ERROR): leaves pipeline mode,
 * reports the totals or the first failure, frees the pending state. */
int pp__pipe_finish(pp_conn *conn, int rc, pp_result **out, pp_error **err)
{
    PGconn *pg = conn->pg;
    pp_pipe *p = &conn->pend.pipe;
    pp__pq_mode(conn); /* blocking again, unless the connection is nonblocking */
    pp_error *e = NULL;
    if (rc != PP_OK) {
        e = pp__conn_error(conn, PP_ERR_OPERATIONAL);
    } else {
        PQexitPipelineMode(pg);
        e = p->batch ? p->first : pp__explain_missing(p->first, p->stmt);
        p->first = NULL;
    }
    if (e == NULL && !p->batch && p->affected != NULL)
        for (int64_t k = 0; k < p->n; k++)
            *p->affected += p->counts[k] > 0 ? p->counts[k] : 0;
    if (e != NULL && p->batch && e->index >= 0 && e->index < p->n && p->sqls[e->index] != NULL) {
        /* quote the failing statement (shortened) in the message */
        const char *q = p->sqls[e->index];
        int len = (int)strnlen(q, 200);
        pp_error *named = pp__error_new(e->category, e->sqlstate,
                                        "statement %lld of the batch failed: %s [SQL: %.*s%s]",
                                        (long long)e->index, e->message, len, q,
                                        q[len] ? "..." : "");
        if (named != pp__error_oom()) {
            named->index = e->index;
            named->origin = e->origin;
            for (int c = 0; c < 128; c++) {
                named->fields[c] = e->fields[c];
                e->fields[c] = NULL;
            }
        }
        pp_error_free(e);
        e = named;
    }
    if (e == NULL && p->detached && out != NULL && (*out = counts_result(p)) == NULL)
        e = pp__error_oom();
    pp__pending_clear(conn);
    return e != NULL ? pp__fail(err, e) : PP_OK;
}

/* Starts the pipeline prepared in conn->pend.pipe and runs it. */
static int pipe_start(pp_conn *conn, pp_error **err)
{
    PGconn *pg = conn->pg;
    conn->pend.is_pipe = true;
    if (conn->pend.pipe.n == 0) {
        pp__pending_clear(conn);
        return PP_OK;
    }
    if (!PQenterPipelineMode(pg)) {
        pp__pending_clear(conn);
        return pp__fail(err, pp__error_from_conn(pg, PP_ERR_OPERATIONAL));
    }
    if (PQsetnonblocking(pg, 1) != 0) {
        PQexitPipelineMode(pg);
        pp__pending_clear(conn);
        return pp__fail(err, pp__error_from_conn(pg, PP_ERR_OPERATIONAL));
    }
    conn->unsynced = false; /* the pipeline ends with a Sync, even when it fails */
    pp__resend_begin(conn);
    pp_pipe *p = &conn->pend.pipe;
    int rc = pp__pipe_run(conn, p, pp__interruptible(conn));
    if (rc == PP_PENDING && pipe_detach(p))
        return rc;
    if (rc == PP_PENDING) /* no memory for copies: finish without returning early */
        rc = pp__pipe_run(conn, p, false);
    return pp__pipe_finish(conn, rc, NULL, err);
}

/* One run of pp_exec_many or pp_exec_many_columns (lock held): the values come from params
 * (row after row) or from cols. *cached gets the statement when it is a cached named one
 * (for a retry; it stays the cache's). */
static int run_many_once(pp_conn *conn, const char *sql, int32_t nparams, int64_t nrows,
                         const pp_value *params, const pp_column *cols, int64_t *affected,
                         pp_stmt **cached, pp_error **err)
{
    *cached = NULL;
    if (nrows == 0)
        return PP_OK;
    size_t n = nparams > 0 ? (size_t)nparams : 1;
    pp_value *row = cols != NULL ? calloc(n, sizeof *row) : NULL;
    int64_t *at = cols != NULL ? calloc(n, sizeof *at) : NULL;
    if (cols != NULL && (row == NULL || at == NULL)) {
        free(row);
        free(at);
        return pp__fail(err, pp__error_oom());
    }
    for (int32_t j = 0; cols != NULL && j < nparams; j++) { /* row 0, for a typed retry */
        int64_t start = 0;
        pp__column_value(&cols[j], 0, &start, &row[j]);
    }
    pp_stmt *s = NULL;
    bool temp = false;
    const pp_value *first = cols != NULL ? row : params; /* for a retry with typed values */
    int rc = pp__lookup_stmt(conn, sql, 0, nparams, first, false, &s, &temp, err);
    if (rc == PP_OK && s->simple)
        rc = pp__fail(err, pp__error_new(PP_ERR_PROGRAMMING, "42601",
                                         "pp_exec_many takes a single statement"));
    if (rc == PP_OK)
        rc = pp__check_param_count(s, nparams, err);
    int64_t *counts = NULL;
    if (rc == PP_OK && (counts = calloc((size_t)nrows, sizeof *counts)) == NULL)
        rc = pp__fail(err, pp__error_oom());
    if (rc == PP_OK) {
        if (!temp && !s->pinned)
            *cached = s;
        pp__pending_clear(conn);
        conn->pend.pipe = (pp_pipe){.stmt = s, .own_stmt = temp, .nparams = nparams,
                                    .params = params, .cols = cols, .row = row, .at = at,
                                    .n = nrows, .counts = counts, .own_counts = true,
                                    .affected = affected};
        temp = false; /* the pipe owns it now, and row and at */
        row = NULL;
        at = NULL;
        rc = pipe_start(conn, err);
        if (rc == PP_PENDING)
            pp__conn_set_pending(conn);
    }
    if (temp)
        pp__stmt_free(s);
    free(row);
    free(at);
    return rc;
}

static int run_many(pp_conn *conn, const char *sql, int32_t nparams, int64_t nrows,
                    const pp_value *params, const pp_column *cols, int64_t *affected,
                    pp_error **err)
{
    if (pp__conn_enter(conn, err) != PP_OK)
        return PP_ERROR;
    pp_stmt *cached;
    pp_error *e = NULL;
    int rc = run_many_once(conn, sql, nparams, nrows, params, cols, affected, &cached, &e);
    if (rc == PP_ERROR && cached != NULL && strcmp(e->sqlstate, "26000") == 0 &&
        strstr(e->message, cached->name) != NULL &&
        PQtransactionStatus(conn->pg) == PQTRANS_IDLE) {
        /* The cached statement vanished (DISCARD ALL, or a pooler gave us another server
         * connection): nothing ran, since all rows share one implicit transaction. Prepare
         * it again and retry once, only outside a transaction. */
        pp_error_free(e);
        e = NULL;
        pp__cache_remove(&conn->cache, cached);
        pp__stmt_free(cached);
        rc = run_many_once(conn, sql, nparams, nrows, params, cols, affected, &cached, &e);
    }
    if (rc == PP_ERROR)
        pp__fail(err, e);
    pp__settle_parse(conn); /* when it failed between Parse and Bind */
    pp__conn_leave(conn);
    return rc;
}

/* Nonblocking mode: the three calls run on the connection's fiber (nonblock.c); this
 * calls them again there, with a copy of their arguments. */
typedef struct batch_args {
    pp_conn *conn;
    const char *sql;
    int32_t nparams;            /* pp_exec_many_columns: ncols */
    int64_t nrows;              /* pp_exec_batch: n */
    const pp_value *params;
    const pp_column *cols;
    const char *const *sqls;
    int64_t *affected;          /* pp_exec_batch: counts */
    int which;                  /* MANY, MANY_COLUMNS or BATCH */
} batch_args;

enum { MANY, MANY_COLUMNS, BATCH };

static void batch_on_fiber(void *arg)
{
    batch_args a = *(const batch_args *)arg;
    pp_error *e = NULL;
    int rc = a.which == BATCH ? pp_exec_batch(a.conn, a.nrows, a.sqls, a.affected, &e)
             : a.which == MANY_COLUMNS
                 ? pp_exec_many_columns(a.conn, a.sql, a.nparams, a.nrows, a.cols, a.affected, &e)
                 : pp_exec_many(a.conn, a.sql, a.nparams, a.nrows, a.params, a.affected, &e);
    pp__nb_done(a.conn, rc, NULL, e);
}

int pp_exec_many(pp_conn *conn, const char *sql, int32_t nparams, int64_t nrows,
                 const pp_value *params, int64_t *affected, pp_error **err)
{
    if (pp__nb_wanted(conn)) {
        batch_args a = {conn, sql, nparams, nrows, params, NULL, NULL, affected, MANY};
        return pp__nb_run(conn, batch_on_fiber, &a, false, NULL, err);
    }
    if (affected != NULL)
        *affected = 0;
    if (sql == NULL || nparams < 0 || nrows < 0 || (nparams > 0 && nrows > 0 && params == NULL))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_exec_many: bad arguments"));
    return run_many(conn, sql, nparams, nrows, params, NULL, affected, err);
}

int pp_exec_many_columns(pp_conn *conn, const char *sql, int32_t ncols, int64_t nrows,
                         const pp_column *cols, int64_t *affected, pp_error **err)
{
    if (pp__nb_wanted(conn)) {
        batch_args a = {conn, sql, ncols, nrows, NULL, cols, NULL, affected, MANY_COLUMNS};
        return pp__nb_run(conn, batch_on_fiber, &a, false, NULL, err);
    }
    if (affected != NULL)
        *affected = 0;
    if (sql == NULL || ncols < 0 || nrows < 0 || (ncols > 0 && cols == NULL))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_exec_many_columns: bad arguments"));
    for (int32_t j = 0; j < ncols; j++)
        if (pp__check_input_column(&cols[j], j, nrows, "pp_exec_many_columns", err) != PP_OK)
            return PP_ERROR;
    return run_many(conn, sql, ncols, nrows, NULL, ncols > 0 ? cols : NULL, affected, err);
}

int pp_exec_batch(pp_conn *conn, int64_t n, const char *const *sqls, int64_t *counts,
                  pp_error **err)
{
    if (pp__nb_wanted(conn)) {
        batch_args a = {conn, NULL, 0, n, NULL, NULL, sqls, counts, BATCH};
        return pp__nb_run(conn, batch_on_fiber, &a, false, NULL, err);
    }
    if (n < 0 || (n > 0 && (sqls == NULL || counts == NULL)))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_exec_batch: bad arguments"));
    if (pp__conn_enter(conn, err) != PP_OK)
        return PP_ERROR;
    for (int64_t k = 0; k < n; k++)
        counts[k] = -1;
    pp__pending_clear(conn);
    conn->pend.pipe = (pp_pipe){.batch = true, .sqls = sqls, .n = n, .counts = counts};
    int rc = pipe_start(conn, err);
    if (rc == PP_PENDING)
        pp__conn_set_pending(conn);
    pp__conn_leave(conn);
    return rc;
}
