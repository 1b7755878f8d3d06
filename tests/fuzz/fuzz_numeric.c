/* SPDX-License-Identifier: MIT */
/* fuzz_numeric.c — libFuzzer target: numeric both ways. The first byte picks the direction:
 * even, the rest is decimal text for the binary COPY encoder (pp__numeric_to_binary); odd,
 * the rest is a binary numeric from the server for the decoder. Whatever one side accepts
 * must come back through the other with the same value. */
#include "fuzz.h"

/* The binary numeric in p[0..len) as text (malloc'd), or NULL when the decoder refuses it. */
static char *decode_numeric(const char *p, size_t len)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc att = {.name = "n", .typid = 1700, .format = 1, .typlen = -1,
                        .atttypmod = -1};
    FUZZ_ASSERT(r != NULL && PQsetResultAttrs(r, 1, &att) &&
                PQsetvalue(r, 0, 0, (char *)p, (int)len));
    pp_error *err = NULL;
    pp_colbuf *b = pp__decode_column(r, 0, true, &err);
    char *text = NULL;
    if (b != NULL) {
        pp_column c;
        pp__colbuf_export(b, &c);
        fuzz_check_column(&c, 1);
        text = strdup(c.data);
        FUZZ_ASSERT(text != NULL);
    } else {
        fuzz_check_decode_error(err);
    }
    pp__colbuf_free(b);
    pp_error_free(err);
    PQclear(r);
    return text;
}

/* Decimal text to binary; NULL when the encoder refuses it. *n gets the length. */
static char *encode_numeric(const char *s, size_t len, int64_t *n)
{
    size_t cap = pp__numeric_binary_size((int64_t)len);
    char *out = malloc(cap);
    FUZZ_ASSERT(out != NULL);
    *n = pp__numeric_to_binary(s, (int64_t)len, out);
    FUZZ_ASSERT(*n == -1 || (*n >= 8 && (size_t)*n <= cap));
    if (*n < 0) {
        free(out);
        return NULL;
    }
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    int64_t n;
    if (data[0] % 2 == 0) {
        char *bin = encode_numeric(s, len, &n);
        if (bin == NULL)
            return 0;
        /* what the encoder makes, the decoder reads; and that text encodes to the same value */
        char *text = decode_numeric(bin, (size_t)n);
        FUZZ_ASSERT(text != NULL);
        int64_t n2;
        char *bin2 = encode_numeric(text, strlen(text), &n2);
        FUZZ_ASSERT(bin2 != NULL);
        char *text2 = decode_numeric(bin2, (size_t)n2);
        FUZZ_ASSERT(text2 != NULL && strcmp(text, text2) == 0);
        free(text2);
        free(bin2);
        free(text);
        free(bin);
    } else {
        char *text = decode_numeric(s, len);
        if (text == NULL)
            return 0;
        /* the decoder's text is a number the encoder reads back to the same text, within
         * PostgreSQL's limits (a server's weight can exceed them only in a hostile value) */
        char *bin = encode_numeric(text, strlen(text), &n);
        if (bin != NULL) {
            char *text2 = decode_numeric(bin, (size_t)n);
            FUZZ_ASSERT(text2 != NULL && strcmp(text, text2) == 0);
            free(text2);
            free(bin);
        }
        free(text);
    }
    return 0;
}
