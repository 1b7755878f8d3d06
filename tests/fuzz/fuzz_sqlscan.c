/* SPDX-License-Identifier: MIT */
/* fuzz_sqlscan.c — libFuzzer target: the several-commands scanner and the rowless-command
 * check (sqlscan.c) on any text. Besides never reading past the string: without a ';' there
 * is one command, and a trailing space or ';' never adds one. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 2);
    FUZZ_ASSERT(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    size_t len = strlen(s); /* up to the first NUL, as the library sees a C string */
    bool several = pp__several_commands(s);
    if (strchr(s, ';') == NULL)
        FUZZ_ASSERT(!several);
    (void)pp__rowless_command(s);
    s[len] = ' ';
    s[len + 1] = '\0';
    FUZZ_ASSERT(pp__several_commands(s) == several);
    s[len] = ';';
    FUZZ_ASSERT(pp__several_commands(s) == several);
    free(s);
    return 0;
}
