/* decode.h — the two decoder targets (binary, text) share this body: the first byte picks
 * a type, the rest is a column of values, each a 2-byte big-endian length (0xffff: NULL)
 * then its bytes. The column must decode into the promised layout or fail with 08P01. */
#include "fuzz.h"

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
    pp_error *err = NULL;
    pp_colbuf *b = pp__decode_column(r, 0, binary, &err);
    if (b != NULL) {
        pp_column c;
        pp__colbuf_export(b, &c);
        fuzz_check_column(&c, rows);
        pp__colbuf_free(b);
    } else {
        fuzz_check_decode_error(err);
    }
    pp_error_free(err);
    PQclear(r);
    return 0;
}
