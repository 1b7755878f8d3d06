/* SPDX-License-Identifier: MIT */
/* values.h — pp_values made from fuzzer bytes, for the encoder and COPY targets: a tag (any
 * int32 now and then, mostly a real one), an OID from fuzz_oids or 0, the three integers, a
 * double, and a slice of the input as ptr/len (NULL when empty, now and then). */
#include "fuzz.h"

static void take_value(fuzz_in *in, pp_value *v)
{
    uint8_t t = (uint8_t)take_be(in, 1);
    memset(v, 0, sizeof *v);
    v->tag = t < 240 ? t % (PP_ARRAY + 1) : (int32_t)take_be(in, 4);
    uint8_t o = (uint8_t)take_be(in, 1);
    v->oid = o < 200 ? fuzz_oids[o % FUZZ_NOIDS] : 0;
    uint8_t wide = (uint8_t)take_be(in, 1); /* small integers are the interesting ones */
    v->i = (int64_t)take_be(in, wide & 1 ? 8 : 2);
    v->i2 = (int64_t)take_be(in, wide & 2 ? 8 : 2);
    v->i3 = (int64_t)take_be(in, wide & 4 ? 8 : 1);
    if (wide & 8)
        v->i = (int64_t)~(uint64_t)v->i; /* -i - 1, without overflow */
    if (wide & 16)
        v->i2 = (int64_t)(0 - (uint64_t)v->i2);
    uint64_t bits = take_be(in, 8);
    memcpy(&v->f, &bits, sizeof v->f);
    size_t got = 0;
    const uint8_t *p = take_bytes(in, (size_t)take_be(in, 1), &got);
    v->ptr = got > 0 || (wide & 32) ? (const char *)p : NULL;
    v->len = (int64_t)got;
}
