/* SPDX-License-Identifier: MIT */
/* fuzz_copy.c — libFuzzer target: COPY FROM input (copy.c, columns.c). The first byte picks
 * text or binary COPY and how values come: as rows of pp_values (pp_copy_put_rows) or as a
 * column-major pp_column with offsets from the input (pp_copy_put_columns' checks, then its
 * values). A row either fails and leaves nothing behind, or appends exactly one well-formed
 * row: in text, ncols - 1 tabs and one newline at its end, no other raw tab, newline or
 * carriage return; in binary, a field count of ncols and fields whose lengths add up. */
#include "values.h"

static void check_row(const pp_conn *conn, size_t from, int32_t ncols)
{
    const char *p = conn->copy_buf + from, *end = conn->copy_buf + conn->copy_len;
    FUZZ_ASSERT(end > p);
    if (conn->copy_oids == NULL) {
        int32_t tabs = 0;
        for (const char *q = p; q < end - 1; q++) {
            FUZZ_ASSERT(*q != '\n' && *q != '\r');
            tabs += *q == '\t';
        }
        FUZZ_ASSERT(end[-1] == '\n' && tabs == ncols - 1);
        return;
    }
    const unsigned char *u = (const unsigned char *)p;
    FUZZ_ASSERT(end - p >= 2 && (u[0] << 8 | u[1]) == ncols);
    size_t at = 2, total = (size_t)(end - p);
    for (int32_t k = 0; k < ncols; k++) {
        FUZZ_ASSERT(total - at >= 4);
        int32_t len = (int32_t)((uint32_t)u[at] << 24 | (uint32_t)u[at + 1] << 16 |
                                (uint32_t)u[at + 2] << 8 | u[at + 3]);
        at += 4;
        FUZZ_ASSERT(len >= -1 && (len < 0 || total - at >= (size_t)len));
        if (len > 0)
            at += (size_t)len;
    }
    FUZZ_ASSERT(at == total);
}

static void put_row(pp_conn *conn, int64_t row, int32_t ncols, const pp_value *vals)
{
    size_t before = conn->copy_len;
    pp_error *err = NULL;
    if (pp__copy_put_values(conn, row, ncols, vals, &err) == PP_OK) {
        FUZZ_ASSERT(err == NULL);
        check_row(conn, before, ncols);
    } else {
        FUZZ_ASSERT(err != NULL && conn->copy_len == before);
        int32_t cat = pp_error_category(err);
        FUZZ_ASSERT(cat == PP_ERR_DATA || cat == PP_ERR_PROGRAMMING || cat == PP_ERR_INTERFACE);
    }
    pp_error_free(err);
}

/* One column of nrows values, column-major: tag, nulls, ints, data with offsets (or
 * NUL-separated without), all from the input. */
static void put_column(pp_conn *conn, fuzz_in *in)
{
    int64_t nrows = 1 + (int64_t)(take_be(in, 1) % 8);
    pp_column c = {.tag = (int32_t)(take_be(in, 1) % (PP_ARRAY + 2)), .count = nrows};
    c.oid = fuzz_oids[take_be(in, 1) % FUZZ_NOIDS];
    uint8_t flags = (uint8_t)take_be(in, 1);
    int64_t ints[3][8];
    double floats[8];
    uint8_t nulls[8];
    int64_t offsets[9];
    for (int64_t k = 0; k < nrows; k++) {
        for (int j = 0; j < 3; j++)
            ints[j][k] = (int64_t)take_be(in, 2) - 1000;
        floats[k] = (double)ints[0][k] / 7;
        nulls[k] = (uint8_t)(take_be(in, 1) % 4 == 0);
    }
    for (int64_t k = 0; k <= nrows; k++)
        offsets[k] = (int64_t)take_be(in, 1);
    size_t got = 0;
    const uint8_t *bytes = take_bytes(in, (size_t)take_be(in, 1), &got);
    c.ints = ints[0];
    c.ints2 = ints[1];
    c.ints3 = ints[2];
    c.floats = floats;
    c.nulls = flags & 1 ? nulls : NULL;
    c.offsets = flags & 2 ? offsets : NULL;
    c.data = got > 0 || (flags & 4) ? (const char *)bytes : NULL;
    c.data_len = (int64_t)got;
    pp_error *err = NULL;
    if (pp__check_input_column(&c, 0, nrows, "fuzz", &err) != PP_OK) {
        FUZZ_ASSERT(err != NULL);
        pp_error_free(err);
        return;
    }
    int64_t at = 0;
    for (int64_t row = 0; row < nrows; row++) {
        pp_value v;
        pp__column_value(&c, row, &at, &v);
        FUZZ_ASSERT(at <= c.data_len);
        put_row(conn, row, 1, &v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t mode = (uint8_t)take_be(&in, 1);
    int32_t ncols = 1 + (int32_t)(take_be(&in, 1) % 4);
    uint32_t oids[4];
    for (int32_t k = 0; k < 4; k++)
        oids[k] = fuzz_oids[take_be(&in, 1) % FUZZ_NOIDS];
    pp_conn *conn = calloc(1, sizeof *conn); /* only the COPY buffer and types are used */
    FUZZ_ASSERT(conn != NULL);
    if (mode & 1) {
        conn->copy_oids = oids;
        conn->copy_ncols = mode & 2 ? 1 : ncols;
    }
    if (mode & 2) {
        put_column(conn, &in);
    } else {
        for (int64_t row = 0; row < 4 && in.left > 0; row++) {
            pp_value vals[4];
            for (int32_t k = 0; k < ncols; k++)
                take_value(&in, &vals[k]);
            put_row(conn, row, ncols, vals);
        }
    }
    free(conn->copy_buf);
    free(conn);
    return 0;
}
