/* SPDX-License-Identifier: MIT */
/* pq17.c — libpq 17's functions, looked up once at run time (PQlibVersion and dlsym: the
 * header this library was built with does not matter, so one build uses them wherever the
 * libpq loaded next to it has them): the cancel connection (PQcancelCreate …), used by
 * cancel.c and wait.c, and PQsendClosePrepared, used by stmt.c. */
#define _GNU_SOURCE /* RTLD_DEFAULT, RTLD_NOLOAD */
#include "internal.h"

#include <dlfcn.h>
#include <string.h>

static pp__pq17 api; /* written once (pthread_once), then only read */
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
    static const char *const names[] = {
        "PQcancelCreate",       "PQcancelStart",  "PQcancelBlocking",
        "PQcancelPoll",         "PQcancelSocket", "PQcancelErrorMessage",
        "PQcancelReset",        "PQcancelFinish", "PQsendClosePrepared"};
    enum { N = sizeof names / sizeof names[0] };
    void *p[N];
    bool all = true;
    for (size_t k = 0; k < N; k++)
        all = (p[k] = lookup(lib, names[k])) != NULL && all;
    if (all) { /* POSIX: a dlsym result may be used as a function pointer */
        memcpy(&api.cancel_create, &p[0], sizeof p[0]);
        memcpy(&api.cancel_start, &p[1], sizeof p[1]);
        memcpy(&api.cancel_blocking, &p[2], sizeof p[2]);
        memcpy(&api.cancel_poll, &p[3], sizeof p[3]);
        memcpy(&api.cancel_socket, &p[4], sizeof p[4]);
        memcpy(&api.cancel_errmsg, &p[5], sizeof p[5]);
        memcpy(&api.cancel_reset, &p[6], sizeof p[6]);
        memcpy(&api.cancel_finish, &p[7], sizeof p[7]);
        memcpy(&api.send_close_prepared, &p[8], sizeof p[8]);
        have_api = true;
    }
    if (lib != NULL)
        dlclose(lib); /* still loaded: this library depends on it */
}

const pp__pq17 *pp__pq17_api(void)
{
    pthread_once(&api_once, load_api);
    return have_api ? &api : NULL;
}
