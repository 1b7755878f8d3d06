/* SPDX-License-Identifier: MIT */
/* decode.h — the two decoder targets (binary, text) share this body: the first byte picks
 * a type, the rest is a column of values, each a 2-byte big-endian length (0xffff: NULL)
 * then its bytes. The column goes through a pp_result as a statement's would (result.c):
 * it must decode into the promised layout, every cell and array element must read back
 * consistently, or the column must fail with 08P01. */
#include "fuzz.h"

/* Cell value v (row `row`) agrees with the decoded column c. */
static void check_cell(const pp_column *c, int64_t row, const pp_value *v)
{
    bool is_null = c->nulls != NULL && c->nulls[row];
    FUZZ_ASSERT(v->oid == c->oid);
    FUZZ_ASSERT(is_null ? v->tag == PP_NULL : v->tag == c->tag);
    if (is_null || c->offsets == NULL)
        return;
    if (v->tag == PP_TEXT || v->tag == PP_NUMERIC || v->tag == PP_JSON || v->tag == PP_BYTES ||
        v->tag == PP_UUID) {
        FUZZ_ASSERT(v->ptr == c->data + c->offsets[row]);
        FUZZ_ASSERT(v->len >= 0 && v->ptr + v->len <= c->data + c->data_len);
        if (v->tag != PP_BYTES && v->tag != PP_UUID)
            FUZZ_ASSERT(v->ptr[v->len] == '\0' && (int64_t)strlen(v->ptr) == v->len);
    }
}

static int decode_target(const uint8_t *data, size_t size, bool binary)
{
    fuzz_in in = {data, size};
    uint32_t oid = fuzz_oids[take_be(&in, 1) % FUZZ_NOIDS];
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc att = {.name = "v", .typid = oid, .format = binary, .typlen = -1,
                        .atttypmod = -1};
    FUZZ_ASSERT(r != NULL && PQsetResultAttrs(r, 1, &att));
    int rows = 0;
    while (in.left > 0 && rows < 64) {
        size_t want = (size_t)take_be(&in, 2), got = 0;
        const uint8_t *v = want == 0xffff ? NULL : take_bytes(&in, want, &got);
        FUZZ_ASSERT(PQsetvalue(r, rows++, 0, (char *)v, v == NULL ? -1 : (int)got));
    }
    pp_result *res = pp__result_new(r, binary); /* takes r */
    FUZZ_ASSERT(res != NULL && pp_result_nrows(res) == rows && pp_result_ncols(res) == 1);
    pp_column c;
    pp_error *err = NULL;
    if (pp_result_column(res, 0, &c, &err) == PP_OK) {
        fuzz_check_column(&c, rows);
        for (int64_t row = 0; row < rows; row++) {
            pp_value v;
            FUZZ_ASSERT(pp_result_value(res, row, 0, &v, NULL) == PP_OK);
            check_cell(&c, row, &v);
            for (int64_t k = 0; c.tag == PP_ARRAY && v.tag == PP_ARRAY && k < v.len; k++) {
                pp_value item;
                FUZZ_ASSERT(pp_result_array_item(res, row, 0, k, &item, NULL) == PP_OK);
                check_cell(c.elements, c.elem_offsets[row] + k, &item);
            }
            FUZZ_ASSERT(pp_result_array_item(res, row, 0, c.tag == PP_ARRAY ? v.len : 0, &v,
                                             NULL) == PP_ERROR);
        }
        FUZZ_ASSERT(pp_result_value(res, rows, 0, &(pp_value){0}, NULL) == PP_ERROR);
    } else {
        fuzz_check_decode_error(err);
    }
    pp_error_free(err);
    pp_result_free(res);
    return 0;
}
