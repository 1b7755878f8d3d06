/* SPDX-License-Identifier: MIT */
/* errformat.c — an error's whole text as psql shows it (pp_error_format). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends "\nLABEL:  value" to buf (capacity from the caller's sizing) when value is set. */
static size_t add_line(char *buf, size_t at, const char *label, const char *value)
{
    if (value == NULL)
        return at;
    return at + (size_t)sprintf(buf + at, "\n%s:  %s", label, value);
}

char *pp_error_format(const pp_error *err)
{
    if (err == NULL)
        return NULL;
    if (err->formatted != NULL) /* libpq's, with the LINE/caret context */
        return strdup(err->formatted);
    static const struct { char code; const char *label; } extra[] = {
        {'D', "DETAIL"}, {'H', "HINT"}, {'q', "QUERY"}, {'W', "CONTEXT"},
    };
    const char *severity = err->fields['S'] != NULL ? err->fields['S'] : "ERROR";
    const char *message = pp_error_message(err);
    size_t size = strlen(severity) + strlen(message) + 4;
    for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++) {
        const char *v = err->fields[(int)extra[k].code];
        if (v != NULL)
            size += strlen(extra[k].label) + strlen(v) + 4;
    }
    char *buf = malloc(size);
    if (buf == NULL)
        return NULL;
    size_t at = (size_t)sprintf(buf, "%s:  %s", severity, message);
    for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++)
        at = add_line(buf, at, extra[k].label, err->fields[(int)extra[k].code]);
    return buf;
}
