/* SPDX-License-Identifier: MIT */
/* cancel.c — cancel requests that never block the caller (pp_cancel_start / pp_cancel_poll
 * in nonblock.c): libpq 17's PQcancelCreate / PQcancelStart / PQcancelPoll when the libpq
 * loaded at run time has them (PQlibVersion and dlsym: the header this was built with does
 * not matter), else the blocking PQcancel on wait.c's helper thread, which writes to a pipe
 * the caller's event loop can wait on. */
#define _GNU_SOURCE /* RTLD_DEFAULT, RTLD_NOLOAD */
#include "internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libpq 17's API, typed without its header (PGcancelConn is opaque). */
typedef void *(*create_fn)(PGconn *);
typedef int (*start_fn)(void *);
typedef PostgresPollingStatusType (*poll_fn)(void *);
typedef int (*socket_fn)(const void *);
typedef char *(*errmsg_fn)(const void *);
typedef void (*finish_fn)(void *);

static struct {
    create_fn create;
    start_fn start;
    poll_fn poll;
    socket_fn socket;
    errmsg_fn errmsg;
    finish_fn finish;
} api; /* written once (pthread_once), then only read */
static bool have_api;
static pthread_once_t api_once = PTHREAD_ONCE_INIT;

static void *lookup(void *lib, const char *name)
{
    void *p = lib != NULL ? dlsym(lib, name) : NULL;
    return p != NULL ? p : dlsym(RTLD_DEFAULT, name);
}

static void load_api(void)
{
    if (PQlibVersion() < 170000)
        return;
    /* the libpq already loaded for this library (not the global scope: Python loads us
     * RTLD_LOCAL) */
    void *lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_NOLOAD);
    void *p[6] = {lookup(lib, "PQcancelCreate"), lookup(lib, "PQcancelStart"),
                  lookup(lib, "PQcancelPoll"), lookup(lib, "PQcancelSocket"),
                  lookup(lib, "PQcancelErrorMessage"), lookup(lib, "PQcancelFinish")};
    bool all = true;
    for (int k = 0; k < 6; k++)
        all = all && p[k] != NULL;
    if (all) { /* POSIX: a dlsym result may be used as a function pointer */
        memcpy(&api.create, &p[0], sizeof p[0]);
        memcpy(&api.start, &p[1], sizeof p[1]);
        memcpy(&api.poll, &p[2], sizeof p[2]);
        memcpy(&api.socket, &p[3], sizeof p[3]);
        memcpy(&api.errmsg, &p[4], sizeof p[4]);
        memcpy(&api.finish, &p[5], sizeof p[5]);
        have_api = true;
    }
    if (lib != NULL)
        dlclose(lib); /* still loaded: this library depends on it */
}

int pp__nbcancel_native(void)
{
    pthread_once(&api_once, load_api);
    return have_api ? 1 : 0;
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
        api.finish(n->cc);
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
    if (pg != NULL && pp__nbcancel_native()) {
        n->cc = api.create(pg);
        n->st = PGRES_POLLING_WRITING; /* as libpq says to assume at the start */
        rc = n->cc != NULL && api.start(n->cc) ? PP_OK : PP_ERROR;
        if (rc != PP_OK)
            snprintf(msg, cap, "%s", n->cc != NULL ? api.errmsg(n->cc) : "out of memory");
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
        short want = n->st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        struct pollfd p = {.fd = api.socket(n->cc), .events = want};
        /* PQcancelPoll must not come before the socket is ready */
        if (p.fd >= 0 && poll(&p, 1, 0) > 0)
            n->st = api.poll(n->cc);
        if (n->st == PGRES_POLLING_OK)
            return PP_OK;
        if (n->st == PGRES_POLLING_FAILED || p.fd < 0) {
            snprintf(msg, cap, "cancel failed: %s", api.errmsg(n->cc));
            return PP_ERROR;
        }
        *fd = api.socket(n->cc);
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
