/* SPDX-License-Identifier: MIT */
/* canceller.c — what a connection's cancel requests are sent with, from wait.c's helper
 * threads (pp_cancel, a deadline, pp_close, Ctrl-C's cancel): on an encrypted connection
 * with libpq 17 and later, a cancel connection made like the connection itself
 * (PQcancelCreate + PQcancelBlocking: sslmode and gssencmode honoured, so the request is
 * encrypted too), else PQcancel, whose request always goes in clear text. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

pp__canceller *pp__canceller_new(PGconn *pg)
{
    pp__canceller *c = calloc(1, sizeof *c);
    if (c == NULL || pthread_mutex_init(&c->cc_lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    atomic_init(&c->refs, 1);
    /* The cancel connection costs ~35 KB (libpq's buffers) for as long as the connection
     * lives: made only where it changes something, on an encrypted connection. On a plain
     * one PQcancel sends the same bytes. */
    const pp__pq17 *api = pp__pq17_api();
    bool encrypted = PQsslInUse(pg) || PQgssEncInUse(pg);
    if ((c->cancel = PQgetCancel(pg)) == NULL ||
        (api != NULL && encrypted && (c->cc = api->cancel_create(pg)) == NULL)) {
        pp__canceller_free(c);
        return NULL;
    }
    return c;
}

void pp__canceller_free(pp__canceller *c)
{
    if (c->cc != NULL)
        pp__pq17_api()->cancel_finish(c->cc);
    PQfreeCancel(c->cancel);
    pthread_mutex_destroy(&c->cc_lock);
    free(c);
}

int pp__canceller_send(pp__canceller *c, char *msg, size_t cap)
{
    if (c->cc == NULL) {
        char buf[256] = "";
        int ok = PQcancel(c->cancel, buf, sizeof buf);
        snprintf(msg, cap, "%s", buf);
        return ok ? 1 : 0;
    }
    /* libpq 17+: a cancel connection made like the connection itself (sslmode,
     * gssencmode …), so the request is encrypted when the connection is; PQcancel's is
     * always sent in clear text */
    const pp__pq17 *api = pp__pq17_api();
    pthread_mutex_lock(&c->cc_lock);
    if (c->cc_used)
        api->cancel_reset(c->cc);
    c->cc_used = true;
    int ok = api->cancel_blocking(c->cc);
    snprintf(msg, cap, "%s", ok ? "" : api->cancel_errmsg(c->cc));
    pthread_mutex_unlock(&c->cc_lock);
    return ok ? 1 : 0;
}
