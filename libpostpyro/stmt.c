/* SPDX-License-Identifier: MIT */
/* stmt.c — statements on the server: finding or preparing the statement for SQL (the cache
 * path, one-off statements, Parse + Describe without a Sync before the Bind), naming them,
 * sending a Bind/Execute, and dropping them again (pp_prepare, pp_deallocate, cache size).
 * Used by exec.c (one statement) and pipeline.c (batches), which read the rows. */
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<sys/random.h>)
#include <sys/random.h>
#define HAVE_GETRANDOM 1
#endif
#endif

#define STACK_PARAMS 16

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
                     : PQsendFlushRequest(pg) && PQflush(pg) >= 0); /* the rest: waits */
    int seen = 0; /* commands whose results have all been read */
    while (ok) {
        if (seen == commands && !synced) {
            if (result_ok(parsed) && result_ok(*describe))
                break; /* the caller's Bind comes next */
            ok = PQpipelineSync(pg); /* the server skips to it after an error */
            synced = true;
            continue;
        }
        /* Wait on the socket: a connection the server closed ends the wait. A signal
         * (PP_CONNECT_INTERRUPTIBLE) is remembered: the first wait once the statement runs
         * reports it (PP_PENDING), so that a cancel then finds it running. A slice that
         * passed reports nothing: the statement's own waits have slices too. */
        int w = pp__wait_ready(conn, pp__interruptible(conn) && !conn->interrupted);
        if (w > 0) {
            conn->interrupted = conn->interrupted || w == PP__WAIT_SIGNAL;
            continue;
        }
        if (w < 0) {
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
    why->origin = e->origin; /* the server's error, explained */
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

/* Whether r is the server saying it cannot infer (or reconcile) a parameter's type. */
static bool cannot_infer(const PGresult *r)
{
    const char *st = sqlstate_of(r);
    return strcmp(st, "42P18") == 0 || strcmp(st, "42P08") == 0 || strcmp(st, "42725") == 0 ||
           strcmp(st, "42804") == 0;
}

/* Undoes a Parse that failed under the guard savepoint: the transaction goes on. */
static void undo_guarded_parse(pp_conn *conn)
{
    PQclear(pp__exec_wait(conn, "ROLLBACK TO SAVEPOINT " PARSE_GUARD
                                "; RELEASE SAVEPOINT " PARSE_GUARD));
}

/* The parameter a 42P18 "could not determine data type of parameter $n" names, as an index
 * (n - 1) below nparams; -1 when the message names none. */
static int32_t undetermined_param(const PGresult *r, int32_t nparams)
{
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    if (strcmp(sqlstate_of(r), "42P18") != 0 || msg == NULL || (msg = strchr(msg, '$')) == NULL)
        return -1;
    long n = 0;
    for (msg++; *msg >= '0' && *msg <= '9' && n <= nparams; msg++)
        n = n * 10 + (*msg - '0');
    return n >= 1 && n <= nparams ? (int32_t)(n - 1) : -1;
}

/* The server could not infer some parameter's type (r, its answer to the Parse, is used up
 * here): Parse again declaring `types`, where NULLs without a declared type are 0, so the
 * server infers their types from the SQL (`CASE WHEN $1 IS NOT NULL THEN $2 ELSE 0 END`).
 * Each NULL the server then names as undeterminable is declared text, one at a time; when
 * it names none, all undeclared NULLs at once (a NULL alone, `SELECT $1`, is text). So at
 * most one Parse per NULL parameter more. Inside a transaction (`guard`) every try that
 * may be followed by another runs under the savepoint, and is undone when it fails. Returns the last Parse's result, *described its
 * Describe's, except when the last Parse failed only because of a NULL declared text here:
 * then the server's "cannot infer" error before it (with *described NULL); s->reparse is
 * set for what the last Parse did to the unnamed statement. */
static PGresult *declare_and_retry(pp_conn *conn, pp_stmt *s, const char *name,
                                   const char *sql, int32_t nparams, const pp_value *params,
                                   Oid *types, bool guard, PGresult *r, PGresult **described)
{
    PGresult *cause = NULL; /* the server's last "cannot infer" answer */
    bool guessed = false;   /* a NULL was declared text here */
    for (;;) {
        bool undeclared = false; /* a NULL still declared 0: another try may follow */
        for (int32_t k = 0; k < nparams; k++)
            undeclared = undeclared || (params[k].tag == PP_NULL && types[k] == 0);
        if (guard)
            undo_guarded_parse(conn);
        PQclear(cause);
        cause = r;
        PQclear(*described);
        *described = NULL;
        r = parse_and_describe(conn, name, sql, nparams, types, guard && undeclared, described);
        s->reparse = guard && undeclared && name[0] == '\0';
        if (!result_ok(r) && r != NULL && guessed && !cannot_infer(r)) {
            /* text was only a guess (`$1 IS NULL OR int_col = $1` then fails with "integer
             * = text"): the true cause is that the server could not type the NULL */
            PQclear(r);
            PQclear(*described);
            *described = NULL;
            return cause;
        }
        if (result_ok(r) || !undeclared || !cannot_infer(r)) {
            PQclear(cause);
            return r;
        }
        guessed = true;
        int32_t k = undetermined_param(r, nparams);
        if (k >= 0 && params[k].tag == PP_NULL && types[k] == 0) {
            types[k] = OID_TEXT;
        } else {
            for (k = 0; k < nparams; k++)
                if (params[k].tag == PP_NULL && types[k] == 0)
                    types[k] = OID_TEXT;
        }
    }
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
    if (!result_ok(r) && nparams > 0 && cannot_infer(r)) {
        Oid *types = calloc((size_t)nparams, sizeof *types);
        if (types == NULL) {
            PQclear(r);
            PQclear(described);
            if (guard)
                undo_guarded_parse(conn);
            pp__stmt_free(s);
            return pp__fail(err, pp__error_oom());
        }
        for (int32_t k = 0; k < nparams; k++)
            types[k] = pp__oid_for_value(&params[k]);
        r = declare_and_retry(conn, s, name, sql, nparams, params, types, guard, r, &described);
        s->declared = types; /* a later run with values of other types must not reuse it */
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

void pp__deallocate_on_server(pp_conn *conn, const char *name)
{
    const pp__pq17 *api = pp__pq17_api();
    if (api != NULL) { /* Close, then Sync: not a statement, so no transaction */
        if (api->send_close_prepared(conn->pg, name))
            PQclear(pp__last_result_wait(conn));
        return;
    }
    char sql[80];
    snprintf(sql, sizeof sql, "DEALLOCATE \"%s\"", name);
    PQclear(pp__exec_wait(conn, sql));
}

/* Whether evicted statements can be closed on the server now: never in pipeline mode (the
 * next call outside it does). A protocol-level Close (libpq 17+) goes at once otherwise: it
 * never fails, not even in a failed transaction nor for a statement that is not there. A
 * DEALLOCATE waits until outside a transaction: inside one, a DEALLOCATE that fails (the
 * statement is not there, e.g. on another server connection a pooler gave us) would abort
 * the caller's transaction. Outside, a failure harms nothing. */
static bool can_close_now(pp_conn *conn)
{
    return PQpipelineStatus(conn->pg) == PQ_PIPELINE_OFF &&
           (pp__pq17_api() != NULL || PQtransactionStatus(conn->pg) == PQTRANS_IDLE);
}

/* Closes the statements the cache evicted on the server, when it can (can_close_now). */
static void drop_doomed(pp_conn *conn)
{
    while (conn->cache.doomed != NULL && can_close_now(conn)) {
        pp_stmt *s = conn->cache.doomed;
        conn->cache.doomed = s->next_doomed;
        pp__deallocate_on_server(conn, s->name);
        pp__stmt_free(s);
    }
}

void pp__drop_stmt(pp_conn *conn, pp_stmt *s)
{
    pp__cache_doom(&conn->cache, s);
    drop_doomed(conn);
}

/* Whether a cancel was asked for (pp_cancel, pp_cancel_start, the deadline) while the
 * statement's Parse/Describe ran: the server ignores a cancel request that finds it
 * waiting for the Bind, and would run the statement in full. Then the statement is not run:
 * PP_ERROR with the server's own error, 57014, and the Parse is settled (Sync). */
static int describe_cancelled(pp_conn *conn, pp_error **err)
{
    if (atomic_load(&conn->cancel_asks) == conn->cancel_asks_seen)
        return PP_OK;
    pp__settle_parse(conn);
    pp_error *e = pp__error_new(PP_ERR_OPERATIONAL, "57014",
                                "canceling statement due to user request (before it ran)");
    pp__name_timeout(conn, e);
    return pp__fail(err, e);
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

/* Whether a cached statement may run with `params`: always, unless its Parse declared types
 * from its first run's values (the server could not infer them, prepare_stmt). Then each
 * value must have the type declared for it, or be NULL, or its parameter be one the server
 * typed: `SELECT $1` first run with NULL (declared text) must not send a later int as text. */
static bool fits_declared(const pp_stmt *s, int32_t nparams, const pp_value *params)
{
    if (s->declared == NULL || nparams != s->nparams)
        return true; /* a wrong count is pp__check_param_count's error */
    for (int32_t k = 0; k < nparams; k++)
        if (s->declared[k] != 0 && params[k].tag != PP_NULL &&
            pp__oid_for_value(&params[k]) != s->declared[k])
            return false;
    return true;
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
    pp_stmt *found = pp__cache_find(&conn->cache, sql, false);
    if (found != NULL && fits_declared(found, nparams, params)) {
        *out = found;
        return PP_OK;
    }
    drop_doomed(conn);
    /* In a transaction a parameterized statement is parsed under a savepoint, whose
     * commands would replace the unnamed statement: it takes a name at once. */
    bool guarded = nparams > 0 && PQtransactionStatus(conn->pg) == PQTRANS_INTRANS;
    if (found != NULL || conn->cache.capacity == 0 ||
        (direct_ok && nparams == 0 && pp__rowless_command(sql)) ||
        (!guarded && !pp__cache_seen(&conn->cache, sql))) {
        /* A cached statement whose declared types do not fit these values, caching off, a
         * command with nothing to describe (sent whole: a ROLLBACK must work on whatever
         * server connection a pooler gives us, where our named statements may not exist),
         * or the first run of this SQL: the unnamed statement serves it, so one-off
         * statements never fill the cache nor cost a DEALLOCATE later. */
        *temp = true;
        if (prepare_stmt(conn, sql, sql, "", nparams, params, direct_ok, out, err) != PP_OK)
            return PP_ERROR;
        if (describe_cancelled(conn, err) != PP_OK) {
            pp__stmt_free(*out);
            *out = NULL;
            return PP_ERROR;
        }
        return PP_OK;
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
    if (describe_cancelled(conn, err) != PP_OK)
        return PP_ERROR; /* s stays cached: it is prepared on the server */
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

/* Nonblocking mode: pp_prepare, pp_deallocate and pp_set_statement_cache_size run on the
 * connection's fiber (nonblock.c); this calls them again there. */
typedef struct stmt_args {
    pp_conn *conn;
    const char *name;           /* pp_set_statement_cache_size: NULL */
    const char *sql;            /* pp_prepare: else NULL */
    int32_t size;
} stmt_args;

static void stmt_on_fiber(void *arg)
{
    stmt_args a = *(const stmt_args *)arg;
    pp_error *e = NULL;
    int rc = a.name == NULL  ? pp_set_statement_cache_size(a.conn, a.size, &e)
             : a.sql != NULL ? pp_prepare(a.conn, a.name, a.sql, &e)
                             : pp_deallocate(a.conn, a.name, &e);
    pp__nb_done(a.conn, rc, NULL, e);
}

int pp_prepare(pp_conn *conn, const char *name, const char *sql, pp_error **err)
{
    if (name == NULL || sql == NULL || name[0] == '\0')
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_prepare: bad arguments"));
    if (pp__nb_wanted(conn)) {
        stmt_args a = {conn, name, sql, 0};
        return pp__nb_run(conn, stmt_on_fiber, &a, false, NULL, err);
    }
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
                pp__deallocate_on_server(conn, s->name);
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
    if (pp__nb_wanted(conn)) {
        stmt_args a = {conn, name, NULL, 0};
        return pp__nb_run(conn, stmt_on_fiber, &a, false, NULL, err);
    }
    if (pp__conn_enter(conn, err) != PP_OK)
        return PP_ERROR;
    pp_stmt *s = pp__cache_find(&conn->cache, name, true);
    int rc = PP_OK;
    if (s == NULL) {
        rc = pp__fail(err, pp__error_new(PP_ERR_PROGRAMMING, "26000",
                                         "no prepared statement named \"%s\"", name));
    } else {
        pp__cache_remove(&conn->cache, s);
        pp__drop_stmt(conn, s); /* a DEALLOCATE waits until outside a transaction */
    }
    pp__conn_leave(conn);
    return rc;
}

int pp_set_statement_cache_size(pp_conn *conn, int32_t size, pp_error **err)
{
    if (size < 0)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "cache size %d < 0", size));
    if (pp__nb_wanted(conn)) {
        stmt_args a = {conn, NULL, NULL, size};
        return pp__nb_run(conn, stmt_on_fiber, &a, false, NULL, err);
    }
    if (pp__conn_enter(conn, err) != PP_OK)
        return PP_ERROR;
    conn->cache.capacity = size;
    /* Shrinking: drop the least recently used unpinned statements on the server too. */
    pp_stmt *s;
    while ((s = pp__cache_evict(&conn->cache, size)) != NULL)
        pp__drop_stmt(conn, s);
    pp__conn_leave(conn);
    return PP_OK;
}
