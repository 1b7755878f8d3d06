/* SPDX-License-Identifier: MIT */
/* fuzz.h — shared by the libFuzzer targets in tests/fuzz/: reading typed fields from the
 * fuzzer's bytes, the OIDs the library decodes, and FUZZ_ASSERT, which aborts (a finding)
 * when a property the library promises does not hold. Each target is one .c file defining
 * LLVMFuzzerTestOneInput; replay.c runs the same function over a corpus without libFuzzer. */
#ifndef PP_FUZZ_H
#define PP_FUZZ_H

#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* The input, read front to back; reading past its end yields zeros. */
typedef struct {
    const uint8_t *p;
    size_t left;
} fuzz_in;

static inline uint64_t take_be(fuzz_in *in, int bytes)
{
    uint64_t v = 0;
    for (int k = 0; k < bytes; k++) {
        v <<= 8;
        if (in->left > 0) {
            v |= *in->p++;
            in->left--;
        }
    }
    return v;
}

/* Up to n bytes of the input (fewer at its end); *got says how many. */
static inline const uint8_t *take_bytes(fuzz_in *in, size_t n, size_t *got)
{
    const uint8_t *at = in->p;
    *got = n < in->left ? n : in->left;
    in->p += *got;
    in->left -= *got;
    return at;
}

/* Every type OID the decoders know, scalars then arrays, and two they do not know. */
static const uint32_t fuzz_oids[] = {
    16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 700, 701, 1042, 1043, 1082, 1083, 1114, 1184,
    1186, 1266, 1700, 2950, 3802, 869, 650, 829, 774,
    1000, 1001, 1002, 1003, 1005, 1007, 1009, 1014, 1015, 1016, 1021, 1022, 1028, 1041, 1040,
    1115, 1182, 1183, 1185, 1187, 1231, 1270, 2951, 3807, 199, 651, 775,
    600, 3904,
};
#define FUZZ_NOIDS (sizeof fuzz_oids / sizeof fuzz_oids[0])

/* A decode failure must be the protocol-violation error, nothing else. */
static inline void fuzz_check_decode_error(const pp_error *err)
{
    FUZZ_ASSERT(err != NULL);
    int32_t cat = pp_error_category(err);
    FUZZ_ASSERT(cat == PP_ERR_OPERATIONAL || cat == PP_ERR_INTERFACE); /* INTERFACE: no
                                                                         * decoder for it */
    if (cat == PP_ERR_OPERATIONAL)
        FUZZ_ASSERT(strcmp(pp_error_sqlstate(err), "08P01") == 0);
}

/* The layout every decoded column promises (pp_column in postpyro.h). */
static inline void fuzz_check_column(const pp_column *c, int64_t rows)
{
    FUZZ_ASSERT(c->count == rows);
    bool texty = c->tag == PP_TEXT || c->tag == PP_NUMERIC || c->tag == PP_JSON;
    if (texty || c->tag == PP_BYTES || c->tag == PP_UUID) {
        FUZZ_ASSERT(c->offsets[0] == 0);
        for (int64_t k = 0; k < rows; k++) {
            int64_t a = c->offsets[k], b = c->offsets[k + 1];
            FUZZ_ASSERT(a <= b && b <= c->data_len);
            if (texty) { /* one NUL, at the end */
                FUZZ_ASSERT(b > a && c->data[b - 1] == '\0');
                FUZZ_ASSERT((int64_t)strlen(c->data + a) == b - a - 1);
            }
            if (c->tag == PP_UUID && !(c->nulls && c->nulls[k]))
                FUZZ_ASSERT(b - a == 16);
        }
    }
    if (c->tag == PP_ARRAY) {
        FUZZ_ASSERT(c->elem_offsets[0] == 0);
        for (int64_t k = 0; k < rows; k++) {
            int64_t n = c->elem_offsets[k + 1] - c->elem_offsets[k];
            const int32_t *shape = c->shapes + c->shape_offsets[k];
            int64_t total = shape[0] > 0 ? 1 : 0;
            for (int32_t d = 0; d < shape[0]; d++)
                total *= shape[1 + d];
            FUZZ_ASSERT(n == total);
        }
        fuzz_check_column(c->elements, c->elem_offsets[rows]);
    }
}

#endif
