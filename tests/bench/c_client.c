/* SPDX-License-Identifier: MIT */
/* c_client.c — the floor for the benchmarks: each workload done with plain libpq, touching
 * every value (reading it) but building no objects. Usage:
 *   c_client DSN WORKLOAD   → prints the seconds the workload took
 * Workloads match tests/bench/bench.py: small catalog large types insert batch copy connect
 * threads (threads: 4 threads each running `small` on its own connection). */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *dsn;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(PGconn *c, const char *what)
{
    fprintf(stderr, "%s: %s\n", what, c ? PQerrorMessage(c) : "?");
    exit(1);
}

static PGconn *connect_db(void)
{
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK)
        die(c, "connect");
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        die(c, sql);
    PQclear(r);
}

/* Reads every cell, as a driver must before converting it. */
static long touch(PGresult *r)
{
    long sum = 0;
    int rows = PQntuples(r), cols = PQnfields(r);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            if (!PQgetisnull(r, i, j))
                sum += PQgetlength(r, i, j) + (unsigned char)PQgetvalue(r, i, j)[0];
    return sum;
}

static PGresult *prepared(PGconn *c, const char *name, const char *sql, int n,
                          const char *const *vals, int binary)
{
    static char last[64];
    if (strcmp(last, name) != 0) {
        PGresult *p = PQprepare(c, name, sql, 0, NULL);
        if (PQresultStatus(p) != PGRES_COMMAND_OK)
            die(c, "prepare");
        PQclear(p);
        snprintf(last, sizeof last, "%s", name);
    }
    PGresult *r = PQexecPrepared(c, name, n, vals, NULL, NULL, binary);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
        die(c, sql);
    return r;
}

static void small(PGconn *c)
{
    char buf[16];
    const char *vals[1] = {buf};
    for (int k = 0; k < 20000; k++) {
        snprintf(buf, sizeof buf, "%d", k);
        PGresult *r = prepared(c, "small", "SELECT $1::int4", 1, vals, 1);
        touch(r);
        PQclear(r);
    }
}

static void *small_thread(void *arg)
{
    (void)arg;
    PGconn *c = connect_db();
    char buf[16];
    const char *vals[1] = {buf};
    PGresult *p = PQprepare(c, "s", "SELECT $1::int4", 0, NULL);
    PQclear(p);
    for (int k = 0; k < 20000; k++) {
        snprintf(buf, sizeof buf, "%d", k);
        PGresult *r = PQexecPrepared(c, "s", 1, vals, NULL, NULL, 1);
        touch(r);
        PQclear(r);
    }
    PQfinish(c);
    return NULL;
}

static void pipeline_insert(PGconn *c, int n, int literal)
{
    if (!literal) {
        PGresult *p = PQprepare(c, "ins", "INSERT INTO bench_insert VALUES ($1, $2, $3)", 0, NULL);
        if (PQresultStatus(p) != PGRES_COMMAND_OK)
            die(c, "prepare insert");
        PQclear(p);
    }
    if (!PQenterPipelineMode(c))
        die(c, "pipeline");
    PQsetnonblocking(c, 1);
    int sent = 0, synced = 0, done = 0;
    char a[32], b[32], f[32], sql[128];
    const char *vals[3] = {a, b, f};
    while (!done) {
        for (int burst = 0; burst < 256 && sent < n; burst++, sent++) {
            if (literal) {
                snprintf(sql, sizeof sql, "INSERT INTO bench_batch VALUES (%d)", sent);
                PQsendQueryParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
            } else {
                snprintf(a, sizeof a, "%d", sent);
                snprintf(b, sizeof b, "name %d", sent);
                snprintf(f, sizeof f, "%d.5", sent);
                PQsendQueryPrepared(c, "ins", 3, vals, NULL, NULL, 0);
            }
        }
        if (sent == n && !synced) {
            PQpipelineSync(c);
            synced = 1;
        }
        int pending = PQflush(c);
        struct pollfd p = {.fd = PQsocket(c), .events = POLLIN | (pending ? POLLOUT : 0)};
        poll(&p, 1, synced ? -1 : 0);
        PQconsumeInput(c);
        int nulls = 0;
        while (!PQisBusy(c) && nulls < 2) {
            PGresult *r = PQgetResult(c);
            if (r == NULL) { /* two in a row: nothing more has arrived yet */
                nulls++;
                continue;
            }
            nulls = 0;
            ExecStatusType st = PQresultStatus(r);
            PQclear(r);
            if (st == PGRES_PIPELINE_SYNC) {
                done = 1;
                break;
            }
            if (st != PGRES_COMMAND_OK)
                die(c, "pipelined insert");
        }
    }
    PQsetnonblocking(c, 0);
    PQexitPipelineMode(c);
}

static void copy_in(PGconn *c, int n)
{
    PGresult *r = PQexec(c, "COPY bench_copy FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN)
        die(c, "copy");
    PQclear(r);
    char *buf = malloc(1 << 20);
    size_t len = 0;
    for (int k = 0; k < n; k++) {
        len += (size_t)sprintf(buf + len, "%d\tname %d\t%d.5\n", k, k, k);
        if (len > (1 << 20) - 100) {
            PQputCopyData(c, buf, (int)len);
            len = 0;
        }
    }
    PQputCopyData(c, buf, (int)len);
    PQputCopyEnd(c, NULL);
    free(buf);
    while ((r = PQgetResult(c)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            die(c, "copy end");
        PQclear(r);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: c_client DSN WORKLOAD\n");
        return 2;
    }
    dsn = argv[1];
    const char *w = argv[2];
    PGconn *c = strcmp(w, "connect") == 0 || strcmp(w, "threads") == 0 ? NULL : connect_db();
    if (strcmp(w, "insert") == 0)
        exec_ok(c, "DROP TABLE IF EXISTS bench_insert; "
                   "CREATE TABLE bench_insert (a int, b text, c float8)");
    if (strcmp(w, "batch") == 0)
        exec_ok(c, "DROP TABLE IF EXISTS bench_batch; CREATE TABLE bench_batch (v int)");
    if (strcmp(w, "copy") == 0)
        exec_ok(c, "DROP TABLE IF EXISTS bench_copy; "
                   "CREATE TABLE bench_copy (a int, b text, c float8)");
    double t0 = now();
    if (strcmp(w, "small") == 0) {
        small(c);
    } else if (strcmp(w, "catalog") == 0) {
        for (int k = 0; k < 300; k++) {
            PGresult *r = PQexec(c, "SELECT * FROM pg_type");
            touch(r);
            PQclear(r);
        }
    } else if (strcmp(w, "large") == 0) {
        PGresult *r = prepared(c, "large",
                               "SELECT g, 'row ' || g, g * 0.5::float8, "
                               "'2020-01-01'::timestamp + g * interval '1 second', md5(g::text) "
                               "FROM generate_series(1, 500000) g", 0, NULL, 1);
        touch(r);
        PQclear(r);
    } else if (strcmp(w, "types") == 0) {
        PGresult *r = prepared(c, "types",
                               "SELECT g::numeric / 7, '2020-01-01'::timestamptz + g * "
                               "interval '1 minute', md5(g::text)::uuid, "
                               "jsonb_build_object('id', g, 'name', 'n' || g), ARRAY[g, g + 1, g + 2] "
                               "FROM generate_series(1, 100000) g", 0, NULL, 1);
        touch(r);
        PQclear(r);
    } else if (strcmp(w, "insert") == 0) {
        exec_ok(c, "BEGIN");
        pipeline_insert(c, 50000, 0);
        exec_ok(c, "COMMIT");
    } else if (strcmp(w, "batch") == 0) {
        pipeline_insert(c, 10000, 1);
    } else if (strcmp(w, "copy") == 0) {
        copy_in(c, 1000000);
    } else if (strcmp(w, "connect") == 0) {
        for (int k = 0; k < 200; k++)
            PQfinish(connect_db());
    } else if (strcmp(w, "threads") == 0) {
        pthread_t t[4];
        for (int k = 0; k < 4; k++)
            pthread_create(&t[k], NULL, small_thread, NULL);
        for (int k = 0; k < 4; k++)
            pthread_join(t[k], NULL);
    } else {
        fprintf(stderr, "unknown workload %s\n", w);
        return 2;
    }
    printf("%.6f\n", now() - t0);
    PQfinish(c);
    return 0;
}
