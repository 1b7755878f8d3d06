/* SPDX-License-Identifier: MIT */
/* decode.c — server bytes to typed columns. Every decoder treats its input as untrusted:
 * lengths are checked before each read, malformed input is a PP_ERR_DATA error. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUMERIC_POS 0x0000
#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000
#define MAX_ARRAY_DIMS 6

struct pp_colbuf {
    int32_t tag;
    uint32_t oid;
    bool binary;
    int64_t count, cap;
    uint8_t *nulls;
    bool any_null;
    int64_t *ints, *ints2, *ints3;
    double *floats;
    char *data;
    int64_t data_len, data_cap;
    int64_t *offsets;          /* cap + 1 */
    /* arrays */
    pp_colbuf *elems;
    int64_t *elem_offsets;     /* cap + 1 */
    int32_t *shapes;
    int64_t shapes_len, shapes_cap;
    int64_t *shape_offsets;
    pp_column exported_elems;
};

static uint32_t array_element_oid(uint32_t oid)
{
    switch (oid) {
    case 1000: return OID_BOOL;
    case 1001: return OID_BYTEA;
    case 1002: return OID_CHAR;
    case 1003: return OID_NAME;
    case 1016: return OID_INT8;
    case 1005: return OID_INT2;
    case 1007: return OID_INT4;
    case 1009: return OID_TEXT;
    case 1028: return OID_OID;
    case 199: return OID_JSON;
    case 1021: return OID_FLOAT4;
    case 1022: return OID_FLOAT8;
    case 1014: return OID_BPCHAR;
    case 1015: return OID_VARCHAR;
    case 1182: return OID_DATE;
    case 1183: return OID_TIME;
    case 1115: return OID_TIMESTAMP;
    case 1185: return OID_TIMESTAMPTZ;
    case 1187: return OID_INTERVAL;
    case 1270: return OID_TIMETZ;
    case 1231: return OID_NUMERIC;
    case 2951: return OID_UUID;
    case 3807: return OID_JSONB;
    case 1041: return OID_INET;
    case 651: return OID_CIDR;
    case 1040: return OID_MACADDR;
    case 775: return OID_MACADDR8;
    default: return 0;
    }
}

/* The tag a binary value of this (non-array) type decodes to; PP_NULL when unsupported. */
static int32_t binary_tag(uint32_t oid)
{
    switch (oid) {
    case OID_BOOL: return PP_BOOL;
    case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID: return PP_INT;
    case OID_FLOAT4: case OID_FLOAT8: return PP_FLOAT;
    case OID_TEXT: case OID_VARCHAR: case OID_BPCHAR: case OID_NAME: case OID_CHAR:
    case OID_INET: case OID_CIDR: case OID_MACADDR: case OID_MACADDR8:
        return PP_TEXT;
    case OID_JSON: case OID_JSONB: return PP_JSON;
    case OID_NUMERIC: return PP_NUMERIC;
    case OID_BYTEA: return PP_BYTES;
    case OID_DATE: return PP_DATE;
    case OID_TIME: return PP_TIME;
    case OID_TIMETZ: return PP_TIMETZ;
    case OID_TIMESTAMP: return PP_TIMESTAMP;
    case OID_TIMESTAMPTZ: return PP_TIMESTAMPTZ;
    case OID_INTERVAL: return PP_INTERVAL;
    case OID_UUID: return PP_UUID;
    default: return PP_NULL;
    }
}

bool pp__has_binary_decoder(uint32_t oid)
{
    uint32_t elem = array_element_oid(oid);
    return binary_tag(elem ? elem : oid) != PP_NULL;
}

/* The tag of a text-format value: simple scalars are parsed here, the rest stays text. */
static int32_t text_tag(uint32_t oid)
{
    switch (oid) {
    case OID_BOOL: return PP_BOOL;
    case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID: return PP_INT;
    case OID_FLOAT4: case OID_FLOAT8: return PP_FLOAT;
    default: return PP_TEXT;
    }
}

/* A value no PostgreSQL server sends: the server is broken or hostile, so this is a protocol
 * violation (PP_ERR_OPERATIONAL), not bad data of the caller's. */
static pp_error *malformed(uint32_t oid, const char *what)
{
    char buf[64];
    return pp__error_new(PP_ERR_OPERATIONAL, "08P01", "protocol violation: the server sent "
                         "a malformed %s value for type %s", what,
                         pp__type_label(oid, buf, sizeof buf));
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int k = 0; k < bytes; k++)
        v = (v << 8) | p[k];
    return v;
}

static pp_colbuf *colbuf_new(int32_t tag, uint32_t oid, bool binary)
{
    pp_colbuf *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->tag = tag;
    b->oid = oid;
    b->binary = binary;
    return b;
}

void pp__colbuf_free(pp_colbuf *b)
{
    if (b == NULL)
        return;
    free(b->nulls);
    free(b->ints);
    free(b->ints2);
    free(b->ints3);
    free(b->floats);
    free(b->data);
    free(b->offsets);
    pp__colbuf_free(b->elems);
    free(b->elem_offsets);
    free(b->shapes);
    free(b->shape_offsets);
    free(b);
}

static bool grow(void **p, size_t elem, int64_t cap)
{
    void *g = realloc(*p, elem * (size_t)cap);
    if (g == NULL)
        return false;
    *p = g;
    return true;
}

/* Whether values of this tag lie in data (and so need offsets). */
static bool has_data(int32_t tag)
{
    return tag == PP_TEXT || tag == PP_NUMERIC || tag == PP_JSON || tag == PP_BYTES ||
           tag == PP_UUID;
}

/* Makes room for one more value in every array this tag uses. */
static bool reserve_value(pp_colbuf *b, int64_t want)
{
    if (b->count < b->cap && want <= b->cap)
        return true;
    int64_t cap = b->cap ? b->cap * 2 : 16;
    if (cap < want)
        cap = want;
    if (!grow((void **)&b->nulls, 1, cap))
        return false;
    if (has_data(b->tag)) { /* fixed-size values need no offsets: half the stores */
        if (!grow((void **)&b->offsets, 8, cap + 1))
            return false;
        if (b->count == 0)
            b->offsets[0] = 0;
    }
    switch (b->tag) {
    case PP_FLOAT:
        if (!grow((void **)&b->floats, 8, cap))
            return false;
        break;
    case PP_TIMETZ: case PP_INTERVAL:
        if (!grow((void **)&b->ints2, 8, cap) || !grow((void **)&b->ints3, 8, cap))
            return false;
        /* fallthrough */
    case PP_BOOL: case PP_INT: case PP_DATE: case PP_TIME: case PP_TIMESTAMP:
    case PP_TIMESTAMPTZ:
        if (!grow((void **)&b->ints, 8, cap))
            return false;
        break;
    case PP_ARRAY:
        if (!grow((void **)&b->elem_offsets, 8, cap + 1) ||
            !grow((void **)&b->shape_offsets, 8, cap))
            return false;
        if (b->count == 0)
            b->elem_offsets[0] = 0;
        break;
    default: break;
    }
    b->cap = cap;
    return true;
}

static bool reserve_data(pp_colbuf *b, int64_t more)
{
    if (b->data_len + more <= b->data_cap)
        return true;
    int64_t cap = b->data_cap ? b->data_cap * 2 : 256;
    while (cap < b->data_len + more)
        cap *= 2;
    if (!grow((void **)&b->data, 1, cap))
        return false;
    b->data_cap = cap;
    return true;
}

static bool append_data(pp_colbuf *b, const char *p, int64_t n, bool nul)
{
    if (!reserve_data(b, n + 1))
        return false;
    if (n > 0)
        memcpy(b->data + b->data_len, p, (size_t)n);
    b->data_len += n;
    if (nul)
        b->data[b->data_len++] = '\0';
    return true;
}

/* Numeric's binary form (base-10000 digits) to decimal text. */
static pp_error *numeric_to_text(pp_colbuf *b, const unsigned char *p, int64_t len)
{
    if (len < 8)
        return malformed(OID_NUMERIC, "numeric");
    int ndigits = (int16_t)get_be(p, 2);
    int weight = (int16_t)get_be(p + 2, 2);
    unsigned sign = (unsigned)get_be(p + 4, 2);
    int dscale = (int16_t)get_be(p + 6, 2);
    if (ndigits < 0 || dscale < 0 || dscale > 0x3fff || len != 8 + 2 * (int64_t)ndigits)
        return malformed(OID_NUMERIC, "numeric");
    const char *special = sign == NUMERIC_NAN ? "NaN" : sign == NUMERIC_PINF ? "Infinity"
                          : sign == NUMERIC_NINF ? "-Infinity" : NULL;
    if (special != NULL)
        return append_data(b, special, (int64_t)strlen(special), true) ? NULL : pp__error_oom();
    if (sign != NUMERIC_POS && sign != NUMERIC_NEG)
        return malformed(OID_NUMERIC, "numeric");
    /* integer part: digit groups 0..weight; fraction: dscale decimal digits */
    int64_t int_groups = weight >= 0 ? weight + 1 : 0;
    int64_t need = 2 + int_groups * 4 + 1 + dscale + 1;
    if (!reserve_data(b, need))
        return pp__error_oom();
    char *out = b->data + b->data_len, *start = out;
    if (sign == NUMERIC_NEG)
        *out++ = '-';
    if (int_groups == 0) {
        *out++ = '0';
    } else {
        /* no leading zeros, as the server prints: a hostile value may start with zero
         * groups, or have none at all under a large weight */
        bool leading = true;
        for (int64_t g = 0; g < int_groups; g++) {
            int dig = g < ndigits ? (int)get_be(p + 8 + 2 * g, 2) : 0;
            if (dig > 9999)
                return malformed(OID_NUMERIC, "numeric");
            for (int div = 1000; div > 0; div /= 10) {
                int d = dig / div % 10;
                if (leading && d == 0 && !(g == int_groups - 1 && div == 1))
                    continue;
                leading = false;
                *out++ = (char)('0' + d);
            }
        }
    }
    if (dscale > 0) {
        *out++ = '.';
        for (int64_t k = 0; k < dscale; k++) {
            /* decimal digit k after the point lives in group weight+1+k/4 */
            int64_t g = weight + 1 + k / 4;
            int dig = (g >= 0 && g < ndigits) ? (int)get_be(p + 8 + 2 * g, 2) : 0;
            if (dig > 9999)
                return malformed(OID_NUMERIC, "numeric");
            static const int div[] = {1000, 100, 10, 1};
            *out++ = (char)('0' + dig / div[k % 4] % 10);
        }
    }
    bool zero = true;
    for (const char *q = start; q < out; q++)
        zero = zero && (*q < '1' || *q > '9');
    if (sign == NUMERIC_NEG && zero) {
        /* a server's zero is never negative; a hostile "-0.00" (or digits hidden past
         * dscale) prints as the zero it shows */
        memmove(start, start + 1, (size_t)(out - start - 1));
        out--;
    }
    *out++ = '\0';
    b->data_len += out - start;
    return NULL;
}

static pp_error *add_value(pp_colbuf *b, const char *v, int64_t len, bool is_null);

/* Binary array: ndim, has_null, element oid, (dim, lbound) * ndim, then (len, bytes)*. */
static pp_error *add_array(pp_colbuf *b, const unsigned char *p, int64_t len)
{
    int64_t row = b->count;
    if (len < 12)
        return malformed(b->oid, "array");
    int32_t ndim = (int32_t)get_be(p, 4);
    uint32_t elem_oid = (uint32_t)get_be(p + 8, 4);
    if (ndim < 0 || ndim > MAX_ARRAY_DIMS || len < 12 + 8 * (int64_t)ndim ||
        elem_oid != b->elems->oid)
        return malformed(b->oid, "array");
    if (b->shapes_len + 1 + 2 * ndim > b->shapes_cap) {
        int64_t cap = b->shapes_cap ? b->shapes_cap * 2 : 64;
        while (cap < b->shapes_len + 1 + 2 * ndim)
            cap *= 2;
        if (!grow((void **)&b->shapes, 4, cap))
            return pp__error_oom();
        b->shapes_cap = cap;
    }
    b->shape_offsets[row] = b->shapes_len;
    int32_t *shape = b->shapes + b->shapes_len;
    shape[0] = ndim;
    int64_t total = ndim > 0 ? 1 : 0;
    for (int32_t d = 0; d < ndim; d++) {
        int32_t dim = (int32_t)get_be(p + 12 + 8 * d, 4);
        int32_t lb = (int32_t)get_be(p + 16 + 8 * d, 4);
        if (dim < 0 || (dim > 0 && total > INT32_MAX / dim))
            return malformed(b->oid, "array");
        total *= dim;
        shape[1 + d] = dim;
        shape[1 + ndim + d] = lb;
    }
    b->shapes_len += 1 + 2 * ndim;
    const unsigned char *q = p + 12 + 8 * ndim, *end = p + len;
    for (int64_t k = 0; k < total; k++) {
        if (end - q < 4)
            return malformed(b->oid, "array");
        int32_t elen = (int32_t)get_be(q, 4);
        q += 4;
        if (elen < -1 || (elen > 0 && end - q < elen))
            return malformed(b->oid, "array");
        pp_error *e = add_value(b->elems, (const char *)q, elen < 0 ? 0 : elen, elen < 0);
        if (e != NULL)
            return e;
        if (elen > 0)
            q += elen;
    }
    if (q != end)
        return malformed(b->oid, "array");
    b->elem_offsets[row + 1] = b->elems->count;
    return NULL;
}

/* inet/cidr as the server's text output writes them (PostgreSQL's inet_net_ntop): IPv4 as
 * four octets, IPv6 with the first longest run of two or more zero words as "::" and an
 * embedded IPv4 address where the server shows one; "/bits" unless it covers the whole
 * address (always for cidr). */
static pp_error *add_inet(pp_colbuf *b, const unsigned char *p, int64_t len)
{
    if (len < 4 || (p[0] != 2 && p[0] != 3) || p[3] != (p[0] == 2 ? 4 : 16) || len != 4 + p[3] ||
        p[1] > (p[0] == 2 ? 32 : 128))
        return malformed(b->oid, "inet");
    const unsigned char *a = p + 4;
    unsigned bits = p[1], maxbits = p[0] == 2 ? 32 : 128;
    char out[64];
    int n = 0;
    if (p[0] == 2) {
        n = snprintf(out, sizeof out, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    } else {
        unsigned words[8];
        for (int k = 0; k < 8; k++)
            words[k] = (unsigned)a[2 * k] << 8 | a[2 * k + 1];
        int best = -1, best_len = 0, cur = -1, cur_len = 0;
        for (int k = 0; k < 8; k++) {
            if (words[k] == 0) {
                if (cur < 0) {
                    cur = k;
                    cur_len = 1;
                } else {
                    cur_len++;
                }
                if (cur_len > best_len) {
                    best = cur;
                    best_len = cur_len;
                }
            } else {
                cur = -1;
            }
        }
        if (best_len < 2)
            best = -1;
        for (int k = 0; k < 8; k++) {
            if (best >= 0 && k >= best && k < best + best_len) {
                if (k == best)
                    out[n++] = ':';
                continue;
            }
            if (k != 0)
                out[n++] = ':';
            if (k == 6 && best == 0 &&
                (best_len == 6 || (best_len == 7 && words[7] != 1) ||
                 (best_len == 5 && words[5] == 0xffff))) {
                n += snprintf(out + n, sizeof out - (size_t)n, "%u.%u.%u.%u", a[12], a[13],
                              a[14], a[15]);
                break;
            }
            n += snprintf(out + n, sizeof out - (size_t)n, "%x", words[k]);
        }
        if (best >= 0 && best + best_len == 8)
            out[n++] = ':';
        out[n] = '\0';
    }
    if (bits != maxbits || b->oid == OID_CIDR)
        n += snprintf(out + n, sizeof out - (size_t)n, "/%u", bits);
    return append_data(b, out, n, true) ? NULL : pp__error_oom();
}

static pp_error *add_macaddr(pp_colbuf *b, const unsigned char *p, int64_t len)
{
    if (len != (b->oid == OID_MACADDR ? 6 : 8))
        return malformed(b->oid, "macaddr");
    char out[32];
    int n = 0;
    for (int64_t k = 0; k < len; k++)
        n += snprintf(out + n, sizeof out - (size_t)n, k ? ":%02x" : "%02x", p[k]);
    return append_data(b, out, n, true) ? NULL : pp__error_oom();
}

static inline uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* The size of a binary value of the types add_fixed, add_common and ints_run decode as a
 * signed big-endian integer (be_int): 2, 4 or 8; 0 for any other type. */
static inline int int_size(uint32_t oid)
{
    switch (oid) {
    case OID_INT4: case OID_DATE: return 4;
    case OID_INT8: case OID_TIMESTAMP: case OID_TIMESTAMPTZ: case OID_TIME: return 8;
    case OID_INT2: return 2;
    default: return 0;
    }
}

/* The signed big-endian integer of `size` (int_size) bytes at p. */
static inline int64_t be_int(const unsigned char *p, int size)
{
    return size == 8 ? (int64_t)be64(p) : size == 4 ? (int64_t)(int32_t)be32(p)
                                                    : (int16_t)((uint16_t)p[0] << 8 | p[1]);
}

/* The name add_fixed's error gives a malformed value of a type int_size knows. */
static const char *int_name(uint32_t oid)
{
    switch (oid) {
    case OID_INT2: return "int2";
    case OID_INT4: return "int4";
    case OID_DATE: return "date";
    default: return "8-byte"; /* int8, time, timestamp, timestamptz */
    }
}

/* A binary value of a fixed-size type (numbers, booleans, dates and times) into the column's
 * arrays; NULL, or the error for a value of the wrong size. Integers as add_common and
 * ints_run decode them (int_size, be_int). */
static pp_error *add_fixed(pp_colbuf *b, const unsigned char *p, int64_t len)
{
    int64_t k = b->count;
    int size = int_size(b->oid);
    if (size != 0) {
        if (len != size)
            return malformed(b->oid, int_name(b->oid));
        b->ints[k] = be_int(p, size);
        return NULL;
    }
    switch (b->oid) {
    case OID_BOOL:
        if (len != 1)
            return malformed(b->oid, "bool");
        b->ints[k] = p[0] != 0;
        return NULL;
    case OID_OID:
        if (len != 4)
            return malformed(b->oid, "oid");
        b->ints[k] = (int64_t)be32(p);
        return NULL;
    case OID_FLOAT4: {
        if (len != 4)
            return malformed(b->oid, "float4");
        uint32_t u = be32(p);
        float f;
        memcpy(&f, &u, 4);
        b->floats[k] = f;
        return NULL;
    }
    case OID_FLOAT8: {
        if (len != 8)
            return malformed(b->oid, "float8");
        uint64_t u = be64(p);
        memcpy(&b->floats[k], &u, 8);
        return NULL;
    }
    case OID_TIMETZ:
        if (len != 12)
            return malformed(b->oid, "timetz");
        b->ints[k] = (int64_t)be64(p);
        b->ints2[k] = -(int64_t)(int32_t)be32(p + 8);
        b->ints3[k] = 0;
        return NULL;
    case OID_INTERVAL:
        if (len != 16)
            return malformed(b->oid, "interval");
        b->ints[k] = (int64_t)be64(p);
        b->ints2[k] = (int32_t)be32(p + 8);
        b->ints3[k] = (int32_t)be32(p + 12);
        return NULL;
    default: /* not reached: add_binary sends only these types */
        return malformed(b->oid, "fixed-size");
    }
}

/* A binary-format value: checked against its type's wire form and appended. */
static pp_error *add_binary(pp_colbuf *b, const char *v, int64_t len)
{
    const unsigned char *p = (const unsigned char *)v;
    switch (b->oid) {
    case OID_BOOL: case OID_INT2: case OID_INT4: case OID_OID: case OID_INT8: case OID_TIME:
    case OID_TIMESTAMP: case OID_TIMESTAMPTZ: case OID_DATE: case OID_FLOAT4: case OID_FLOAT8:
    case OID_TIMETZ: case OID_INTERVAL:
        return add_fixed(b, p, len);
    case OID_UUID:
        if (len != 16)
            return malformed(b->oid, "uuid");
        return append_data(b, v, 16, false) ? NULL : pp__error_oom();
    case OID_BYTEA:
        return append_data(b, v, len, false) ? NULL : pp__error_oom();
    case OID_NUMERIC:
        return numeric_to_text(b, p, len);
    case OID_INET: case OID_CIDR:
        return add_inet(b, p, len);
    case OID_MACADDR: case OID_MACADDR8:
        return add_macaddr(b, p, len);
    case OID_CHAR: { /* one byte, shown as the server's text output does */
        if (len > 1)
            return malformed(b->oid, "\"char\"");
        char out[5] = "";
        if (len == 1 && p[0] >= 128)
            snprintf(out, sizeof out, "\\%03o", p[0]);
        else if (len == 1 && p[0] != 0)
            out[0] = (char)p[0];
        return append_data(b, out, (int64_t)strlen(out), true) ? NULL : pp__error_oom();
    }
    case OID_JSONB:
        if (len < 1 || p[0] != 1)
            return malformed(b->oid, "jsonb");
        v++;
        len--;
        /* fallthrough */
    default: /* text-like */
        if (memchr(v, '\0', (size_t)len) != NULL)
            return malformed(b->oid, "text");
        return append_data(b, v, len, true) ? NULL : pp__error_oom();
    }
}

/* A text-format value: PostgreSQL text never holds a NUL byte, so one means a hostile or
 * broken server (it would also cut the value short for strtoll and break the NUL-separated
 * layout of text columns). Numbers must use the whole value; v[len] is NUL (libpq ends every
 * value with one). */
static pp_error *add_text(pp_colbuf *b, const char *v, int64_t len)
{
    int64_t k = b->count;
    if (len > 0 && memchr(v, '\0', (size_t)len) != NULL)
        return malformed(b->oid, "text");
    switch (b->tag) {
    case PP_BOOL:
        if (len != 1 || (v[0] != 't' && v[0] != 'f'))
            return malformed(b->oid, "bool text");
        b->ints[k] = v[0] == 't';
        return NULL;
    case PP_INT: {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno != 0 || len == 0 || end != v + len)
            return malformed(b->oid, "integer text");
        b->ints[k] = n;
        return NULL;
    }
    case PP_FLOAT: {
        char *end;
        double f = strtod(v, &end);
        if (len == 0 || end != v + len)
            return malformed(b->oid, "float text");
        b->floats[k] = f;
        return NULL;
    }
    default:
        return append_data(b, v, len, true) ? NULL : pp__error_oom();
    }
}

static pp_error *add_value(pp_colbuf *b, const char *v, int64_t len, bool is_null)
{
    if (!reserve_value(b, b->count + 1))
        return pp__error_oom();
    int64_t k = b->count;
    b->nulls[k] = is_null;
    if (is_null) {
        b->any_null = true;
        switch (b->tag) {
        case PP_FLOAT: b->floats[k] = 0; break;
        case PP_TIMETZ: case PP_INTERVAL: b->ints2[k] = b->ints3[k] = 0; /* fallthrough */
        case PP_BOOL: case PP_INT: case PP_DATE: case PP_TIME: case PP_TIMESTAMP:
        case PP_TIMESTAMPTZ: b->ints[k] = 0; break;
        case PP_TEXT: case PP_NUMERIC: case PP_JSON:
            if (!append_data(b, "", 0, true))
                return pp__error_oom();
            break;
        case PP_ARRAY:
            b->shape_offsets[k] = b->shapes_len;
            if (b->shapes_len + 1 > b->shapes_cap) {
                int64_t cap = b->shapes_cap ? b->shapes_cap * 2 : 64;
                if (!grow((void **)&b->shapes, 4, cap))
                    return pp__error_oom();
                b->shapes_cap = cap;
            }
            b->shapes[b->shapes_len++] = 0;
            b->elem_offsets[k + 1] = b->elems->count;
            break;
        default: break;
        }
    } else {
        pp_error *e = b->tag == PP_ARRAY ? add_array(b, (const unsigned char *)v, len)
                      : b->binary        ? add_binary(b, v, len)
                                         : add_text(b, v, len);
        if (e != NULL)
            return e;
    }
    b->count++;
    if (b->offsets != NULL)
        b->offsets[b->count] = b->data_len;
    return NULL;
}

pp_colbuf *pp__colbuf_begin(uint32_t oid, bool binary, int64_t nrows, pp_error **err)
{
    uint32_t elem = binary ? array_element_oid(oid) : 0;
    int32_t tag = elem ? PP_ARRAY : binary ? binary_tag(oid) : text_tag(oid);
    if (tag == PP_NULL) {
        pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "no binary decoder for OID %u", oid));
        return NULL;
    }
    pp_colbuf *b = colbuf_new(tag, oid, binary);
    if (b == NULL || !reserve_value(b, nrows > 0 ? nrows : 1) ||
        (elem && (b->elems = colbuf_new(binary_tag(elem), elem, true)) == NULL) ||
        (elem && !reserve_value(b->elems, 1))) {
        pp__colbuf_free(b);
        pp__fail(err, pp__error_oom());
        return NULL;
    }
    return b;
}

/* The commonest values (binary, not NULL: len > 0) appended without add_value's general
 * path: a quarter of the C time of a narrow integer result went to it. false when the
 * value needs that path (another type, a wrong size, no room reserved, a NUL in text). */
static inline bool add_common(pp_colbuf *b, const char *v, int len)
{
    int64_t k = b->count;
    const unsigned char *p = (const unsigned char *)v;
    if (k >= b->cap || !b->binary)
        return false;
    switch (b->oid) {
    case OID_FLOAT8: {
        if (len != 8)
            return false;
        uint64_t u = be64(p);
        memcpy(&b->floats[k], &u, 8);
        break;
    }
    case OID_TEXT: case OID_VARCHAR: case OID_BPCHAR:
        if (b->data_len + len + 1 > b->data_cap || memchr(v, '\0', (size_t)len) != NULL)
            return false;
        memcpy(b->data + b->data_len, v, (size_t)len);
        b->data_len += len;
        b->data[b->data_len++] = '\0';
        b->offsets[k + 1] = b->data_len;
        break;
    default: {
        int size = int_size(b->oid);
        if (size == 0 || len != size)
            return false;
        b->ints[k] = be_int(p, size);
        break;
    }
    }
    b->nulls[k] = 0;
    b->count = k + 1;
    return true;
}

int64_t pp__colbuf_bytes(const pp_colbuf *b)
{
    if (b == NULL)
        return 0;
    int64_t arrays = (b->offsets != NULL) + (b->ints != NULL) + (b->ints2 != NULL) +
                     (b->ints3 != NULL) + (b->floats != NULL) + (b->elem_offsets != NULL) +
                     (b->shape_offsets != NULL);
    return b->cap * (1 + 8 * arrays) + b->data_cap + 4 * b->shapes_cap +
           pp__colbuf_bytes(b->elems);
}

/* Empties b for another result's values; its arrays stay allocated. */
static void colbuf_empty(pp_colbuf *b)
{
    b->count = 0;
    b->any_null = false;
    b->data_len = 0;
    b->shapes_len = 0;
    if (b->offsets != NULL)
        b->offsets[0] = 0;
    if (b->elem_offsets != NULL)
        b->elem_offsets[0] = 0;
    if (b->elems != NULL)
        colbuf_empty(b->elems);
}

pp_colbuf *pp__colbuf_reuse(pp_colbuf *spare, uint32_t oid, bool binary, int64_t nrows,
                            pp_error **err)
{
    /* a spare much bigger than needed would keep its memory for a small result: freed */
    if (spare != NULL && spare->oid == oid && spare->binary == binary &&
        spare->cap <= 4 * nrows + 256) {
        colbuf_empty(spare);
        if (reserve_value(spare, nrows > 0 ? nrows : 1))
            return spare;
    }
    pp__colbuf_free(spare);
    return pp__colbuf_begin(oid, binary, nrows, err);
}

pp_error *pp__colbuf_add(pp_colbuf *b, const char *v, int64_t len, bool is_null)
{
    if (!is_null && len > 0 && len <= INT32_MAX && add_common(b, v, (int)len))
        return NULL;
    return add_value(b, v, len, is_null);
}

/* The fixed-size integer values (binary, not NULL, of `size` bytes) of rows row … end-1 of
 * column col appended to b, up to the first value that is not one (or no room is
 * reserved); returns the row it stopped at. add_common's work for each of a column's rows in
 * a loop whose state stays in registers (add_common reloads b's fields after each store):
 * 1 000 rows x 1 int4 column, about 105 -> 22 instructions a value besides libpq's. */
static inline int ints_run(pp_colbuf *b, const PGresult *r, int col, int row, int end, int size)
{
    int64_t k = b->count, room = b->cap - k;
    int64_t *ints = b->ints;
    uint8_t *nulls = b->nulls;
    if (room < end - row)
        end = row + (int)room;
    for (; row < end; row++, k++) {
        if (PQgetlength(r, row, col) != size)
            break;
        ints[k] = be_int((const unsigned char *)PQgetvalue(r, row, col), size);
        nulls[k] = 0;
    }
    b->count = k;
    return row;
}

/* ints_run with a loop of its own for each size (be_int has no choice to make in it); a
 * function of its own, called once for a run of rows, so that text_run's loop in
 * decode_rows keeps its registers (a text column's decode took 2 % more instructions). */
__attribute__((noinline)) static int ints_run_sized(pp_colbuf *b, const PGresult *r, int col,
                                                   int row, int end, int size)
{
    switch (size) {
    case 4: return ints_run(b, r, col, row, end, 4);
    case 8: return ints_run(b, r, col, row, end, 8);
    default: return ints_run(b, r, col, row, end, 2);
    }
}

/* Whether one of the bytes of w is 0. */
static inline bool has_zero64(uint64_t w)
{
    return ((w - 0x0101010101010101u) & ~w & 0x8080808080808080u) != 0;
}

static inline bool has_zero32(uint32_t w)
{
    return ((w - 0x01010101u) & ~w & 0x80808080u) != 0;
}

/* Copies the len (> 0) bytes of a text value to dst a word at a time (the last word
 * overlapping the one before), never reading past them; false when they hold a NUL (which
 * text cannot: the general path takes it). A long value: memchr and memcpy. */
static inline bool copy_text(char *dst, const char *src, int len)
{
    if (len > 64) {
        if (memchr(src, '\0', (size_t)len) != NULL)
            return false;
        memcpy(dst, src, (size_t)len);
        return true;
    }
    if (len >= 8) {
        uint64_t w;
        for (int i = 0; i + 8 < len; i += 8) {
            memcpy(&w, src + i, 8);
            if (has_zero64(w))
                return false;
            memcpy(dst + i, &w, 8);
        }
        memcpy(&w, src + len - 8, 8);
        if (has_zero64(w))
            return false;
        memcpy(dst + len - 8, &w, 8);
        return true;
    }
    if (len >= 4) {
        uint32_t head, tail;
        memcpy(&head, src, 4);
        memcpy(&tail, src + len - 4, 4);
        if (has_zero32(head) || has_zero32(tail))
            return false;
        memcpy(dst, &head, 4);
        memcpy(dst + len - 4, &tail, 4);
        return true;
    }
    for (int i = 0; i < len; i++) {
        if (src[i] == '\0')
            return false;
        dst[i] = src[i];
    }
    return true;
}

/* ints_run for text values (binary, not NULL, not empty, without NUL) while they fit in
 * b's data: each copied with its NUL, as add_common does. */
static int text_run(pp_colbuf *b, const PGresult *r, int col, int row, int end)
{
    int64_t k = b->count, room = b->cap - k, len_sum = b->data_len, cap = b->data_cap;
    char *data = b->data;
    int64_t *offsets = b->offsets;
    uint8_t *nulls = b->nulls;
    if (room < end - row)
        end = row + (int)room;
    for (; row < end; row++, k++) {
        int len = PQgetlength(r, row, col);
        if (len <= 0 || len >= cap - len_sum ||
            !copy_text(data + len_sum, PQgetvalue(r, row, col), len))
            break;
        len_sum += len;
        data[len_sum++] = '\0';
        offsets[k + 1] = len_sum;
        nulls[k] = 0;
    }
    b->count = k;
    b->data_len = len_sum;
    return row;
}

/* Which loop of its own (fast_run) decodes b's values: RUN_TEXT (text_run), 2, 4 or 8
 * (ints_run of that size), 0 none (the values go one at a time). */
#define RUN_TEXT 1
static inline int run_kind(const pp_colbuf *b)
{
    uint32_t oid = b->oid;
    if (!b->binary)
        return 0;
    if (oid == OID_TEXT || oid == OID_VARCHAR || oid == OID_BPCHAR)
        return RUN_TEXT;
    return int_size(oid);
}

/* The run of rows from row (< end) that the loop of `kind` (run_kind, not 0) decodes;
 * returns the row it stopped at (row itself: none). */
static int fast_run(pp_colbuf *b, const PGresult *r, int col, int row, int end, int kind)
{
    return kind == RUN_TEXT ? text_run(b, r, col, row, end)
                            : ints_run_sized(b, r, col, row, end, kind);
}

/* Rows row … end-1 of column col of r appended to b (which holds the rows before). */
static pp_error *decode_rows(pp_colbuf *b, const PGresult *r, int col, int row, int end)
{
    int kind = run_kind(b); /* once: a kind without a loop goes a value at a time */
    while (row < end) {
        if (kind != 0 && (row = fast_run(b, r, col, row, end, kind)) == end)
            break;
        int len = PQgetlength(r, row, col); /* 0 for a NULL */
        const char *v = PQgetvalue(r, row, col);
        if (!(len > 0 && add_common(b, v, len))) {
            pp_error *e = add_value(b, v, len, PQgetisnull(r, row, col));
            if (e != NULL)
                return e;
        }
        row++;
    }
    return NULL;
}

pp_colbuf *pp__decode_column(const PGresult *r, int32_t col, bool binary, pp_error **err)
{
    int64_t nrows = PQntuples(r);
    pp_colbuf *b = pp__colbuf_begin(PQftype(r, col), binary, nrows, err);
    if (b == NULL)
        return NULL;
    pp_error *e = decode_rows(b, r, col, 0, (int)nrows);
    if (e != NULL) {
        pp__colbuf_free(b);
        pp__fail(err, e);
        return NULL;
    }
    return b;
}

/* pp__decode_columns decodes this many rows of each column in turn: column by column the
 * loops of fast_run stay short of state, and a block's part of the PGresult stays in the
 * cache while its columns are read. */
#define DECODE_BLOCK_ROWS 256

int pp__decode_columns(const PGresult *r, bool binary, pp_colbuf **cols, pp_colbuf **spares,
                       int32_t nspares, pp_error **err)
{
    int nrows = PQntuples(r), ncols = PQnfields(r);
    for (int k = 0; k < ncols; k++) {
        pp_colbuf *spare = NULL;
        if (k < nspares) {
            spare = spares[k];
            spares[k] = NULL;
        }
        if ((cols[k] = pp__colbuf_reuse(spare, PQftype(r, k), binary, nrows, err)) == NULL)
            goto fail;
    }
    for (int row = 0; row < nrows; row += DECODE_BLOCK_ROWS) {
        int end = nrows - row < DECODE_BLOCK_ROWS ? nrows : row + DECODE_BLOCK_ROWS;
        for (int k = 0; k < ncols; k++) {
            pp_error *e = decode_rows(cols[k], r, k, row, end);
            if (e != NULL) {
                pp__fail(err, e);
                goto fail;
            }
        }
    }
    return PP_OK;
fail:
    for (int k = 0; k < ncols; k++) {
        pp__colbuf_free(cols[k]);
        cols[k] = NULL;
    }
    return PP_ERROR;
}

/* Fills out from b; for arrays, out->elements points into b. */
void pp__colbuf_export(const pp_colbuf *b, pp_column *out)
{
    memset(out, 0, sizeof *out);
    out->tag = b->tag;
    out->oid = b->oid;
    out->count = b->count;
    out->nulls = b->any_null ? b->nulls : NULL;
    out->ints = b->ints;
    out->ints2 = b->ints2;
    out->ints3 = b->ints3;
    out->floats = b->floats;
    out->data = b->data != NULL ? b->data : "";
    out->data_len = b->data_len;
    out->offsets = b->offsets;
    if (b->tag == PP_ARRAY) {
        pp_colbuf *mb = (pp_colbuf *)b;
        pp__colbuf_export(b->elems, &mb->exported_elems);
        out->elements = &b->exported_elems;
        out->elem_offsets = b->elem_offsets;
        out->shapes = b->shapes;
        out->shape_offsets = b->shape_offsets;
    }
}
