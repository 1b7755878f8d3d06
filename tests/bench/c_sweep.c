/* SPDX-License-Identifier: MIT */
/* c_sweep.c — the C floor of the shape sweep (tests/bench/sweep.py): one prepared statement
 * run again and again with plain libpq, binary results, every value read (its length and
 * first byte), no objects built. Usage:
 *   c_sweep DSN SQL ROWS N ROUNDS WARMUP
 * runs SQL ($1 = ROWS) WARMUP times, then ROUNDS rounds of N runs, and prints one line per
 * round: "<wall seconds> <process CPU seconds>" for the N runs. */
#define _POSIX_C_SOURCE 200809L
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long run(PGconn *c, const char *rows)
{
    const char *vals[1] = {rows};
    PGresult *r = PQexecPrepared(c, "s", 1, vals, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "c_sweep: %s", PQerrorMessage(c));
        exit(1);
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

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: c_sweep DSN SQL ROWS N ROUNDS WARMUP\n");
        return 2;
    }
    PGconn *c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "c_sweep: %s", PQerrorMessage(c));
        return 1;
    }
    PGresult *p = PQprepare(c, "s", argv[2], 1, NULL);
    if (PQresultStatus(p) != PGRES_COMMAND_OK) {
        fprintf(stderr, "c_sweep: %s", PQerrorMessage(c));
        return 1;
    }
    PQclear(p);
    long n = atol(argv[4]), rounds = atol(argv[5]), warm = atol(argv[6]), sink = 0;
    for (long k = 0; k < warm; k++)
        sink += run(c, argv[3]);
    for (long r = 0; r < rounds; r++) {
        double w = clock_s(CLOCK_MONOTONIC), u = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        for (long k = 0; k < n; k++)
            sink += run(c, argv[3]);
        printf("%.9f %.9f\n", clock_s(CLOCK_MONOTONIC) - w,
               clock_s(CLOCK_PROCESS_CPUTIME_ID) - u);
    }
    PQfinish(c);
    return sink == -1; /* keeps the reads */
}
