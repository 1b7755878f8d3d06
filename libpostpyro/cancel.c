/* SPDX-License-Identifier: MIT */
/* cancel.c — cancel requests that never block the caller (pp_cancel_start / pp_cancel_poll
 * in nonblock.c): libpq 17's PQcancelCreate / PQcancelStart / PQcancelPoll when the libpq
 * loaded at run time has them (pq17.c), else the blocking PQcancel on wait.c's helper thread, which writes to a pipe
 * the caller's event loop can wait on. */
#include "internal.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pp__nbcancel_native(void)
{
    return pp__pq17_api() != NULL;
}

struct pp__nbcancel {
    void *cc;                     /* libpq 17: the cancel connection */
    PostgresPollingStatusType st; /* its last poll status */
    struct pp__cancel_req *req;   /* else: the helper thread's request */
    int rfd;                      /* and the pipe's read end it writes to */
};

void pp__nbcancel_drop(pp__nbcancel *n)
{
    if (n == NULL)
        return;
    if (n->cc != NULL)
        pp__pq17_api()->cancel_finish(n->cc);
    if (n->req != NULL) {
        char msg[8];
        pp__cancel_finish(n->req, 0, msg, sizeof msg); /* lets it go on alone */
    }
    if (n->rfd >= 0)
        close(n->rfd);
    free(n);
}

/* The helper-thread form. */
static int begin_thread(pp__nbcancel *n, pp__canceller *c, char *msg, size_t cap)
{
    int p[2];
    if (pipe(p) != 0) {
        snprintf(msg, cap, "cannot make a pipe for the cancel request");
        return PP_ERROR;
    }
    for (int k = 0; k < 2; k++)
        fcntl(p[k], F_SETFD, FD_CLOEXEC);
    n->rfd = p[0];
    n->req = pp__cancel_start_fd(c, p[1], msg, cap); /* takes p[1] */
    return n->req != NULL ? PP_OK : PP_ERROR;
}

int pp__nbcancel_begin(pp__canceller *c, PGconn *pg, pp__nbcancel **out, char *msg, size_t cap)
{
    *out = NULL;
    pp__nbcancel *n = calloc(1, sizeof *n);
    if (n == NULL) {
        snprintf(msg, cap, "out of memory");
        return PP_ERROR;
    }
    n->rfd = -1;
    int rc;
    const pp__pq17 *api = pp__pq17_api();
    if (pg != NULL && api != NULL) {
        n->cc = api->cancel_create(pg);
        n->st = PGRES_POLLING_WRITING; /* as libpq says to assume at the start */
        rc = n->cc != NULL && api->cancel_start(n->cc) ? PP_OK : PP_ERROR;
        if (rc != PP_OK)
            snprintf(msg, cap, "%s", n->cc != NULL ? api->cancel_errmsg(n->cc) : "out of memory");
    } else {
        rc = begin_thread(n, c, msg, cap);
    }
    if (rc != PP_OK) {
        pp__nbcancel_drop(n);
        return PP_ERROR;
    }
    *out = n;
    return PP_OK;
}

int pp__nbcancel_step(pp__nbcancel *n, int32_t *fd, int32_t *events, char *msg, size_t cap)
{
    if (n->cc != NULL) {
        const pp__pq17 *api = pp__pq17_api();
        short want = n->st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        struct pollfd p = {.fd = api->cancel_socket(n->cc), .events = want};
        /* PQcancelPoll must not come before the socket is ready */
        if (p.fd >= 0 && poll(&p, 1, 0) > 0)
            n->st = api->cancel_poll(n->cc);
        if (n->st == PGRES_POLLING_OK)
            return PP_OK;
        if (n->st == PGRES_POLLING_FAILED || p.fd < 0) {
            snprintf(msg, cap, "cancel failed: %s", api->cancel_errmsg(n->cc));
            return PP_ERROR;
        }
        *fd = api->cancel_socket(n->cc);
        *events = n->st == PGRES_POLLING_READING ? PP_WAIT_READ : PP_WAIT_WRITE;
        return PP_PENDING;
    }
    struct pollfd p = {.fd = n->rfd, .events = POLLIN};
    if (poll(&p, 1, 0) > 0) {
        int sent = pp__cancel_finish(n->req, 0, msg, cap); /* done: does not wait */
        n->req = NULL;
        return sent == 1 ? PP_OK : PP_ERROR;
    }
    *fd = n->rfd;
    *events = PP_WAIT_READ;
    return PP_PENDING;
}
