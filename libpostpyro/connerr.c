/* SPDX-License-Identifier: MIT */
/* connerr.c — the error of a failed connect: the server's SQLSTATE kept, the password never
 * shown (libpq quotes the offending part of a malformed conninfo, password included). */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SECRETS 16

typedef struct secrets {
    char *items[MAX_SECRETS + 1];
    int n;
    bool oom;
} secrets;

static void add_len(secrets *s, const char *p, size_t len)
{
    if (len == 0 || s->n >= MAX_SECRETS)
        return;
    for (int k = 0; k < s->n; k++)
        if (strlen(s->items[k]) == len && memcmp(s->items[k], p, len) == 0)
            return;
    char *c = malloc(len + 1);
    if (c == NULL) {
        s->oom = true;
        return;
    }
    memcpy(c, p, len);
    c[len] = '\0';
    s->items[s->n++] = c;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* p[0..len) as written, and percent-decoded where it can be (a bad escape stays as is). */
static void add_url_value(secrets *s, const char *p, size_t len)
{
    add_len(s, p, len);
    char *d = malloc(len + 1);
    if (d == NULL) {
        s->oom = true;
        return;
    }
    size_t n = 0;
    for (size_t k = 0; k < len; k++) {
        int hi, lo;
        if (p[k] == '%' && k + 2 < len && (hi = hexval(p[k + 1])) >= 0 &&
            (lo = hexval(p[k + 2])) >= 0 && (hi | lo) != 0) {
            d[n++] = (char)(hi * 16 + lo);
            k += 2;
        } else {
            d[n++] = p[k];
        }
    }
    add_len(s, d, n);
    free(d);
}

/* postgresql://user:PASSWORD@host…?…&password=PASSWORD&… */
static void url_secrets(secrets *s, const char *url)
{
    const char *p = strstr(url, "://") + 3;
    size_t auth_end = strcspn(p, "/?");
    const char *colon = memchr(p, ':', auth_end);
    const char *first_at = memchr(p, '@', auth_end);
    if (colon != NULL && first_at != NULL && colon < first_at) {
        /* libpq ends the user info at the first '@'; a raw '@' in the password moves the
         * rest into the host part, which messages quote: take up to the last '@' too. */
        add_url_value(s, colon + 1, (size_t)(first_at - colon - 1));
        const char *last_at = first_at;
        for (const char *q = first_at; q < p + auth_end; q++)
            if (*q == '@')
                last_at = q;
        add_url_value(s, colon + 1, (size_t)(last_at - colon - 1));
    }
    const char *q = strchr(p, '?');
    while (q != NULL) {
        q++;
        size_t len = strcspn(q, "&");
        if (len > 9 && strncmp(q, "password=", 9) == 0)
            add_url_value(s, q + 9, len - 9);
        q = strchr(q, '&');
    }
}

/* … password = 'it\'s' … or password=plain */
static void keyword_secrets(secrets *s, const char *info)
{
    for (const char *p = info; (p = strstr(p, "password")) != NULL; p += 8) {
        if (p > info && !isspace((unsigned char)p[-1]))
            continue;
        const char *v = p + 8;
        while (isspace((unsigned char)*v))
            v++;
        if (*v != '=')
            continue;
        v++;
        while (isspace((unsigned char)*v))
            v++;
        if (*v != '\'') {
            add_len(s, v, strcspn(v, " \t\r\n\f\v"));
            continue;
        }
        v++;
        size_t raw = 0;
        char *d = malloc(strlen(v) + 1);
        if (d == NULL) {
            s->oom = true;
            return;
        }
        size_t n = 0;
        while (v[raw] != '\0' && v[raw] != '\'') {
            if (v[raw] == '\\' && v[raw + 1] != '\0')
                raw++;
            d[n++] = v[raw++];
        }
        add_len(s, v, raw); /* as written, escapes included */
        add_len(s, d, n);
        free(d);
    }
}

char **pp__secrets(const char *conninfo, bool *oom)
{
    *oom = false;
    secrets s = {.n = 0};
    if (strncmp(conninfo, "postgresql://", 13) == 0 || strncmp(conninfo, "postgres://", 11) == 0)
        url_secrets(&s, conninfo);
    else
        keyword_secrets(&s, conninfo);
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
            add_len(&s, o->val, strlen(o->val));
    PQconninfoFree(opts);
    if (s.oom || s.n == 0) {
        *oom = s.oom;
        for (int k = 0; k < s.n; k++)
            free(s.items[k]);
        return NULL;
    }
    char **out = calloc((size_t)s.n + 1, sizeof *out);
    if (out == NULL) {
        *oom = true;
        for (int k = 0; k < s.n; k++)
            free(s.items[k]);
        return NULL;
    }
    memcpy(out, s.items, (size_t)s.n * sizeof *out);
    return out;
}

void pp__secrets_free(char **secrets)
{
    for (char **p = secrets; p != NULL && *p != NULL; p++) {
        memset(*p, 0, strlen(*p));
        free(*p);
    }
    free(secrets);
}

static bool word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 0x80;
}

/* The first occurrence of secret in s that stands as a whole: a secret that begins (ends)
 * with a letter, digit or '_' must not continue a word there — libpq quotes the DSN between
 * delimiters (':', '@', '=', quotes), and a short password such as "x" must not turn the
 * server's "does not exist" into "does not e***ist". */
static char *find_whole(char *s, const char *secret, size_t len)
{
    for (char *at = strstr(s, secret); at != NULL; at = strstr(at + 1, secret)) {
        bool starts_word = word_byte((unsigned char)secret[0]);
        bool ends_word = word_byte((unsigned char)secret[len - 1]);
        if ((!starts_word || at == s || !word_byte((unsigned char)at[-1])) &&
            (!ends_word || !word_byte((unsigned char)at[len])))
            return at;
    }
    return NULL;
}

/* Replaces every whole occurrence of every secret (longest first) in msg by "***"; a new
 * string. */
static char *redact(const char *msg, char *const *secrets)
{
    char *out = strdup(msg);
    for (bool again = true; out != NULL && again;) {
        again = false;
        const char *best = NULL;
        char *at = NULL;
        size_t best_len = 0;
        for (char *const *p = secrets; p != NULL && *p != NULL; p++) {
            size_t len = strlen(*p);
            char *where = len > best_len ? find_whole(out, *p, len) : NULL;
            if (where != NULL) {
                best = *p;
                best_len = len;
                at = where;
            }
        }
        if (best == NULL)
            break;
        size_t n = strlen(out);
        char *next = malloc(n - best_len + 4);
        if (next == NULL) {
            free(out);
            return NULL;
        }
        size_t head = (size_t)(at - out);
        memcpy(next, out, head);
        memcpy(next + head, "***", 3);
        memcpy(next + head + 3, at + best_len, n - head - best_len + 1);
        free(out);
        out = next;
        again = true;
    }
    return out;
}

/* In a verbose message ("…failed: FATAL:  28P01: password authentication failed…"), the
 * last SQLSTATE the server sent, cut out of msg (in place); false when there is none. */
static bool take_sqlstate(char *msg, char st[6])
{
    char *found = NULL;
    for (char *p = strstr(msg, ":  "); p != NULL; p = strstr(p + 1, ":  ")) {
        char *c = p + 3;
        bool ok = true;
        for (int k = 0; k < 5 && ok; k++)
            ok = isdigit((unsigned char)c[k]) || isupper((unsigned char)c[k]);
        if (ok && c[5] == ':' && c[6] == ' ')
            found = c;
    }
    if (found == NULL)
        return false;
    memcpy(st, found, 5);
    st[5] = '\0';
    memmove(found, found + 7, strlen(found + 7) + 1);
    return true;
}

/* Drops the "LOCATION:  function, file.c:123" lines of verbose messages. */
static void drop_location_lines(char *msg)
{
    char *p;
    while ((p = strstr(msg, "LOCATION:  ")) != NULL && (p == msg || p[-1] == '\n')) {
        char *end = strchr(p, '\n');
        if (end == NULL) {
            *p = '\0';
        } else {
            memmove(p, end + 1, strlen(end + 1) + 1);
        }
    }
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
}

pp_error *pp__error_from_connect(PGconn *pg, char *const *secrets, int32_t category)
{
    const char *raw = pg != NULL ? PQerrorMessage(pg) : "out of memory";
    char *msg = redact(raw[0] ? raw : "connection failure", secrets);
    if (msg == NULL)
        return pp__error_oom();
    char st[6] = "08006";
    /* the category stays: a failed connect is operational */
    bool from_server = take_sqlstate(msg, st);
    drop_location_lines(msg);
    pp_error *e = pp__error_new(category, st, "%s", msg);
    pp__error_set_origin(e, from_server ? PP_ORIGIN_SERVER : PP_ORIGIN_CONNECTION);
    free(msg);
    return e;
}
