/* SPDX-License-Identifier: MIT */
/* notice.c — the server's notices (NOTICE, WARNING, …) collected per connection as records
 * (pp_error), taken one by one (pp_take_notice) or as one text (pp_take_notices). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define NOTICES_MAX_BYTES (1u << 20) /* text kept until taken; more is dropped */
#define NOTICES_MAX_COUNT 10000

/* The text of notice e as psql prints it ("WARNING:  …"). */
static const char *notice_text(const pp_error *e)
{
    return e->formatted != NULL ? e->formatted : e->message;
}

void pp__notice_receiver(void *arg, const PGresult *res)
{
    pp_conn *conn = arg;
    if (conn->notices_count == conn->notices_cap && conn->notices_head > 0) {
        memmove(conn->notices, conn->notices + conn->notices_head,
                (conn->notices_count - conn->notices_head) * sizeof *conn->notices);
        conn->notices_count -= conn->notices_head;
        conn->notices_head = 0;
    }
    if (conn->notices_count - conn->notices_head >= NOTICES_MAX_COUNT)
        return;
    if (conn->notices_count == conn->notices_cap) {
        size_t cap = conn->notices_cap ? conn->notices_cap * 2 : 16;
        pp_error **grown = realloc(conn->notices, cap * sizeof *grown);
        if (grown == NULL)
            return;
        conn->notices = grown;
        conn->notices_cap = cap;
    }
    pp_error *e = pp__error_from_result(res);
    if (e == pp__error_oom())
        return;
    size_t bytes = strlen(notice_text(e)) + 1;
    if (conn->notices_bytes + bytes > NOTICES_MAX_BYTES) {
        pp_error_free(e);
        return;
    }
    e->category = PP_ERR_NONE;
    conn->notices[conn->notices_count++] = e;
    conn->notices_bytes += bytes;
}

/* The oldest notice, taken out of the collection (lock held); NULL when none is left. */
static pp_error *take_oldest(pp_conn *conn)
{
    if (conn->notices_head == conn->notices_count)
        return NULL;
    pp_error *e = conn->notices[conn->notices_head++];
    conn->notices_bytes -= strlen(notice_text(e)) + 1;
    if (conn->notices_head == conn->notices_count)
        conn->notices_head = conn->notices_count = 0;
    return e;
}

void pp__notices_clear(pp_conn *conn)
{
    pp_error *e;
    while ((e = take_oldest(conn)) != NULL)
        pp_error_free(e);
    free(conn->notices);
    conn->notices = NULL;
    conn->notices_cap = conn->notices_bytes = 0;
}

pp_error *pp_take_notice(pp_conn *conn)
{
    if (conn == NULL || pp__conn_lock_owned(conn, NULL) != PP_OK)
        return NULL;
    pp_error *e = take_oldest(conn);
    pthread_mutex_unlock(&conn->lock);
    return e;
}

char *pp_take_notices(pp_conn *conn, int64_t *len)
{
    if (len != NULL)
        *len = 0;
    if (conn == NULL || pp__conn_lock_owned(conn, NULL) != PP_OK)
        return NULL;
    size_t n = conn->notices_bytes;
    char *out = n > 0 ? malloc(n) : NULL;
    if (out != NULL) { /* without memory the notices stay for a later call */
        size_t at = 0;
        pp_error *e;
        while ((e = take_oldest(conn)) != NULL) {
            size_t k = strlen(notice_text(e)) + 1;
            memcpy(out + at, notice_text(e), k);
            at += k;
            pp_error_free(e);
        }
        if (len != NULL)
            *len = (int64_t)at;
    }
    pthread_mutex_unlock(&conn->lock);
    return out;
}
