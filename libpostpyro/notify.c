/* SPDX-License-Identifier: MIT */
/* notify.c — LISTEN/NOTIFY: notifications libpq has parsed are moved into a bounded queue
 * per connection whenever the library reads from the server (wait.c, pp_consume_input), and
 * handed out one by one (pp_notify_take, in nonblock.c with the other calls an event loop
 * makes). A full queue drops the newest and counts them. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 65536

int pp__notify_init(pp__notify_queue *q)
{
    memset(q, 0, sizeof *q);
    q->limit = DEFAULT_LIMIT;
    return pthread_mutex_init(&q->lock, NULL) == 0 ? 0 : -1;
}

void pp__notify_destroy(pp__notify_queue *q)
{
    for (int64_t k = 0; k < q->count; k++)
        free(q->items[(q->head + k) % q->cap]);
    free(q->items);
    pthread_mutex_destroy(&q->lock);
}

/* A pp_notify in one allocation, or NULL when out of memory. */
static pp_notify *copy_notify(const PGnotify *n)
{
    size_t lc = strlen(n->relname) + 1, lp = n->extra != NULL ? strlen(n->extra) + 1 : 1;
    pp_notify *out = malloc(sizeof *out + lc + lp);
    if (out == NULL)
        return NULL;
    char *text = (char *)(out + 1);
    memcpy(text, n->relname, lc);
    if (n->extra != NULL)
        memcpy(text + lc, n->extra, lp);
    else
        text[lc] = '\0';
    out->channel = text;
    out->payload = text + lc;
    out->pid = n->be_pid;
    return out;
}

/* Appends n (taking it) unless the queue is full or memory ran out: then it is counted as
 * dropped. Queue lock held. */
static void push(pp__notify_queue *q, pp_notify *n)
{
    if (n != NULL && q->count >= q->limit) {
        free(n);
        n = NULL;
    }
    if (n != NULL && q->count == q->cap) {
        int64_t cap = q->cap ? q->cap * 2 : 16;
        pp_notify **grown = malloc((size_t)cap * sizeof *grown);
        if (grown == NULL) {
            free(n);
            n = NULL;
        } else {
            for (int64_t k = 0; k < q->count; k++)
                grown[k] = q->items[(q->head + k) % q->cap];
            free(q->items);
            q->items = grown;
            q->head = 0;
            q->cap = cap;
        }
    }
    if (n == NULL) {
        q->dropped++;
        return;
    }
    q->items[(q->head + q->count) % q->cap] = n;
    q->count++;
}

void pp__notify_collect(pp_conn *conn)
{
    if (conn->pg == NULL)
        return;
    PGnotify *n;
    while ((n = PQnotifies(conn->pg)) != NULL) {
        pp_notify *copy = copy_notify(n);
        PQfreemem(n);
        pthread_mutex_lock(&conn->notify.lock);
        push(&conn->notify, copy);
        pthread_mutex_unlock(&conn->notify.lock);
    }
}

pp_notify *pp__notify_pop(pp__notify_queue *q)
{
    pp_notify *n = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->count > 0) {
        n = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}

void pp__notify_set_limit(pp__notify_queue *q, int64_t limit)
{
    pthread_mutex_lock(&q->lock);
    q->limit = limit;
    pthread_mutex_unlock(&q->lock);
}

int64_t pp__notify_counter(pp__notify_queue *q, bool dropped)
{
    pthread_mutex_lock(&q->lock);
    int64_t v = dropped ? q->dropped : q->count;
    pthread_mutex_unlock(&q->lock);
    return v;
}

void pp_notify_free(pp_notify *n) { free(n); }
