/* SPDX-License-Identifier: MIT */
/* test_fuzz.c — the binary decoders on malformed input: random bytes and mutated valid
 * values for every type with a binary decoder. Nothing may crash or read past a value (run
 * under AddressSanitizer or valgrind); every input either decodes or gives a clean error.
 * Built from the library's decode.c and error.c, since the decoders are internal. */
#include "harness.h"
#include "internal.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A valid one-dimensional binary array of n int4 elements (some NULL) into buf. */
static int valid_int4_array(unsigned char *buf, int n)
{
    put32(buf, 1);
    put32(buf + 4, 1);
    put32(buf + 8, 23);
    put32(buf + 12, (uint32_t)n);
    put32(buf + 16, 1);
    int at = 20;
    for (int k = 0; k < n; k++) {
        if (k % 3 == 2) {
            put32(buf + at, 0xffffffffu);
            at += 4;
        } else {
            put32(buf + at, 4);
            put32(buf + at + 4, (uint32_t)k);
            at += 8;
        }
    }
    return at;
}

/* Decodes one binary value of type oid; returns 1 when it decoded, 0 on a clean error. */
static int decode_one(uint32_t oid, const unsigned char *bytes, int len)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc att = {.name = "v", .typid = oid, .format = 1, .typlen = -1, .atttypmod = -1};
    if (r == NULL || !PQsetResultAttrs(r, 1, &att) || !PQsetvalue(r, 0, 0, (char *)bytes, len)) {
        fprintf(stderr, "cannot build a PGresult\n");
        exit(2);
    }
    pp_error *err = NULL;
    pp_colbuf *b = pp__decode_column(r, 0, true, &err);
    int ok = b != NULL;
    CHECK(ok || (err != NULL && pp_error_category(err) == PP_ERR_OPERATIONAL &&
                strcmp(pp_error_sqlstate(err), "08P01") == 0));
    if (b != NULL) {
        pp_column col;
        pp__colbuf_export(b, &col);
        CHECK(col.count == 1);
    }
    pp__colbuf_free(b);
    pp_error_free(err);
    PQclear(r);
    return ok;
}

/* Fixed-size binary values through add_fixed (more values than the room reserved: not
 * add_common's path): each integer type's value, and the error naming the type for a
 * value one byte too long. */
static void test_fixed_sizes(void)
{
    static const struct {
        uint32_t oid;
        int size;
        const char *name;
        int64_t want; /* of the bytes 0xff 0xfe ... */
    } kinds[] = {
        {21, 2, "int2", -2},          {23, 4, "int4", -66052},
        {1082, 4, "date", -66052},    {26, 4, "oid", 4294901244},
        {20, 8, "8-byte", -283686952306184}, {1083, 8, "8-byte", -283686952306184},
        {1114, 8, "8-byte", -283686952306184}, {1184, 8, "8-byte", -283686952306184},
    };
    unsigned char v[9];
    for (int k = 0; k < 9; k++)
        v[k] = (unsigned char)(0xff - k);
    for (size_t t = 0; t < sizeof kinds / sizeof kinds[0]; t++) {
        pp_error *err = NULL;
        pp_colbuf *b = pp__colbuf_begin(kinds[t].oid, true, 1, &err);
        CHECK(b != NULL);
        for (int k = 0; k < 300; k++)
            CHECK(pp__colbuf_add(b, (const char *)v, kinds[t].size, false) == NULL);
        pp_column col;
        pp__colbuf_export(b, &col);
        CHECK(col.count == 300 && col.ints[0] == kinds[t].want && col.ints[299] == kinds[t].want);
        err = pp__colbuf_add(b, (const char *)v, kinds[t].size + 1, false);
        char want[64];
        snprintf(want, sizeof want, "malformed %s value", kinds[t].name);
        CHECK(err != NULL && strstr(pp_error_message(err), want) != NULL);
        pp_error_free(err);
        pp__colbuf_free(b);
    }
}

int main(void)
{
    static const uint32_t oids[] = {
        16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 700, 701, 1042, 1043, 1082, 1083, 1114, 1184,
        1186, 1266, 1700, 2950, 3802, 1000, 1001, 1005, 1007, 1009, 1016, 1021, 1022, 1115,
        1182, 1183, 1185, 1187, 1231, 1270, 2951, 3807, 199, 869, 650, 829, 774, 1041, 651,
        1040, 775,
    };
    const int n_oids = (int)(sizeof oids / sizeof oids[0]);
    test_fixed_sizes();
    unsigned char buf[512];
    int decoded = 0, rejected = 0;
    for (int iter = 0; iter < 40000; iter++) {
        uint32_t oid = oids[next_rand() % (uint32_t)n_oids];
        int len = (int)(next_rand() % 40);
        for (int k = 0; k < len; k++)
            buf[k] = (unsigned char)next_rand();
        if (decode_one(oid, buf, len))
            decoded++;
        else
            rejected++;
    }
    /* Mutations of a valid array: flip a byte, or cut it short. */
    for (int iter = 0; iter < 20000; iter++) {
        int len = valid_int4_array(buf, (int)(next_rand() % 12));
        if (iter % 2 == 0)
            buf[next_rand() % (uint32_t)len] ^= (unsigned char)(1u << (next_rand() % 8));
        else
            len = (int)(next_rand() % (uint32_t)len);
        if (decode_one(1007, buf, len))
            decoded++;
        else
            rejected++;
    }
    /* Numeric headers with random digit counts, weights and scales. */
    for (int iter = 0; iter < 20000; iter++) {
        int ndigits = (int)(next_rand() % 6);
        int len = 8 + 2 * ndigits + (iter % 7 == 0 ? 1 : 0);
        for (int k = 0; k < len; k++)
            buf[k] = (unsigned char)next_rand();
        buf[0] = 0;
        buf[1] = (unsigned char)ndigits;
        if (decode_one(1700, buf, len))
            decoded++;
        else
            rejected++;
    }
    /* Decimal text to binary numeric (binary COPY): random strings, exact-size buffers. */
    static const char alphabet[] = "0123456789..eE+-NaInfity";
    int numbers = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char text[40];
        int len = 1 + (int)(next_rand() % 30);
        for (int k = 0; k < len; k++)
            text[k] = alphabet[next_rand() % (sizeof alphabet - 1)];
        char *out = malloc(pp__numeric_binary_size(len));
        int64_t n = pp__numeric_to_binary(text, len, out);
        CHECK(n == -1 || (n >= 8 && (size_t)n <= pp__numeric_binary_size(len)));
        numbers += n >= 0;
        free(out);
    }
    char big[1100];
    memset(big, '9', sizeof big);
    big[500] = '.';
    char *out = malloc(pp__numeric_binary_size(sizeof big));
    CHECK(pp__numeric_to_binary(big, sizeof big, out) > 8);
    free(out);
    printf("fuzz: %d random numeric strings were numbers\n", numbers);

    /* the several-commands scanner: literals, identifiers, dollar quotes, comments */
    static const struct { const char *sql; bool several; } scans[] = {
        {"SELECT 1", false}, {"SELECT 1;", false}, {"SELECT 1 ; -- done\n", false},
        {"SELECT 1; SELECT 2", true}, {"SELECT ';x'", false}, {"SELECT 'it''s;' ; ", false},
        {"SELECT E'a\\';b'", false}, {"SELECT E'\\'' ; SELECT 1", true},
        {"SELECT \";\" FROM t", false}, {"SELECT $$;$$", false},
        {"SELECT $a$ $$; $a$", false}, {"SELECT $a$;$a$; SELECT 2", true},
        {"SELECT 1 /* ; /* ; */ ; */", false}, {"SELECT 1; /* c */", false},
        {"SELECT $1; x", true}, {"DO $body$BEGIN PERFORM 1; END$body$", false},
        {"SELECT 'unterminated; SELECT 2", false}, {"", false}, {";;", false},
        /* identifiers: non-ASCII letters and '$' (é$$ is a name, not a dollar quote) */
        {"SELECT 1 AS \xc3\xa9$$; SELECT 2", true}, {"SELECT 1 AS a$$b; SELECT 2", true},
        {"SELECT 1 AS \xc3\xa9, $$;$$", false}, {"SELECT \xc3\xa9" "E';'", false},
        {"SELECT xE'\\'; SELECT 2", true}, {"SELECT $$a$$$$;$$", false},
    };
    for (size_t k = 0; k < sizeof scans / sizeof scans[0]; k++) {
        bool got = pp__several_commands(scans[k].sql);
        if (got != scans[k].several)
            fprintf(stderr, "  scan %s: got %d\n", scans[k].sql, got);
        CHECK(got == scans[k].several);
    }
    /* commands that return no rows, sent without a Parse + Describe round trip first */
    static const struct { const char *sql; bool rowless; } kinds[] = {
        {"INSERT INTO t VALUES (1)", true}, {"  -- c\n/* x */ insert into t values (1)", true},
        {"INSERT INTO t VALUES (1) RETURNING a", false},
        {"UPDATE t SET a = 'returning'", false}, /* a false alarm: only slower */
        {"DELETE FROM t", true}, {"CREATE TABLE t (a int)", true}, {"SET x = 1", true},
        {"BEGIN", true}, {"commit", true}, {"SELECT 1", false}, {"WITH a AS (SELECT 1) "
        "INSERT INTO t SELECT * FROM a", false}, {"SHOW work_mem", false},
        {"VALUES (1)", false}, {"CALL p()", false}, {"INSERTX", false}, {"SET_x", false},
        {"(SELECT 1)", false}, {"", false}, {"-- only a comment", false},
        {"INSERT INTO t VALUES ($1)", false}, {"UPDATE t SET a = 'x$'", true},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        bool got = pp__rowless_command(kinds[k].sql);
        if (got != kinds[k].rowless)
            fprintf(stderr, "  kind %s: got %d\n", kinds[k].sql, got);
        CHECK(got == kinds[k].rowless);
    }
    for (int iter = 0; iter < 20000; iter++) { /* random SQL-ish text never crashes */
        static const char sqlchars[] = "$;'\"-*/Ee a1\\\n";
        char text[32];
        int len = (int)(next_rand() % 31);
        for (int k = 0; k < len; k++)
            text[k] = sqlchars[next_rand() % (sizeof sqlchars - 1)];
        text[len] = '\0';
        /* without a ';' there is only one command; a rowless one starts with a letter */
        CHECK(pp__several_commands(text) == false || strchr(text, ';') != NULL);
        CHECK(!pp__rowless_command(text) || strpbrk(text, "Ee") != NULL);
    }

    unsigned char ok_array[64];
    CHECK(decode_one(1007, ok_array, valid_int4_array(ok_array, 5)) == 1);
    CHECK(decoded > 0 && rejected > 0);
    printf("fuzz: %d inputs decoded, %d rejected cleanly\n", decoded, rejected);
    return test_summary();
}
