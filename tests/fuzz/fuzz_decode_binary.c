/* SPDX-License-Identifier: MIT */
/* fuzz_decode_binary.c — libFuzzer target: the binary decoders of every type, arrays too. */
#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return decode_target(data, size, true);
}
