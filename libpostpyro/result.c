/* SPDX-License-Identifier: MIT */
/* result.c — pp_result: one statement's outcome; columns are decoded on first request and
 * kept until the result is freed. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void free_one(pp_result *res);

struct pp_result {
    PGresult *r;          /* freed as soon as every column is decoded */
    bool binary;
    int32_t ncols;
    int64_t nrows;
    int32_t has_rows;
    int64_t rows_affected;
    int32_t decoded;      /* columns decoded so far */
    pthread_mutex_t lock; /* guards cols, decoded and r */
    pp_colbuf **cols;
    pp_result *next;      /* PP_EXEC_ALL_RESULTS: the following statement's result */
    char *command;        /* the shape, copied at creation so r can go early, in the
                           * same allocation as the pp_result (new_with_shape) */
    char *names;          /* NUL-separated column names */
    int64_t names_len;
    const char **name_at; /* each name's start in names */
    uint32_t *types;
    int32_t *typmods;
};

void pp__result_set_next(pp_result *res, pp_result *next) { res->next = next; }

int64_t pp__result_wire_bytes(const pp_result *res)
{
    return res != NULL && res->r != NULL ? (int64_t)PQresultMemorySize(res->r) : 0;
}

/* A zeroed pp_result and its copy of what describes r (command tag, counts, column names,
 * types, modifiers) in one allocation, freed with it: the shape used to take five more
 * (a tenth of a one-row statement's C instructions went to malloc and free). NULL when
 * out of memory. */
static pp_result *new_with_shape(const PGresult *r, int32_t n)
{
    size_t len = 0;
    for (int32_t k = 0; k < n; k++)
        len += strlen(PQfname(r, k)) + 1;
    const char *tag = PQcmdStatus((PGresult *)r);
    if (tag == NULL)
        tag = "";
    size_t tag_size = strlen(tag) + 1, slots = (size_t)n + 1;
    /* pp_result holds pointers, so its size keeps the name pointers after it aligned */
    size_t size = sizeof(pp_result) + slots * (sizeof(const char *) + sizeof(uint32_t) +
                                               sizeof(int32_t)) + len + 1 + tag_size;
    char *block = calloc(1, size);
    if (block == NULL)
        return NULL;
    pp_result *res = (pp_result *)block;
    char *at = block + sizeof *res;
    res->name_at = (const char **)(void *)at;
    at += slots * sizeof(const char *);
    res->types = (uint32_t *)(void *)at;
    at += slots * sizeof(uint32_t);
    res->typmods = (int32_t *)(void *)at;
    at += slots * sizeof(int32_t);
    res->names = at;
    res->command = at + len + 1;
    memcpy(res->command, tag, tag_size);
    res->ncols = n;
    size_t pos = 0;
    for (int32_t k = 0; k < n; k++) {
        const char *name = PQfname(r, k);
        size_t l = strlen(name) + 1;
        memcpy(res->names + pos, name, l);
        res->name_at[k] = res->names + pos;
        pos += l;
        res->types[k] = PQftype(r, k);
        res->typmods[k] = PQfmod(r, k);
    }
    res->names_len = (int64_t)len;
    const char *affected = PQcmdTuples((PGresult *)r);
    res->rows_affected = affected[0] ? strtoll(affected, NULL, 10) : -1;
    ExecStatusType st = PQresultStatus(r);
    res->has_rows = st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE ||
                    st == (ExecStatusType)PP__PGRES_TUPLES_CHUNK;
    if (pthread_mutex_init(&res->lock, NULL) != 0) {
        free(block);
        return NULL;
    }
    return res;
}

pp_result *pp__result_new(PGresult *r, bool binary)
{
    pp_result *res = new_with_shape(r, PQnfields(r));
    if (res == NULL)
        return NULL;
    res->nrows = PQntuples(r);
    res->binary = binary;
    if (res->ncols > 0 && (res->cols = calloc((size_t)res->ncols, sizeof *res->cols)) == NULL) {
        free_one(res);
        return NULL;
    }
    res->r = r;
    return res;
}

pp_result *pp__result_from_columns(const PGresult *shape, bool binary, int64_t nrows,
                                   int32_t ncols, pp_colbuf **cols)
{
    if (ncols != PQnfields(shape))
        return NULL; /* names and types would not describe the columns */
    pp_result *res = new_with_shape(shape, ncols);
    if (res == NULL)
        return NULL;
    res->nrows = nrows;
    res->binary = binary;
    res->cols = cols;
    res->decoded = res->ncols;
    return res;
}

pp_result *pp_result_take_next(pp_result *res)
{
    if (res == NULL)
        return NULL;
    pp_result *next = res->next;
    res->next = NULL;
    return next;
}

void pp_result_free(pp_result *res)
{
    while (res != NULL) {
        pp_result *next = res->next;
        res->next = NULL;
        free_one(res);
        res = next;
    }
}

static void free_one(pp_result *res)
{
    for (int32_t k = 0; res->cols != NULL && k < res->ncols; k++)
        pp__colbuf_free(res->cols[k]);
    free(res->cols);
    PQclear(res->r);
    pthread_mutex_destroy(&res->lock);
    free(res);
}

int64_t pp_result_nrows(const pp_result *res) { return res ? res->nrows : 0; }

int32_t pp_result_ncols(const pp_result *res) { return res ? res->ncols : 0; }

const char *pp_result_column_name(const pp_result *res, int32_t col)
{
    return res && col >= 0 && col < res->ncols ? res->name_at[col] : NULL;
}

uint32_t pp_result_column_type(const pp_result *res, int32_t col)
{
    return res && col >= 0 && col < res->ncols ? res->types[col] : 0;
}

int32_t pp_result_column_typmod(const pp_result *res, int32_t col)
{
    return res && col >= 0 && col < res->ncols ? res->typmods[col] : -1;
}

int64_t pp_result_rows_affected(const pp_result *res) { return res ? res->rows_affected : -1; }

const char *pp_result_command(const pp_result *res) { return res ? res->command : ""; }

int32_t pp_result_has_rows(const pp_result *res) { return res ? res->has_rows : 0; }

/* The decoded column, building it on first use. */
static const pp_colbuf *column(pp_result *res, int32_t col, pp_error **err)
{
    if (res == NULL || col < 0 || col >= res->ncols) {
        pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "column %d out of range", col));
        return NULL;
    }
    pthread_mutex_lock(&res->lock);
    if (res->cols[col] == NULL &&
        (res->cols[col] = pp__decode_column(res->r, col, res->binary, err)) != NULL &&
        ++res->decoded == res->ncols) {
        PQclear(res->r); /* every value now lives in the columns: drop the wire copy */
        res->r = NULL;
    }
    pp_colbuf *b = res->cols[col];
    pthread_mutex_unlock(&res->lock);
    return b;
}

int pp_result_column(pp_result *res, int32_t col, pp_column *out, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    const pp_colbuf *b = column(res, col, err);
    if (b == NULL)
        return PP_ERROR;
    pthread_mutex_lock(&res->lock);
    pp__colbuf_export(b, out);
    pthread_mutex_unlock(&res->lock);
    return PP_OK;
}

/* Value k of an exported column into out. */
static void cell(const pp_column *c, int64_t k, pp_value *out)
{
    memset(out, 0, sizeof *out);
    out->oid = c->oid;
    if (c->nulls != NULL && c->nulls[k]) {
        out->tag = PP_NULL;
        return;
    }
    out->tag = c->tag;
    switch (c->tag) {
    case PP_FLOAT: out->f = c->floats[k]; break;
    case PP_TIMETZ: case PP_INTERVAL:
        out->i2 = c->ints2[k];
        out->i3 = c->ints3[k];
        /* fallthrough */
    case PP_BOOL: case PP_INT: case PP_DATE: case PP_TIME: case PP_TIMESTAMP:
    case PP_TIMESTAMPTZ: out->i = c->ints[k]; break;
    case PP_TEXT: case PP_NUMERIC: case PP_JSON:
        out->ptr = c->data + c->offsets[k];
        out->len = c->offsets[k + 1] - c->offsets[k] - 1; /* without its NUL */
        break;
    case PP_BYTES: case PP_UUID:
        out->ptr = c->data + c->offsets[k];
        out->len = c->offsets[k + 1] - c->offsets[k];
        break;
    case PP_ARRAY: {
        const int32_t *shape = c->shapes + c->shape_offsets[k];
        out->i = shape[0];
        out->dims = shape + 1;
        out->len = c->elem_offsets[k + 1] - c->elem_offsets[k];
        break;
    }
    default: break;
    }
}

int pp_result_value(pp_result *res, int64_t row, int32_t col, pp_value *out, pp_error **err)
{
    pp_column c;
    if (pp_result_column(res, col, &c, err) != PP_OK)
        return PP_ERROR;
    if (row < 0 || row >= c.count)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "row %lld out of range",
                                           (long long)row));
    cell(&c, row, out);
    return PP_OK;
}

int pp_result_array_item(pp_result *res, int64_t row, int32_t col, int64_t index,
                         pp_value *out, pp_error **err)
{
    pp_column c;
    if (pp_result_column(res, col, &c, err) != PP_OK)
        return PP_ERROR;
    if (c.tag != PP_ARRAY)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "column %d is not an array",
                                           col));
    if (row < 0 || row >= c.count)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "row %lld out of range",
                                           (long long)row));
    int64_t first = c.elem_offsets[row], n = c.elem_offsets[row + 1] - first;
    if (index < 0 || index >= n)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "array index %lld out of range",
                                           (long long)index));
    cell(c.elements, first + index, out);
    return PP_OK;
}

int pp_result_describe(pp_result *res, pp_result_info *out, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (res == NULL || out == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "bad arguments"));
    out->nrows = res->nrows;
    out->ncols = res->ncols;
    out->has_rows = res->has_rows;
    out->rows_affected = res->rows_affected;
    out->command = res->command;
    out->names = res->names;
    out->names_len = res->names_len;
    out->types = res->types;
    out->typmods = res->typmods;
    return PP_OK;
}

pp_colbuf **pp__result_take_columns(pp_result *res, int32_t *n, int64_t max_bytes)
{
    *n = 0;
    if (res == NULL || res->next != NULL || res->cols == NULL)
        return NULL;
    int64_t bytes = 0;
    for (int32_t k = 0; k < res->ncols; k++)
        bytes += pp__colbuf_bytes(res->cols[k]);
    if (bytes > max_bytes)
        return NULL;
    pp_colbuf **cols = res->cols;
    *n = res->ncols;
    res->cols = NULL;
    return cols;
}

int pp_result_columns(pp_result *res, pp_column *out, pp_error **err)
{
    return pp__result_columns_reusing(res, out, NULL, 0, err);
}

/* FNV-1a, 64 bits: pp_query_pack's hash of the column names. */
static uint64_t names_hash(const char *names, int64_t len)
{
    uint64_t h = 14695981039346656037u;
    for (int64_t k = 0; k < len; k++) {
        h ^= (unsigned char)names[k];
        h *= 1099511628211u;
    }
    return h;
}

/* The text of the PP_TEXT and PP_NUMERIC columns (no NULL anywhere), each column's data after
 * the last, into pack from index at on, preceded by its byte count (-1 and no bytes when
 * they do not fit in len values). Returns the index after what it wrote. */
static int64_t pack_text(const pp_result_info *info, const pp_column *cols, int64_t nulls,
                         int64_t *pack, int64_t at, int32_t len)
{
    int64_t bytes = 0;
    for (int32_t k = 0; k < info->ncols; k++)
        if (cols[k].tag == PP_TEXT || cols[k].tag == PP_NUMERIC)
            bytes += cols[k].data_len;
    int64_t words = (bytes + 7) / 8;
    if (nulls > 0 || words > len - at - 1) {
        pack[at] = -1;
        return at + 1;
    }
    pack[at] = bytes;
    char *text = (char *)&pack[at + 1];
    if (words > 0)
        pack[at + words] = 0; /* the last word's padding */
    for (int32_t k = 0; k < info->ncols; k++) {
        const pp_column *c = &cols[k];
        if ((c->tag == PP_TEXT || c->tag == PP_NUMERIC) && c->data_len > 0) {
            memcpy(text, c->data, (size_t)c->data_len);
            text += c->data_len;
        }
    }
    return at + 1 + words;
}

void pp__pack_columns(const pp_result_info *info, const pp_column *cols, int64_t *pack,
                      int32_t len)
{
    int32_t ncols = info->ncols;
    int64_t nrows = info->nrows, nints = 0, nulls = 0;
    for (int32_t k = 0; k < ncols; k++) {
        nints += cols[k].tag == PP_INT;
        nulls += cols[k].nulls != NULL;
    }
    if (nulls > 0)
        nints = 0; /* no values: a caller meeting a NULL reads the columns */
    int64_t need = 6 + 4 * (int64_t)ncols; /* the text's byte count included */
    if (nints > 0 && nrows > (len - need) / nints) /* also when need > len */
        return;
    need += nrows * nints;
    if (need > len)
        return;
    uint64_t h = names_hash(info->names, info->names_len);
    int64_t *tags = pack + 5, *oids = tags + ncols, *flags = oids + ncols;
    int64_t *lens = flags + ncols, *values = lens + ncols;
    for (int32_t k = 0; k < ncols; k++) {
        const pp_column *c = &cols[k];
        tags[k] = c->tag;
        oids[k] = c->oid;
        flags[k] = c->nulls != NULL;
        lens[k] = c->data_len;
        if (c->tag == PP_INT && nints > 0 && nrows > 0) {
            memcpy(values, c->ints, (size_t)nrows * sizeof *values);
            values += nrows;
        }
    }
    memcpy(&pack[3], &h, sizeof h); /* the same bits, as int64 */
    pack[1] = nrows;
    pack[2] = ncols;
    pack[4] = nulls;
    pack[0] = pack_text(info, cols, nulls, pack, need - 1, len);
}

int pp__result_columns_reusing(pp_result *res, pp_column *out, pp_colbuf **spares,
                               int32_t nspares, pp_error **err)
{
    if (err != NULL)
        *err = NULL;
    if (res == NULL || (out == NULL && res->ncols > 0))
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "bad arguments"));
    pthread_mutex_lock(&res->lock);
    int rc = PP_OK;
    if (res->decoded == 0 && res->ncols > 0 && res->r != NULL) { /* all at once, row by row */
        rc = pp__decode_columns(res->r, res->binary, res->cols, spares, nspares, err);
        if (rc == PP_OK) {
            res->decoded = res->ncols;
            PQclear(res->r); /* every value now lives in the columns */
            res->r = NULL;
        }
    }
    pthread_mutex_unlock(&res->lock);
    if (rc != PP_OK)
        return rc;
    for (int32_t k = 0; k < res->ncols; k++)
        if (pp_result_column(res, k, &out[k], err) != PP_OK)
            return PP_ERROR;
    return PP_OK;
}

int32_t pp_result_column_index(const pp_result *res, const char *name)
{
    if (res == NULL || name == NULL)
        return -1;
    for (int32_t k = 0; k < res->ncols; k++)
        if (strcmp(res->name_at[k], name) == 0)
            return k;
    return -1;
}
