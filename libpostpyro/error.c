/* SPDX-License-Identifier: MIT */
/* error.c — pp_error: everything the server (or the library) said about a failure. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returned when not even an error can be allocated; pp_error_free ignores it. */
static pp_error oom_error = {
    .category = PP_ERR_OPERATIONAL, .origin = PP_ORIGIN_LIBRARY, .index = -1,
    .sqlstate = "53200",
    .message = "out of memory",
};

pp_error *pp__error_oom(void) { return &oom_error; }

void pp__error_set_origin(pp_error *e, int32_t origin)
{
    if (e != NULL && e != &oom_error)
        e->origin = origin;
}

int32_t pp__category_for_sqlstate(const char *st)
{
    if (st == NULL || strlen(st) != 5)
        return PP_ERR_DATABASE;
    static const struct { const char cls[3]; int32_t cat; } map[] = {
        {"08", PP_ERR_OPERATIONAL}, {"0A", PP_ERR_NOT_SUPPORTED}, {"21", PP_ERR_DATA},
        {"22", PP_ERR_DATA}, {"23", PP_ERR_INTEGRITY}, {"24", PP_ERR_INTERNAL},
        {"25", PP_ERR_INTERNAL}, {"26", PP_ERR_PROGRAMMING}, {"27", PP_ERR_OPERATIONAL},
        {"28", PP_ERR_OPERATIONAL}, {"2B", PP_ERR_INTERNAL}, {"2D", PP_ERR_INTERNAL},
        {"2F", PP_ERR_INTERNAL}, {"34", PP_ERR_PROGRAMMING}, {"38", PP_ERR_INTERNAL},
        {"39", PP_ERR_INTERNAL}, {"3B", PP_ERR_INTERNAL}, {"3D", PP_ERR_PROGRAMMING},
        {"3F", PP_ERR_PROGRAMMING}, {"40", PP_ERR_TRANSACTION_ROLLBACK},
        {"42", PP_ERR_PROGRAMMING}, {"44", PP_ERR_PROGRAMMING}, {"53", PP_ERR_OPERATIONAL},
        {"54", PP_ERR_OPERATIONAL}, {"55", PP_ERR_OPERATIONAL}, {"57", PP_ERR_OPERATIONAL},
        {"58", PP_ERR_OPERATIONAL}, {"F0", PP_ERR_OPERATIONAL}, {"HV", PP_ERR_OPERATIONAL},
        {"P0", PP_ERR_INTERNAL}, {"XX", PP_ERR_INTERNAL},
    };
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
        if (st[0] == map[k].cls[0] && st[1] == map[k].cls[1])
            return map[k].cat;
    return PP_ERR_DATABASE;
}

static pp_error *error_alloc(int32_t category, const char *sqlstate)
{
    pp_error *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->category = category;
    e->origin = PP_ORIGIN_LIBRARY;
    e->index = -1;
    if (sqlstate != NULL)
        snprintf(e->sqlstate, sizeof e->sqlstate, "%s", sqlstate);
    return e;
}

pp_error *pp__error_new(int32_t category, const char *sqlstate, const char *fmt, ...)
{
    pp_error *e = error_alloc(category, sqlstate);
    if (e == NULL)
        return &oom_error;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || (e->message = malloc((size_t)n + 1)) == NULL) {
        free(e);
        return &oom_error;
    }
    va_start(ap, fmt);
    vsnprintf(e->message, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return e;
}

/* Copies a message, dropping libpq's trailing newline. */
static char *trimmed_copy(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        n--;
    char *c = malloc(n + 1);
    if (c != NULL) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

static const char diag_codes[] = "SVCMDHPpqWstcdnFLR";

pp_error *pp__error_from_result(const PGresult *res)
{
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    pp_error *e = error_alloc(pp__category_for_sqlstate(st), st);
    if (e == NULL)
        return &oom_error;
    for (const char *c = diag_codes; *c; c++) {
        const char *v = PQresultErrorField(res, *c);
        if (v != NULL && (e->fields[(int)*c] = strdup(v)) == NULL) {
            pp_error_free(e);
            return &oom_error;
        }
    }
    const char *msg = e->fields['M'] != NULL ? e->fields['M'] : PQresultErrorMessage(res);
    if ((e->message = trimmed_copy(msg != NULL ? msg : "")) == NULL) {
        pp_error_free(e);
        return &oom_error;
    }
    e->origin = PP_ORIGIN_SERVER;
    if (st == NULL) { /* made by libpq: the connection failed */
        e->category = PP_ERR_OPERATIONAL;
        e->origin = PP_ORIGIN_CONNECTION;
        snprintf(e->sqlstate, sizeof e->sqlstate, "08006");
        return e;
    }
    /* libpq's full text with the LINE/caret context of the statement, as psql shows it */
    char *full = PQresultVerboseErrorMessage(res, PQERRORS_DEFAULT, PQSHOW_CONTEXT_ERRORS);
    if (full != NULL) {
        e->formatted = trimmed_copy(full); /* NULL on OOM: pp_error_format builds one */
        PQfreemem(full);
    }
    return e;
}

pp_error *pp__error_from_conn(PGconn *pg, int32_t category)
{
    const char *msg = pg != NULL ? PQerrorMessage(pg) : "out of memory";
    pp_error *e = error_alloc(category, category == PP_ERR_OPERATIONAL ? "08006" : "");
    if (e == NULL)
        return &oom_error;
    e->origin = PP_ORIGIN_CONNECTION;
    if ((e->message = trimmed_copy(msg[0] ? msg : "connection failure")) == NULL) {
        free(e);
        return &oom_error;
    }
    return e;
}

int pp__check_flags(const char *fn, uint32_t flags, uint32_t known, pp_error **err)
{
    if ((flags & ~known) == 0)
        return PP_OK;
    return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                       "%s: unknown flag bits 0x%x (known: 0x%x)", fn,
                                       (unsigned)(flags & ~known), (unsigned)known));
}

int pp__fail(pp_error **err, pp_error *e)
{
    if (err != NULL)
        *err = e;
    else
        pp_error_free(e);
    return PP_ERROR;
}

int32_t pp_error_category(const pp_error *err) { return err ? err->category : PP_ERR_NONE; }

const char *pp_error_message(const pp_error *err)
{
    return err && err->message ? err->message : "";
}

const char *pp_error_sqlstate(const pp_error *err) { return err ? err->sqlstate : ""; }

const char *pp_error_field(const pp_error *err, int32_t code)
{
    if (err == NULL || code <= 0 || code >= 128)
        return NULL;
    if (code == 'M')
        return err->message;
    if (code == 'C')
        return err->sqlstate[0] ? err->sqlstate : NULL;
    return err->fields[code];
}

int64_t pp_error_index(const pp_error *err) { return err ? err->index : -1; }

int32_t pp_error_origin(const pp_error *err) { return err ? err->origin : PP_ORIGIN_NONE; }

void pp_error_free(pp_error *err)
{
    if (err == NULL || err == &oom_error)
        return;
    for (int k = 0; k < 128; k++)
        free(err->fields[k]);
    free(err->message);
    free(err->formatted);
    free(err);
}
