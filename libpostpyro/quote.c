/* SPDX-License-Identifier: MIT */
/* quote.c — SQL literals and identifiers built from caller's text (pp_quote_literal,
 * pp_quote_identifier): no connection needed, since the library's encoding is always UTF-8
 * and the E'' form reads the same whatever standard_conforming_strings says. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* true when s[0..n) is valid UTF-8 without NUL bytes (no overlong forms, no surrogates). */
static bool valid_text(const unsigned char *s, size_t n)
{
    size_t k = 0;
    while (k < n) {
        unsigned c = s[k];
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (c == 0 || len == 0 || len > n - k)
            return false;
        uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
        for (size_t j = 1; j < len; j++) {
            if ((s[k + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[k + j] & 0x3f);
        }
        static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        k += len;
    }
    return true;
}

/* Checks the input and returns its length, or -1 with *err set. */
static int64_t checked_length(const char *fn, const char *s, int64_t len, char **out,
                              pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (out == NULL || (s == NULL && len != 0) || len < -1) {
        pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "%s: bad arguments", fn));
        return -1;
    }
    *out = NULL;
    size_t n = len == -1 ? strlen(s) : (size_t)len;
    if (n > 0x3fffffff) {
        pp__fail(err, pp__error_new(PP_ERR_DATA, "54000", "%s: %zu bytes is too long", fn, n));
        return -1;
    }
    if (n > 0 && !valid_text((const unsigned char *)s, n)) {
        pp__fail(err, pp__error_new(PP_ERR_DATA, "22021", "%s: the text holds a NUL byte or "
                                    "is not valid UTF-8", fn));
        return -1;
    }
    return (int64_t)n;
}

/* s[0..n) between quote characters q, each q doubled; with `backslashes`, each '\' doubled
 * and a leading " E" when there is one. */
static char *quoted(const char *s, size_t n, char q, bool backslashes)
{
    size_t extra = 0;
    bool has_backslash = false;
    for (size_t k = 0; k < n; k++) {
        if (s[k] == q || (backslashes && s[k] == '\\'))
            extra++;
        has_backslash = has_backslash || (backslashes && s[k] == '\\');
    }
    char *out = malloc(n + extra + 5);
    if (out == NULL)
        return NULL;
    size_t at = 0;
    if (has_backslash) {
        out[at++] = ' '; /* as PQescapeLiteral: E'…' never glues onto a preceding word */
        out[at++] = 'E';
    }
    out[at++] = q;
    for (size_t k = 0; k < n; k++) {
        if (s[k] == q || (backslashes && s[k] == '\\'))
            out[at++] = s[k];
        out[at++] = s[k];
    }
    out[at++] = q;
    out[at] = '\0';
    return out;
}

int pp_quote_literal(const char *s, int64_t len, char **out, pp_error **err)
{
    int64_t n = checked_length("pp_quote_literal", s, len, out, err);
    if (n < 0)
        return PP_ERROR;
    if ((*out = quoted(s != NULL ? s : "", (size_t)n, '\'', true)) == NULL)
        return pp__fail(err, pp__error_oom());
    return PP_OK;
}

int pp_quote_identifier(const char *s, int64_t len, char **out, pp_error **err)
{
    int64_t n = checked_length("pp_quote_identifier", s, len, out, err);
    if (n < 0)
        return PP_ERROR;
    if (n == 0)
        return pp__fail(err, pp__error_new(PP_ERR_DATA, "42602",
                                           "pp_quote_identifier: an identifier cannot be "
                                           "empty"));
    if ((*out = quoted(s, (size_t)n, '"', false)) == NULL)
        return pp__fail(err, pp__error_oom());
    return PP_OK;
}
