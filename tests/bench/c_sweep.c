/* SPDX-License-Identifier: MIT */
/* c_sweep.c — the C floor of the shape sweep (tests/bench/sweep.py): one prepared statement
 * run again and again with plain libpq, binary results, every value read (its length and
 * first byte), no objects built. A worker: connected once, it reads commands on stdin, one a
 * line, and answers each with one line on stdout:
 *   S <sql>       prepare <sql> ($1 = the row count) in place of the previous one  -> "OK"
 *   R <rows> <n>  run it n times with $1 = rows       -> "T <wall seconds> <process CPU s>"
 *   G             (a Python worker collects its garbage here; nothing to do)      -> "OK"
 * It says "READY" once connected. An error answers "E <message>" and leaves the worker
 * running; end of input ends it.
 * Usage: c_sweep DSN */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "E <message>": libpq's message on one line. */
static void error_line(PGconn *c)
{
    fputs("E ", stdout);
    for (const char *m = PQerrorMessage(c); *m; m++)
        putchar(*m == '\n' ? ' ' : *m);
    putchar('\n');
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One statement, every value read; -1 (the error answered) when it failed. */
static long run(PGconn *c, const char *rows)
{
    const char *vals[1] = {rows};
    PGresult *r = PQexecPrepared(c, "s", 1, vals, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        error_line(c);
        PQclear(r);
        return -1;
    }
    long sum = 0;
    int n = PQntuples(r), m = PQnfields(r);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++)
            if (!PQgetisnull(r, i, j))
                sum += PQgetlength(r, i, j) + (unsigned char)PQgetvalue(r, i, j)[0];
    PQclear(r);
    return sum;
}

/* "S <sql>": statement "s" becomes sql (the previous one deallocated). */
static void prepare(PGconn *c, const char *sql, int *prepared)
{
    PGresult *p;
    if (*prepared) {
        p = PQexec(c, "DEALLOCATE s");
        if (PQresultStatus(p) != PGRES_COMMAND_OK) {
            error_line(c);
            PQclear(p);
            return;
        }
        PQclear(p);
        *prepared = 0;
    }
    p = PQprepare(c, "s", sql, 1, NULL);
    if (PQresultStatus(p) != PGRES_COMMAND_OK)
        error_line(c);
    else {
        *prepared = 1;
        printf("OK\n");
    }
    PQclear(p);
}

/* "R <rows> <n>": n runs timed together. */
static void timed(PGconn *c, const char *args, long *sink)
{
    char rows[32];
    long n;
    if (sscanf(args, "%31s %ld", rows, &n) != 2 || n < 1) {
        printf("E bad command: R %s\n", args);
        return;
    }
    double w = clock_s(CLOCK_MONOTONIC), u = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (long k = 0; k < n; k++) {
        long s = run(c, rows);
        if (s < 0)
            return;
        *sink += s;
    }
    printf("T %.9f %.9f\n", clock_s(CLOCK_MONOTONIC) - w, clock_s(CLOCK_PROCESS_CPUTIME_ID) - u);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: c_sweep DSN (commands on stdin)\n");
        return 2;
    }
    PGconn *c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "c_sweep: %s", PQerrorMessage(c));
        PQfinish(c);
        return 1;
    }
    printf("READY\n");
    fflush(stdout);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long sink = 0;
    int prepared = 0;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        if (strncmp(line, "S ", 2) == 0)
            prepare(c, line + 2, &prepared);
        else if (strncmp(line, "R ", 2) == 0 && prepared)
            timed(c, line + 2, &sink);
        else if (strcmp(line, "G") == 0)
            printf("OK\n");
        else
            printf("E bad command: %s\n", line);
        fflush(stdout);
    }
    free(line);
    PQfinish(c);
    return sink == -1; /* keeps the reads */
}
