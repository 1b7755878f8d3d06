/* exec.c — running statements: the statement cache path, one-off commands sent whole, the
 * simple-query fallback for multi-command strings, results read whole or in chunks, and the
 * interruptible wait (PP_PENDING). Pipelined batches are in pipeline.c. */
#include "internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<sys/random.h>)
#include <sys/random.h>
#define HAVE_GETRANDOM 1
#endif
#endif

#define STACK_PARAMS 16

static bool is_commit(const char *sql)
{
    while (isspace((unsigned char)*sql))
        sql++;
    size_t n = strncasecmp(sql, "commit", 6) == 0 ? 6 : strncasecmp(sql, "end", 3) == 0 ? 3 : 0;
    if (n == 0)
        return false;
    sql += n;
    while (isspace((unsigned char)*sql) || *sql == ';')
        sql++;
    return *sql == '\0';
}

/* The error of a COMMIT whose connection broke (cause is freed). */
static pp_error *commit_unknown(pp_error *cause)
{
    pp_error *u = pp__error_new(PP_ERR_COMMIT_UNKNOWN, "08007",
                                "the connection was lost during COMMIT: whether the transaction "
                                "committed is unknown (%s)", pp_error_message(cause));
    pp_error_free(cause);
    return u;
}

static pp_error *lost_connection(pp_conn *conn, bool commit)
{
    pp_error *e = pp__conn_error(conn, PP_ERR_OPERATIONAL);
    return commit ? commit_unknown(e) : e;
}

/* Turns a finished result into success or error. Takes ownership of r. */
static int finish_result(pp_conn *conn, PGresult *r, bool binary, bool commit,
                         pp_result **out, pp_error **err)
{
    PGconn *pg = conn->pg;
    if (r == NULL)
        return pp__fail(err, lost_connection(conn, commit));
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR || st == PGRES_BAD_RESPONSE) {
        pp_error *e = PQstatus(pg) == CONNECTION_BAD ? lost_connection(conn, commit)
                                                     : pp__error_from_result(r);
        pp__name_timeout(conn, e);
        PQclear(r);
        return pp__fail(err, e);
    }
    if (commit && strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
        PQclear(r);
        return pp__fail(err, pp__error_new(PP_ERR_INTERNAL, "25P02",
                                           "COMMIT did not commit: the transaction had failed "
                                           "and was rolled back"));
    }
    pp_result *res = pp__result_new(r, binary);
    if (res == NULL) {
        PQclear(r);
        return pp__fail(err, pp__error_oom());
    }
    *out = res;
    return PP_OK;
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

/* Takes one result of the statement in flight into ps: keeps the last success (chaining
 * the earlier ones with PP_EXEC_ALL_RESULTS) and the first error. */
static void absorb(pp_conn *conn, pp_pending *ps, PGresult *r)
{
    PGconn *pg = conn->pg;
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        pp__abort_copy(pg, st);
        PQclear(r);
        if (ps->error == NULL)
            ps->error = pp__error_new(PP_ERR_NOT_SUPPORTED, "0A000",
                                      "COPY is not supported here; use the COPY API");
        return;
    }
    if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR || st == PGRES_BAD_RESPONSE) {
        if (ps->error == NULL) {
            ps->error = PQstatus(pg) == CONNECTION_BAD ? lost_connection(conn, ps->commit)
                                                       : pp__error_from_result(r);
            pp__name_timeout(conn, ps->error);
        }
        PQclear(r);
        return;
    }
    if (ps->all && ps->last != NULL) {
        /* keep every result: the previous one joins the chain */
        pp_result *res = NULL;
        if (finish_result(conn, ps->last, ps->binary, false, &res, &ps->error) == PP_OK) {
            if (ps->tail != NULL)
                pp__result_set_next(ps->tail, res);
            else
                ps->head = res;
            ps->tail = res;
        }
    } else {
        PQclear(ps->last);
    }
    ps->last = r;
}

/* The outcome of a statement whose results have all been absorbed into ps. */
static int conclude(pp_conn *conn, pp_pending *ps, pp_result **out, pp_error **err)
{
    if (ps->error != NULL) {
        PQclear(ps->last);
        ps->last = NULL;
        pp_result_free(ps->head);
        ps->head = ps->tail = NULL;
        pp_error *e = ps->error;
        ps->error = NULL;
        return pp__fail(err, e);
    }
    PGresult *last = ps->last;
    ps->last = NULL;
    pp_result *res = NULL;
    if (finish_result(conn, last, ps->binary, ps->commit, &res, err) != PP_OK)
        return PP_ERROR;
    if (ps->tail != NULL) {
        pp__result_set_next(ps->tail, res);
        res = ps->head;
    }
    ps->head = ps->tail = NULL;
    *out = res;
    return PP_OK;
}

/* ---- chunked results (PP_EXEC_CHUNKED, libpq's single-row mode) ---- */

/* A chunk is handed out once it holds CHUNK_MIN_ROWS rows and the next row has not arrived
 * yet (so the caller converts while the server sends), or once it is full. */
#define CHUNK_MIN_ROWS 1000
#define CHUNK_MAX_ROWS 50000
#define CHUNK_MAX_BYTES (8 << 20)

static void drop_chunk(pp_pending *ps)
{
    for (int32_t k = 0; ps->cols != NULL && k < ps->ncols; k++)
        pp__colbuf_free(ps->cols[k]);
    free(ps->cols);
    ps->cols = NULL;
    ps->rows = ps->bytes = 0;
}

/* Starts an empty chunk with the columns of shape. */
static pp_error *start_chunk(pp_pending *ps, const PGresult *shape)
{
    int n = PQnfields(shape);
    if ((ps->cols = calloc((size_t)(n > 0 ? n : 1), sizeof *ps->cols)) == NULL)
        return pp__error_oom();
    ps->ncols = n;
    for (int k = 0; k < n; k++) {
        pp_error *e = NULL;
        if ((ps->cols[k] = pp__colbuf_begin(PQftype(shape, k), ps->binary, 16,
                                            &e)) == NULL)
            return e;
    }
    return NULL;
}

/* Whether r has the columns of shape (count, types) in the format the statement asked for.
 * A real server never changes them in the middle of a result; a hostile one could, and its
 * rows must not land in columns built for another shape. */
static bool same_shape(const pp_pending *ps, const PGresult *shape, const PGresult *r)
{
    int n = PQnfields(shape);
    if (PQnfields(r) != n)
        return false;
    for (int k = 0; k < n; k++)
        if (PQftype(r, k) != PQftype(shape, k) || PQfformat(r, k) != (ps->binary ? 1 : 0))
            return false;
    return true;
}

static pp_error *shape_changed(void)
{
    return pp__error_new(PP_ERR_OPERATIONAL, "08P01", "protocol violation: the server changed "
                         "the columns of a result in the middle of its rows");
}

/* Appends the row in r (a PGRES_SINGLE_TUPLE result) to the chunk being gathered; every row
 * must have the shape of the statement's first row. */
static pp_error *add_row(pp_pending *ps, const PGresult *r)
{
    if (!same_shape(ps, ps->shape, r))
        return shape_changed();
    pp_error *e = ps->cols == NULL ? start_chunk(ps, r) : NULL;
    for (int k = 0; e == NULL && k < PQnfields(r); k++) {
        e = pp__colbuf_add(ps->cols[k], PQgetvalue(r, 0, k), PQgetlength(r, 0, k),
                           PQgetisnull(r, 0, k));
        ps->bytes += PQgetlength(r, 0, k);
    }
    if (e == NULL)
        ps->rows++;
    return e;
}

/* The gathered rows as a result described by `shape` into *out; the chunk state is
 * emptied. NULL, or the error (out of memory). */
static pp_error *hand_out(pp_pending *ps, const PGresult *shape, pp_result **out)
{
    pp_error *e = ps->cols == NULL ? start_chunk(ps, shape) : NULL;
    pp_result *res = e == NULL ? pp__result_from_columns(shape, ps->binary, ps->rows, ps->ncols,
                                                         ps->cols)
                               : NULL;
    if (res == NULL) {
        drop_chunk(ps);
        return e != NULL ? e : pp__error_oom();
    }
    ps->cols = NULL;
    ps->rows = ps->bytes = 0;
    *out = res;
    return NULL;
}

/* Hands the chunk out in the middle of the statement; on failure the error is kept and
 * the rest of the statement is read and dropped. */
static bool chunk_out(pp_pending *ps, pp_result **out)
{
    pp_error *e = hand_out(ps, ps->shape, out);
    if (e != NULL)
        ps->error = e;
    return e == NULL;
}

/* Reads the results of the statement in flight, keeping the last success and the first
 * error (absorb), until the statement is over (PP_OK with its result, or with the last rows
 * of a chunked one; PP_ERROR), a chunk of rows is ready (PP_MORE: only in single-row mode),
 * or a signal interrupts the wait (PP_PENDING; what was gathered so far is kept). */
static int read_results(pp_conn *conn, pp_pending *ps, pp_result **out, pp_error **err)
{
    PGconn *pg = conn->pg;
    for (;;) {
        if (PQisBusy(pg)) {
            if (ps->rows >= CHUNK_MIN_ROWS && ps->error == NULL && chunk_out(ps, out)) {
                conn->deadline_ms = 0; /* the next chunk's wait gets a deadline of its own */
                return PP_MORE;
            }
            int w = pp__wait_ready(conn, true);
            if (w == 1)
                return PP_PENDING;
            if (w < 0) {
                if (ps->error == NULL)
                    ps->error = lost_connection(conn, ps->commit);
                break;
            }
        }
        PGresult *r = PQgetResult(pg);
        if (r == NULL)
            break;
        if (PQresultStatus(r) != PGRES_SINGLE_TUPLE) {
            absorb(conn, ps, r);
            if (PQstatus(pg) == CONNECTION_BAD)
                break;
            continue;
        }
        if (ps->shape == NULL)
            ps->shape = r; /* kept: it describes every chunk */
        pp_error *e = ps->error == NULL ? add_row(ps, r) : NULL;
        if (e != NULL) {
            ps->error = e; /* the rest is read and dropped */
            drop_chunk(ps);
        }
        if (r != ps->shape)
            PQclear(r);
        if (ps->error == NULL && (ps->rows >= CHUNK_MAX_ROWS || ps->bytes >= CHUNK_MAX_BYTES) &&
            chunk_out(ps, out)) {
            conn->deadline_ms = 0;
            return PP_MORE;
        }
    }
    /* The statement is over. */
    if (ps->shape == NULL)
        return conclude(conn, ps, out, err); /* no rows came one by one: an ordinary result */
    if (ps->error == NULL && ps->last != NULL && !same_shape(ps, ps->shape, ps->last))
        ps->error = shape_changed(); /* the final result must describe the rows gathered */
    PQclear(ps->shape);
    ps->shape = NULL;
    if (ps->error != NULL || ps->last == NULL) {
        drop_chunk(ps);
        if (ps->error == NULL)
            ps->error = lost_connection(conn, ps->commit);
        return conclude(conn, ps, out, err);
    }
    pp_error *e = hand_out(ps, ps->last, out); /* the final result holds the command tag */
    PQclear(ps->last);
    ps->last = NULL;
    return e == NULL ? PP_OK : pp__fail(err, e);
}

/* ---- preparing ---- */

static bool result_ok(const PGresult *r)
{
    return r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
}

static const char *sqlstate_of(const PGresult *r)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

#define PARSE_GUARD "pp_parse_guard"

/* Parse and Describe of statement `name`, sent in one round trip and read here. Returns the
 * Parse result; *describe gets the Describe result (PGRES_PIPELINE_ABORTED when the Parse
 * failed). Either is NULL when the connection broke.
 *
 * Without `guard`, they are followed by a Flush request, not a Sync: after a successful
 * Parse the server waits, in the same implicit transaction, for the Bind the caller sends
 * next with its Sync (conn->unsynced says one is owed). A transaction-mode pooler such as
 * PgBouncer may hand the client another server connection after any Sync that leaves the
 * session idle; with no Sync between Parse and Bind, the Bind reaches the server that parsed
 * the statement. A failed Parse makes the server skip to a Sync: that one is sent and read
 * here.
 * With `guard` (inside a transaction, where a pooler keeps the server connection) they run
 * under a savepoint and end with a Sync, so that a Parse the caller will retry with declared
 * types can be undone without aborting the transaction. */
static PGresult *parse_and_describe(pp_conn *conn, const char *name, const char *sql,
                                    int32_t ntypes, const Oid *types, bool guard,
                                    PGresult **describe)
{
    PGconn *pg = conn->pg;
    *describe = NULL;
    if (!PQenterPipelineMode(pg))
        return NULL;
    PGresult *parsed = NULL;
    int parse_at = guard ? 1 : 0; /* results come in command order */
    int commands = guard ? 4 : 2;
    bool synced = guard;
    bool ok = (!guard || PQsendQueryParams(pg, "SAVEPOINT " PARSE_GUARD, 0, NULL, NULL, NULL,
                                           NULL, 0)) &&
              PQsendPrepare(pg, name, sql, ntypes, types) && PQsendDescribePrepared(pg, name) &&
              (guard ? PQsendQueryParams(pg, "RELEASE SAVEPOINT " PARSE_GUARD, 0, NULL, NULL,
                                         NULL, NULL, 0) && PQpipelineSync(pg)
                     : PQsendFlushRequest(pg) && PQflush(pg) == 0);
    int seen = 0; /* commands whose results have all been read */
    while (ok) {
        if (seen == commands && !synced) {
            if (result_ok(parsed) && result_ok(*describe))
                break; /* the caller's Bind comes next */
            ok = PQpipelineSync(pg); /* the server skips to it after an error */
            synced = true;
            continue;
        }
        /* Wait on the socket: a connection the server closed ends the wait. */
        if (pp__wait_ready(conn, false) < 0) {
            ok = false;
            /* the server's last words (PQgetResult does not wait now), unless the wait
             * ended for a reason of ours (a timeout, pp_close): pp__conn_error tells it */
            if (parsed == NULL && conn->wait_error == NULL && !atomic_load(&conn->closing) &&
                PQstatus(pg) == CONNECTION_BAD)
                parsed = PQgetResult(pg);
            break;
        }
        PGresult *r = PQgetResult(pg);
        if (r == NULL) {
            /* the end of one command's results; never expected once all are read */
            ok = seen < commands && PQstatus(pg) != CONNECTION_BAD;
            seen++;
            continue;
        }
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (seen == parse_at && parsed == NULL)
            parsed = r;
        else if (seen == parse_at + 1 && *describe == NULL)
            *describe = r;
        else
            PQclear(r);
    }
    if (!PQexitPipelineMode(pg))
        ok = false;
    if (!ok) { /* the connection broke */
        PQclear(*describe);
        *describe = NULL;
        if (parsed != NULL && PQresultStatus(parsed) == PGRES_FATAL_ERROR)
            return parsed; /* e.g. the server's "terminating connection" */
        PQclear(parsed);
        return NULL;
    }
    conn->unsynced = !synced;
    return parsed;
}

void pp__settle_parse(pp_conn *conn)
{
    if (!conn->unsynced)
        return;
    conn->unsynced = false;
    PGconn *pg = conn->pg;
    if (PQstatus(pg) == CONNECTION_BAD || !PQenterPipelineMode(pg))
        return;
    if (PQpipelineSync(pg)) {
        for (;;) {
            if (pp__wait_ready(conn, false) < 0)
                break;
            PGresult *r = PQgetResult(pg);
            bool end = r == NULL || PQresultStatus(r) == PGRES_PIPELINE_SYNC;
            PQclear(r);
            if (end)
                break;
        }
    }
    PQexitPipelineMode(pg);
}

pp_error *pp__explain_missing(pp_error *e, const pp_stmt *s)
{
    if (e == NULL || s == NULL || s->name[0] == '\0' || strcmp(e->sqlstate, "26000") != 0 ||
        e->message == NULL || strstr(e->message, s->name) == NULL)
        return e;
    pp_error *why = pp__error_new(
        PP_ERR_PROGRAMMING, "26000",
        "prepared statement \"%s\" does not exist on this server connection: it was "
        "dropped (DISCARD ALL, DEALLOCATE), or a pooler in transaction mode such as "
        "PgBouncer gave this client another server connection; behind such a pooler "
        "connect without the statement cache (PP_CONNECT_NO_STATEMENT_CACHE) and do not "
        "prepare statements by name, or use session pooling", s->name);
    if (why == pp__error_oom())
        return e;
    why->index = e->index;
    pp_error_free(e);
    return why;
}

/* Fills s's parameter types and result shape from r, the Describe's result (cleared here);
 * PP_ERROR with *err when the Describe failed or memory ran out. */
static int take_description(pp_conn *conn, pp_stmt *s, PGresult *r, pp_error **err)
{
    if (!result_ok(r)) {
        pp_error *e = r ? pp__error_from_result(r) : pp__conn_error(conn, PP_ERR_OPERATIONAL);
        PQclear(r);
        return pp__fail(err, e);
    }
    s->nparams = PQnparams(r);
    s->ncols = PQnfields(r);
    s->binary_results = true;
    for (int32_t k = 0; k < s->ncols; k++)
        if (!pp__has_binary_decoder(PQftype(r, k)))
            s->binary_results = false;
    if (s->nparams > 0 &&
        (s->param_oids = malloc(sizeof *s->param_oids * (size_t)s->nparams)) == NULL) {
        PQclear(r);
        return pp__fail(err, pp__error_oom());
    }
    for (int32_t k = 0; k < s->nparams; k++)
        s->param_oids[k] = PQparamtype(r, k);
    PQclear(r);
    return PP_OK;
}

/* Prepares sql as server statement `name` and describes it. *out is a new pp_stmt (key set
 * from `key`). Multi-command SQL without parameters yields a `simple` entry. */
static int prepare_stmt(pp_conn *conn, const char *key, const char *sql, const char *name,
                        int32_t nparams, const pp_value *params, bool direct_ok, pp_stmt **out,
                        pp_error **err)
{
    PGconn *pg = conn->pg;
    pp_stmt *s = calloc(1, sizeof *s);
    if (s == NULL || (s->key = strdup(key)) == NULL) {
        free(s);
        return pp__fail(err, pp__error_oom());
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    if (nparams == 0 && pp__several_commands(sql)) {
        s->simple = true; /* the simple-query protocol runs it; Parse would refuse it */
        *out = s;
        return PP_OK;
    }
    if (direct_ok && nparams == 0 && name[0] == '\0' && pp__rowless_command(sql)) {
        s->direct = true; /* nothing to describe: Parse, Bind, Execute in one round trip */
        *out = s;
        return PP_OK;
    }
    PGresult *described = NULL;
    bool guard = nparams > 0 && PQtransactionStatus(pg) == PQTRANS_INTRANS;
    s->reparse = guard && name[0] == '\0'; /* the RELEASE after it replaces the unnamed one */
    PGresult *r = parse_and_describe(conn, name, sql, 0, NULL, guard, &described);
    const char *st = sqlstate_of(r);
    if (!result_ok(r) && nparams > 0 &&
        (strcmp(st, "42P18") == 0 || strcmp(st, "42P08") == 0 || strcmp(st, "42725") == 0 ||
         strcmp(st, "42804") == 0)) {
        /* The server cannot infer a parameter's type: declare the types of the values (in a
         * transaction, first undo the failed Parse, which ran under a savepoint). */
        if (guard)
            PQclear(pp__exec_wait(conn, "ROLLBACK TO SAVEPOINT " PARSE_GUARD
                                        "; RELEASE SAVEPOINT " PARSE_GUARD));
        Oid *types = calloc((size_t)nparams, sizeof *types);
        if (types == NULL) {
            PQclear(r);
            pp__stmt_free(s);
            return pp__fail(err, pp__error_oom());
        }
        for (int32_t k = 0; k < nparams; k++)
            types[k] = pp__oid_for_value(&params[k]);
        PQclear(r);
        PQclear(described);
        r = parse_and_describe(conn, name, sql, nparams, types, false, &described);
        s->reparse = false; /* unguarded this time: the unnamed statement stays */
        free(types);
    }
    if (!result_ok(r)) {
        pp_error *e = r ? pp__error_from_result(r) : pp__conn_error(conn, PP_ERR_OPERATIONAL);
        PQclear(r);
        PQclear(described);
        pp__stmt_free(s);
        return pp__fail(err, e);
    }
    PQclear(r);
    if (take_description(conn, s, described, err) != PP_OK) {
        pp__stmt_free(s);
        return PP_ERROR;
    }
    *out = s;
    return PP_OK;
}

static void deallocate_on_server(pp_conn *conn, const char *name)
{
    char sql[80];
    snprintf(sql, sizeof sql, "DEALLOCATE \"%s\"", name);
    PQclear(pp__exec_wait(conn, sql));
}

/* DEALLOCATEs the statements the cache evicted, once outside a transaction: inside one, a
 * DEALLOCATE that fails (the statement is not there, e.g. on another server connection a
 * pooler gave us) would abort the caller's transaction. Outside, a failure harms nothing. */
static void drop_doomed(pp_conn *conn)
{
    while (conn->cache.doomed != NULL && PQtransactionStatus(conn->pg) == PQTRANS_IDLE) {
        pp_stmt *s = conn->cache.doomed;
        conn->cache.doomed = s->next_doomed;
        deallocate_on_server(conn, s->name);
        pp__stmt_free(s);
    }
}

void pp__drop_stmt(pp_conn *conn, pp_stmt *s)
{
    pp__cache_doom(&conn->cache, s);
    drop_doomed(conn);
}

/* A 64-bit value no other process or connection is likely to draw. */
static uint64_t random64(const void *conn)
{
    uint64_t x = 0;
#ifdef HAVE_GETRANDOM
    if (getrandom(&x, sizeof x, GRND_NONBLOCK) == (ssize_t)sizeof x && x != 0)
        return x;
#endif
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    x ^= ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)conn;
    x += 0x9e3779b97f4a7c15ULL; /* splitmix64's finalizer spreads the bits */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return (x ^ (x >> 31)) | 1;
}

/* The server name of a new named statement: "pp_" (cache) or "pp_n" (pp_prepare), then
 * the connection's random salt and a counter. Behind a pooler, server connections are
 * shared by many clients: a name no other client uses means a Bind that reaches another
 * server connection finds no statement ("does not exist", 26000) rather than someone
 * else's. */
static void stmt_name(pp_conn *conn, const char *prefix, char *out, size_t cap)
{
    if (conn->cache.salt == 0)
        conn->cache.salt = random64(conn);
    snprintf(out, cap, "%s%016llx_%llu", prefix, (unsigned long long)conn->cache.salt,
             (unsigned long long)++conn->cache.next_id);
}

int pp__lookup_stmt(pp_conn *conn, const char *sql, uint32_t flags, int32_t nparams,
                       const pp_value *params, bool direct_ok, pp_stmt **out, bool *temp,
                       pp_error **err)
{
    *temp = false;
    if (flags & PP_EXEC_PREPARED) {
        *out = pp__cache_find(&conn->cache, sql, true);
        if (*out == NULL)
            return pp__fail(err, pp__error_new(PP_ERR_PROGRAMMING, "26000",
                                               "no prepared statement named \"%s\"", sql));
        return PP_OK;
    }
    if ((*out = pp__cache_find(&conn->cache, sql, false)) != NULL)
        return PP_OK;
    drop_doomed(conn);
    /* In a transaction a parameterized statement is parsed under a savepoint, whose
     * commands would replace the unnamed statement: it takes a name at once. */
    bool guarded = nparams > 0 && PQtransactionStatus(conn->pg) == PQTRANS_INTRANS;
    if (conn->cache.capacity == 0 || (direct_ok && nparams == 0 && pp__rowless_command(sql)) ||
        (!guarded && !pp__cache_seen(&conn->cache, sql))) {
        /* Caching off, a command with nothing to describe (sent whole: a ROLLBACK must work
         * on whatever server connection a pooler gives us, where our named statements may
         * not exist), or the first run of this SQL: the unnamed statement serves it, so
         * one-off statements never fill the cache nor cost a DEALLOCATE later. */
        *temp = true;
        return prepare_stmt(conn, sql, sql, "", nparams, params, direct_ok, out, err);
    }
    char name[PP_STMT_NAME_MAX];
    stmt_name(conn, "pp_", name, sizeof name);
    pp_stmt *s;
    if (prepare_stmt(conn, sql, sql, name, nparams, params, false, &s, err) != PP_OK)
        return PP_ERROR;
    /* An evicted statement is dropped later (drop_doomed): s still owes the server its Bind
     * now, and inside a transaction a DEALLOCATE that fails would abort it. */
    if (pp__cache_add(&conn->cache, s) == NULL) {
        pp__stmt_free(s);
        return pp__fail(err, pp__error_oom());
    }
    *out = s;
    return PP_OK;
}

int pp__check_param_count(const pp_stmt *s, int32_t nparams, pp_error **err)
{
    if (s->simple && nparams == 0)
        return PP_OK;
    if (s->nparams != nparams)
        return pp__fail(err, pp__error_new(PP_ERR_PROGRAMMING, "",
                                           "the statement takes %d parameter%s but %d %s given",
                                           s->nparams, s->nparams == 1 ? "" : "s", nparams,
                                           nparams == 1 ? "was" : "were"));
    return PP_OK;
}

int pp__send_prepared(pp_conn *conn, const pp_stmt *s, int32_t nparams,
                         const pp_value *params, bool binary, pp_error **err)
{
    const char *values_s[STACK_PARAMS];
    int lengths_s[STACK_PARAMS], formats_s[STACK_PARAMS];
    pp_encoded enc = {values_s, lengths_s, formats_s};
    void *heap = NULL;
    if (nparams > STACK_PARAMS) {
        heap = malloc((size_t)nparams * (sizeof(char *) + 2 * sizeof(int)));
        if (heap == NULL)
            return pp__fail(err, pp__error_oom());
        enc.values = heap;
        enc.lengths = (int *)(enc.values + nparams);
        enc.formats = enc.lengths + nparams;
    }
    int rc = pp__encode_params(conn, nparams, params, s->param_oids, &enc, err);
    if (rc == PP_OK) {
        int format = binary ? 1 : 0;
        int sent = s->reparse ? PQsendQueryParams(conn->pg, s->key, nparams, s->param_oids,
                                                  enc.values, enc.lengths, enc.formats, format)
                              : PQsendQueryPrepared(conn->pg, s->name, nparams, enc.values,
                                                    enc.lengths, enc.formats, format);
        if (!sent)
            rc = pp__fail(err, pp__error_from_conn(conn->pg, PP_ERR_OPERATIONAL));
    }
    free(heap);
    return rc;
}

static int exec_locked(pp_conn *conn, const char *sql, int32_t nparams, const pp_value *params,
                       uint32_t flags, bool may_retry, pp_result **out, pp_error **err)
{
    pp_stmt *s;
    bool temp;
    if (pp__lookup_stmt(conn, sql, flags, nparams, params, true, &s, &temp, err) != PP_OK)
        return PP_ERROR;
    if (pp__check_param_count(s, nparams, err) != PP_OK) {
        if (temp)
            pp__stmt_free(s);
        return PP_ERROR;
    }
    pp__pending_clear(conn);
    pp_pending *ps = &conn->pend;
    ps->commit = is_commit(sql);
    ps->all = (flags & PP_EXEC_ALL_RESULTS) != 0;
    if (s->simple) {
        if (temp)
            pp__stmt_free(s);
        if (!PQsendQuery(conn->pg, sql))
            return pp__fail(err, pp__error_from_conn(conn->pg, PP_ERR_OPERATIONAL));
        return read_results(conn, ps, out, err);
    }
    ps->binary = s->binary_results && !(flags & PP_EXEC_TEXT);
    bool cached = !temp && !s->pinned;
    int rc = s->direct ? (PQsendQueryParams(conn->pg, sql, 0, NULL, NULL, NULL, NULL, 0)
                              ? PP_OK
                              : pp__fail(err, pp__error_from_conn(conn->pg, PP_ERR_OPERATIONAL)))
                       : pp__send_prepared(conn, s, nparams, params, ps->binary, err);
    if (temp)
        pp__stmt_free(s);
    if (rc != PP_OK)
        return rc;
    conn->unsynced = false; /* the Bind went out with its Sync */
    ps->chunked = (flags & PP_EXEC_CHUNKED) && PQsetSingleRowMode(conn->pg);
    pp_error *e = NULL;
    rc = read_results(conn, ps, out, &e);
    if (rc == PP_ERROR && cached && may_retry && PQtransactionStatus(conn->pg) == PQTRANS_IDLE &&
        (strcmp(e->sqlstate, "0A000") == 0 || strcmp(e->sqlstate, "26000") == 0)) {
        /* A cached plan went stale (ALTER …) or the statement vanished (DISCARD ALL, or a
         * pooler gave us another server connection): prepare it again and retry once,
         * only outside a transaction. */
        if (strcmp(e->sqlstate, "26000") != 0)
            deallocate_on_server(conn, s->name);
        pp_error_free(e);
        pp__cache_remove(&conn->cache, s);
        pp__stmt_free(s);
        return exec_locked(conn, sql, nparams, params, flags, false, out, err);
    }
    if (rc == PP_ERROR)
        return pp__fail(err, temp ? e : pp__explain_missing(e, s));
    return rc;
}



/* The decoders need UTF-8. A statement that changed client_encoding is answered with an
 * error, and the encoding is set back (in a transaction, a rollback restores it anyway). */
static int check_encoding(pp_conn *conn, pp_error **err)
{
    const char *enc = PQparameterStatus(conn->pg, "client_encoding");
    if (enc == NULL || strcmp(enc, "UTF8") == 0 || PQstatus(conn->pg) != CONNECTION_OK)
        return PP_OK;
    char was[64];
    snprintf(was, sizeof was, "%s", enc);
    PQclear(pp__exec_wait(conn, "SET client_encoding TO 'UTF8'"));
    if (err != NULL && *err != NULL)
        return PP_ERROR; /* keep the statement's own error */
    return pp__fail(err, pp__error_new(PP_ERR_NOT_SUPPORTED, "0A000",
                                       "client_encoding cannot be changed (to %s): PostPyro "
                                       "exchanges text in UTF8 and has set it back", was));
}

int pp_exec(pp_conn *conn, const char *sql, int32_t nparams, const pp_value *params,
            uint32_t flags, pp_result **out, pp_error **err)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || sql == NULL || nparams < 0 || (nparams > 0 && params == NULL))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_exec: bad arguments"));
    if (nparams > 65535)
        return pp__fail(err, pp__error_new(PP_ERR_PROGRAMMING, "54000",
                                           "%d parameters: PostgreSQL takes at most 65535",
                                           nparams));
    if (pp__conn_enter(conn, err) != PP_OK)
        return PP_ERROR;
    pp_error *e = NULL;
    int rc = exec_locked(conn, sql, nparams, params, flags, true, out, &e);
    pp__settle_parse(conn); /* when it failed between Parse and Bind */
    if (rc == PP_ERROR && e != NULL &&
        (e->category == PP_ERR_OPERATIONAL || e->category == PP_ERR_TIMEOUT ||
         e->category == PP_ERR_INTERFACE) &&
        PQstatus(conn->pg) == CONNECTION_BAD && is_commit(sql)) {
        /* The connection broke while COMMIT was on its way (even while preparing it). */
        e = commit_unknown(e);
    }
    if (rc == PP_ERROR)
        pp__fail(err, e);
    if (rc != PP_PENDING && check_encoding(conn, err) != PP_OK && rc == PP_OK) {
        pp_result_free(*out);
        *out = NULL;
        rc = PP_ERROR;
    }
    if (rc == PP_PENDING || rc == PP_MORE)
        pp__conn_set_pending(conn); /* others wait in pp__conn_enter until it ends */
    pp__conn_leave(conn);
    return rc;
}

/* Describes a result pp_query hands out and decodes its columns when they fit in cols. */
static int describe_out(int rc, pp_result **out, pp_result_info *info, pp_column *cols,
                        int32_t max_cols, pp_error **err)
{
    if (rc != PP_OK && rc != PP_MORE)
        return rc;
    pp_result_describe(*out, info, NULL);
    if (info->ncols <= max_cols && pp_result_columns(*out, cols, err) != PP_OK) {
        pp_result_free(*out);
        *out = NULL;
        return PP_ERROR; /* never for a chunk, whose columns are decoded as rows arrive */
    }
    return rc;
}

int pp_query(pp_conn *conn, const char *sql, int32_t nparams, const pp_value *params,
             uint32_t flags, pp_result **out, pp_result_info *info, pp_column *cols,
             int32_t max_cols, pp_error **err)
{
    if (info == NULL || (max_cols > 0 && cols == NULL))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_query: bad arguments"));
    int rc = pp_exec(conn, sql, nparams, params, flags, out, err);
    return describe_out(rc, out, info, cols, max_cols, err);
}

/* Ends a pending statement: wakes the callers waiting for the connection. */
static void end_pending(pp_conn *conn)
{
    conn->pending = false;
    pthread_cond_broadcast(&conn->idle);
}

int pp_resume(pp_conn *conn, pp_result **out, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (out != NULL)
        *out = NULL;
    if (conn == NULL || out == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_resume: bad arguments"));
    if (pp__conn_lock_owned(conn, err) != PP_OK)
        return PP_ERROR;
    if (!conn->pending || conn->pg == NULL) {
        pthread_mutex_unlock(&conn->lock);
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "no statement is pending"));
    }
    if (conn->deadline_ms == 0)
        pp__arm_deadline(conn); /* the next chunk of PP_EXEC_CHUNKED (or a new timeout) */
    int rc;
    if (conn->pend.is_pipe) {
        rc = pp__pipe_run(conn, &conn->pend.pipe, true);
        if (rc != PP_PENDING)
            rc = pp__pipe_finish(conn, rc, err);
    } else {
        rc = read_results(conn, &conn->pend, out, err);
        if (rc != PP_PENDING && rc != PP_MORE && check_encoding(conn, err) != PP_OK &&
            rc == PP_OK) {
            pp_result_free(*out);
            *out = NULL;
            rc = PP_ERROR;
        }
    }
    if (rc != PP_PENDING && rc != PP_MORE)
        end_pending(conn);
    pthread_mutex_unlock(&conn->lock);
    return rc;
}

int pp_query_next(pp_conn *conn, pp_result **out, pp_result_info *info, pp_column *cols,
                  int32_t max_cols, pp_error **err)
{
    if (info == NULL || (max_cols > 0 && cols == NULL))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_query_next: bad arguments"));
    return describe_out(pp_resume(conn, out, err), out, info, cols, max_cols, err);
}

int pp_query_close(pp_conn *conn, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (conn == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_query_close: bad arguments"));
    if (pp__conn_lock_owned(conn, err) != PP_OK)
        return PP_ERROR;
    if (!conn->pending || !conn->pend.chunked || conn->pg == NULL) {
        pthread_mutex_unlock(&conn->lock);
        return PP_OK; /* nothing left to drop */
    }
    PGconn *pg = conn->pg;
    int rc = PP_OK;
    for (;;) {
        pp__arm_deadline(conn); /* each result in turn, as each chunk in pp_resume */
        if (pp__wait_ready(conn, false) < 0) {
            rc = pp__fail(err, lost_connection(conn, conn->pend.commit));
            break;
        }
        PGresult *r = PQgetResult(pg);
        if (r == NULL)
            break;
        if (PQresultStatus(r) == PGRES_COPY_IN || PQresultStatus(r) == PGRES_COPY_OUT)
            pp__abort_copy(pg, PQresultStatus(r));
        PQclear(r);
    }
    pp__pending_clear(conn);
    end_pending(conn);
    pthread_mutex_unlock(&conn->lock);
    return rc;
}

/* ---- pending state, prepared statements ---- */

void pp__pending_clear(pp_conn *conn)
{
    pp_pending *ps = &conn->pend;
    pp_result_free(ps->head);
    PQclear(ps->last);
    pp_error_free(ps->error);
    drop_chunk(ps);
    PQclear(ps->shape);
    if (ps->is_pipe) {
        pp_error_free(ps->pipe.first);
        if (!ps->pipe.batch)
            free(ps->pipe.counts);
        free(ps->pipe.row);
        free(ps->pipe.at);
        if (ps->pipe.own_stmt)
            pp__stmt_free(ps->pipe.stmt);
    }
    memset(ps, 0, sizeof *ps);
}

int pp_prepare(pp_conn *conn, const char *name, const char *sql, pp_error **err)
{
    if (name == NULL || sql == NULL || name[0] == '\0')
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_prepare: bad arguments"));
    if (pp__conn_enter(conn, err) != PP_OK)
        return PP_ERROR;
    int rc = PP_OK;
    if (pp__cache_find(&conn->cache, name, true) != NULL) {
        rc = pp__fail(err, pp__error_new(PP_ERR_PROGRAMMING, "42P05",
                                         "prepared statement \"%s\" already exists", name));
    } else {
        char server_name[PP_STMT_NAME_MAX];
        stmt_name(conn, "pp_n", server_name, sizeof server_name);
        pp_stmt *s;
        rc = prepare_stmt(conn, name, sql, server_name, 0, NULL, false, &s, err);
        pp__settle_parse(conn); /* no Bind follows */
        if (rc == PP_OK && s->simple) {
            pp__stmt_free(s);
            rc = pp__fail(err, pp__error_new(PP_ERR_PROGRAMMING, "42601",
                                             "cannot prepare several commands at once"));
        } else if (rc == PP_OK) {
            s->pinned = true;
            s->user_name = s->key;
            if (pp__cache_add(&conn->cache, s) == NULL) {
                deallocate_on_server(conn, s->name);
                pp__stmt_free(s);
                rc = pp__fail(err, pp__error_oom());
            }
        }
    }
    pp__conn_leave(conn);
    return rc;
}

int pp_deallocate(pp_conn *conn, const char *name, pp_error **err)
{
    if (name == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_deallocate: bad arguments"));
    if (pp__conn_enter(conn, err) != PP_OK)
        return PP_ERROR;
    pp_stmt *s = pp__cache_find(&conn->cache, name, true);
    int rc = PP_OK;
    if (s == NULL) {
        rc = pp__fail(err, pp__error_new(PP_ERR_PROGRAMMING, "26000",
                                         "no prepared statement named \"%s\"", name));
    } else {
        deallocate_on_server(conn, s->name);
        pp__cache_remove(&conn->cache, s);
        pp__stmt_free(s);
    }
    pp__conn_leave(conn);
    return rc;
}
