/*
 * postpyro.h — the public API of libpostpyro, a PostgreSQL client library over libpq.
 *
 * Conventions (they hold for every function below unless its comment says otherwise):
 *  - Handles are opaque: pp_conn (a connection), pp_result (the outcome of one statement),
 *    pp_error (everything the server or the library said about a failure).
 *  - Functions that can fail return an int status: PP_OK (0) on success, PP_ERROR (-1) on
 *    failure. When the last parameter is `pp_error **err` and it is not NULL, a failure stores
 *    a new pp_error there, owned by the caller and freed with pp_error_free(); success stores
 *    NULL. Passing err == NULL is allowed (the detail is then dropped).
 *  - Every *_free function accepts NULL.
 *  - A pp_result does not refer to its connection: it stays valid after pp_close() and
 *    pp_conn_free(), until pp_result_free().
 *  - Thread safety: a pp_conn may be used from several threads; every call that touches the
 *    server takes the connection's mutex for its duration. pp_cancel() never takes it.
 *    A pp_result may be read from several threads.
 *  - Strings are UTF-8 (the library sets client_encoding to UTF8 at connect).
 *
 * The region between the CDEF markers is read by the Python package's build to produce its
 * cffi declarations, so it holds only plain declarations, integer #defines and comments.
 */
#ifndef POSTPYRO_H
#define POSTPYRO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* BEGIN CDEF */

/* Version of this header. The library's own is returned by pp_version_number(); a caller
 * linked against an older library can compare the two. PP_VERSION_NUMBER is
 * major * 10000 + minor * 100 + patch. PP_ABI_VERSION changes only when a change breaks
 * callers compiled against an older header (it follows the soname). */
#define PP_VERSION_MAJOR 0
#define PP_VERSION_MINOR 1
#define PP_VERSION_PATCH 0
#define PP_VERSION_NUMBER 100
#define PP_ABI_VERSION 1

/* Status codes. */
#define PP_OK 0
#define PP_ERROR -1
/* pp_exec() and friends: the wait for the server was interrupted by a signal (e.g. SIGINT).
 * The statement is still running; call pp_resume() to keep waiting (after pp_cancel() to
 * stop it). Until then other threads' calls that need the server wait for it to finish; the
 * same thread's fail with PP_ERR_INTERFACE (waiting would never end). */
#define PP_PENDING 1
/* pp_exec() / pp_query() / pp_resume() / pp_query_next() with PP_EXEC_CHUNKED: *out holds the
 * next rows of the result and more follow; get them with pp_query_next() (or pp_resume()), or
 * drop them with pp_query_close(). Until the last chunk, other calls that need the server wait
 * or fail as for PP_PENDING. */
#define PP_MORE 2

/* Value tags. A tag says how a value is represented in pp_value / pp_column; the
 * PostgreSQL type itself is the separate OID. Values are only ever appended. */
#define PP_NULL 0
#define PP_BOOL 1        /* i: 0 or 1 */
#define PP_INT 2         /* i: int2, int4, int8, oid */
#define PP_FLOAT 3       /* f: float4, float8 (NaN, infinities and -0.0 kept) */
#define PP_TEXT 4        /* ptr/len: UTF-8 text. In results also the text form of any type
                          * the library has no binary decoder for (the OID says which). */
#define PP_BYTES 5       /* ptr/len: raw bytes (bytea) */
#define PP_NUMERIC 6     /* ptr/len: decimal text: "-12.500", "NaN", "Infinity", "-Infinity" */
#define PP_DATE 7        /* i: days since 2000-01-01; INT32_MAX / INT32_MIN are +/-infinity */
#define PP_TIME 8        /* i: microseconds since midnight */
#define PP_TIMETZ 9      /* i: microseconds since midnight; i2: UTC offset, seconds east */
#define PP_TIMESTAMP 10  /* i: microseconds since 2000-01-01 00:00:00 (no time zone);
                          * INT64_MAX / INT64_MIN are +/-infinity */
#define PP_TIMESTAMPTZ 11 /* i: microseconds since 2000-01-01 00:00:00 UTC; same infinities */
#define PP_INTERVAL 12   /* i: microseconds; i2: days; i3: months */
#define PP_UUID 13       /* ptr/len: the 16 bytes of the UUID */
#define PP_JSON 14       /* ptr/len: JSON text (json and jsonb) */
#define PP_ARRAY 15      /* results: an array, see pp_column.elements / pp_result_array_item;
                          * parameters: ptr/len is an array literal in PostgreSQL's text form
                          * ("{1,2,NULL}"), sent for the server to parse */

/* Error categories, derived from the SQLSTATE class (or from the library for failures that
 * never reached the server). They match the DB-API 2.0 exception classes. */
#define PP_ERR_NONE 0
#define PP_ERR_INTERFACE 1      /* misuse of the library: closed connection, bad argument */
#define PP_ERR_DATABASE 2       /* a server error of no more specific category */
#define PP_ERR_DATA 3           /* class 22: bad value, out of range, division by zero */
#define PP_ERR_OPERATIONAL 4    /* connection failures, class 08, 53, 57, 58 */
#define PP_ERR_INTEGRITY 5      /* class 23: constraint violations */
#define PP_ERR_INTERNAL 6       /* class XX, class 25/40 states the server reports as internal */
#define PP_ERR_PROGRAMMING 7    /* class 42, 26, 34, 3D, 3F: bad SQL, unknown objects */
#define PP_ERR_NOT_SUPPORTED 8  /* class 0A, and features the installed libpq lacks */
#define PP_ERR_TRANSACTION_ROLLBACK 9 /* class 40: serialization failure, deadlock */
#define PP_ERR_COMMIT_UNKNOWN 10 /* the connection broke during COMMIT: outcome unknown */
#define PP_ERR_TIMEOUT 11       /* pp_set_timeout's limit passed and the server did not answer
                                 * its cancel request: the connection was closed (SQLSTATE
                                 * 08006); also a connect that ran out of time (08001) */

/* Flags for pp_connect().
 * PP_CONNECT_NO_STATEMENT_CACHE keeps no prepared statements, for a pooler in transaction or
 * statement mode (PgBouncer). Every statement is the unnamed one: Parse and Describe go out
 * with a Flush request (answered at once: the parameter types the values are encoded to),
 * then Bind, Execute and the only Sync, so the pooler cannot switch server connections
 * between Parse and Bind (it may after each Sync outside a transaction). A command without
 * parameters or rows is sent whole with one Sync. pp_prepare still makes named statements:
 * those need session pooling. */
#define PP_CONNECT_NO_STATEMENT_CACHE 1
#define PP_CONNECT_INTERRUPTIBLE 2 /* pp_connect_start: a signal interrupts the wait
                                     * (PP_PENDING), so that the caller may handle it */

/* Flags for pp_exec(). */
#define PP_EXEC_PREPARED 1  /* `sql` is the name given to pp_prepare(), not SQL text */
#define PP_EXEC_TEXT 2      /* ask for text-format results (every column arrives as PP_TEXT) */
#define PP_EXEC_ALL_RESULTS 4 /* SQL with several commands: *out is the first command's result
                               * and pp_result_take_next() yields the following ones */
#define PP_EXEC_CHUNKED 8   /* rows are decoded as they arrive and handed out in chunks (results
                             * with the same columns; the last one has the command tag and the
                             * affected-row count): PP_MORE says more follow. While the caller
                             * converts one chunk the server goes on sending the next. Ignored
                             * for several-command SQL. Rows whose columns differ from the
                             * first row's fail the statement (PP_ERR_OPERATIONAL, 08P01:
                             * only a broken or hostile server sends them); the rest of its
                             * answer is read and dropped, and the connection stays usable. */

typedef struct pp_conn pp_conn;
typedef struct pp_result pp_result;
typedef struct pp_error pp_error;

/* One tagged value: a statement parameter, or one cell of a result (pp_result_value). Which
 * fields are meaningful depends on `tag` (see the PP_* tags above). */
typedef struct pp_value {
    int32_t tag;
    uint32_t oid;        /* results: the column's type OID. Parameters: 0, or the type to
                          * declare when the server cannot infer the parameter's type */
    int64_t i;
    int64_t i2;
    int64_t i3;
    double f;
    const char *ptr;     /* results: owned by the pp_result, valid until pp_result_free() */
    int64_t len;
    const int32_t *dims; /* results, PP_ARRAY: ndim = i, then dims[0..ndim), then the lower
                          * bounds at dims[ndim..2*ndim); len = number of elements */
} pp_value;

/* One result column decoded at once (pp_result_column). All pointers are owned by the
 * pp_result and valid until pp_result_free(). Also the input of pp_copy_put_columns (see
 * there: the caller owns the arrays then). */
typedef struct pp_column {
    int32_t tag;                /* the tag of every non-NULL value (PP_TEXT for text results) */
    uint32_t oid;               /* the column's type OID (for `elements`: the element type) */
    int64_t count;              /* number of values (rows, or elements for `elements`) */
    const uint8_t *nulls;       /* count bytes, 1 where the value is NULL; NULL if none is */
    const int64_t *ints;        /* count values for BOOL, INT, DATE, TIME, TIMETZ, TIMESTAMP,
                                 * TIMESTAMPTZ, INTERVAL (0 where NULL) */
    const int64_t *ints2;       /* TIMETZ: offsets; INTERVAL: days */
    const int64_t *ints3;       /* INTERVAL: months */
    const double *floats;       /* FLOAT: count values */
    const char *data;           /* TEXT, NUMERIC, JSON: every value followed by one NUL byte
                                 * (a NULL contributes only the NUL), so the whole buffer
                                 * splits on NUL into count strings. BYTES, UUID: values back
                                 * to back (use offsets) */
    int64_t data_len;           /* bytes in data, including the NULs */
    const int64_t *offsets;     /* count + 1 offsets into data: value k is
                                 * [offsets[k], offsets[k+1]) (including its NUL, if any) */
    const struct pp_column *elements; /* ARRAY: every element of every row, row by row */
    const int64_t *elem_offsets; /* ARRAY: count + 1: row k's elements are
                                  * elements[elem_offsets[k] .. elem_offsets[k+1]) */
    const int32_t *shapes;      /* ARRAY: row k's shape starts at shapes[shape_offsets[k]]:
                                 * ndim, dims[ndim], lower bounds[ndim] (ndim 0: empty) */
    const int64_t *shape_offsets; /* ARRAY: count offsets into shapes */
} pp_column;

/* Everything about a result but its values, read with one call (pp_result_describe). All
 * pointers are owned by the pp_result and valid until pp_result_free(). */
typedef struct pp_result_info {
    int64_t nrows;
    int32_t ncols;
    int32_t has_rows;          /* 1 for a row-returning statement (even with 0 rows) */
    int64_t rows_affected;     /* as pp_result_rows_affected */
    const char *command;       /* the command tag */
    const char *names;         /* the ncols column names, each followed by a NUL byte */
    int64_t names_len;         /* bytes in names, NULs included */
    const uint32_t *types;     /* ncols type OIDs */
    const int32_t *typmods;    /* ncols type modifiers */
} pp_result_info;

/* ---- Versions ---------------------------------------------------------------------- */

/* The library's version as "major.minor.patch". Static storage; never NULL. */
const char *pp_version(void);
/* The library's PP_VERSION_NUMBER. */
int32_t pp_version_number(void);
/* The library's PP_ABI_VERSION: a caller built for another ABI must not use it. */
int32_t pp_abi_version(void);
/* The version of the libpq the library runs with (PQlibVersion(), e.g. 150018). */
int32_t pp_libpq_version(void);

/* ---- Errors ------------------------------------------------------------------------ */

/* The PP_ERR_* category. */
int32_t pp_error_category(const pp_error *err);
/* The primary message. Never NULL (may be ""); owned by err. */
const char *pp_error_message(const pp_error *err);
/* The five-character SQLSTATE, or "" when the failure did not come from the server (the
 * library's own errors use "08xxx" for connection failures). Never NULL; owned by err. */
const char *pp_error_sqlstate(const pp_error *err);
/* A diagnostic field by its libpq code (the PG_DIAG_* letters: 'S' severity, 'C' sqlstate,
 * 'M' message, 'D' detail, 'H' hint, 'P' position, 'p' internal position, 'q' internal
 * query, 'W' context, 's' schema, 't' table, 'c' column, 'd' data type, 'n' constraint,
 * 'F' file, 'L' line, 'R' routine). NULL when absent; owned by err. */
const char *pp_error_field(const pp_error *err, int32_t code);
/* For pp_exec_batch / pp_exec_many: the 0-based index of the statement or parameter row that
 * failed; -1 otherwise. */
int64_t pp_error_index(const pp_error *err);
void pp_error_free(pp_error *err);

/* ---- Connections ------------------------------------------------------------------- */

/* Opens a connection. `conninfo` is anything PQconnectdb accepts: a URL
 * ("postgresql://user:pw@host:5432/db?sslmode=require&connect_timeout=10") or key=value
 * pairs; several hosts are tried in order. `flags`: PP_CONNECT_* bits.
 * Returns a new handle (free with pp_conn_free) or NULL with *err set (category
 * PP_ERR_OPERATIONAL; the message never contains the password). */
pp_conn *pp_connect(const char *conninfo, uint32_t flags, pp_error **err);

/* Starts a connection and waits for it like pp_connect, with two differences: the whole
 * connect is bounded by timeout_ms (0: none; libpq's connect_timeout, when set, bounds it too
 * — over every host tried, where libpq bounds each), and with PP_CONNECT_INTERRUPTIBLE in
 * `flags` a signal interrupts the wait. timeout_ms also becomes the connection's timeout
 * (pp_set_timeout). Returns PP_OK with *out a connected handle; PP_PENDING with *out a
 * half-open handle when a signal interrupted the wait (call pp_connect_resume to go on, or
 * pp_conn_free to give up); PP_ERROR with *out NULL and *err set: the server's SQLSTATE when
 * it sent one (28P01 for a wrong password), else 08006; PP_ERR_TIMEOUT (08001) when the
 * time ran out. Messages never contain the password. Name resolution (getaddrinfo) is not
 * bounded. */
int pp_connect_start(const char *conninfo, uint32_t flags, int32_t timeout_ms, pp_conn **out,
                     pp_error **err);

/* Goes on with a connect that pp_connect_start (or this) left PP_PENDING. Same results;
 * on PP_ERROR the handle stays the caller's: free it with pp_conn_free. */
int pp_connect_resume(pp_conn *conn, pp_error **err);

/* Closes the connection to the server. Safe to call twice. Results stay valid. When another
 * thread is in a call on conn (maybe blocked on a dead network), the socket is shut down
 * first: that call fails at once (PP_ERR_INTERFACE, 08003) and pp_close returns without
 * waiting on the network. A statement left PP_PENDING is cancelled first (waiting for the
 * cancel request as pp_cancel does). In a process forked from the one that connected, it
 * takes no lock and says nothing to the server: it closes the child's copy of the socket
 * and forgets the connection (the parent keeps its session); every other call there fails
 * with PP_ERR_INTERFACE. */
void pp_close(pp_conn *conn);

/* 1 when pp_close() was called, the connection broke, or it is not established yet
 * (pp_connect_start returned PP_PENDING), else 0. The call during which the connection
 * broke fails with PP_ERR_OPERATIONAL (PP_ERR_COMMIT_UNKNOWN for a COMMIT); every later call
 * fails with PP_ERR_INTERFACE, SQLSTATE 08003 "connection is closed". Never waits: while
 * another thread is in a call on conn, the answer is 0 unless pp_close is ending it. */
int32_t pp_is_closed(pp_conn *conn);

/* Closes (if needed) and frees the handle. The caller must not use conn afterwards. In a
 * forked child it only forgets the connection, as pp_close does (the parent's memory
 * stays allocated there). */
void pp_conn_free(pp_conn *conn);

/* Round trip to the server: 1 when it answered, 0 when closed or dead. Never fails. */
int32_t pp_ping(pp_conn *conn);

/* Asks the server to cancel the statement running on conn (from any thread; does not wait
 * for the connection's mutex). A cancel that arrives when nothing runs does nothing. The
 * request (a new connection to the server) is sent from a helper thread; pp_cancel waits
 * for it at most the connection's timeout, or 5 s when none is set, and then fails with
 * PP_ERR_TIMEOUT (the request goes on in the background). PP_ERR_OPERATIONAL when the
 * server refused it, PP_ERR_INTERFACE when conn is closed. */
int pp_cancel(pp_conn *conn, pp_error **err);

/* Bounds every later wait of a call on conn, in milliseconds (0, the default: no bound).
 * Any thread may call it. When a call's wait for the server lasts longer, a cancel request
 * is sent and the server gets 1 s more to answer: a statement it cancelled fails with its
 * error 57014 (the message names the timeout) and the connection stays usable; without an
 * answer the connection is closed and the call fails with PP_ERR_TIMEOUT (08006). When the
 * statement ends before that cancel request arrives, the next call first waits (at most the
 * timeout, or 5 s) until it has been delivered, so that it cannot cancel the next statement.
 * Each chunk of PP_EXEC_CHUNKED, and each COPY call, has its own bound. Not bounded: sending a
 * statement whose parameters do not fit in the socket's buffer (pp_close ends that). */
int pp_set_timeout(pp_conn *conn, int32_t timeout_ms, pp_error **err);

/* The value pp_set_timeout set (0 when none, or conn NULL). */
int32_t pp_timeout(pp_conn *conn);

/* A property of the connection as a new string (free with pp_free), or NULL when the key is
 * unknown or the connection is closed. Keys: "host", "port", "dbname", "user",
 * "application_name", "server_version" (e.g. "150018"), "backend_pid", "client_encoding",
 * "ssl" ("on"/"off"), "transaction_status" ("idle", "active", "intransaction", "inerror",
 * "unknown"), "server_encoding", "timezone". Never the password. */
char *pp_conn_info(pp_conn *conn, const char *key);

/* PQtransactionStatus of the connection: 0 idle, 1 active, 2 in transaction, 3 in failed
 * transaction, 4 unknown (closed or broken). */
int32_t pp_transaction_status(pp_conn *conn);

/* The transaction status as pp_transaction_status() gives it, but never waiting and after
 * reading what the server sent while the connection sat idle: a session the server ended
 * (a restart, a failover, pg_terminate_backend) is found closed without a round trip, and
 * the connection then counts as broken (pp_is_closed() says 1). Returns 1 (active) without
 * waiting while another thread's call holds the connection, and while a statement, a COPY
 * or a chunked result is unfinished (PP_PENDING, PP_MORE); 4 (unknown) when closed or
 * broken, or in a forked child. Reads no more than has arrived: a dead network goes
 * unnoticed (only a round trip such as pp_ping(), or TCP keepalives, can tell). */
int32_t pp_poll_status(pp_conn *conn);

/* Collected server notices (NOTICE, WARNING, …) since the last call, each message followed
 * by a NUL byte; a new string (free with pp_free), NULL when there are none. */
char *pp_take_notices(pp_conn *conn, int64_t *len);

/* Sets the statement-cache capacity (0 turns caching off and drops every cached statement).
 * Default 256. Dropped statements are deallocated on the server now, or inside a transaction
 * at the next new statement outside one. */
int pp_set_statement_cache_size(pp_conn *conn, int32_t size, pp_error **err);

/* ---- Statements -------------------------------------------------------------------- */

/* Runs one statement. `params` holds nparams tagged values ($1 … $n). The statement is
 * prepared (as the unnamed statement the first time a SQL text is seen, under a name kept
 * in the statement cache from the second time on); each parameter is encoded to
 * the type the server describes for it. A PP_TEXT parameter is sent as text for the server to
 * parse, whatever its type; PP_NULL is a NULL of any type; any other tag that cannot become
 * the parameter's type fails before anything is sent (PP_ERR_PROGRAMMING, the message names
 * the parameter, the tag and the server type). Integers (PP_INT, and PP_NUMERIC for integer
 * types) are range-checked, and so are dates (int32 days) and time zone offsets (15:59:59
 * either way) for any type (PP_ERR_DATA); PP_NUMERIC for an integer type must be an integer;
 * integers for float types must be exactly representable. An empty value may have ptr NULL. When the server cannot infer a parameter's
 * type, the statement is prepared again with the types of the values (inside a transaction
 * the first attempt runs under a savepoint, so the transaction survives it). A statement
 * without parameters that holds several commands runs through the simple-query protocol and
 * yields the last command's result (text format), or every command's result with
 * PP_EXEC_ALL_RESULTS. A statement that changes client_encoding fails (PP_ERR_NOT_SUPPORTED)
 * and the encoding is set back to UTF8.
 * What is sent: preparing is Parse + Describe with a Flush request, not a Sync, and the
 * Bind + Execute that follow carry the Sync (a failure in between sends the Sync alone), so
 * no pooler can hand the Bind to another server connection. A command without parameters
 * that returns no rows (DDL, SET, BEGIN, COMMIT, INSERT … without RETURNING) is sent whole,
 * never prepared by name. Cached statements are named "pp_" + 16 hex digits drawn at random
 * per connection + "_" + a counter, so they never meet another client's statements on a
 * pooler's shared server connection. When the server says a cached statement does not
 * exist (DISCARD ALL, or a pooler switched server connections) or its plan went stale, it
 * is prepared again and run once more, outside a transaction only; inside one the error is
 * returned (26000: the message says why and to use PP_CONNECT_NO_STATEMENT_CACHE). Statements
 * the cache evicts are deallocated on the server at the next new statement outside a
 * transaction (inside one, a failing DEALLOCATE would abort it).
 * On PP_OK, *out is a new result (free with pp_result_free). Returns PP_PENDING when a
 * signal interrupted the wait (see PP_PENDING). `flags`: PP_EXEC_* bits. */
int pp_exec(pp_conn *conn, const char *sql, int32_t nparams, const pp_value *params,
            uint32_t flags, pp_result **out, pp_error **err);

/* pp_exec, then pp_result_describe into *info and, when the result has at most max_cols
 * columns, pp_result_columns into cols — one call for the whole round trip. On PP_OK *out
 * is the result as from pp_exec (its columns already decoded when info->ncols <= max_cols;
 * otherwise call pp_result_columns with room for them). PP_PENDING as for pp_exec: finish
 * with pp_resume, then describe and decode. */
int pp_query(pp_conn *conn, const char *sql, int32_t nparams, const pp_value *params,
             uint32_t flags, pp_result **out, pp_result_info *info, pp_column *cols,
             int32_t max_cols, pp_error **err);

/* Keeps waiting for a statement after PP_PENDING. Same results as pp_exec. Calling it when
 * nothing is pending fails with PP_ERR_INTERFACE. After PP_MORE (PP_EXEC_CHUNKED) it reads the
 * next chunk: PP_MORE again, PP_OK with the last rows, PP_ERROR when the statement failed
 * meanwhile (the chunks already handed out stay valid but are not the whole result) or
 * PP_PENDING (call it again; the rows gathered so far are kept). */
int pp_resume(pp_conn *conn, pp_result **out, pp_error **err);

/* pp_resume, then describe and decode as pp_query does: reads the next chunk of a
 * PP_EXEC_CHUNKED statement (or finishes a pp_query that returned PP_PENDING). */
int pp_query_next(pp_conn *conn, pp_result **out, pp_result_info *info, pp_column *cols,
                  int32_t max_cols, pp_error **err);

/* Drops the rest of a PP_EXEC_CHUNKED statement after PP_MORE: reads what remains without
 * decoding it (the statement runs to its end; pp_cancel() first to stop it early) and frees
 * the connection for other calls. PP_OK also when no chunked statement is pending; PP_ERROR
 * only when the connection broke. */
int pp_query_close(pp_conn *conn, pp_error **err);

/* Runs the same statement once per row of parameters, pipelined: every row is sent before
 * any answer is read (one round trip). `params` holds nrows * nparams values, row after row.
 * All rows run in one transaction (an implicit one unless the connection is already inside
 * one): on a failure nothing is kept and pp_error_index tells the failing row. *affected
 * (if not NULL) receives the total affected-row count. */
int pp_exec_many(pp_conn *conn, const char *sql, int32_t nparams, int64_t nrows,
                 const pp_value *params, int64_t *affected, pp_error **err);

/* pp_exec_many with the parameters given column by column: cols holds ncols columns of nrows
 * values each, in the input layout pp_copy_put_columns describes (tags, nulls, ints/floats,
 * text as data + offsets or NUL-terminated), parameter j of row k being value k of cols[j].
 * Every column is checked before anything is sent (the same refusals as
 * pp_copy_put_columns, naming pp_exec_many_columns); then the rows run as with
 * pp_exec_many: pipelined, in one transaction, pp_error_index naming the failing row. The
 * caller keeps ownership of every array, needed only during the call (or, after PP_PENDING,
 * until pp_resume finishes it). */
int pp_exec_many_columns(pp_conn *conn, const char *sql, int32_t ncols, int64_t nrows,
                         const pp_column *cols, int64_t *affected, pp_error **err);

/* Runs n SQL strings (each a single statement without parameters) pipelined in one
 * transaction: all commit or none does. counts[k] (caller-allocated, n entries) receives each
 * statement's affected-row count (-1 for statements that report none). On failure
 * pp_error_index tells which statement failed and the message quotes it. */
int pp_exec_batch(pp_conn *conn, int64_t n, const char *const *sqls, int64_t *counts,
                  pp_error **err);

/* Prepares `sql` under `name` on the server (kept until the connection closes or
 * pp_deallocate). Run it with pp_exec(conn, name, …, PP_EXEC_PREPARED, …). The statement
 * lives in the server session: behind a pooler in transaction mode a later pp_exec may reach
 * another server connection and fail (PP_ERR_PROGRAMMING, SQLSTATE 26000, the message says
 * why); it needs session pooling. */
int pp_prepare(pp_conn *conn, const char *name, const char *sql, pp_error **err);

/* Drops a statement made by pp_prepare. */
int pp_deallocate(pp_conn *conn, const char *name, pp_error **err);

/* ---- COPY ---------------------------------------------------------------------------- */

/* Starts `sql`, a COPY … FROM STDIN. Until pp_copy_end the connection serves only
 * pp_copy_put, pp_copy_put_rows, pp_copy_put_columns, pp_copy_use_binary and pp_copy_end
 * (other calls fail with PP_ERR_INTERFACE).
 * Fails (PP_ERR_PROGRAMMING) when sql is not a COPY FROM STDIN; the connection stays usable.
 * Over a Unix socket it also asks for a socket send buffer of 4 MiB (the kernel caps it at
 * net.core.wmem_max; kept for the connection), so that the server keeps parsing queued rows
 * while the caller prepares more. */
int pp_copy_in_start(pp_conn *conn, const char *sql, pp_error **err);

/* Sends len bytes of COPY data, in the format the COPY statement named. The bytes are
 * copied; the caller keeps ownership of data. */
int pp_copy_put(pp_conn *conn, const char *data, int64_t len, pp_error **err);

/* Sends nrows rows of ncols tagged values (row after row). In a text COPY (the default
 * format) each value is written in its text form (PP_TEXT as is, escaped), PP_NULL as NULL,
 * and the server parses it as the column's type; after pp_copy_use_binary, in binary. A
 * refused value fails the call naming its row (from 0, within this call) and column (from
 * 1); the rows before it stay in the COPY, the failing row is not sent. Refused before any
 * buffer is sized: an unknown tag, a length outside 0..2^30-1 or without data, a UUID not of
 * 16 bytes (PP_ERR_INTERFACE); a date outside the int32 day range or a time zone offset
 * beyond 15:59:59 either way (PP_ERR_DATA). An empty value may have ptr NULL. */
int pp_copy_put_rows(pp_conn *conn, int32_t ncols, int64_t nrows, const pp_value *values,
                     pp_error **err);

/* Sends nrows rows given column by column: cols holds ncols columns in the pp_column layout
 * that results use, here as input (a C caller fills one array per column instead of a
 * pp_value per cell). Each value is written exactly as pp_copy_put_rows writes the pp_value
 * of the same tag: in text form in a text COPY, encoded in binary for its column's type
 * after pp_copy_use_binary (same rules, same refusals). For every column:
 *  - tag: the tag of every non-NULL value; PP_NULL makes the whole column NULL (no arrays
 *    needed). count must equal nrows. oid is passed on as each value's pp_value.oid
 *    (normally 0). nulls (optional): nrows bytes, non-zero where the value is NULL; a NULL
 *    value's slots in the other arrays are ignored.
 *  - BOOL, INT, DATE, TIME, TIMESTAMP, TIMESTAMPTZ: ints (nrows values, as pp_value.i);
 *    TIMETZ: ints and ints2; INTERVAL: ints, ints2 and ints3. FLOAT: floats.
 *  - TEXT, NUMERIC, JSON, ARRAY, BYTES, UUID: data (data_len bytes) and offsets (nrows + 1
 *    entries): value k is exactly the bytes [offsets[k], offsets[k+1]), with no terminator
 *    (a UUID's 16 bytes). For TEXT, NUMERIC, JSON and ARRAY, offsets may be NULL: data then
 *    holds nrows values each followed by one NUL byte, as pp_result_column gives them (a
 *    NULL value usually contributes only its NUL), and data_len counts the NULs.
 *  - elements, elem_offsets, shapes and shape_offsets are ignored (an array value goes as
 *    PP_ARRAY text, as in pp_value).
 * Every column is checked before anything is sent: a count other than nrows, an unknown
 * tag, an array the tag needs left NULL, offsets out of order or outside data, a UUID not of
 * 16 bytes fail with PP_ERR_INTERFACE, and a text value holding a NUL byte with PP_ERR_DATA
 * (22021); after pp_copy_use_binary, also a column whose first non-NULL value cannot be sent
 * as the column's type (PP_ERR_PROGRAMMING, as pp_copy_put_rows). The messages name the
 * column (from 1) and, where one is at fault, the row (from 0, within this call). A value
 * refused while encoding (an integer out of range for its column, a numeric text that is
 * not a number) fails the call naming its row and column; the rows before it stay in the
 * COPY, the failing row is not sent (abort with pp_copy_end). The values are copied; the
 * caller keeps ownership of every array, needed only during the call. */
int pp_copy_put_columns(pp_conn *conn, int32_t ncols, int64_t nrows, const pp_column *cols,
                        pp_error **err);

/* Makes the running COPY FROM STDIN binary: the COPY statement must say (FORMAT binary),
 * and `oids` gives the ncols column types (e.g. from pp_result_describe of a SELECT of the
 * same columns). pp_copy_put_rows then encodes each value in binary for its column's type —
 * no text for the server to parse, so PP_TEXT is accepted only for text-like columns, and
 * arrays and types without a binary encoding are refused (use a text COPY for those). A
 * refused value fails the call naming its row and column; the rows before it in the same
 * call are kept in the COPY. Call once, before the first row. */
int pp_copy_use_binary(pp_conn *conn, int32_t ncols, const uint32_t *oids, pp_error **err);

/* Ends a COPY FROM STDIN. abort_reason NULL completes it (*rows, if not NULL, receives the
 * number of rows stored); otherwise the server discards everything and the call fails with
 * the server's error quoting abort_reason. The connection is usable afterwards either way. */
int pp_copy_end(pp_conn *conn, const char *abort_reason, int64_t *rows, pp_error **err);

/* Starts `sql`, a COPY … TO STDOUT. Read the data with pp_copy_out_read until it returns 0. */
int pp_copy_out_start(pp_conn *conn, const char *sql, pp_error **err);

/* Reads the next chunk of COPY data (whole rows, about 64 KiB or more). Returns 1 with *data
 * and *len set (data owned by conn, valid until the next call on conn), 0 when the COPY is
 * complete (*rows, if not NULL, receives the row count), or PP_ERROR. */
int pp_copy_out_read(pp_conn *conn, const char **data, int64_t *len, int64_t *rows,
                     pp_error **err);

/* ---- Results ----------------------------------------------------------------------- */

int64_t pp_result_nrows(const pp_result *res);
int32_t pp_result_ncols(const pp_result *res);
/* Column name, owned by res. NULL when col is out of range. */
const char *pp_result_column_name(const pp_result *res, int32_t col);
/* Column type OID; 0 when col is out of range. */
uint32_t pp_result_column_type(const pp_result *res, int32_t col);
/* Type modifier of the column (e.g. varchar length + 4, numeric precision); -1 if none. */
int32_t pp_result_column_typmod(const pp_result *res, int32_t col);
/* Rows affected by INSERT/UPDATE/DELETE/MERGE/SELECT/COPY/…; -1 when the command reports
 * none (DDL). */
int64_t pp_result_rows_affected(const pp_result *res);
/* The command tag ("INSERT 0 3", "CREATE TABLE", …); owned by res, never NULL. */
const char *pp_result_command(const pp_result *res);
/* 1 when the result has columns (a row-returning statement), else 0. */
int32_t pp_result_has_rows(const pp_result *res);

/* Fills *out with the result's shape (see pp_result_info). Fails only on NULL arguments. */
int pp_result_describe(pp_result *res, pp_result_info *out, pp_error **err);

/* Decodes every column: out must have room for pp_result_ncols(res) entries; same rules as
 * pp_result_column (one call instead of one per column). */
int pp_result_columns(pp_result *res, pp_column *out, pp_error **err);

/* Decodes a whole column at once into *out. The arrays it points to are owned by res and
 * valid until pp_result_free; a second call returns the same arrays. Fails with
 * PP_ERR_OPERATIONAL (SQLSTATE 08P01, protocol violation) on a value no server sends (a wrong
 * length, a NUL byte in text, an int4 reading "12x"), or PP_ERR_INTERFACE for a column out of
 * range. */
int pp_result_column(pp_result *res, int32_t col, pp_column *out, pp_error **err);

/* One cell, tagged. Pointers in *out are owned by res. Same failures as pp_result_column. */
int pp_result_value(pp_result *res, int64_t row, int32_t col, pp_value *out, pp_error **err);

/* Element `index` (0-based, row-major over all dimensions) of the array in a PP_ARRAY cell. */
int pp_result_array_item(pp_result *res, int64_t row, int32_t col, int64_t index,
                         pp_value *out, pp_error **err);

/* With PP_EXEC_ALL_RESULTS: detaches and returns the result of the command after res's
 * (the caller now owns it: free with pp_result_free), or NULL when res was the last. */
pp_result *pp_result_take_next(pp_result *res);

/* Frees res and any results still chained after it (see pp_result_take_next). */
void pp_result_free(pp_result *res);

/* Frees a string returned by this library. */
void pp_free(void *ptr);

/* END CDEF */

#ifdef __cplusplus
}
#endif

#endif /* POSTPYRO_H */
