/* SPDX-License-Identifier: MIT */
/* fuzz_decode_text.c — libFuzzer target: the text-format decoders (simple-query results,
 * types without a binary decoder): bool, integers, floats, everything else as text. */
#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return decode_target(data, size, false);
}
