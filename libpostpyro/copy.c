/* SPDX-License-Identifier: MIT */
/* copy.c — COPY FROM STDIN (raw data, or rows of tagged values formatted as COPY text) and
 * COPY TO STDOUT (data handed out in chunks). */
#include "internal.h"

#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define COPY_CHUNK (64 * 1024) /* bytes gathered before one PQputCopyData: small enough
                                * that the server parses one while we encode the next */

#define COPY_SNDBUF (4 * 1024 * 1024) /* socket send buffer asked for during COPY FROM */

/* COPY FROM over a Unix socket: gives the socket a send buffer of a few MiB (the kernel
 * caps it at net.core.wmem_max), so that the server keeps parsing queued rows while the
 * caller prepares the next ones; the default (about 208 KiB) lasts the server about a
 * millisecond. A limit, not an allocation: kept for the rest of the connection. TCP is left
 * alone, where setting SO_SNDBUF would turn off the kernel's own sizing for good. */
static void copy_grow_send_buffer(pp_conn *conn)
{
    int fd = PQsocket(conn->pg);
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    int have = 0, want = COPY_SNDBUF;
    socklen_t have_len = sizeof have;
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&addr, &len) != 0 ||
        addr.ss_family != AF_UNIX ||
        getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &have, &have_len) != 0 || have >= want)
        return;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want); /* best effort */
}

/* Room for `more` bytes after copy_len; false when out of memory or when the size would
 * overflow (values are length-checked before, so that means a bug or a lying caller). */
static bool copy_reserve(pp_conn *conn, size_t more)
{
    return more <= SIZE_MAX / 4 - conn->copy_len &&
           pp__grow(&conn->copy_buf, &conn->copy_cap, conn->copy_len + more, COPY_CHUNK);
}

/* Reads results until libpq has none; returns the first error, if any. *rows gets the count
 * of the last successful command. */
static pp_error *drain(pp_conn *conn, int64_t *rows)
{
    pp_error *first = NULL;
    PGresult *r;
    while (pp__wait_ready(conn, false) == 0 && (r = PQgetResult(conn->pg)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK && rows != NULL) {
            const char *t = PQcmdTuples(r);
            *rows = t[0] ? strtoll(t, NULL, 10) : -1;
        } else if (st == PGRES_COPY_IN) {
            PQputCopyEnd(conn->pg, "unexpected COPY state");
        } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && first == NULL) {
            first = pp__error_from_result(r);
        }
        PQclear(r);
        if (PQstatus(conn->pg) == CONNECTION_BAD)
            break;
    }
    if (first == NULL && PQstatus(conn->pg) == CONNECTION_BAD)
        first = pp__conn_error(conn, PP_ERR_OPERATIONAL);
    return first;
}

/* Nonblocking mode: the COPY calls that talk to the server run on the connection's fiber
 * (nonblock.c); this calls them again there, with a copy of their arguments. */
typedef struct copy_args {
    pp_conn *conn;
    int which;
    const char *text;       /* sql, data or abort_reason */
    int32_t ncols;
    int64_t n;              /* len or nrows */
    const pp_value *values;
    const pp_column *cols;
    const char **data;      /* pp_copy_out_read's outputs, and pp_copy_end's rows */
    int64_t *len;
    int64_t *rows;
} copy_args;

enum { IN_START, OUT_START, PUT, PUT_ROWS, PUT_COLUMNS, END, OUT_READ };

static void copy_on_fiber(void *arg)
{
    copy_args a = *(const copy_args *)arg;
    pp_error *e = NULL;
    int rc;
    switch (a.which) {
    case IN_START: rc = pp_copy_in_start(a.conn, a.text, &e); break;
    case OUT_START: rc = pp_copy_out_start(a.conn, a.text, &e); break;
    case PUT: rc = pp_copy_put(a.conn, a.text, a.n, &e); break;
    case PUT_ROWS: rc = pp_copy_put_rows(a.conn, a.ncols, a.n, a.values, &e); break;
    case PUT_COLUMNS: rc = pp_copy_put_columns(a.conn, a.ncols, a.n, a.cols, &e); break;
    case END: rc = pp_copy_end(a.conn, a.text, a.rows, &e); break;
    default:
        rc = pp_copy_out_read(a.conn, a.data, a.len, a.rows, &e);
        if (rc >= 0)
            rc = PP_OK; /* the data (or, when *data is NULL, the end) is in the outputs */
        break;
    }
    pp__nb_done(a.conn, rc, NULL, e);
}

static int copy_nb(copy_args a, pp_error **err)
{
    return pp__nb_run(a.conn, copy_on_fiber, &a, false, NULL, err);
}

/* Whether this COPY call runs on the fiber: in nonblocking mode, and, on a blocking
 * connection made with PP_CONNECT_INTERRUPTIBLE | PP_CONNECT_WAIT_SLICES, so that its waits
 * end in slices as a statement's do (wait.c: PP_PENDING, and pp_resume goes on). The fiber
 * is made at the first such call; without one (no way to switch stacks here, out of
 * memory) the call waits as it always did. */
static bool copy_on_fiber_wanted(pp_conn *conn)
{
    if (pp__nb_wanted(conn))
        return true;
    const uint32_t sliced = PP_CONNECT_INTERRUPTIBLE | PP_CONNECT_WAIT_SLICES;
    if (conn == NULL || (conn->flags & sliced) != sliced || atomic_load(&conn->nonblocking) ||
        !pp__fiber_supported() || !pp__conn_owned(conn))
        return false;
    pp__fiber *f = atomic_load(&conn->fiber);
    if (f != NULL)
        return !pp__fiber_current(f);
    pthread_mutex_lock(&conn->lock);
    if (atomic_load(&conn->fiber) == NULL)
        atomic_store(&conn->fiber, pp__fiber_new());
    bool made = atomic_load(&conn->fiber) != NULL;
    pthread_mutex_unlock(&conn->lock);
    return made;
}

static int copy_start(pp_conn *conn, const char *sql, ExecStatusType want, int state,
                      pp_error **err)
{
    if (copy_on_fiber_wanted(conn))
        return copy_nb((copy_args){.conn = conn, .text = sql,
                                   .which = state == PP_COPY_IN ? IN_START : OUT_START}, err);
    if (sql == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "sql is NULL"));
    if (pp__conn_enter(conn, err) != PP_OK)
        return PP_ERROR;
    int rc = PP_OK;
    if (!PQsendQuery(conn->pg, sql)) {
        rc = pp__fail(err, pp__error_from_conn(conn->pg, PP_ERR_OPERATIONAL));
    } else {
        int waited = pp__wait_ready(conn, false);
        PGresult *r = waited == 0 ? PQgetResult(conn->pg) : NULL;
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == want) {
            conn->copy_state = state;
            conn->copy_len = 0;
            if (state == PP_COPY_IN) {
                copy_grow_send_buffer(conn);
                /* nonblocking while data goes out: its waits are ours (bounded, EOF-aware) */
                PQsetnonblocking(conn->pg, 1);
            }
        } else {
            /* no result: the wait failed (timeout, lost link, pp_close), not the SQL */
            pp_error *e = r == NULL ? pp__conn_error(conn, PP_ERR_OPERATIONAL)
                          : st == PGRES_FATAL_ERROR
                              ? pp__error_from_result(r)
                              : pp__error_new(PP_ERR_PROGRAMMING, "42601",
                                              "the statement is not a COPY %s",
                                              state == PP_COPY_IN ? "FROM STDIN" : "TO STDOUT");
            if (st == PGRES_COPY_IN)
                PQputCopyEnd(conn->pg, "wrong COPY direction");
            else if (st == PGRES_COPY_OUT) {
                char *buf;
                while (PQgetCopyData(conn->pg, &buf, 0) > 0)
                    PQfreemem(buf);
            }
            PQclear(r);
            pp_error_free(drain(conn, NULL));
            rc = pp__fail(err, e);
            r = NULL;
        }
        PQclear(r);
    }
    pp__conn_leave(conn);
    return rc;
}

int pp_copy_in_start(pp_conn *conn, const char *sql, pp_error **err)
{
    return copy_start(conn, sql, PGRES_COPY_IN, PP_COPY_IN, err);
}

int pp_copy_out_start(pp_conn *conn, const char *sql, pp_error **err)
{
    return copy_start(conn, sql, PGRES_COPY_OUT, PP_COPY_OUT, err);
}

/* PQputCopyData on the nonblocking connection, then sent (pp__wait_flush): libpq would
 * otherwise grow its buffer without limit, where blocking mode made the caller wait.
 * 0, or -1 when the connection failed. */
static int put_data(pp_conn *conn, const char *data, int n)
{
    int r;
    while ((r = PQputCopyData(conn->pg, data, n)) == 0)
        if (pp__wait_socket(conn, POLLOUT, false) != 0 || !PQconsumeInput(conn->pg))
            return -1;
    return r == 1 && pp__wait_flush(conn) == 0 ? 0 : -1;
}

/* PQputCopyEnd, then everything sent, as put_data waits. */
static int put_end(pp_conn *conn, const char *reason)
{
    int r;
    while ((r = PQputCopyEnd(conn->pg, reason)) == 0)
        if (pp__wait_socket(conn, POLLOUT, false) != 0 || !PQconsumeInput(conn->pg))
            return -1;
    if (r != 1 || pp__wait_flush(conn) != 0)
        return -1;
    pp__pq_mode(conn); /* blocking again, unless the connection is nonblocking */
    return 0;
}

static int flush_copy(pp_conn *conn, pp_error **err)
{
    size_t at = 0;
    while (at < conn->copy_len) {
        size_t n = conn->copy_len - at > COPY_CHUNK ? COPY_CHUNK : conn->copy_len - at;
        if (put_data(conn, conn->copy_buf + at, (int)n) != 0)
            return pp__fail(err, pp__conn_error(conn, PP_ERR_OPERATIONAL));
        at += n;
    }
    conn->copy_len = 0;
    return PP_OK;
}

int pp_copy_put(pp_conn *conn, const char *data, int64_t len, pp_error **err)
{
    if (len < 0 || (len > 0 && data == NULL))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_copy_put: bad arguments"));
    if (copy_on_fiber_wanted(conn))
        return copy_nb((copy_args){.conn = conn, .which = PUT, .text = data, .n = len}, err);
    if (pp__conn_enter_state(conn, PP_COPY_IN, err) != PP_OK)
        return PP_ERROR;
    int rc = flush_copy(conn, err);
    for (int64_t at = 0; rc == PP_OK && at < len; at += COPY_CHUNK) {
        int n = (int)(len - at > COPY_CHUNK ? COPY_CHUNK : len - at);
        if (put_data(conn, data + at, n) != 0)
            rc = pp__fail(err, pp__conn_error(conn, PP_ERR_OPERATIONAL));
    }
    pp__conn_leave(conn);
    return rc;
}

/* Appends one value in COPY text form: backslash, tab, newline and CR escaped; NULL as \N. */
static bool put_copy_value(pp_conn *conn, const pp_value *v)
{
    if (v->tag == PP_NULL) {
        if (!copy_reserve(conn, 3))
            return false;
        memcpy(conn->copy_buf + conn->copy_len, "\\N", 2);
        conn->copy_len += 2;
        return true;
    }
    size_t need = pp__text_size(v);
    /* worst case every byte doubles when escaped */
    if (!copy_reserve(conn, 3 * need + 2))
        return false;
    char *raw = conn->copy_buf + conn->copy_len + 2 * need + 1;
    size_t n = pp__write_text(raw, v, need) - 1;
    char *out = conn->copy_buf + conn->copy_len;
    for (size_t k = 0; k < n; k++) {
        char ch = raw[k];
        switch (ch) {
        case '\\': *out++ = '\\'; *out++ = '\\'; break;
        case '\t': *out++ = '\\'; *out++ = 't'; break;
        case '\n': *out++ = '\\'; *out++ = 'n'; break;
        case '\r': *out++ = '\\'; *out++ = 'r'; break;
        default: *out++ = ch; break;
        }
    }
    conn->copy_len = (size_t)(out - conn->copy_buf);
    return true;
}

int pp_copy_use_binary(pp_conn *conn, int32_t ncols, const uint32_t *oids, pp_error **err)
{
    if (ncols <= 0 || ncols > 1664 || oids == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_copy_use_binary: bad arguments"));
    if (pp__conn_enter_state(conn, PP_COPY_IN, err) != PP_OK)
        return PP_ERROR;
    int rc = PP_OK;
    uint32_t *copy = malloc(sizeof *copy * (size_t)ncols);
    if (conn->copy_oids != NULL) {
        rc = pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "the COPY is already binary"));
    } else if (copy == NULL || !copy_reserve(conn, 19)) {
        rc = pp__fail(err, pp__error_oom());
    } else {
        memcpy(copy, oids, sizeof *copy * (size_t)ncols);
        conn->copy_oids = copy;
        conn->copy_ncols = ncols;
        copy = NULL;
        /* signature, flags, header extension length */
        memcpy(conn->copy_buf + conn->copy_len, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
        conn->copy_len += 19;
    }
    free(copy);
    pp__conn_leave(conn);
    return rc;
}

static void put_be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

/* e, reworded to name row and column (0-based row, 1-based column) instead of the
 * parameter the encoder named: "row 3, column 2: cannot send …". */
static pp_error *name_row_column(pp_error *e, int64_t row, int32_t col)
{
    const char *why = strchr(e->message, ':');
    pp_error *named = pp__error_new(e->category, e->sqlstate, "row %lld, column %d%s",
                                    (long long)row, col + 1, why ? why : "");
    pp__error_set_origin(named, e->origin);
    pp_error_free(e);
    return named;
}

/* PP_ERR_INTERFACE unless value v (row, col) is well formed: a known tag, a length from 0
 * to 1 GiB (what a protocol message holds), data for that length, 16 bytes for a UUID. Checked
 * before any buffer is sized from the length. */
static int check_value(const pp_value *v, int64_t row, int32_t col, pp_error **err)
{
    if (v->tag < PP_NULL || v->tag > PP_ARRAY ||
        (v->tag != PP_NULL && (v->len < 0 || v->len > 0x3fffffff ||
                               (v->len > 0 && v->ptr == NULL) ||
                               (v->tag == PP_UUID && v->len != 16))))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "row %lld, column %d: bad "
                                           "value (tag %d, length %lld)", (long long)row,
                                           col + 1, (int)v->tag, (long long)v->len));
    pp_error *e = NULL;
    if (pp__check_value_range(v, col, &e) != PP_OK)
        return pp__fail(err, name_row_column(e, row, col));
    return PP_OK;
}

/* Appends one value in binary COPY format: its length, then its bytes. */
static int put_binary_value(pp_conn *conn, int64_t row, int32_t col, const pp_value *v,
                            pp_error **err)
{
    if (check_value(v, row, col, err) != PP_OK)
        return PP_ERROR;
    if (!copy_reserve(conn, 4 + pp__binary_size(v)))
        return pp__fail(err, pp__error_oom());
    char *lenp = conn->copy_buf + conn->copy_len;
    if (v->tag == PP_NULL) {
        put_be32(lenp, 0xffffffffu);
        conn->copy_len += 4;
        return PP_OK;
    }
    pp_error *e = NULL;
    int64_t n = pp__encode_binary(v, conn->copy_oids[col], col, lenp + 4, &e);
    if (n < 0)
        return pp__fail(err, name_row_column(e, row, col));
    put_be32(lenp, (uint32_t)n);
    conn->copy_len += 4 + (size_t)n;
    return PP_OK;
}

/* Starts a row in binary COPY format: its field count. */
static int put_binary_row_start(pp_conn *conn, pp_error **err)
{
    if (!copy_reserve(conn, 2))
        return pp__fail(err, pp__error_oom());
    conn->copy_buf[conn->copy_len++] = (char)(conn->copy_ncols >> 8);
    conn->copy_buf[conn->copy_len++] = (char)conn->copy_ncols;
    return PP_OK;
}


/* Appends one value in COPY text form, then a tab (or a newline after the last column). */
static int put_text_value(pp_conn *conn, int64_t row, int32_t col, bool last,
                          const pp_value *v, pp_error **err)
{
    if (check_value(v, row, col, err) != PP_OK)
        return PP_ERROR;
    if (pp__tag_is_texty(v->tag) && v->len > 0 &&
        memchr(v->ptr, '\0', (size_t)v->len) != NULL)
        return pp__fail(err, pp__error_new(PP_ERR_DATA, "22021",
                                           "row %lld, column %d: text contains a NUL byte",
                                           (long long)row, col + 1));
    if (!put_copy_value(conn, v)) /* reserves room for the separator too */
        return pp__fail(err, pp__error_oom());
    conn->copy_buf[conn->copy_len++] = last ? '\n' : '\t';
    return PP_OK;
}

int pp__copy_put_values(pp_conn *conn, int64_t row, int32_t ncols, const pp_value *vals,
                        pp_error **err)
{
    size_t mark = conn->copy_len;
    bool binary = conn->copy_oids != NULL;
    int rc = binary ? put_binary_row_start(conn, err) : PP_OK;
    for (int32_t col = 0; rc == PP_OK && col < ncols; col++)
        rc = binary ? put_binary_value(conn, row, col, &vals[col], err)
                    : put_text_value(conn, row, col, col + 1 == ncols, &vals[col], err);
    if (rc != PP_OK)
        conn->copy_len = mark; /* drop the half-written row */
    return rc;
}

int pp_copy_put_rows(pp_conn *conn, int32_t ncols, int64_t nrows, const pp_value *values,
                     pp_error **err)
{
    if (ncols <= 0 || nrows < 0 || (nrows > 0 && values == NULL))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_copy_put_rows: bad arguments"));
    if (copy_on_fiber_wanted(conn))
        return copy_nb((copy_args){.conn = conn, .which = PUT_ROWS, .ncols = ncols, .n = nrows,
                                   .values = values}, err);
    if (pp__conn_enter_state(conn, PP_COPY_IN, err) != PP_OK)
        return PP_ERROR;
    int rc = PP_OK;
    bool binary = conn->copy_oids != NULL;
    if (binary && ncols != conn->copy_ncols)
        rc = pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                         "rows of %d values for a binary COPY of %d columns",
                                         ncols, conn->copy_ncols));
    for (int64_t row = 0; rc == PP_OK && row < nrows; row++) {
        rc = pp__copy_put_values(conn, row, ncols, values + row * ncols, err);
        if (rc == PP_OK && conn->copy_len >= COPY_CHUNK)
            rc = flush_copy(conn, err);
    }
    pp__conn_leave(conn);
    return rc;
}

/* ---- column-major input (pp_copy_put_columns) ---- */

/* Binary COPY: whether column col's values can be sent as its type, judged on its first
 * non-NULL value, so that a column of the wrong tag fails before anything is sent. */
static int check_binary_column(pp_conn *conn, const pp_column *c, int32_t col, int64_t nrows,
                               pp_error **err)
{
    int64_t at = 0;
    pp_value v;
    for (int64_t row = 0; row < nrows && c->tag != PP_NULL; row++) {
        pp__column_value(c, row, &at, &v);
        if (v.tag == PP_NULL)
            continue;
        pp_error *e = NULL;
        if (pp__encode_binary(&v, conn->copy_oids[col], col, NULL, &e) < 0)
            return pp__fail(err, name_row_column(e, row, col));
        break;
    }
    return PP_OK;
}

int pp_copy_put_columns(pp_conn *conn, int32_t ncols, int64_t nrows, const pp_column *cols,
                        pp_error **err)
{
    if (ncols <= 0 || nrows < 0 || cols == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_copy_put_columns: bad "
                                           "arguments (ncols %d, nrows %lld, cols %s)",
                                           (int)ncols, (long long)nrows,
                                           cols == NULL ? "NULL" : "given"));
    for (int32_t col = 0; col < ncols; col++)
        if (pp__check_input_column(&cols[col], col, nrows, "pp_copy_put_columns", err) != PP_OK)
            return PP_ERROR;
    if (copy_on_fiber_wanted(conn))
        return copy_nb((copy_args){.conn = conn, .which = PUT_COLUMNS, .ncols = ncols,
                                   .n = nrows, .cols = cols}, err);
    if (pp__conn_enter_state(conn, PP_COPY_IN, err) != PP_OK)
        return PP_ERROR;
    int rc = PP_OK;
    bool binary = conn->copy_oids != NULL;
    int64_t *at = calloc((size_t)ncols, sizeof *at); /* read positions (NUL-terminated data) */
    pp_value *vals = malloc(sizeof *vals * (size_t)ncols); /* one row's values */
    if (at == NULL || vals == NULL)
        rc = pp__fail(err, pp__error_oom());
    else if (binary && ncols != conn->copy_ncols)
        rc = pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "pp_copy_put_columns: %d "
                                         "columns for a binary COPY of %d columns", (int)ncols,
                                         conn->copy_ncols));
    for (int32_t col = 0; rc == PP_OK && binary && col < ncols; col++)
        rc = check_binary_column(conn, &cols[col], col, nrows, err);
    for (int64_t row = 0; rc == PP_OK && row < nrows; row++) {
        for (int32_t col = 0; col < ncols; col++)
            pp__column_value(&cols[col], row, &at[col], &vals[col]);
        rc = pp__copy_put_values(conn, row, ncols, vals, err);
        if (rc == PP_OK && conn->copy_len >= COPY_CHUNK)
            rc = flush_copy(conn, err);
    }
    free(vals);
    free(at);
    pp__conn_leave(conn);
    return rc;
}

int pp_copy_end(pp_conn *conn, const char *abort_reason, int64_t *rows, pp_error **err)
{
    if (rows != NULL)
        *rows = -1;
    if (copy_on_fiber_wanted(conn))
        return copy_nb((copy_args){.conn = conn, .which = END, .text = abort_reason,
                                   .rows = rows}, err);
    if (pp__conn_enter_state(conn, PP_COPY_IN, err) != PP_OK)
        return PP_ERROR;
    pp_error *e = NULL;
    if (abort_reason == NULL && conn->copy_oids != NULL) {
        if (copy_reserve(conn, 2)) { /* the file trailer: a field count of -1 */
            conn->copy_buf[conn->copy_len++] = (char)0xff;
            conn->copy_buf[conn->copy_len++] = (char)0xff;
        } else {
            e = pp__error_oom();
        }
    }
    free(conn->copy_oids);
    conn->copy_oids = NULL;
    conn->copy_ncols = 0;
    if (abort_reason == NULL && e == NULL)
        flush_copy(conn, &e);
    conn->copy_len = 0;
    if (put_end(conn, e != NULL ? "client failed to send data" : abort_reason) != 0 &&
        e == NULL)
        e = pp__conn_error(conn, PP_ERR_OPERATIONAL);
    pp_error *result_error = drain(conn, rows);
    conn->copy_state = PP_COPY_NONE;
    pp__conn_leave(conn);
    if (e != NULL) {
        pp_error_free(result_error);
        return pp__fail(err, e);
    }
    if (result_error != NULL)
        return pp__fail(err, result_error);
    return PP_OK;
}

int pp_copy_out_read(pp_conn *conn, const char **data, int64_t *len, int64_t *rows,
                     pp_error **err)
{
    if (data == NULL || len == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_copy_out_read: bad arguments"));
    *data = NULL;
    *len = 0;
    if (rows != NULL)
        *rows = -1;
    if (copy_on_fiber_wanted(conn)) {
        int rc = copy_nb((copy_args){.conn = conn, .which = OUT_READ, .data = data, .len = len,
                                     .rows = rows}, err);
        /* as in blocking mode: 1 with data, 0 at the end; 1 with *data NULL: PP_PENDING */
        return rc == PP_OK ? (*data != NULL ? 1 : 0) : rc;
    }
    if (pp__conn_enter_state(conn, PP_COPY_OUT, err) != PP_OK)
        return PP_ERROR;
    if (conn->copy_out_done) { /* the end was seen with the last chunk */
        conn->copy_out_done = false;
        conn->copy_state = PP_COPY_NONE;
        if (rows != NULL)
            *rows = conn->copy_rows;
        pp__conn_leave(conn);
        return 0;
    }
    conn->copy_len = 0;
    int rc = 1;
    /* Gather rows until the chunk is full or the COPY ends; block only for the first. */
    while (conn->copy_len < COPY_CHUNK) {
        char *buf = NULL;
        int n = PQgetCopyData(conn->pg, &buf, 1);
        if (n == 0 && conn->copy_len > 0)
            break; /* more would mean waiting: hand out what we have */
        if (n == 0 && pp__wait_input(conn, false) == 0)
            continue;
        if (n == 0 || n == -2) {
            conn->copy_state = PP_COPY_NONE;
            rc = pp__fail(err, pp__conn_error(conn, PP_ERR_OPERATIONAL));
            break;
        }
        if (n == -1) {
            pp_error *e = drain(conn, &conn->copy_rows);
            if (e != NULL) {
                conn->copy_state = PP_COPY_NONE;
                rc = pp__fail(err, e);
            } else if (conn->copy_len > 0) {
                conn->copy_out_done = true;
            } else {
                conn->copy_state = PP_COPY_NONE;
                if (rows != NULL)
                    *rows = conn->copy_rows;
                rc = 0;
            }
            break;
        }
        if (!copy_reserve(conn, (size_t)n)) {
            PQfreemem(buf);
            rc = pp__fail(err, pp__error_oom());
            break;
        }
        memcpy(conn->copy_buf + conn->copy_len, buf, (size_t)n);
        conn->copy_len += (size_t)n;
        PQfreemem(buf);
    }
    if (rc == 1) {
        *data = conn->copy_buf;
        *len = (int64_t)conn->copy_len;
    }
    pp__conn_leave(conn);
    return rc;
}
