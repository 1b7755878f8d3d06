/* SPDX-License-Identifier: MIT */
/* stmtcache.c — per-connection cache of prepared statements, keyed by SQL text (LRU). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

uint64_t pp__hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void pp__stmt_free(pp_stmt *s)
{
    if (s == NULL)
        return;
    free(s->key);
    free(s->param_oids);
    free(s->declared);
    free(s);
}

/* A statement loop passes the same buffer for the same SQL text each time (a plan's): the
 * address it was last found with (s->seen_at, only ever compared, never read through) finds
 * it again with one strcmp instead of hashing the whole text (≈ 5 instructions a byte). A
 * buffer freed and reused for another text fails the strcmp and goes the hashed way. */
pp_stmt *pp__cache_find(pp_stmt_cache *c, const char *key, bool named)
{
    for (int32_t k = 0; k < c->count; k++) {
        pp_stmt *s = c->items[k];
        if (s->seen_at == key && (s->user_name != NULL) == named && strcmp(s->key, key) == 0) {
            s->last_used = ++c->clock;
            return s;
        }
    }
    uint64_t h = pp__hash(key);
    for (int32_t k = 0; k < c->count; k++) {
        pp_stmt *s = c->items[k];
        if (s->hash == h && (s->user_name != NULL) == named && strcmp(s->key, key) == 0) {
            s->last_used = ++c->clock;
            s->seen_at = key;
            return s;
        }
    }
    return NULL;
}

static void remove_at(pp_stmt_cache *c, int32_t k)
{
    c->items[k] = c->items[c->count - 1];
    c->count--;
}

pp_stmt *pp__cache_evict(pp_stmt_cache *c, int32_t keep)
{
    int32_t unpinned = 0, victim = -1;
    for (int32_t k = 0; k < c->count; k++) {
        const pp_stmt *s = c->items[k];
        if (s->pinned)
            continue;
        unpinned++;
        if (victim < 0 || s->last_used < c->items[victim]->last_used)
            victim = k;
    }
    if (unpinned <= keep || victim < 0)
        return NULL;
    pp_stmt *s = c->items[victim];
    remove_at(c, victim);
    return s;
}

void pp__cache_doom(pp_stmt_cache *c, pp_stmt *s)
{
    if (s->simple) {
        pp__stmt_free(s); /* never prepared on the server */
        return;
    }
    s->next_doomed = c->doomed;
    c->doomed = s;
}

pp_stmt *pp__cache_add(pp_stmt_cache *c, pp_stmt *s)
{
    if (!s->pinned && c->capacity > 0) {
        pp_stmt *evicted = pp__cache_evict(c, c->capacity - 1);
        if (evicted != NULL)
            pp__cache_doom(c, evicted);
    }
    if (c->count % 16 == 0) {
        pp_stmt **grown = realloc(c->items, sizeof *grown * (size_t)(c->count + 16));
        if (grown == NULL)
            return NULL;
        c->items = grown;
    }
    s->hash = pp__hash(s->key);
    s->last_used = ++c->clock;
    c->items[c->count++] = s;
    return s;
}

void pp__cache_remove(pp_stmt_cache *c, pp_stmt *s)
{
    for (int32_t k = 0; k < c->count; k++)
        if (c->items[k] == s) {
            remove_at(c, k);
            return;
        }
}

void pp__cache_clear(pp_stmt_cache *c)
{
    while (c->doomed != NULL) {
        pp_stmt *s = c->doomed;
        c->doomed = s->next_doomed;
        pp__stmt_free(s);
    }
    for (int32_t k = 0; k < c->count; k++)
        pp__stmt_free(c->items[k]);
    free(c->items);
    c->items = NULL;
    c->count = 0;
}

bool pp__cache_seen(pp_stmt_cache *c, const char *sql)
{
    uint64_t h = pp__hash(sql) | 1; /* never 0, the empty slot */
    const int32_t n = (int32_t)(sizeof c->seen / sizeof c->seen[0]);
    for (int32_t k = 0; k < n; k++)
        if (c->seen[k] == h)
            return true;
    c->seen[c->seen_next] = h;
    c->seen_next = (c->seen_next + 1) % n;
    return false;
}
