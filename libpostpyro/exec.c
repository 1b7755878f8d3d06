/* SPDX-License-Identifier: MIT */
/* exec.c — running one statement: through the statement stmt.c finds or prepares, one-off
 * commands sent whole, the simple-query fallback for multi-command strings, results read
 * whole or in chunks, and the interruptible wait (PP_PENDING, finished by pp_resume, which
 * also finishes an interrupted batch of pipeline.c). */
#include "internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static bool is_commit(const char *sql)
{
    unsigned char c = (unsigned char)*sql;
    if (c > ' ' && c < 0x80 && (c | 0x20) != 'c' && (c | 0x20) != 'e')
        return false; /* most statements (no space first in any locale): one test */
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

/* The error of a statement: for a COMMIT whose connection broke on its way (even while
 * preparing it, or while a signal's PP_PENDING let it go on in pp_resume), CommitUnknown. */
static pp_error *commit_outcome(pp_conn *conn, bool commit, pp_error *e)
{
    if (commit && e != NULL && PQstatus(conn->pg) == CONNECTION_BAD &&
        (e->category == PP_ERR_OPERATIONAL || e->category == PP_ERR_TIMEOUT ||
         e->category == PP_ERR_INTERFACE))
        return commit_unknown(e);
    return e;
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

/* ---- chunked results (PP_EXEC_CHUNKED: libpq's chunked rows or single-row mode) ---- */

/* Whether a cached statement whose last run returned `rows` rows, taking about `bytes` in
 * one PGresult, is read whole the next time, even with PP_EXEC_CHUNKED. With libpq 17's
 * chunked rows mode, below 2 000 rows: below that, getting rows as they arrive costs more
 * client time than converting them early (while the server sends the rest) saves (3 000
 * rows x 5 int columns: 1.1 ms of client CPU in chunks, 1.5 ms whole; tests/bench/NOTES.md).
 * In single-row mode (an older libpq) chunks cost about twice the C time of a whole read
 * at every size (a PGresult per row: 1 000 000 rows x 1 int column, 190 vs 90 ms), so they
 * are only a guard on memory: taken when the whole PGresult would be bigger than
 * WHOLE_MAX_BYTES (a million rows of 20 columns: about 500 MB). */
#define WHOLE_MAX_BYTES ((int64_t)256 << 20)

static bool read_whole_next(int64_t rows, int64_t bytes)
{
    return pp__chunked_rows_mode() ? rows < 2000 : bytes <= WHOLE_MAX_BYTES;
}

/* About what libpq would take for the rows handed out so far in one PGresult: a pointer a
 * row, a length + pointer a value, and each value's bytes with its NUL, aligned. */
static int64_t whole_bytes(const pp_pending *ps)
{
    return ps->handed * (8 + (int64_t)ps->ncols_seen * 24) + ps->handed_bytes;
}

/* A chunk is handed out once it holds chunk_min_rows rows and the next row has not arrived
 * yet (so the caller converts while the server sends), or once it is full: chunk_max_rows
 * rows, or CHUNK_MAX_BYTES bytes of values. */
#define CHUNK_MIN_ROWS 1000
#define CHUNK_MAX_VALUES 50000
#define CHUNK_MAX_BYTES (8 << 20)

/* The most rows a chunk of ps's columns holds: CHUNK_MAX_VALUES values (50 000 rows of one
 * column, 2 500 of 20). The bound counts values, not rows: a chunk of 50 000 rows x 20 text
 * columns (a million values, 20 MB decoded) is filled and converted far outside the CPU's
 * caches (1 000 000 such rows: the C calls alone 1.7 s of CPU against 1.4 s in chunks of
 * 2 500 rows; the whole statement 1.08 x). */
static int64_t chunk_max_rows(const pp_pending *ps)
{
    return CHUNK_MAX_VALUES / (ps->ncols > 0 ? ps->ncols : 1);
}

/* An eighth of the rows handed out so far, at least CHUNK_MIN_ROWS (or chunk_max_rows if
 * that is less), at most chunk_max_rows: a big result comes in fewer, bigger chunks (each
 * costs the caller tens of microseconds of its own: 1 000 000 rows came in about 900
 * chunks), and its last chunk, converted after the server is done, stays a small part of
 * it. */
static int64_t chunk_min_rows(const pp_pending *ps)
{
    int64_t m = ps->handed / 8, most = chunk_max_rows(ps);
    m = m < CHUNK_MIN_ROWS ? CHUNK_MIN_ROWS : m;
    return m > most ? most : m;
}

/* Starts an empty chunk with the columns of shape, with room for a quarter more rows than
 * the previous chunk held (the next is about as big): its arrays are not grown (realloc,
 * copy) again and again as rows come. */
static pp_error *start_chunk(pp_pending *ps, const PGresult *shape)
{
    int n = PQnfields(shape);
    if ((ps->cols = calloc((size_t)(n > 0 ? n : 1), sizeof *ps->cols)) == NULL)
        return pp__error_oom();
    ps->ncols = n;
    int64_t room = ps->chunk_rows + ps->chunk_rows / 4, most = chunk_max_rows(ps);
    room = room < 16 ? 16 : room > most ? most : room;
    for (int k = 0; k < n; k++) {
        pp_error *e = NULL;
        if ((ps->cols[k] = pp__colbuf_begin(PQftype(shape, k), ps->binary, room,
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

/* Appends the rows in r (a PGRES_SINGLE_TUPLE or PP__PGRES_TUPLES_CHUNK result) to the
 * chunk being gathered; every row must have the shape of the statement's first row. */
static pp_error *add_rows(pp_pending *ps, const PGresult *r)
{
    if (!same_shape(ps, ps->shape, r))
        return shape_changed();
    pp_error *e = ps->cols == NULL ? start_chunk(ps, r) : NULL;
    int n = PQntuples(r), ncols = PQnfields(r);
    for (int i = 0; e == NULL && i < n; i++) {
        for (int k = 0; e == NULL && k < ncols; k++) {
            int len = PQgetlength(r, i, k); /* 0 for a NULL: libpq asked only then */
            e = pp__colbuf_add(ps->cols[k], PQgetvalue(r, i, k), len,
                               len == 0 && PQgetisnull(r, i, k));
            ps->bytes += len;
        }
        if (e == NULL)
            ps->rows++;
    }
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
        pp__pending_drop_chunk(ps);
        return e != NULL ? e : pp__error_oom();
    }
    ps->cols = NULL;
    ps->handed += ps->rows;
    ps->chunk_rows = ps->rows;
    ps->handed_bytes += ps->bytes;
    ps->ncols_seen = ps->ncols;
    ps->rows = ps->bytes = 0;
    *out = res;
    return NULL;
}

/* After the last chunk of a statement that took more than one: tells its cached statement
 * (if the cache still holds it) how many rows it returned in all. */
static void remember_size(pp_conn *conn, pp_pending *ps)
{
    for (int32_t k = 0; ps->stmt != NULL && k < conn->cache.count; k++)
        if (conn->cache.items[k] == ps->stmt)
            ps->stmt->small_results = read_whole_next(ps->handed, whole_bytes(ps));
    ps->stmt = NULL;
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

/* The result holding a chunked statement's command tag (its rows' count): the final one
 * in single-row mode; in libpq 17's chunked rows mode the last chunk, which may be the
 * first (shape), and the final result's tag is empty. */
static PGresult *tagged_result(const pp_pending *ps)
{
    if (PQcmdStatus(ps->last)[0] != '\0')
        return ps->last;
    if (ps->tagged != NULL)
        return ps->tagged;
    return PQcmdStatus(ps->shape)[0] != '\0' ? ps->shape : ps->last;
}

/* Reads the results of the statement in flight, keeping the last success and the first
 * error (absorb), until the statement is over (PP_OK with its result, or with the last rows
 * of a chunked one; PP_ERROR), a chunk of rows is ready (PP_MORE: only when chunked),
 * or a signal interrupts the wait (PP_PENDING; what was gathered so far is kept). */
static int collect_results(pp_conn *conn, pp_pending *ps, pp_result **out, pp_error **err)
{
    PGconn *pg = conn->pg;
    for (;;) {
        if (PQisBusy(pg)) {
            if (ps->rows >= chunk_min_rows(ps) && ps->error == NULL && chunk_out(ps, out)) {
                conn->deadline_ms = 0; /* the next chunk's wait gets a deadline of its own */
                return PP_MORE;
            }
            int w = pp__wait_ready(conn, pp__interruptible(conn));
            if (w > 0) /* a signal, or a slice passed */
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
        if (PQresultStatus(r) != PGRES_SINGLE_TUPLE &&
            PQresultStatus(r) != (ExecStatusType)PP__PGRES_TUPLES_CHUNK) {
            absorb(conn, ps, r);
            if (PQstatus(pg) == CONNECTION_BAD)
                break;
            continue;
        }
        if (ps->shape == NULL)
            ps->shape = r; /* kept: it describes every chunk */
        pp_error *e = ps->error == NULL ? add_rows(ps, r) : NULL;
        if (e != NULL) {
            ps->error = e; /* the rest is read and dropped */
            pp__pending_drop_chunk(ps);
        }
        if (r != ps->shape && PQcmdStatus(r)[0] != '\0') {
            PQclear(ps->tagged); /* chunked rows mode: the last chunk holds the command tag */
            ps->tagged = r;
        } else if (r != ps->shape) {
            PQclear(r);
        }
        if (ps->error == NULL && (ps->rows >= chunk_max_rows(ps) || ps->bytes >= CHUNK_MAX_BYTES) &&
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
    if (ps->error != NULL || ps->last == NULL) {
        pp__pending_drop_chunk(ps);
        PQclear(ps->shape);
        PQclear(ps->tagged);
        ps->shape = ps->tagged = NULL;
        if (ps->error == NULL)
            ps->error = lost_connection(conn, ps->commit);
        return conclude(conn, ps, out, err);
    }
    pp_error *e = hand_out(ps, tagged_result(ps), out);
    PQclear(ps->last);
    PQclear(ps->shape);
    PQclear(ps->tagged);
    ps->last = ps->shape = ps->tagged = NULL;
    if (e == NULL)
        remember_size(conn, ps);
    return e == NULL ? PP_OK : pp__fail(err, e);
}

/* collect_results, with the cancel asked meanwhile sent again while it waits (wait.c). */
static int read_results(pp_conn *conn, pp_pending *ps, pp_result **out, pp_error **err)
{
    conn->resending = true;
    int rc = collect_results(conn, ps, out, err);
    conn->resending = false;
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
    pp__resend_begin(conn); /* one asked during a Parse/Describe failed the call (stmt.c) */
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
    ps->chunked = (flags & PP_EXEC_CHUNKED) && !(cached && s->small_results) &&
                  pp__set_row_mode(conn->pg);
    pp_error *e = NULL;
    rc = read_results(conn, ps, out, &e);
    if (cached && rc == PP_OK) /* in one piece: its size is known now */
        s->small_results = read_whole_next(pp_result_nrows(*out), pp__result_wire_bytes(*out));
    else if (cached && rc == PP_MORE)
        ps->stmt = s; /* remember_size tells it at the end */
    if (rc == PP_ERROR && cached && may_retry && PQtransactionStatus(conn->pg) == PQTRANS_IDLE &&
        (strcmp(e->sqlstate, "0A000") == 0 || strcmp(e->sqlstate, "26000") == 0)) {
        /* A cached plan went stale (ALTER …) or the statement vanished (DISCARD ALL, or a
         * pooler gave us another server connection): prepare it again and retry once,
         * only outside a transaction. */
        if (strcmp(e->sqlstate, "26000") != 0)
            pp__deallocate_on_server(conn, s->name);
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
    /* libpq sets the number PQclientEncoding returns with the client_encoding it reports:
     * the same number as at the last check is the same encoding (a statement's check costs
     * 2 % of a small statement's instructions by name, with PQparameterStatus) */
    int code = PQclientEncoding(conn->pg);
    if (conn->utf8_code != 0 && code == conn->utf8_code - 1)
        return PP_OK;
    const char *enc = PQparameterStatus(conn->pg, "client_encoding");
    if (enc != NULL && strcmp(enc, "UTF8") == 0 && code >= 0)
        conn->utf8_code = code + 1;
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

/* Nonblocking mode: pp_exec, pp_resume and pp_query_close run on the connection's fiber
 * (nonblock.c); these call them again there, with a copy of their arguments. */
typedef struct exec_args {
    pp_conn *conn;
    const char *sql;
    int32_t nparams;
    const pp_value *params;
    uint32_t flags;
    int which; /* EXEC_CALL, RESUME_CALL or CLOSE_CALL */
} exec_args;

enum { EXEC_CALL, RESUME_CALL, CLOSE_CALL };

static void exec_on_fiber(void *arg)
{
    exec_args a = *(const exec_args *)arg;
    pp_result *out = NULL;
    pp_error *e = NULL;
    int rc = a.which == EXEC_CALL     ? pp_exec(a.conn, a.sql, a.nparams, a.params, a.flags,
                                                &out, &e)
             : a.which == RESUME_CALL ? pp_resume(a.conn, &out, &e)
                                      : pp_query_close(a.conn, &e);
    pp__nb_done(a.conn, rc, out, e);
}

int pp_exec(pp_conn *conn, const char *sql, int32_t nparams, const pp_value *params,
            uint32_t flags, pp_result **out, pp_error **err)
{
    if (out != NULL)
        *out = NULL;
    if (out != NULL && pp__nb_wanted(conn)) {
        exec_args a = {conn, sql, nparams, params, flags, EXEC_CALL};
        return pp__nb_run(conn, exec_on_fiber, &a, false, out, err);
    }
    if (out == NULL || sql == NULL || nparams < 0 || (nparams > 0 && params == NULL))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_exec: bad arguments"));
    if (pp__check_flags("pp_exec", flags, PP__EXEC_FLAGS, err) != PP_OK)
        return PP_ERROR;
    if (nparams > 65535)
        return pp__fail(err, pp__error_new(PP_ERR_PROGRAMMING, "54000",
                                           "%d parameters: PostgreSQL takes at most 65535",
                                           nparams));
    if (pp__conn_enter(conn, err) != PP_OK)
        return PP_ERROR;
    pp_error *e = NULL;
    int rc = exec_locked(conn, sql, nparams, params, flags, true, out, &e);
    pp__settle_parse(conn); /* when it failed between Parse and Bind */
    if (rc == PP_ERROR)
        pp__fail(err, commit_outcome(conn, is_commit(sql), e));
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

/* Describes a result pp_query hands out and decodes its columns when they fit in cols,
 * into the arrays of spares[0 … nspares-1] where they fit (see pp__decode_columns). */
static int describe_out(int rc, pp_result **out, pp_result_info *info, pp_column *cols,
                        int32_t max_cols, pp_colbuf **spares, int32_t nspares, pp_error **err)
{
    if (rc != PP_OK && rc != PP_MORE)
        return rc;
    pp_result_describe(*out, info, NULL);
    if (info->ncols <= max_cols &&
        pp__result_columns_reusing(*out, cols, spares, nspares, err) != PP_OK) {
        pp_result_free(*out);
        *out = NULL;
        return PP_ERROR; /* never for a chunk, whose columns are decoded as rows arrive */
    }
    return rc;
}

/* pp_query, decoding into the arrays of spares[0 … nspares-1] where they fit. */
static int query_into(pp_conn *conn, const char *sql, int32_t nparams, const pp_value *params,
                      uint32_t flags, pp_result **out, pp_result_info *info, pp_column *cols,
                      int32_t max_cols, pp_colbuf **spares, int32_t nspares, pp_error **err)
{
    if (info == NULL || (max_cols > 0 && cols == NULL))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_query: bad arguments"));
    int rc = pp_exec(conn, sql, nparams, params, flags, out, err);
    return describe_out(rc, out, info, cols, max_cols, spares, nspares, err);
}

int pp_query(pp_conn *conn, const char *sql, int32_t nparams, const pp_value *params,
             uint32_t flags, pp_result **out, pp_result_info *info, pp_column *cols,
             int32_t max_cols, pp_error **err)
{
    return query_into(conn, sql, nparams, params, flags, out, info, cols, max_cols, NULL, 0,
                      err);
}

/* pp_query_reuse keeps the decoded columns of the result it frees, up to this many bytes,
 * to decode the new result into: the memory stays where it is instead of going back to
 * malloc and being faulted in again (a quarter of the C time of 10 000 rows x 20 int
 * columns). Bigger ones are freed before the statement runs. */
#define SPARE_MAX_BYTES (64 << 20)

int pp_query_reuse(pp_conn *conn, const char *sql, int32_t nparams, const pp_value *params,
                   uint32_t flags, pp_result **out, pp_result_info *info, pp_column *cols,
                   int32_t max_cols, int32_t *txstatus, pp_error **err)
{
    if (txstatus != NULL)
        *txstatus = -1;
    pp_colbuf **spares = NULL;
    int32_t nspares = 0;
    if (out != NULL && *out != NULL) {
        spares = pp__result_take_columns(*out, &nspares, SPARE_MAX_BYTES);
        pp_result_free(*out);
        *out = NULL;
    }
    int rc = query_into(conn, sql, nparams, params, flags, out, info, cols, max_cols, spares,
                        nspares, err);
    for (int32_t k = 0; k < nspares; k++)
        pp__colbuf_free(spares[k]); /* those not reused */
    free(spares);
    if (txstatus != NULL && (rc == PP_OK || rc == PP_ERROR))
        *txstatus = pp_transaction_status(conn);
    return rc;
}

int pp_query_pack(pp_conn *conn, const char *sql, int32_t nparams, const pp_value *params,
                  uint32_t flags, pp_result **out, pp_result_info *info, pp_column *cols,
                  int32_t max_cols, int32_t *txstatus, int64_t *pack, int32_t pack_len,
                  pp_error **err)
{
    if (pack_len < 0 || (pack_len > 0 && pack == NULL)) {
        if (txstatus != NULL)
            *txstatus = -1;
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_query_pack: bad arguments"));
    }
    if (pack_len > 0)
        pack[0] = 0;
    int rc = pp_query_reuse(conn, sql, nparams, params, flags, out, info, cols, max_cols,
                            txstatus, err);
    if (rc == PP_OK && pack_len > 0 && info->has_rows && info->ncols <= max_cols)
        pp__pack_columns(info, cols, pack, pack_len);
    return rc;
}

int pp_query_call(pp_conn *conn, const char *sql, int32_t nparams, const pp_value *params,
                  uint32_t flags, pp_query_buffers *b)
{
    if (b == NULL)
        return PP_ERROR;
    b->shape = 0;
    int rc = pp_query_pack(conn, sql, nparams, params, flags, b->out, b->info, b->cols,
                           b->max_cols, &b->txstatus, b->pack, b->pack_len, b->err);
    if (rc == PP_OK && b->pack_len > 0 && b->pack[0] > 0) {
        const int64_t *p = b->pack;
        uint64_t h = 14695981039346656037u;
        for (int64_t k = 2; k < 5 + 3 * p[2]; k++)
            h = (h ^ (uint64_t)p[k]) * 1099511628211u;
        memcpy(&b->shape, &h, sizeof h);
    }
    return rc;
}

int pp_query_run(const pp_query_stmt *st, int32_t nparams, pp_query_buffers *b)
{
    if (b == NULL)
        return PP_ERROR;
    if (st == NULL) {
        b->txstatus = -1;
        b->shape = 0;
        return pp__fail(b->err, pp__error_new(PP_ERR_INTERFACE, "", "pp_query_run: bad arguments"));
    }
    return pp_query_call(st->conn, st->sql, nparams, b->params, st->flags, b);
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
    if (pp__nb_wanted(conn) || pp__sliced_call_pending(conn)) {
        exec_args a = {.conn = conn, .which = RESUME_CALL};
        return pp__nb_run(conn, exec_on_fiber, &a, true, out, err);
    }
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
        rc = pp__pipe_run(conn, &conn->pend.pipe, pp__interruptible(conn));
        if (rc != PP_PENDING)
            rc = pp__pipe_finish(conn, rc, out, err);
    } else {
        pp_error *e = NULL;
        rc = read_results(conn, &conn->pend, out, &e);
        if (rc == PP_ERROR)
            pp__fail(err, commit_outcome(conn, conn->pend.commit, e));
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
    return describe_out(pp_resume(conn, out, err), out, info, cols, max_cols, NULL, 0, err);
}

int pp_query_close(pp_conn *conn, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (conn == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_query_close: bad arguments"));
    if (pp__nb_wanted(conn)) {
        exec_args a = {.conn = conn, .which = CLOSE_CALL};
        return pp__nb_run(conn, exec_on_fiber, &a, false, NULL, err);
    }
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
