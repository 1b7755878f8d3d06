/* SPDX-License-Identifier: MIT */
/* nonblock_epoll.c — several connections driven by one epoll loop (libpostpyro's
 * nonblocking mode): each connects without blocking, then runs a few statements that take
 * 100 ms each; the statements of all connections overlap, so the whole run takes about as
 * long as one connection's share. Build:
 *   cc -std=c11 nonblock_epoll.c $(pkg-config --cflags --libs libpostpyro)
 * Run: ./a.out "host=/var/run/postgresql dbname=postgres" (or with PP_TEST_DSN set, as the
 * test suite runs it)
 * (an event loop passes numeric addresses, hostaddr=…, or a socket directory: libpq
 * resolves host names inside the connect calls, and that would block the loop). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <postpyro.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define NCONN 4
#define ROUNDS 5

typedef struct client {
    pp_conn *conn;
    int connected;      /* the connect ended */
    int round;          /* statements finished */
    pp_value param;     /* borrowed by the running pp_exec until it ends */
} client;

/* Tells epoll what the client's unfinished call waits for (the socket may change while
 * connecting: libpq moves from host to host). */
static void watch(int ep, client *cl, int op)
{
    int32_t ev = pp_wait_events(cl->conn);
    struct epoll_event e = {.data.ptr = cl};
    e.events = ((ev & PP_WAIT_READ) ? EPOLLIN : 0) | ((ev & PP_WAIT_WRITE) ? EPOLLOUT : 0);
    if (epoll_ctl(ep, op, pp_socket(cl->conn), &e) != 0)
        perror("epoll_ctl");
}

/* The next statement of cl, or 0 when it has done all of them. PP_ERROR: -1. */
static int next_statement(client *cl)
{
    pp_result *res = NULL;
    pp_error *err = NULL;
    cl->param = (pp_value){.tag = PP_INT, .i = cl->round};
    int rc = pp_exec(cl->conn, "SELECT $1::int4 * 2, pg_sleep(0.1)", 1, &cl->param, 0, &res,
                     &err);
    if (rc == PP_ERROR) {
        fprintf(stderr, "exec: %s\n", pp_error_message(err));
        pp_error_free(err);
        return -1;
    }
    return rc; /* PP_PENDING here: nonblocking mode never returns PP_OK at once for this */
}

/* One readiness event for cl: 1 it still runs, 0 it is done, -1 failed. */
static int step(int ep, client *cl)
{
    pp_error *err = NULL;
    pp_result *res = NULL;
    int rc;
    if (!cl->connected) {
        int sock = pp_socket(cl->conn);
        rc = pp_connect_resume(cl->conn, &err);
        if (rc == PP_PENDING) {
            if (pp_socket(cl->conn) != sock) /* libpq moved on to another host */
                epoll_ctl(ep, EPOLL_CTL_DEL, sock, NULL);
            watch(ep, cl, pp_socket(cl->conn) != sock ? EPOLL_CTL_ADD : EPOLL_CTL_MOD);
            return 1;
        }
        cl->connected = 1;
    } else {
        rc = pp_resume(cl->conn, &res, &err);
        if (rc == PP_PENDING) {
            watch(ep, cl, EPOLL_CTL_MOD);
            return 1;
        }
        if (rc == PP_OK) {
            pp_value v;
            if (pp_result_value(res, 0, 0, &v, NULL) == PP_OK)
                printf("connection %p: round %d -> %lld\n", (void *)cl, cl->round,
                       (long long)v.i);
            cl->round++;
        }
        pp_result_free(res);
    }
    if (rc != PP_OK) {
        fprintf(stderr, "%s\n", pp_error_message(err));
        pp_error_free(err);
        return -1;
    }
    if (cl->round == ROUNDS)
        return 0;
    if (next_statement(cl) < 0)
        return -1;
    watch(ep, cl, EPOLL_CTL_MOD);
    return 1;
}

int main(int argc, char **argv)
{
    const char *dsn = argc > 1 ? argv[1] : getenv("PP_TEST_DSN") ? getenv("PP_TEST_DSN") : "";
    int ep = epoll_create1(0);
    client cls[NCONN] = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int running = 0, failed = 0;
    for (int k = 0; k < NCONN; k++) {
        pp_error *err = NULL;
        int rc = pp_connect_start(dsn, PP_CONNECT_NONBLOCKING, 10000, &cls[k].conn, &err);
        if (rc == PP_ERROR) {
            fprintf(stderr, "connect: %s\n", pp_error_message(err));
            pp_error_free(err);
            failed++;
            continue;
        }
        watch(ep, &cls[k], EPOLL_CTL_ADD); /* PP_PENDING: the connect runs */
        running++;
    }
    while (running > 0) {
        struct epoll_event evs[NCONN];
        int n = epoll_wait(ep, evs, NCONN, 1000); /* a real loop also honours
                                                     pp_wait_timeout_ms */
        for (int k = 0; k < n; k++) {
            int r = step(ep, evs[k].data.ptr);
            if (r <= 0) {
                running--;
                failed += r < 0;
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%d connections x %d statements of 0.1 s in %.2f s\n", NCONN, ROUNDS, secs);
    for (int k = 0; k < NCONN; k++)
        pp_conn_free(cls[k].conn);
    close(ep);
    return failed == 0 ? 0 : 1;
}
