/* SPDX-License-Identifier: MIT */
/* columns.c — pp_column arrays given as input (pp_copy_put_columns, pp_exec_many_columns):
 * checking them before anything is sent, and reading their values one by one. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

bool pp__tag_is_texty(int32_t tag)
{
    return tag == PP_TEXT || tag == PP_NUMERIC || tag == PP_JSON || tag == PP_ARRAY;
}

static const char *c_tag_name(int32_t tag)
{
    static const char *const names[] = {
        "PP_NULL", "PP_BOOL", "PP_INT", "PP_FLOAT", "PP_TEXT", "PP_BYTES", "PP_NUMERIC",
        "PP_DATE", "PP_TIME", "PP_TIMETZ", "PP_TIMESTAMP", "PP_TIMESTAMPTZ", "PP_INTERVAL",
        "PP_UUID", "PP_JSON", "PP_ARRAY",
    };
    return tag >= 0 && tag < (int32_t)(sizeof names / sizeof names[0]) ? names[tag] : "?";
}

/* Tags whose values lie in data (with offsets, or NUL-terminated for text-like tags). */
static bool is_data_tag(int32_t tag)
{
    return pp__tag_is_texty(tag) || tag == PP_BYTES || tag == PP_UUID;
}

static bool column_null(const pp_column *c, int64_t row)
{
    return c->tag == PP_NULL || (c->nulls != NULL && c->nulls[row] != 0);
}

static int column_error(pp_error **err, const char *fn, int32_t col, const char *fmt,
                        const char *a, const char *b)
{
    char what[160];
    snprintf(what, sizeof what, fmt, a, b);
    return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "%s: column %d: %s", fn, col + 1,
                                       what));
}

/* Checks one input column before anything is sent: its count, the arrays its tag needs,
 * offsets in order and inside data, UUIDs of 16 bytes, text without NUL bytes. */
int pp__check_input_column(const pp_column *c, int32_t col, int64_t nrows, const char *fn,
                           pp_error **err)
{
    int32_t tag = c->tag;
    if (tag < PP_NULL || tag > PP_ARRAY)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "%s: "
                                           "column %d: unknown tag %d", fn, col + 1, (int)tag));
    if (c->count != nrows)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "%s: "
                                           "column %d: count is %lld but nrows is %lld", fn,
                                           col + 1, (long long)c->count, (long long)nrows));
    if (nrows == 0 || tag == PP_NULL)
        return PP_OK;
    const char *missing = NULL;
    if (tag == PP_FLOAT)
        missing = c->floats == NULL ? "floats" : NULL;
    else if (!is_data_tag(tag))
        missing = c->ints == NULL ? "ints"
                  : (tag == PP_TIMETZ || tag == PP_INTERVAL) && c->ints2 == NULL ? "ints2"
                  : tag == PP_INTERVAL && c->ints3 == NULL ? "ints3" : NULL;
    else if (c->offsets == NULL && !pp__tag_is_texty(tag))
        missing = "offsets";
    if (missing != NULL)
        return column_error(err, fn, col, "%s is NULL, which a %s column needs", missing,
                            c_tag_name(tag));
    if (!is_data_tag(tag))
        return PP_OK;
    if (c->data_len < 0 || (c->data == NULL && c->data_len > 0))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "%s: "
                                           "column %d: data is NULL or data_len (%lld) is "
                                           "negative", fn, col + 1, (long long)c->data_len));
    if (c->offsets == NULL) { /* text-like values, each followed by a NUL byte */
        int64_t nuls = 0;
        if (c->data_len > 0)
            for (const char *p = c->data, *end = c->data + c->data_len;
                 p < end && (p = memchr(p, '\0', (size_t)(end - p))) != NULL; p++)
                nuls++;
        if (nuls != nrows || c->data[c->data_len - 1] != '\0') /* nrows > 0: data_len > 0 */
            return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "%s: "
                                               "column %d: offsets is NULL, so data must hold "
                                               "nrows (%lld) values each followed by a NUL "
                                               "byte; it holds %lld NUL bytes%s", fn, col + 1,
                                               (long long)nrows, (long long)nuls,
                                               nuls == nrows ? " and then more bytes" : ""));
        return PP_OK;
    }
    for (int64_t row = 0; row < nrows; row++) {
        int64_t a = c->offsets[row], b = c->offsets[row + 1];
        if (a < 0 || b < a || b > c->data_len)
            return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "%s: "
                                               "row %lld, column %d: offsets %lld..%lld are "
                                               "out of order or outside data (data_len %lld)",
                                               fn, (long long)row, col + 1, (long long)a,
                                               (long long)b, (long long)c->data_len));
        if (column_null(c, row))
            continue;
        if (tag == PP_UUID && b - a != 16)
            return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "%s: "
                                               "row %lld, column %d: a UUID has 16 bytes, "
                                               "not %lld", fn, (long long)row, col + 1,
                                               (long long)(b - a)));
        if (pp__tag_is_texty(tag) && b > a && memchr(c->data + a, '\0', (size_t)(b - a)) != NULL)
            return pp__fail(err, pp__error_new(PP_ERR_DATA, "22021",
                                               "row %lld, column %d: text contains a NUL byte",
                                               (long long)row, col + 1));
    }
    return PP_OK;
}

/* Value `row` of a checked input column as a pp_value. For NUL-terminated values (no
 * offsets) *at is where value `row` starts in data, and is moved past it. */
void pp__column_value(const pp_column *c, int64_t row, int64_t *at, pp_value *v)
{
    *v = (pp_value){.tag = c->tag, .oid = c->oid};
    switch (c->tag) {
    case PP_NULL: return;
    case PP_FLOAT: v->f = c->floats[row]; break;
    case PP_TEXT: case PP_NUMERIC: case PP_JSON: case PP_ARRAY: case PP_BYTES: case PP_UUID:
        if (c->data == NULL) {
            v->ptr = "";
        } else if (c->offsets != NULL) {
            v->ptr = c->data + c->offsets[row];
            v->len = c->offsets[row + 1] - c->offsets[row];
        } else {
            v->ptr = c->data + *at;
            v->len = (int64_t)strlen(v->ptr);
            *at += v->len + 1;
        }
        break;
    case PP_TIMETZ: v->i = c->ints[row]; v->i2 = c->ints2[row]; break;
    case PP_INTERVAL:
        v->i = c->ints[row];
        v->i2 = c->ints2[row];
        v->i3 = c->ints3[row];
        break;
    default: v->i = c->ints[row]; break;
    }
    if (c->nulls != NULL && c->nulls[row] != 0)
        v->tag = PP_NULL;
}
