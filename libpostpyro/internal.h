/* SPDX-License-Identifier: MIT */
/* internal.h — private declarations shared by libpostpyro's source files.
 *
 * Layers: each file calls only files on its own line's right or on lines below it; no file
 * calls one that calls it back (error.c is used everywhere).
 *
 *   exec.c                one statement: pp_exec, pp_query_*, pp_resume (PP_PENDING)
 *   pipeline.c  copy.c    batches (pp_exec_many, pp_exec_batch); COPY in and out
 *   stmt.c                statements on the server: lookup/prepare, Bind, DEALLOCATE, the
 *                         cache's size; pp_prepare, pp_deallocate
 *   nonblock.c            a nonblocking call run on the connection's fiber; pp_socket,
 *                         pp_wait_events, pp_set_nonblocking
 *   conn.c                connect and close, the connection's lock and its pending state
 *                         (conn->pend: what a statement interrupted by a signal still holds)
 *   cancel.c              pp_cancel_start / pp_cancel_poll (libpq 17's PQcancelPoll, or a
 *                         helper thread with a pipe)
 *   rowmode.c             rows as they arrive: libpq 17's chunked rows mode, or single-row mode
 *   wait.c  connerr.c     every wait on the socket, deadlines, cancel requests; connect errors
 *   canceller.c           what cancel requests are sent with (libpq 17's PQcancelBlocking,
 *                         or PQcancel)
 *   notify.c              the queue of LISTEN/NOTIFY notifications
 *   pq17.c                libpq 17's functions when the libpq loaded at run time has them
 *   fiber.c  fiberswitch.c  result.c  decode.c  encode.c  numeric.c  stmtcache.c
 *   columns.c  sqlscan.c
 *                         no I/O: a second stack and the switch to it, results, value
 *                         conversion both ways, the cache's bookkeeping, caller's input
 *                         columns, SQL scanning
 *
 * Blocking happens in wait.c only: its callers loop "send, read what has arrived, wait",
 * with the waiting at one call (pp__wait_socket / pp__wait_ready / pp__wait_input). In
 * nonblocking mode (nonblock.c) the public call runs on a fiber (fiber.c) and that one wait
 * switches back to the caller instead (PP_PENDING; pp_resume switches in again): the same
 * code serves both modes. */
#ifndef PP_INTERNAL_H
#define PP_INTERNAL_H

#include "postpyro.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
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

/* Every flag bit the API knows; other bits are refused (pp__check_flags). */
#define PP__CONNECT_FLAGS \
    ((uint32_t)(PP_CONNECT_NO_STATEMENT_CACHE | PP_CONNECT_INTERRUPTIBLE | \
                PP_CONNECT_NONBLOCKING | PP_CONNECT_WAIT_SLICES))
#define PP__EXEC_FLAGS ((uint32_t)(PP_EXEC_PREPARED | PP_EXEC_TEXT | PP_EXEC_ALL_RESULTS | \
                                   PP_EXEC_CHUNKED))

/* ---- errors (error.c) ---- */
struct pp_error {
    int32_t category;
    int32_t origin;    /* PP_ORIGIN_* */
    char *formatted;   /* server errors: libpq's full text (LINE/caret, DETAIL, …); or NULL */
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
/* Sets e's origin (PP_ORIGIN_*; pp__error_new makes PP_ORIGIN_LIBRARY errors): for errors
 * that restate another one. Ignores the shared out-of-memory error. */
void pp__error_set_origin(pp_error *e, int32_t origin);
/* Stores e in *err (or frees it when err is NULL); returns PP_ERROR. */
int pp__fail(pp_error **err, pp_error *e);
int32_t pp__category_for_sqlstate(const char *sqlstate);
/* PP_ERR_INTERFACE naming fn and the bits of `flags` outside `known`; PP_OK when none are. */
int pp__check_flags(const char *fn, uint32_t flags, uint32_t known, pp_error **err);

/* ---- statement cache (stmtcache.c) ---- */
#define PP_STMT_NAME_MAX 48 /* "pp_n", 16 hex digits, "_", a counter, NUL */

typedef struct pp_stmt {
    char *key;            /* SQL text, or the user's name for pp_prepare statements */
    uint64_t hash;
    const char *seen_at;  /* the caller's key buffer it was last found with (pp__cache_find):
                           * compared as an address only, never read through */
    char name[PP_STMT_NAME_MAX]; /* server-side statement name (stmt_name in stmt.c) */
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
    uint32_t *declared;   /* nparams types its Parse declared from its first run's values (the
                           * server could not infer some: stmt.c), 0 = left to the server;
                           * NULL when nothing was declared */
    uint64_t last_used;
    bool small_results;   /* its last run returned few rows, read whole: PP_EXEC_CHUNKED
                           * then reads the next run whole too (exec.c) */
    struct pp_stmt *next_doomed; /* evicted, not yet deallocated on the server */
} pp_stmt;

typedef struct pp_stmt_cache {
    pp_stmt **items;
    int32_t count;
    int32_t capacity;     /* unpinned entries kept at most */
    uint64_t clock;
    uint64_t next_id;
    uint64_t salt;        /* random, drawn at the first named statement: in every server
                           * statement name, so that no other client uses the same names */
    pp_stmt *doomed;      /* evicted statements to DEALLOCATE once outside a transaction */
    uint64_t seen[512];   /* hashes of SQL run once: prepared by name on the second run */
    int32_t seen_next;
} pp_stmt_cache;

/* true when sql was seen before (and remembers it otherwise). */
bool pp__cache_seen(pp_stmt_cache *c, const char *sql);

pp_stmt *pp__cache_find(pp_stmt_cache *c, const char *key, bool named);
/* Adds a new entry (taking ownership on success); returns it or NULL on OOM. When the cache
 * is full, the least recently used unpinned entry goes to pp__cache_doom. */
pp_stmt *pp__cache_add(pp_stmt_cache *c, pp_stmt *s);
/* Removes and returns the least recently used unpinned entry when more than `keep` unpinned
 * entries are cached; else NULL. The caller frees it or hands it to pp__cache_doom. */
pp_stmt *pp__cache_evict(pp_stmt_cache *c, int32_t keep);
/* Takes s, out of the cache: queued on c->doomed for a DEALLOCATE on the server (done by
 * stmt.c's pp__drop_stmt and before the next new statement), or freed when it was never
 * prepared there (simple). */
void pp__cache_doom(pp_stmt_cache *c, pp_stmt *s);
void pp__cache_remove(pp_stmt_cache *c, pp_stmt *s);
void pp__stmt_free(pp_stmt *s);
void pp__cache_clear(pp_stmt_cache *c);
uint64_t pp__hash(const char *s);

/* ---- connections (conn.c) ---- */
/* A pipelined batch (pp_exec_many / pp_exec_batch) in flight; kept in pp_conn so that a
 * batch interrupted by a signal can be finished by pp_resume. */
typedef struct pp_pipe {
    bool batch;                  /* pp_exec_batch (SQL strings) or pp_exec_many (one stmt) */
    const char *const *sqls;     /* batch: caller's strings (own_sqls once detached) */
    pp_stmt *stmt;               /* many: the statement */
    bool own_stmt;               /* many: stmt is temporary (cache off) */
    int32_t nparams;
    const pp_value *params;      /* many: caller's values, row after row (from row
                                  * params_base on), or NULL when */
    const pp_column *cols;       /* many: the caller's columns hold them (one per parameter) */
    pp_value *row;               /* many with cols: the row being sent (nparams values) */
    int64_t *at;                 /* many with cols: read positions (pp__column_value) */
    int64_t n, sent, done;
    bool synced, sync_seen, want_write;
    pp_error *first;             /* first failure */
    int64_t *counts;             /* per command; caller's (batch) or ours (own_counts) */
    bool own_counts;
    int64_t *affected;           /* many: caller's total (NULL once detached) */
    /* Detached (the call returned PP_PENDING): nothing of the caller's is used any more.
     * pp_resume reports the counts as a result instead of writing the caller's arrays. */
    bool detached;
    char **own_sqls;             /* batch: copies of the n statements */
    pp_value *own_params;        /* many: copies of rows params_base .. n-1 */
    char *own_data;              /* the bytes own_params point to */
    int64_t params_base;
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
    PGresult *tagged; /* chunked rows mode: a later chunk with the command tag (the last) */
    pp_colbuf **cols; /* chunked: the chunk being gathered (NULL when none is) */
    int32_t ncols;    /* chunked: entries of cols */
    int64_t rows;     /* chunked: rows in cols */
    int64_t bytes;    /* chunked: bytes of values in cols */
    int64_t handed;   /* chunked: rows handed out in earlier chunks */
    int64_t chunk_rows; /* chunked: rows of the last chunk handed out */
    int64_t handed_bytes; /* chunked: bytes of values handed out in earlier chunks */
    int32_t ncols_seen; /* chunked: columns of the chunks handed out */
    pp_stmt *stmt;    /* chunked after PP_MORE: the cached statement, told its size at the end
                       * if still cached (exec.c; compared, never read before that) */
    pp_pipe pipe;
} pp_pending;


/* libpq 17's functions (pq17.c), typed without its header (PGcancelConn is opaque here):
 * the table when the libpq loaded at run time has all of them, else NULL. */
typedef struct pp__pq17 {
    void *(*cancel_create)(PGconn *);
    int (*cancel_start)(void *);
    int (*cancel_blocking)(void *);
    PostgresPollingStatusType (*cancel_poll)(void *);
    int (*cancel_socket)(const void *);
    char *(*cancel_errmsg)(const void *);
    void (*cancel_reset)(void *);
    void (*cancel_finish)(void *);
    int (*send_close_prepared)(PGconn *, const char *);
} pp__pq17;
const pp__pq17 *pp__pq17_api(void);

/* What a cancel request needs (canceller.c), shared by the connection and the helper
 * threads sending cancel requests (wait.c): freed by the last of them (pp__canceller_unref). */
typedef struct pp__canceller {
    atomic_int refs;
    PGcancel *cancel;     /* PQcancel's: always there, for libpq before 17 */
    void *cc;             /* libpq 17+ on an encrypted connection: a PGcancelConn, else NULL */
    pthread_mutex_t cc_lock; /* one request at a time on cc */
    bool cc_used;         /* cc must be reset before its next request */
} pp__canceller;
/* A new canceller for pg, just connected (refs 1), or NULL when memory ran out. */
pp__canceller *pp__canceller_new(PGconn *pg);
void pp__canceller_free(pp__canceller *c);
/* Sends c's cancel request and waits for the server to take it (a helper thread calls it:
 * it may block as long as the network does): 1 sent, 0 failed with the reason in msg. */
int pp__canceller_send(pp__canceller *c, char *msg, size_t cap);

/* ---- fibers (fiber.c) ---- */
typedef struct pp__fiber pp__fiber;
/* false when the build cannot switch stacks: no switch of its own (fiberswitch.h) for this
 * target and no makecontext (configure: PP_NO_UCONTEXT). */
bool pp__fiber_supported(void);
/* A fiber with its own stack; NULL when out of memory (or unsupported). */
pp__fiber *pp__fiber_new(void);
void pp__fiber_free(pp__fiber *f);
/* Runs fn(arg) on f until it ends (0) or yields (1); -1 when f is busy. */
int pp__fiber_start(pp__fiber *f, void (*fn)(void *), void *arg);
/* Goes on with a fiber that yielded: 0 it ended, 1 it yielded again, -1 it had not yielded. */
int pp__fiber_resume(pp__fiber *f);
/* From inside f: back to whoever started or resumed it. */
void pp__fiber_yield(pp__fiber *f);
bool pp__fiber_suspended(const pp__fiber *f);
/* true when the calling code runs on f's stack (f may be NULL). */
bool pp__fiber_current(const pp__fiber *f);

/* ---- notifications (notify.c) ---- */
typedef struct pp__notify_queue {
    pthread_mutex_t lock;        /* guards this struct only (pp_notify_take never waits for
                                  * a running call) */
    pp_notify **items;           /* ring of count entries from head */
    int64_t head, count, cap;
    int64_t limit;               /* pp_set_notify_limit */
    int64_t dropped;             /* notifications dropped because the queue was full */
} pp__notify_queue;

int pp__notify_init(pp__notify_queue *q);
void pp__notify_destroy(pp__notify_queue *q);
/* Moves the notifications libpq has parsed into the queue (conn's lock held). */
void pp__notify_collect(pp_conn *conn);
/* The oldest queued notification (the caller's now), or NULL. */
pp_notify *pp__notify_pop(pp__notify_queue *q);
void pp__notify_set_limit(pp__notify_queue *q, int64_t limit);
/* The dropped count, or (dropped false) the queued count. */
int64_t pp__notify_counter(pp__notify_queue *q, bool dropped);

/* A nonblocking cancel request (cancel.c): libpq 17's PGcancelConn when the loaded libpq
 * has it and pg is given (the caller holds conn's lock for the call), else PQcancel on a
 * helper thread that writes to a pipe when done. PP_OK with *out, or PP_ERROR (msg). */
typedef struct pp__nbcancel pp__nbcancel;
int pp__nbcancel_begin(pp__canceller *c, PGconn *pg, pp__nbcancel **out, char *msg,
                       size_t cap);
/* One step: PP_OK delivered, PP_ERROR (msg), PP_PENDING with the fd and PP_WAIT_* events to
 * wait for. Never waits. */
int pp__nbcancel_step(pp__nbcancel *n, int32_t *fd, int32_t *events, char *msg, size_t cap);
void pp__nbcancel_drop(pp__nbcancel *n);
/* 1 when the loaded libpq has the nonblocking cancel API (17 and later). */
int pp__nbcancel_native(void);
/* Counts a cancel request asked for conn (any thread). */
void pp__cancel_asked(pp_conn *conn);

/* Rows as they arrive (rowmode.c), for PP_EXEC_CHUNKED: true when the loaded libpq has
 * chunked rows mode (17 and later), which pp__set_row_mode then uses (results of status
 * PP__PGRES_TUPLES_CHUNK), else single-row mode (PGRES_SINGLE_TUPLE). pp__set_row_mode: right
 * after sending the statement; false when libpq refused (the result then comes whole). */
bool pp__chunked_rows_mode(void);
bool pp__set_row_mode(PGconn *pg);
/* libpq 17's PGRES_TUPLES_CHUNK, which an older libpq-fe.h does not name. */
#define PP__PGRES_TUPLES_CHUNK 12

struct pp_conn {
    pthread_mutex_t lock;        /* held for every use of pg */
    pthread_cond_t idle;         /* signalled when `pending` clears */
    pthread_mutex_t cancel_lock; /* guards `canceller` and `sock` only */
    PGconn *pg;
    pp__canceller *canceller;    /* NULL until connected and after close */
    int sock;                    /* the connected socket (for shutdown from pp_close), or -1 */
    unsigned generation;         /* fork generation at connect (conn.c) */
    atomic_bool forgotten;       /* a forked child's pp_close ran (it takes no lock) */
    atomic_bool closing;         /* pp_close shut the socket down under a running call */
    _Atomic int32_t timeout_ms;  /* pp_set_timeout; 0: calls wait as long as it takes */
    int64_t deadline_ms;         /* the running call's deadline (pp__now_ms), 0 none */
    bool cancel_sent;            /* the deadline passed once: a cancel request is out */
    struct pp__cancel_req *late_cancel; /* that request, until it is known delivered */
    atomic_uint cancel_asks;     /* cancel requests asked for (pp_cancel, pp_cancel_start, a
                                  * deadline), counted so that a call sees one made while its
                                  * Parse/Describe ran, which the server ignores (stmt.c) */
    unsigned cancel_asks_seen;   /* cancel_asks when the call began (pp__arm_deadline) */
    bool resending;              /* the waits of a statement's results (exec.c): a cancel
                                  * asked since resend_asks is sent again (wait.c) */
    unsigned resend_asks;        /* cancel_asks when the call began (pp__resend_begin) */
    int64_t resend_at_ms;        /* when to send it again (0: not seen asked yet) */
    bool interrupted;            /* a signal came during the call's Parse/Describe: the
                                  * next interruptible wait reports it at once (wait.c) */
    pp_error *wait_error;        /* why the last wait gave up, when it was the deadline */
    bool connecting;             /* pp_connect_start returned PP_PENDING */
    bool connect_sliced;         /* connecting: a wait slice ended (the next ones are short) */
    PostgresPollingStatusType poll_status; /* connecting: PQconnectPoll's last answer */
    char **secrets;              /* connecting: the password's spellings, NULL-terminated */
    bool closed;
    bool pending;                /* a pp_exec awaits pp_resume */
    bool unsynced;               /* a Parse went out with a Flush, not a Sync: the Bind that
                                  * follows it sends the Sync, else pp__settle_parse does */
    pthread_t pending_owner;     /* the thread whose call left it pending */
    pp_pending pend;
    uint32_t flags;
    pp_stmt_cache cache;
    pp_error **notices;          /* collected notices (notice.c), oldest at notices_head */
    size_t notices_head, notices_count, notices_cap, notices_bytes;
    int copy_state;              /* PP_COPY_NONE, PP_COPY_IN, PP_COPY_OUT */
    char *copy_buf;              /* COPY data being gathered (in) or handed out (out) */
    size_t copy_len, copy_cap;
    bool copy_out_done;          /* COPY TO ended; the next read reports it */
    uint32_t *copy_oids;         /* binary COPY FROM: the column types, else NULL */
    int32_t copy_ncols;
    int64_t copy_rows;
    int utf8_code;               /* 1 + PQclientEncoding() when check_encoding (exec.c) last
                                  * found client_encoding UTF8; 0: not known */
    char *scratch;               /* parameter encoding buffer, reused */
    size_t scratch_cap;
    /* nonblocking mode (nonblock.c) */
    atomic_bool nonblocking;     /* pp_set_nonblocking, PP_CONNECT_NONBLOCKING */
    _Atomic(pp__fiber *) fiber;  /* made when nonblocking mode is first set; freed with conn */
    bool nb_busy;                /* a nonblocking call started and has not ended */
    pthread_t nb_thread;         /* the thread that started it (the only one to go on) */
    _Atomic int32_t want_events; /* PP_WAIT_* the suspended call (or connect) waits for */
    _Atomic int64_t wait_deadline_ms; /* and until when (pp__now_ms), 0: no deadline */
    /* pp_set_idle_wait: how long (ms, 0: off) each call's waits may poll the socket with
     * idle_fd before switching back (nb_wait), and until when (pp__now_ms, 0: off) the
     * running call's may (set when a call starts; spent as pp_set_idle_wait says) */
    _Atomic int32_t idle_ms;
    _Atomic int64_t idle_until_ms;
    _Atomic int32_t idle_fd;
    int nb_rc;                   /* the ended call's outcome, until handed out */
    pp_result *nb_out;
    pp_error *nb_err;
    pp__notify_queue notify;
    pp__nbcancel *nbcancel;      /* pp_cancel_start's request in flight (cancel_lock) */
};

/* In nonblocking mode, whether a public call must go through pp__nb_run: not when it
 * already runs on the connection's fiber (wait.c). */
bool pp__nb_wanted(pp_conn *conn);
/* Runs fn(arg) on conn's fiber (nonblocking mode): fn calls the public function again (it
 * then runs on the fiber, its waits switching back here) and stores its outcome in
 * conn->nb_rc / nb_out / nb_err. Returns that outcome (*out, *err) when fn ended, or
 * PP_PENDING when it waits. `resume`: a call already waiting is continued instead (pp_resume);
 * otherwise one waiting makes this fail. arg is copied by fn before its first wait. */
int pp__nb_run(pp_conn *conn, void (*fn)(void *), void *arg, bool resume, pp_result **out,
               pp_error **err);
/* For fn: stores the outcome of the call it made. */
void pp__nb_done(pp_conn *conn, int rc, pp_result *out, pp_error *err);
/* Sets the PQsetnonblocking state conn's sends use outside a pipeline or COPY (wait.c). */
void pp__pq_mode(pp_conn *conn);

enum { PP_COPY_NONE = 0, PP_COPY_IN = 1, PP_COPY_OUT = 2 };

/* COPY FROM (copy.c): appends one row of ncols values to conn->copy_buf, in binary when
 * conn->copy_oids is set (the column types), else in COPY text; on failure nothing of the
 * row stays and *err names row and column. Sends nothing (the fuzz targets call it). */
int pp__copy_put_values(pp_conn *conn, int64_t row, int32_t ncols, const pp_value *vals,
                        pp_error **err);

/* Drives PQconnectPoll (also after PQresetStart), waiting on the socket until connected
 * (PP_OK), failed (PP_ERROR: the connection is closed, conn stays allocated), or a signal
 * interrupted the wait (PP_PENDING, only when interruptible). */
int pp__connect_poll(pp_conn *conn, bool interruptible, pp_error **err);

/* ---- notices (notice.c) ---- */
/* libpq's notice receiver (arg: the pp_conn; runs inside libpq calls, lock held). */
void pp__notice_receiver(void *arg, const PGresult *res);
/* Frees the notices still collected. */
void pp__notices_clear(pp_conn *conn);

/* Locks conn and waits until no statement is pending. Fails when closed or in a COPY. */
int pp__conn_enter(pp_conn *conn, pp_error **err);
/* The same for COPY calls: the connection must be in copy_state (PP_COPY_*). */
int pp__conn_enter_state(pp_conn *conn, int copy_state, pp_error **err);
void pp__conn_leave(pp_conn *conn);
/* false in a process forked from the one that connected (conn.c). */
bool pp__conn_owned(const pp_conn *conn);
/* Locks conn, unless it belongs to the parent process (fails, takes no lock: the parent may
 * have held it at fork time). */
int pp__conn_lock_owned(pp_conn *conn, pp_error **err);
/* Marks the statement just started as pending (PP_PENDING, PP_MORE) for the calling thread:
 * other threads' calls wait for it, the same thread's calls fail instead. Lock held. */
void pp__conn_set_pending(pp_conn *conn);
/* Frees what a pending statement holds and clears conn->pend. */
void pp__pending_clear(pp_conn *conn);
/* Frees the chunk a chunked statement was gathering (ps->cols) and empties it. */
void pp__pending_drop_chunk(pp_pending *ps);

/* ---- waiting (wait.c) ---- */
/* Every wait on the socket goes through these. They end when the server closed the
 * connection (libpq then reports CONNECTION_BAD), when pp_close shut the socket down from
 * another thread, and when the call's deadline (pp__arm_deadline) and the grace period after
 * its cancel request passed (the socket is shut down; pp__conn_error says why).
 * Results: 0 done, -1 failure, and only when interruptible: PP__WAIT_SIGNAL (a signal
 * interrupted the wait) or PP__WAIT_SLICE (PP_CONNECT_WAIT_SLICES: the wait passed a slice
 * of wait.c's FIRST_SLICE_MS / SLICE_MS; the caller returns PP_PENDING as for a signal, so that one poll()
 * missed is handled too). */
#define PP__WAIT_SIGNAL 1
#define PP__WAIT_SLICE 2
/* When a wait slice that starts now ends (pp__now_ms): the first slice of a call is longer
 * than the ones after it (`resumed`). */
int64_t pp__slice_end(bool resumed);
/* Until the socket is ready for `events` (POLLIN, POLLOUT). On the fiber of a nonblocking
 * call it switches back to the caller instead (and returns 0 when resumed: the caller reads
 * and calls again when nothing came). */
int pp__wait_socket(pp_conn *conn, short events, bool interruptible);
/* Until PQgetResult will not block (PQisBusy is false). */
int pp__wait_ready(pp_conn *conn, bool interruptible);
/* For more input, once, and reads it: for a loop whose PQgetResult returned NULL although
 * it expects more (a pipeline before its Sync). Never retry PQgetResult without it. */
int pp__wait_input(pp_conn *conn, bool interruptible);
/* Until libpq's output buffer is sent (a nonblocking connection): 0, or -1. */
int pp__wait_flush(pp_conn *conn);
/* Leaves a COPY state that a statement ran into, so the connection stays usable. */
void pp__abort_copy(PGconn *pg, ExecStatusType st);
/* PQexec under the same rules: the last result, or NULL when the connection failed. */
PGresult *pp__exec_wait(pp_conn *conn, const char *sql);
/* Its second half, after any PQsend*: the last result of the command sent. */
PGresult *pp__last_result_wait(pp_conn *conn);
/* Starts the deadline of a call from pp_set_timeout's value (lock held). */
void pp__arm_deadline(pp_conn *conn);
/* A statement goes out (after the cancel check of its Parse/Describe, stmt.c): while
 * conn->resending, a blocking wait sends a cancel asked since the call began again every
 * 200 ms. The server ignores one that reaches the backend before the statement starts (it
 * waits for the Bind, which may still be on its way). Lock held. */
void pp__resend_begin(pp_conn *conn);
/* Whether a blocking call that runs on the fiber to wait in slices (a COPY call with
 * PP_CONNECT_WAIT_SLICES) returned PP_PENDING: pp_resume goes on with it (pp__nb_run). */
bool pp__sliced_call_pending(pp_conn *conn);
/* The error for a failed wait: the timeout, a close from another thread, or libpq's
 * message (category). */
pp_error *pp__conn_error(pp_conn *conn, int32_t category);
/* A server error 57014 that answered a timeout's cancel request: the message says so. */
void pp__name_timeout(pp_conn *conn, pp_error *e);
/* Shuts the connection's socket down (any thread): every wait on it ends. */
void pp__shutdown_socket(pp_conn *conn);
int64_t pp__now_ms(void);
/* The connection's canceller with a new reference (NULL when closed); drop it with
 * pp__canceller_unref. */
pp__canceller *pp__canceller_get(pp_conn *conn);
void pp__canceller_unref(pp__canceller *c);
/* Sends a cancel request from a helper thread and waits at most wait_ms for it to be
 * delivered: 1 delivered, 0 failed, -1 still on its way (it goes on in the background).
 * msg gets libpq's message on failure. */
int pp__cancel_bounded(pp__canceller *c, int32_t wait_ms, char *msg, size_t cap);
/* The same in two halves: pp__cancel_start sends it from a helper thread (NULL when that
 * cannot start); pp__cancel_finish waits at most wait_ms (0: not at all), returns as
 * pp__cancel_bounded and releases req. */
struct pp__cancel_req *pp__cancel_start(pp__canceller *c, char *msg, size_t cap);
int pp__cancel_finish(struct pp__cancel_req *req, int32_t wait_ms, char *msg, size_t cap);
/* A timeout's cancel request still on its way is waited for (bounded), so that it cannot
 * reach the server after this call's statement has started and cancel that one; with
 * wait_ms 0 it is only let go. */
void pp__settle_late_cancel(pp_conn *conn, int32_t wait_ms);
/* pp__cancel_start, writing one byte to wake_fd (when >= 0) once the request is done; the
 * request owns wake_fd from now on (closed with it, or at once on failure). */
struct pp__cancel_req *pp__cancel_start_fd(pp__canceller *c, int wake_fd, char *msg,
                                           size_t cap);
/* Whether a signal may interrupt conn's waits (PP_CONNECT_INTERRUPTIBLE). */
bool pp__interruptible(const pp_conn *conn);
/* How long pp_cancel and pp_close wait for a cancel request to be delivered. */
int32_t pp__cancel_wait_ms(pp_conn *conn);

/* ---- connection errors (connerr.c) ---- */
/* The spellings of the password in conninfo (raw, percent-decoded, quoted; URL and
 * key=value forms), a NULL-terminated array to free with pp__secrets_free; NULL when there
 * is none (or no memory: then *oom is set). */
char **pp__secrets(const char *conninfo, bool *oom);
void pp__secrets_free(char **secrets);
/* The error for a failed connect (of `category`): the server's SQLSTATE when it sent one
 * (verbose messages), else 08006; every spelling of the password removed. */
pp_error *pp__error_from_connect(PGconn *pg, char *const *secrets, int32_t category);

/* ---- statements on the server (stmt.c), used by exec.c and pipeline.c ---- */
/* Finds or makes the statement for sql (PP_EXEC_PREPARED in flags: sql is a pp_prepare
 * name). *temp: the caller frees it. `direct_ok`: a one-off command may come back `direct`
 * (sent whole, never prepared), which only a single run can use. */
int pp__lookup_stmt(pp_conn *conn, const char *sql, uint32_t flags, int32_t nparams,
                    const pp_value *params, bool direct_ok, pp_stmt **out, bool *temp,
                    pp_error **err);
/* Sends the Sync still owed after a successful Parse (conn->unsynced) when the Bind that was
 * to carry it was not sent, and reads to its end. Does nothing when none is owed. */
void pp__settle_parse(pp_conn *conn);
/* Frees s, a named statement already out of the cache, after closing it on the server:
 * with libpq 17+'s protocol-level Close now (outside pipeline mode), which never fails and
 * which a pooler tracking prepared statements (PgBouncer >= 1.21) sees; else with a
 * DEALLOCATE, now when outside a transaction, or at the next new statement outside one
 * (inside, a DEALLOCATE that fails — the statement is not on this server connection —
 * would abort the transaction). */
void pp__drop_stmt(pp_conn *conn, pp_stmt *s);
/* Closes server statement `name` now: Close (libpq 17+) or DEALLOCATE (a failure is
 * ignored). Not in pipeline mode. */
void pp__deallocate_on_server(pp_conn *conn, const char *name);
/* When e is the server's "prepared statement does not exist" for s (a named statement), a
 * new error saying why that happens behind a transaction-mode pooler (e is freed); else e. */
pp_error *pp__explain_missing(pp_error *e, const pp_stmt *s);
/* Fails (PP_ERR_PROGRAMMING) unless s takes nparams parameters. */
int pp__check_param_count(const pp_stmt *s, int32_t nparams, pp_error **err);
/* Encodes params for s and sends one Bind/Describe/Execute. */
int pp__send_prepared(pp_conn *conn, const pp_stmt *s, int32_t nparams, const pp_value *params,
                      bool binary, pp_error **err);

/* ---- pipelines (pipeline.c) ---- */
/* Sends and reads the pipeline in conn->pend.pipe; PP_PENDING when a signal interrupted it
 * (interruptible only). A cancel asked since the pipeline began is sent again while it
 * waits (conn->resending). pp__pipe_finish turns its outcome into the call's result. */
int pp__pipe_run(pp_conn *conn, pp_pipe *p, bool interruptible);
int pp__pipe_finish(pp_conn *conn, int rc, pp_result **out, pp_error **err);

/* ---- parameter encoding (encode.c) ---- */
typedef struct pp_encoded {
    const char **values;
    int *lengths;
    int *formats;
} pp_encoded;

/* Grows conn->scratch (the encoding buffer) to at least n bytes. */
/* Grows *buf (capacity *cap, first allocation `first` bytes, then doubling) to hold at
 * least `need` bytes; false when out of memory or need > SIZE_MAX / 4. */
bool pp__grow(char **buf, size_t *cap, size_t need, size_t first);
bool pp__scratch_reserve(pp_conn *conn, size_t n);
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
/* The type OID to declare for a value when the server cannot infer one (0 for a NULL without
 * a declared type: stmt.c lets the server try first). */
uint32_t pp__oid_for_value(const pp_value *v);
/* The built-in types the encoder knows (NULL for others: sent as text for the server). */
const char *pp__type_name(uint32_t oid);
/* The tag's name ("PP_FLOAT"), for messages. */
const char *pp__tag_name(int32_t tag);
/* oids.c: pp_type_name(oid), or "a type that is not built in (OID n)" written into buf. */
const char *pp__type_label(uint32_t oid, char *buf, size_t cap);

/* ---- decoding (decode.c) ---- */
/* true when results of this type can be requested in binary. */
bool pp__has_binary_decoder(uint32_t oid);

/* Builds the decoded column `col` of r. Returns NULL with *err on failure. */
pp_colbuf *pp__decode_column(const PGresult *r, int32_t col, bool binary, pp_error **err);
/* Every column of r into cols[0 … PQnfields(r)-1] (all NULL before), row by row: faster than
 * column by column once r outgrows the CPU's caches. Column k reuses spares[k] (k < nspares;
 * may be NULL), as pp__colbuf_reuse does; every spare is taken (spares[k] becomes NULL).
 * PP_OK, or PP_ERROR with *err and cols all NULL again. */
int pp__decode_columns(const PGresult *r, bool binary, pp_colbuf **cols, pp_colbuf **spares,
                       int32_t nspares, pp_error **err);
/* An empty column of type oid with room for nrows values (NULL with *err on failure), and
 * one value appended to it (NULL, or the error: a malformed value, out of memory). */
pp_colbuf *pp__colbuf_begin(uint32_t oid, bool binary, int64_t nrows, pp_error **err);
pp_error *pp__colbuf_add(pp_colbuf *b, const char *v, int64_t len, bool is_null);
void pp__colbuf_free(pp_colbuf *b);
void pp__colbuf_export(const pp_colbuf *b, pp_column *out);
/* pp__colbuf_begin, reusing the arrays of spare (a column of an earlier result, taken over;
 * may be NULL) when it was of the same type and format and not much bigger than nrows
 * values; otherwise spare is freed. Keeping a statement's buffers for the next one spares
 * the page faults of fresh heap memory each time. */
pp_colbuf *pp__colbuf_reuse(pp_colbuf *spare, uint32_t oid, bool binary, int64_t nrows,
                            pp_error **err);
/* Bytes allocated by b's arrays (0 for NULL). */
int64_t pp__colbuf_bytes(const pp_colbuf *b);

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
/* Bytes held by res's PGresult (PQresultMemorySize), 0 once its columns are decoded. */
int64_t pp__result_wire_bytes(const pp_result *res);
/* The decoded columns of res (an array of *n entries, some maybe NULL), taken out of it to be
 * reused as spares by pp__result_columns_reusing (free each with pp__colbuf_free, then the
 * array); NULL (*n = 0) when res is NULL, is chained to others, or holds more than
 * max_bytes. res stays valid for pp_result_free only. */
pp_colbuf **pp__result_take_columns(pp_result *res, int32_t *n, int64_t max_bytes);
/* pp_result_columns, decoding into the spares' arrays (see pp__decode_columns). */
int pp__result_columns_reusing(pp_result *res, pp_column *out, pp_colbuf **spares,
                               int32_t nspares, pp_error **err);
/* pp_query_pack's packing of the result described by info, whose columns are decoded in
 * cols[0 … info->ncols-1], into pack[0 … len-1] (see postpyro.h); pack[0] stays 0 when it
 * does not fit. */
void pp__pack_columns(const pp_result_info *info, const pp_column *cols, int64_t *pack,
                      int32_t len);

/* ---- time helpers (encode.c) ---- */
void pp__days_to_ymd(int64_t days, int64_t *y, int *m, int *d);

#endif
