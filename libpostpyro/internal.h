/* internal.h — private declarations shared by libpostpyro's source files. */
#ifndef PP_INTERNAL_H
#define PP_INTERNAL_H

#include "postpyro.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

/* PostgreSQL type OIDs the library knows (catalog values, stable across versions). */
enum {
    OID_BOOL = 16, OID_BYTEA = 17, OID_CHAR = 18, OID_NAME = 19, OID_INT8 = 20, OID_INT2 = 21,
    OID_INT4 = 23, OID_TEXT = 25, OID_OID = 26, OID_JSON = 114, OID_XML = 142,
    OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_UNKNOWN = 705, OID_BPCHAR = 1042,
    OID_VARCHAR = 1043, OID_DATE = 1082, OID_TIME = 1083, OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184, OID_INTERVAL = 1186, OID_TIMETZ = 1266, OID_NUMERIC = 1700,
    OID_UUID = 2950, OID_JSONB = 3802, OID_INET = 869, OID_CIDR = 650, OID_MACADDR = 829,
    OID_MACADDR8 = 774
};

/* ---- errors (error.c) ---- */
struct pp_error {
    int32_t category;
    int64_t index;
    char sqlstate[6];
    char *message;
    char *fields[128]; /* by PG_DIAG_* letter */
};

pp_error *pp__error_new(int32_t category, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
pp_error *pp__error_from_result(const PGresult *res);
pp_error *pp__error_from_conn(PGconn *pg, int32_t category);
pp_error *pp__error_oom(void);
/* Stores e in *err (or frees it when err is NULL); returns PP_ERROR. */
int pp__fail(pp_error **err, pp_error *e);
int32_t pp__category_for_sqlstate(const char *sqlstate);

/* ---- statement cache (stmtcache.c) ---- */
typedef struct pp_stmt {
    char *key;            /* SQL text, or the user's name for pp_prepare statements */
    uint64_t hash;
    char name[32];        /* server-side statement name */
    char *user_name;      /* pp_prepare name (points into key) or NULL */
    int32_t nparams;
    uint32_t *param_oids;
    int32_t ncols;
    bool binary_results;  /* every result column has a binary decoder */
    bool simple;          /* multi-command SQL: run through the simple-query protocol */
    bool direct;          /* one-off command without rows or parameters: sent whole, without
                           * a Parse + Describe round trip first */
    bool pinned;          /* made by pp_prepare: never evicted */
    bool reparse;         /* unnamed, parsed under a savepoint whose RELEASE replaced it: sent
                           * again as SQL (key) with the described parameter types */
    uint64_t last_used;
} pp_stmt;

typedef struct pp_stmt_cache {
    pp_stmt **items;
    int32_t count;
    int32_t capacity;     /* unpinned entries kept at most */
    uint64_t clock;
    uint64_t next_id;
    uint64_t seen[512];   /* hashes of SQL run once: prepared by name on the second run */
    int32_t seen_next;
} pp_stmt_cache;

/* true when sql was seen before (and remembers it otherwise). */
bool pp__cache_seen(pp_stmt_cache *c, const char *sql);

pp_stmt *pp__cache_find(pp_stmt_cache *c, const char *key, bool named);
/* Adds a new entry (taking ownership); returns it or NULL on OOM. May evict (the evicted
 * statement's name is appended to *evicted which the caller deallocates on the server). */
pp_stmt *pp__cache_add(pp_stmt_cache *c, pp_stmt *s, pp_stmt **evicted);
void pp__cache_remove(pp_stmt_cache *c, pp_stmt *s);
void pp__stmt_free(pp_stmt *s);
void pp__cache_clear(pp_stmt_cache *c);
uint64_t pp__hash(const char *s);

/* ---- connections (conn.c) ---- */
/* A pipelined batch (pp_exec_many / pp_exec_batch) in flight; kept in pp_conn so that a
 * batch interrupted by a signal can be finished by pp_resume. */
typedef struct pp_pipe {
    bool batch;                  /* pp_exec_batch (SQL strings) or pp_exec_many (one stmt) */
    const char *const *sqls;     /* batch: caller's strings */
    pp_stmt *stmt;               /* many: the statement */
    bool own_stmt;               /* many: stmt is temporary (cache off) */
    int32_t nparams;
    const pp_value *params;      /* many: caller's values, row after row, or NULL when */
    const pp_column *cols;       /* many: the caller's columns hold them (one per parameter) */
    pp_value *row;               /* many with cols: the row being sent (nparams values) */
    int64_t *at;                 /* many with cols: read positions (pp__column_value) */
    int64_t n, sent, done;
    bool synced, sync_seen, want_write;
    pp_error *first;             /* first failure */
    int64_t *counts;             /* per command; caller's (batch) or ours (many) */
    int64_t *affected;           /* many: caller's total */
} pp_pipe;

typedef struct pp_colbuf pp_colbuf; /* a decoded column (decode.c) */

/* What a statement interrupted by a signal still needs until pp_resume finishes it. */
typedef struct pp_pending {
    bool is_pipe;     /* pipe below, else a pp_exec */
    PGresult *last;   /* pp_exec: last successful result so far */
    pp_error *error;  /* pp_exec: first error so far */
    bool binary;
    bool commit;
    bool all;         /* pp_exec: PP_EXEC_ALL_RESULTS: keep every result, chained */
    pp_result *head, *tail;
    bool chunked;     /* PP_EXEC_CHUNKED: rows are decoded into cols as they arrive */
    PGresult *shape;  /* chunked: the first row's result, for the chunks' names and types */
    pp_colbuf **cols; /* chunked: the chunk being gathered (NULL when none is) */
    int32_t ncols;    /* chunked: entries of cols */
    int64_t rows;     /* chunked: rows in cols */
    int64_t bytes;    /* chunked: bytes of values in cols */
    pp_pipe pipe;
} pp_pending;

/* Frees what a pending statement holds (exec.c). */
void pp__pending_clear(pp_conn *conn);

struct pp_conn {
    pthread_mutex_t lock;        /* held for every use of pg */
    pthread_cond_t idle;         /* signalled when `pending` clears */
    pthread_mutex_t cancel_lock; /* guards `cancel` only */
    PGconn *pg;
    PGcancel *cancel;
    unsigned generation;         /* fork generation at connect (conn.c) */
    bool closed;
    bool pending;                /* a pp_exec awaits pp_resume */
    pthread_t pending_owner;     /* the thread whose call left it pending */
    pp_pending pend;
    uint32_t flags;
    pp_stmt_cache cache;
    char *notices;
    size_t notices_len, notices_cap;
    int copy_state;              /* PP_COPY_NONE, PP_COPY_IN, PP_COPY_OUT */
    char *copy_buf;              /* COPY data being gathered (in) or handed out (out) */
    size_t copy_len, copy_cap;
    bool copy_out_done;          /* COPY TO ended; the next read reports it */
    uint32_t *copy_oids;         /* binary COPY FROM: the column types, else NULL */
    int32_t copy_ncols;
    int64_t copy_rows;
    char *scratch;               /* parameter encoding buffer, reused */
    size_t scratch_cap;
};

enum { PP_COPY_NONE = 0, PP_COPY_IN = 1, PP_COPY_OUT = 2 };

/* COPY FROM (copy.c): appends one row of ncols values to conn->copy_buf, in binary when
 * conn->copy_oids is set (the column types), else in COPY text; on failure nothing of the
 * row stays and *err names row and column. Sends nothing (the fuzz targets call it). */
int pp__copy_put_values(pp_conn *conn, int64_t row, int32_t ncols, const pp_value *vals,
                        pp_error **err);

/* Locks conn and waits until no statement is pending. Fails when closed or in a COPY. */
int pp__conn_enter(pp_conn *conn, pp_error **err);
/* The same for COPY calls: the connection must be in copy_state (PP_COPY_*). */
int pp__conn_enter_state(pp_conn *conn, int copy_state, pp_error **err);
void pp__conn_leave(pp_conn *conn);
/* Marks the statement just started as pending (PP_PENDING, PP_MORE) for the calling thread:
 * other threads' calls wait for it, the same thread's calls fail instead. Lock held. */
void pp__conn_set_pending(pp_conn *conn);
/* Grows conn->scratch to at least n bytes. */
bool pp__scratch_reserve(pp_conn *conn, size_t n);

/* ---- waiting (conn.c) ---- */
/* Waits until PQgetResult will not block. Returns 0 ready, 1 interrupted by a signal
 * (only when interruptible), -1 connection failure. */
int pp__wait_ready(PGconn *pg, bool interruptible);

/* ---- statements (exec.c), shared with the pipelines (pipeline.c) ---- */
/* Finds or makes the statement for sql (PP_EXEC_PREPARED in flags: sql is a pp_prepare
 * name). *temp: the caller frees it. `direct_ok`: a one-off command may come back `direct`
 * (sent whole, never prepared), which only a single run can use. */
int pp__lookup_stmt(pp_conn *conn, const char *sql, uint32_t flags, int32_t nparams,
                    const pp_value *params, bool direct_ok, pp_stmt **out, bool *temp,
                    pp_error **err);
/* Leaves a COPY state that a statement ran into, so the connection stays usable. */
void pp__abort_copy(PGconn *pg, ExecStatusType st);
/* Fails (PP_ERR_PROGRAMMING) unless s takes nparams parameters. */
int pp__check_param_count(const pp_stmt *s, int32_t nparams, pp_error **err);
/* Encodes params for s and sends one Bind/Describe/Execute. */
int pp__send_prepared(pp_conn *conn, const pp_stmt *s, int32_t nparams, const pp_value *params,
                      bool binary, pp_error **err);

/* ---- pipelines (pipeline.c) ---- */
/* Sends and reads the pipeline in conn->pend.pipe; PP_PENDING when a signal interrupted it
 * (interruptible only). pp__pipe_finish turns its outcome into the call's result. */
int pp__pipe_run(pp_conn *conn, pp_pipe *p, bool interruptible);
int pp__pipe_finish(pp_conn *conn, int rc, pp_error **err);

/* ---- parameter encoding (encode.c) ---- */
typedef struct pp_encoded {
    const char **values;
    int *lengths;
    int *formats;
} pp_encoded;

/* Encodes nparams values for the server types in `oids` into enc (arrays of nparams),
 * using conn->scratch for bytes that must be built. */
int pp__encode_params(pp_conn *conn, int32_t nparams, const pp_value *params,
                      const uint32_t *oids, pp_encoded *enc, pp_error **err);
/* PP_ERR_DATA unless v's fields are in the range PostgreSQL stores (dates in int32 days, time
 * zone offsets within 15:59:59), which the text and binary forms rely on ($idx+1 named). */
int pp__check_value_range(const pp_value *v, int32_t idx, pp_error **err);
/* The text form of a non-NULL value, NUL-terminated, into out (pp__text_size(v) bytes);
 * returns the bytes written including the NUL. */
size_t pp__write_text(char *out, const pp_value *v, size_t cap);
size_t pp__text_size(const pp_value *v);
/* Binary COPY: the binary form of v for type oid into out (pp__binary_size(v) bytes);
 * returns its length, or -1 with *err when v cannot be sent in binary (idx names it).
 * With out == NULL it only checks (returning 0 or -1): everything but a numeric text's
 * digits, which are read when encoding. */
int64_t pp__encode_binary(const pp_value *v, uint32_t oid, int32_t idx, char *out,
                          pp_error **err);
size_t pp__binary_size(const pp_value *v);
/* numeric.c */
size_t pp__numeric_binary_size(int64_t text_len);
int64_t pp__numeric_to_binary(const char *s, int64_t len, char *out);
/* The type OID to declare for a value when the server cannot infer one. */
uint32_t pp__oid_for_value(const pp_value *v);
const char *pp__type_name(uint32_t oid);
const char *pp__tag_name(int32_t tag);

/* ---- decoding (decode.c) ---- */
/* true when results of this type can be requested in binary. */
bool pp__has_binary_decoder(uint32_t oid);

/* Builds the decoded column `col` of r. Returns NULL with *err on failure. */
pp_colbuf *pp__decode_column(const PGresult *r, int32_t col, bool binary, pp_error **err);
/* An empty column of type oid with room for nrows values (NULL with *err on failure), and
 * one value appended to it (NULL, or the error: a malformed value, out of memory). */
pp_colbuf *pp__colbuf_begin(uint32_t oid, bool binary, int64_t nrows, pp_error **err);
pp_error *pp__colbuf_add(pp_colbuf *b, const char *v, int64_t len, bool is_null);
/* Bytes of variable-length data the column holds (its size beyond the fixed arrays). */
int64_t pp__colbuf_data_len(const pp_colbuf *b);
void pp__colbuf_free(pp_colbuf *b);
void pp__colbuf_export(const pp_colbuf *b, pp_column *out);

/* ---- SQL scanning (sqlscan.c) ---- */
/* true when sql holds more than one command (a ';' followed by more than blanks/comments). */
bool pp__several_commands(const char *sql);
/* true when sql starts with a command that returns no rows (DDL, SET, transaction control,
 * INSERT/UPDATE/DELETE/MERGE without RETURNING) and names no parameter ($1). Only decides
 * how fast it is run. */
bool pp__rowless_command(const char *sql);

/* ---- input columns (columns.c) ---- */
/* Tags whose values are text the server parses (TEXT, NUMERIC, JSON, ARRAY). */
bool pp__tag_is_texty(int32_t tag);
/* Checks input column `col` (0-based) of nrows values: count, the arrays its tag needs,
 * offsets, UUID sizes, NULs in text. Errors name fn (the API function), column and row. */
int pp__check_input_column(const pp_column *c, int32_t col, int64_t nrows, const char *fn,
                           pp_error **err);
/* Value `row` of a checked input column. Rows are read in order: *at (0 at first) tracks
 * where the next NUL-terminated value starts when the column has no offsets. */
void pp__column_value(const pp_column *c, int64_t row, int64_t *at, pp_value *v);

/* ---- results (result.c) ---- */
pp_result *pp__result_new(PGresult *r, bool binary);
/* A result of nrows rows already decoded into cols (an array of ncols columns, taken over on
 * success), described by shape (names, types, command tag; not kept). NULL when out of
 * memory, or when ncols is not PQnfields(shape) (the caller checks shapes first). */
pp_result *pp__result_from_columns(const PGresult *shape, bool binary, int64_t nrows,
                                   int32_t ncols, pp_colbuf **cols);
void pp__result_set_next(pp_result *res, pp_result *next);

/* ---- time helpers (encode.c) ---- */
void pp__days_to_ymd(int64_t days, int64_t *y, int *m, int *d);

#endif
