/* SPDX-License-Identifier: MIT */
/* fuzz_encode.c — libFuzzer target: the parameter encoders (encode.c). Up to four values of
 * any tag for parameters of any type the server could describe: each either fails with a
 * clean error before anything is sent, or comes out as what libpq is given — binary of the
 * type's size, or text without a NUL inside. Binary COPY's encoder gets the same values. */
#include "values.h"

/* The size of a fixed-size binary value of type oid, or -1 for variable-length ones. */
static int fixed_size(uint32_t oid)
{
    switch (oid) {
    case 16: return 1;
    case 21: return 2;
    case 23: case 26: case 700: case 1082: return 4;
    case 20: case 701: case 1083: case 1114: case 1184: return 8;
    case 1266: return 12;
    case 1186: case 2950: return 16;
    default: return -1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    int32_t n = 1 + (int32_t)(take_be(&in, 1) % 4);
    pp_value params[4];
    uint32_t oids[4];
    for (int32_t k = 0; k < n; k++) {
        oids[k] = fuzz_oids[take_be(&in, 1) % FUZZ_NOIDS];
        take_value(&in, &params[k]);
    }
    pp_conn *conn = calloc(1, sizeof *conn); /* only its scratch buffer is used */
    FUZZ_ASSERT(conn != NULL);
    const char *values[4];
    int lengths[4], formats[4];
    pp_encoded enc = {values, lengths, formats};
    pp_error *err = NULL;
    if (pp__encode_params(conn, n, params, oids, &enc, &err) == PP_OK) {
        FUZZ_ASSERT(err == NULL);
        for (int32_t k = 0; k < n; k++) {
            if (params[k].tag == PP_NULL) {
                FUZZ_ASSERT(values[k] == NULL);
            } else if (formats[k] == 1) {
                FUZZ_ASSERT(values[k] != NULL && lengths[k] >= 0);
                int want = fixed_size(oids[k]);
                FUZZ_ASSERT(want < 0 || lengths[k] == want);
            } else {
                FUZZ_ASSERT(formats[k] == 0 && values[k] != NULL);
                FUZZ_ASSERT((size_t)lengths[k] == strlen(values[k]));
            }
        }
    } else {
        int32_t cat = pp_error_category(err);
        FUZZ_ASSERT(cat == PP_ERR_DATA || cat == PP_ERR_PROGRAMMING || cat == PP_ERR_INTERFACE);
    }
    pp_error_free(err);
    for (int32_t k = 0; k < n; k++) {
        pp_value *v = &params[k];
        if (v->tag < PP_NULL || v->tag > PP_ARRAY)
            continue; /* binary_size reads only real tags (COPY checks them first) */
        if (v->tag != PP_NULL && pp__check_value_range(v, k, NULL) != PP_OK)
            continue;
        size_t cap = pp__binary_size(v);
        char *out = malloc(cap + 1);
        FUZZ_ASSERT(out != NULL);
        err = NULL;
        int64_t got = pp__encode_binary(v, oids[k], k, out, &err);
        FUZZ_ASSERT(got >= -1 && (got < 0 || (size_t)got <= cap));
        FUZZ_ASSERT((got < 0) == (err != NULL));
        pp_error_free(err);
        free(out);
    }
    free(conn->scratch);
    free(conn);
    return 0;
}
