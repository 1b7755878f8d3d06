/* SPDX-License-Identifier: MIT */
/* encode.c — turning tagged parameter values into what the server expects for each
 * parameter's type: binary where the type is known, text for the server to parse otherwise. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USECS_PER_DAY 86400000000LL

const char *pp__tag_name(int32_t tag)
{
    static const char *const names[] = {
        "PP_NULL", "PP_BOOL", "PP_INT", "PP_FLOAT", "PP_TEXT", "PP_BYTES", "PP_NUMERIC",
        "PP_DATE", "PP_TIME", "PP_TIMETZ", "PP_TIMESTAMP", "PP_TIMESTAMPTZ", "PP_INTERVAL",
        "PP_UUID", "PP_JSON", "PP_ARRAY",
    };
    return tag >= 0 && tag < (int32_t)(sizeof names / sizeof names[0]) ? names[tag]
                                                                         : "an unknown tag";
}

const char *pp__type_name(uint32_t oid)
{
    switch (oid) {
    case OID_BOOL: return "boolean";
    case OID_BYTEA: return "bytea";
    case OID_CHAR: return "\"char\"";
    case OID_NAME: return "name";
    case OID_INT8: return "bigint";
    case OID_INT2: return "smallint";
    case OID_INT4: return "integer";
    case OID_TEXT: return "text";
    case OID_OID: return "oid";
    case OID_JSON: return "json";
    case OID_XML: return "xml";
    case OID_FLOAT4: return "real";
    case OID_FLOAT8: return "double precision";
    case OID_UNKNOWN: return "unknown";
    case OID_BPCHAR: return "character";
    case OID_VARCHAR: return "character varying";
    case OID_DATE: return "date";
    case OID_TIME: return "time without time zone";
    case OID_TIMESTAMP: return "timestamp without time zone";
    case OID_TIMESTAMPTZ: return "timestamp with time zone";
    case OID_INTERVAL: return "interval";
    case OID_TIMETZ: return "time with time zone";
    case OID_NUMERIC: return "numeric";
    case OID_UUID: return "uuid";
    case OID_JSONB: return "jsonb";
    default: return NULL;
    }
}

uint32_t pp__oid_for_value(const pp_value *v)
{
    if (v->oid != 0)
        return v->oid;
    static const uint32_t by_tag[] = {
        0 /* NULL: left to the server (stmt.c) */, OID_BOOL, OID_INT8, OID_FLOAT8, OID_TEXT,
        OID_BYTEA, OID_NUMERIC, OID_DATE, OID_TIME, OID_TIMETZ, OID_TIMESTAMP, OID_TIMESTAMPTZ, OID_INTERVAL, OID_UUID,
        OID_JSONB, 0,
    };
    return v->tag >= 0 && v->tag < (int32_t)(sizeof by_tag / sizeof by_tag[0]) ? by_tag[v->tag]
                                                                               : 0;
}

/* Howard Hinnant's civil-from-days, shifted to PostgreSQL's 2000-01-01 epoch. */
void pp__days_to_ymd(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 10957 + 719468; /* days since 0000-03-01 */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static void put_be(char *p, uint64_t v, int bytes)
{
    for (int k = bytes - 1; k >= 0; k--) {
        p[k] = (char)(v & 0xff);
        v >>= 8;
    }
}

/* Shortest text that reads back as exactly f. */
static int format_double(char *buf, size_t size, double f)
{
    if (isnan(f))
        return snprintf(buf, size, "NaN");
    if (isinf(f))
        return snprintf(buf, size, f > 0 ? "Infinity" : "-Infinity");
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(buf, size, "%.*g", prec, f);
        if (prec == 17 || strtod(buf, NULL) == f)
            return n;
    }
    return 0;
}

static int format_date(char *buf, size_t size, int64_t days)
{
    if (days == INT32_MAX)
        return snprintf(buf, size, "infinity");
    if (days == INT32_MIN)
        return snprintf(buf, size, "-infinity");
    int64_t y;
    int m, d;
    pp__days_to_ymd(days, &y, &m, &d);
    if (y <= 0)
        return snprintf(buf, size, "%04lld-%02d-%02d BC", (long long)(1 - y), m, d);
    return snprintf(buf, size, "%04lld-%02d-%02d", (long long)y, m, d);
}

static int format_time(char *buf, size_t size, int64_t usec)
{
    return snprintf(buf, size, "%02lld:%02lld:%02lld.%06lld", (long long)(usec / 3600000000LL),
                    (long long)(usec / 60000000LL % 60), (long long)(usec / 1000000LL % 60),
                    (long long)(usec % 1000000LL));
}

static int format_timestamp(char *buf, size_t size, int64_t usec, bool utc)
{
    if (usec == INT64_MAX)
        return snprintf(buf, size, "infinity");
    if (usec == INT64_MIN)
        return snprintf(buf, size, "-infinity");
    int64_t days = usec / USECS_PER_DAY, rem = usec % USECS_PER_DAY;
    if (rem < 0) {
        rem += USECS_PER_DAY;
        days--;
    }
    int64_t y;
    int m, d;
    pp__days_to_ymd(days, &y, &m, &d);
    char t[32];
    format_time(t, sizeof t, rem);
    return snprintf(buf, size, "%04lld-%02d-%02d %s%s%s", (long long)(y <= 0 ? 1 - y : y), m, d,
                    t, utc ? "+00" : "", y <= 0 ? " BC" : "");
}

/* Writes the text form of a fixed-size value (not TEXT/BYTES/…); returns its length. */
static int format_fixed(char *buf, size_t size, const pp_value *v)
{
    switch (v->tag) {
    case PP_BOOL: return snprintf(buf, size, "%s", v->i ? "t" : "f");
    case PP_INT: return snprintf(buf, size, "%lld", (long long)v->i);
    case PP_FLOAT: return format_double(buf, size, v->f);
    case PP_DATE: return format_date(buf, size, v->i);
    case PP_TIME: return format_time(buf, size, v->i);
    case PP_TIMETZ: {
        int n = format_time(buf, size, v->i);
        int64_t off = v->i2 < 0 ? -v->i2 : v->i2;
        return n + snprintf(buf + n, size - (size_t)n, "%c%02lld:%02lld:%02lld",
                            v->i2 < 0 ? '-' : '+', (long long)(off / 3600),
                            (long long)(off / 60 % 60), (long long)(off % 60));
    }
    case PP_TIMESTAMP: return format_timestamp(buf, size, v->i, false);
    case PP_TIMESTAMPTZ: return format_timestamp(buf, size, v->i, true);
    case PP_INTERVAL:
        return snprintf(buf, size, "%lld months %lld days %lld microseconds", (long long)v->i3,
                        (long long)v->i2, (long long)v->i);
    case PP_UUID: {
        const unsigned char *u = (const unsigned char *)v->ptr;
        int n = 0;
        for (int k = 0; k < 16; k++)
            n += snprintf(buf + n, size - (size_t)n, "%s%02x",
                          (k == 4 || k == 6 || k == 8 || k == 10) ? "-" : "", u[k]);
        return n;
    }
    default: return 0;
    }
}


static bool is_textual(uint32_t oid)
{
    return oid == OID_TEXT || oid == OID_VARCHAR || oid == OID_BPCHAR || oid == OID_NAME ||
           oid == OID_UNKNOWN;
}

/* How one parameter travels. */
enum how { H_NULL, H_CALLER_BINARY, H_SCRATCH_BINARY, H_SCRATCH_TEXT };

/* Messages name the parameter (from 1), the value's tag and the type's SQL name. */
static int refuse(pp_error **err, int32_t idx, const pp_value *v, uint32_t oid, const char *why)
{
    char buf[64];
    const char *tn = pp__type_label(oid, buf, sizeof buf);
    if (!why[0] && is_textual(oid))
        why = "the server typed the placeholder as text: cast it (e.g. $1::int8) or send it "
              "as PP_TEXT for the server to parse";
    return pp__fail(err, pp__error_new(PP_ERR_PROGRAMMING, "42804",
                                       "parameter $%d: cannot send %s as %s%s%s",
                                       idx + 1, pp__tag_name(v->tag), tn, why[0] ? ": " : "",
                                       why));
}

static int out_of_range(pp_error **err, int32_t idx, const pp_value *v, uint32_t oid)
{
    return pp__fail(err, pp__error_new(PP_ERR_DATA, "22003",
                                       "parameter $%d: %s value %lld is out of range for %s",
                                       idx + 1, pp__tag_name(v->tag), (long long)v->i,
                                       pp_type_name(oid)));
}

/* A decimal (PP_NUMERIC text) for an integer or float type: an integer type takes only an
 * integer in range; a float type only integers it can hold exactly (decimal fractions are
 * rounded by the server's own input, as for any float). */
static int check_decimal(const pp_value *v, uint32_t oid, int32_t idx, pp_error **err)
{
    bool int_type = oid == OID_INT2 || oid == OID_INT4 || oid == OID_INT8 || oid == OID_OID;
    bool float_type = oid == OID_FLOAT4 || oid == OID_FLOAT8;
    if (!int_type && !float_type)
        return PP_OK;
    const char *p = v->ptr != NULL ? v->ptr : "";
    int64_t n = v->len, k = 0;
    if (k < n && (p[k] == '-' || p[k] == '+'))
        k++;
    bool integer = k < n;
    for (int64_t j = k; j < n; j++)
        integer = integer && p[j] >= '0' && p[j] <= '9';
    if (!integer) {
        if (float_type)
            return PP_OK;
        return pp__fail(err, pp__error_new(PP_ERR_DATA, "22P02",
                                           "parameter $%d: PP_NUMERIC %.*s is not an integer, "
                                           "which %s needs", idx + 1, (int)(n > 40 ? 40 : n), p,
                                           pp__type_name(oid)));
    }
    while (k < n - 1 && p[k] == '0')
        k++; /* leading zeros do not make a number bigger */
    int64_t digits = n - k;
    char buf[24];
    long long value = 0;
    bool fits = digits <= 18;
    if (fits) { /* sign and significant digits only: at most 20 bytes */
        int at = 0;
        if (p[0] == '-')
            buf[at++] = '-';
        memcpy(buf + at, p + k, (size_t)digits);
        buf[at + digits] = '\0';
        value = strtoll(buf, NULL, 10);
    }
    long long limit = oid == OID_INT2 ? INT16_MAX : oid == OID_INT4 ? INT32_MAX
                      : oid == OID_OID ? (long long)UINT32_MAX : oid == OID_FLOAT4 ? (1LL << 24)
                      : oid == OID_FLOAT8 ? (1LL << 53) : INT64_MAX;
    long long low = oid == OID_INT2 ? INT16_MIN : oid == OID_INT4 ? INT32_MIN
                    : oid == OID_OID ? 0 : -limit;
    if (oid == OID_INT8 && digits == 19) { /* int64's own range, compared as text */
        bool neg = p[0] == '-';
        fits = strncmp(p + k, neg ? "9223372036854775808" : "9223372036854775807", 19) <= 0;
        if (fits)
            return PP_OK;
    }
    if (fits && value >= low && value <= limit)
        return PP_OK;
    if (float_type)
        return pp__fail(err, pp__error_new(PP_ERR_DATA, "22003",
                                           "parameter $%d: %.*s cannot be held exactly by %s",
                                           idx + 1, (int)(n > 40 ? 40 : n), p,
                                           pp__type_name(oid)));
    return pp__fail(err, pp__error_new(PP_ERR_DATA, "22003",
                                       "parameter $%d: PP_NUMERIC value %.*s is out of range for %s",
                                       idx + 1, (int)(n > 40 ? 40 : n), p, pp__type_name(oid)));
}

/* The largest time zone offset PostgreSQL accepts (TZDISP_LIMIT): 15:59:59 either way. */
#define MAX_TZ_OFFSET (15 * 3600 + 59 * 60 + 59)

int pp__check_value_range(const pp_value *v, int32_t idx, pp_error **err)
{
    if (v->tag == PP_DATE && (v->i < INT32_MIN || v->i > INT32_MAX))
        return pp__fail(err, pp__error_new(PP_ERR_DATA, "22008", "parameter $%d: date %lld "
                                           "days from 2000-01-01 is out of range",
                                           idx + 1, (long long)v->i));
    if (v->tag == PP_TIMETZ && (v->i2 < -MAX_TZ_OFFSET || v->i2 > MAX_TZ_OFFSET))
        return pp__fail(err, pp__error_new(PP_ERR_DATA, "22009", "parameter $%d: time zone "
                                           "offset %lld s is out of range (at most 15:59:59 "
                                           "either way)", idx + 1, (long long)v->i2));
    return PP_OK;
}

/* What every non-NULL value passes first: a sane length, fields in the ranges PostgreSQL
 * stores, no NUL byte in text the server parses. */
static int check_value(const pp_value *v, int32_t idx, pp_error **err)
{
    if (v->len < 0 || (v->len > 0 && v->ptr == NULL) || v->len > 0x3fffffff)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "", "parameter $%d: bad length",
                                           idx + 1));
    if (pp__check_value_range(v, idx, err) != PP_OK)
        return PP_ERROR;
    switch (v->tag) {
    case PP_TEXT: case PP_NUMERIC: case PP_JSON: case PP_ARRAY:
        if (v->len > 0 && memchr(v->ptr, '\0', (size_t)v->len) != NULL)
            return pp__fail(err, pp__error_new(PP_ERR_DATA, "22021",
                                               "parameter $%d: text contains a NUL byte, which "
                                               "PostgreSQL text cannot hold", idx + 1));
        break;
    default: break;
    }
    return PP_OK;
}

/* plan for the variable-length tags (text, numeric text, JSON, array text, bytes): sent
 * from the caller's bytes, or built in scratch. `known`: oid is a type the library knows. */
static int plan_variable(const pp_value *v, uint32_t oid, int32_t idx, bool known,
                         enum how *how, size_t *bytes, pp_error **err)
{
    *how = H_SCRATCH_BINARY;
    switch (v->tag) {
    case PP_TEXT:
        if (is_textual(oid) || oid == OID_JSON) {
            *how = H_CALLER_BINARY;
        } else if (oid == OID_JSONB) {
            *bytes = (size_t)v->len + 1;
        } else {
            *how = H_SCRATCH_TEXT;
            *bytes = (size_t)v->len + 1;
        }
        return PP_OK;
    case PP_NUMERIC:
        if (known && oid != OID_NUMERIC && oid != OID_FLOAT4 && oid != OID_FLOAT8 &&
            oid != OID_INT2 && oid != OID_INT4 && oid != OID_INT8 && oid != OID_OID)
            return refuse(err, idx, v, oid, "");
        if (check_decimal(v, oid, idx, err) != PP_OK)
            return PP_ERROR;
        *how = H_SCRATCH_TEXT;
        *bytes = (size_t)v->len + 1;
        return PP_OK;
    case PP_JSON:
        if (oid == OID_JSON) {
            *how = H_CALLER_BINARY;
        } else if (oid == OID_JSONB) {
            *bytes = (size_t)v->len + 1;
        } else if (known) {
            return refuse(err, idx, v, oid, "");
        } else {
            *how = H_SCRATCH_TEXT;
            *bytes = (size_t)v->len + 1;
        }
        return PP_OK;
    case PP_ARRAY:
        if ((v->oid == 1185 && oid == 1115) || (v->oid == 1270 && oid == 1183))
            return refuse(err, idx, v, oid, "its PP_TIMESTAMPTZ elements would lose their UTC "
                                            "offset; send PP_TIMESTAMP elements");
        if (oid == OID_JSON || oid == OID_JSONB)
            return refuse(err, idx, v, oid, "send JSON as PP_JSON");
        if (known)
            return refuse(err, idx, v, oid, "");
        *how = H_SCRATCH_TEXT;
        *bytes = (size_t)v->len + 1;
        return PP_OK;
    case PP_BYTES:
        if (oid == OID_BYTEA) {
            *how = H_CALLER_BINARY;
            return PP_OK;
        }
        if (known)
            return refuse(err, idx, v, oid, "");
        *how = H_SCRATCH_TEXT;
        *bytes = 2 * (size_t)v->len + 3;
        return PP_OK;
    default:
        return refuse(err, idx, v, oid, ""); /* not reached: plan sends only these tags */
    }
}

/* plan for a fixed-size value sent to a boolean or number type. */
static int plan_number(const pp_value *v, uint32_t oid, int32_t idx, enum how *how,
                       size_t *bytes, pp_error **err)
{
    int64_t i = v->i;
    switch (oid) {
    case OID_BOOL:
        if (v->tag != PP_BOOL)
            return refuse(err, idx, v, oid, "");
        *bytes = 1;
        return PP_OK;
    case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
        if (v->tag != PP_INT)
            return refuse(err, idx, v, oid, "");
        if ((oid == OID_INT2 && (i < INT16_MIN || i > INT16_MAX)) ||
            (oid == OID_INT4 && (i < INT32_MIN || i > INT32_MAX)) ||
            (oid == OID_OID && (i < 0 || i > (int64_t)UINT32_MAX)))
            return out_of_range(err, idx, v, oid);
        *bytes = oid == OID_INT2 ? 2 : oid == OID_INT8 ? 8 : 4;
        return PP_OK;
    case OID_FLOAT4: case OID_FLOAT8:
        if (v->tag == PP_INT) {
            int64_t limit = oid == OID_FLOAT4 ? (1LL << 24) : (1LL << 53);
            if (i > limit || i < -limit)
                return refuse(err, idx, v, oid, "the integer would lose precision");
        } else if (v->tag == PP_FLOAT) {
            if (oid == OID_FLOAT4 && isfinite(v->f) && fabs(v->f) > 3.4028234663852886e38)
                return pp__fail(err, pp__error_new(PP_ERR_DATA, "22003",
                                                   "parameter $%d: PP_FLOAT %g is out of range "
                                                   "for real", idx + 1, v->f));
        } else {
            return refuse(err, idx, v, oid, "");
        }
        *bytes = oid == OID_FLOAT4 ? 4 : 8;
        return PP_OK;
    case OID_NUMERIC:
        if (v->tag != PP_INT && v->tag != PP_FLOAT)
            return refuse(err, idx, v, oid, "");
        *how = H_SCRATCH_TEXT;
        *bytes = 32;
        return PP_OK;
    default:
        return refuse(err, idx, v, oid, ""); /* not reached: plan sends only these types */
    }
}

/* plan for a fixed-size value sent to a date or time type. */
static int plan_time(const pp_value *v, uint32_t oid, int32_t idx, enum how *how,
                     size_t *bytes, pp_error **err)
{
    int64_t i = v->i;
    switch (oid) {
    case OID_DATE:
        if (v->tag != PP_DATE)
            return refuse(err, idx, v, oid, "");
        if (i < INT32_MIN || i > INT32_MAX)
            return out_of_range(err, idx, v, oid);
        *bytes = 4;
        return PP_OK;
    case OID_TIME:
        if (v->tag != PP_TIME)
            return refuse(err, idx, v, oid, "");
        *bytes = 8;
        return PP_OK;
    case OID_TIMETZ:
        if (v->tag != PP_TIMETZ)
            return refuse(err, idx, v, oid, "");
        *bytes = 12;
        return PP_OK;
    case OID_TIMESTAMP:
        if (v->tag == PP_TIMESTAMPTZ)
            return refuse(err, idx, v, oid,
                          "PP_TIMESTAMPTZ needs timestamp with time zone; send PP_TIMESTAMP");
        if (v->tag != PP_TIMESTAMP)
            return refuse(err, idx, v, oid, "");
        *bytes = 8;
        return PP_OK;
    case OID_TIMESTAMPTZ:
        if (v->tag == PP_TIMESTAMP) { /* naive: the session's TimeZone applies */
            *how = H_SCRATCH_TEXT;
            *bytes = 64;
            return PP_OK;
        }
        if (v->tag != PP_TIMESTAMPTZ)
            return refuse(err, idx, v, oid, "");
        *bytes = 8;
        return PP_OK;
    case OID_INTERVAL:
        if (v->tag != PP_INTERVAL)
            return refuse(err, idx, v, oid, "");
        if (v->i2 < INT32_MIN || v->i2 > INT32_MAX || v->i3 < INT32_MIN || v->i3 > INT32_MAX)
            return out_of_range(err, idx, v, oid);
        *bytes = 16;
        return PP_OK;
    default:
        return refuse(err, idx, v, oid, ""); /* not reached: plan sends only these types */
    }
}

/* Decides how value v travels for server type oid; *bytes is the scratch it needs. */
static int plan(const pp_value *v, uint32_t oid, int32_t idx, enum how *how, size_t *bytes,
                pp_error **err)
{
    *bytes = 0;
    if (v->tag == PP_NULL) {
        *how = H_NULL;
        return PP_OK;
    }
    if (check_value(v, idx, err) != PP_OK)
        return PP_ERROR;
    bool known = pp__type_name(oid) != NULL;
    switch (v->tag) {
    case PP_TEXT: case PP_NUMERIC: case PP_JSON: case PP_ARRAY: case PP_BYTES:
        return plan_variable(v, oid, idx, known, how, bytes, err);
    case PP_UUID:
        if (v->len != 16 || v->ptr == NULL)
            return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                               "parameter $%d: a UUID has 16 bytes", idx + 1));
        break;
    default: break;
    }
    /* Fixed-size values. */
    *how = H_SCRATCH_BINARY;
    switch (oid) {
    case OID_BOOL: case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
    case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC:
        return plan_number(v, oid, idx, how, bytes, err);
    case OID_DATE: case OID_TIME: case OID_TIMETZ: case OID_TIMESTAMP: case OID_TIMESTAMPTZ:
    case OID_INTERVAL:
        return plan_time(v, oid, idx, how, bytes, err);
    case OID_UUID:
        if (v->tag != PP_UUID)
            return refuse(err, idx, v, oid, "");
        *bytes = 16;
        return PP_OK;
    default:
        if (known || v->tag < PP_BOOL || v->tag > PP_UUID)
            return refuse(err, idx, v, oid, "");
        *how = H_SCRATCH_TEXT; /* a type we do not know: let the server parse the text form */
        *bytes = 128;
        return PP_OK;
    }
}

size_t pp__write_text(char *out, const pp_value *v, size_t cap)
{
    switch (v->tag) {
    case PP_TEXT: case PP_NUMERIC: case PP_JSON: case PP_ARRAY:
        if (v->len > 0) /* ptr may be NULL for an empty value */
            memcpy(out, v->ptr, (size_t)v->len);
        out[v->len] = '\0';
        return (size_t)v->len + 1;
    case PP_BYTES: {
        static const char hex[] = "0123456789abcdef";
        const unsigned char *b = (const unsigned char *)v->ptr;
        out[0] = '\\';
        out[1] = 'x';
        for (int64_t k = 0; k < v->len; k++) {
            out[2 + 2 * k] = hex[b[k] >> 4];
            out[3 + 2 * k] = hex[b[k] & 15];
        }
        out[2 + 2 * v->len] = '\0';
        return 2 * (size_t)v->len + 3;
    }
    default:
        return (size_t)format_fixed(out, cap, v) + 1;
    }
}

size_t pp__text_size(const pp_value *v)
{
    switch (v->tag) {
    case PP_NULL: return 0;
    case PP_TEXT: case PP_NUMERIC: case PP_JSON: case PP_ARRAY: return (size_t)v->len + 1;
    case PP_BYTES: return 2 * (size_t)v->len + 3;
    default: return 128;
    }
}

static void write_binary(char *out, const pp_value *v, uint32_t oid)
{
    switch (oid) {
    case OID_BOOL: out[0] = v->i ? 1 : 0; return;
    case OID_INT2: put_be(out, (uint64_t)v->i, 2); return;
    case OID_INT4: case OID_OID: case OID_DATE: put_be(out, (uint64_t)v->i, 4); return;
    case OID_INT8: case OID_TIME: case OID_TIMESTAMP: case OID_TIMESTAMPTZ:
        put_be(out, (uint64_t)v->i, 8);
        return;
    case OID_FLOAT4: {
        float f = v->tag == PP_INT ? (float)v->i : (float)v->f;
        uint32_t u;
        memcpy(&u, &f, 4);
        put_be(out, u, 4);
        return;
    }
    case OID_FLOAT8: {
        double f = v->tag == PP_INT ? (double)v->i : v->f;
        uint64_t u;
        memcpy(&u, &f, 8);
        put_be(out, u, 8);
        return;
    }
    case OID_TIMETZ:
        put_be(out, (uint64_t)v->i, 8);
        put_be(out + 8, (uint64_t)(-v->i2), 4); /* PostgreSQL stores seconds west of UTC */
        return;
    case OID_INTERVAL:
        put_be(out, (uint64_t)v->i, 8);
        put_be(out + 8, (uint64_t)v->i2, 4);
        put_be(out + 12, (uint64_t)v->i3, 4);
        return;
    case OID_UUID: memcpy(out, v->ptr, 16); return;
    case OID_JSONB:
        out[0] = 1;
        if (v->len > 0)
            memcpy(out + 1, v->ptr, (size_t)v->len);
        return;
    default: return;
    }
}

bool pp__grow(char **buf, size_t *cap, size_t need, size_t first)
{
    if (need <= *cap)
        return true;
    if (need > SIZE_MAX / 4)
        return false; /* sizes are checked before: a bug or a lying caller, never a wrap */
    size_t c = *cap ? *cap : first;
    while (c < need)
        c *= 2;
    char *grown = realloc(*buf, c);
    if (grown == NULL)
        return false;
    *buf = grown;
    *cap = c;
    return true;
}

bool pp__scratch_reserve(pp_conn *conn, size_t n)
{
    return pp__grow(&conn->scratch, &conn->scratch_cap, n, 256);
}

int pp__encode_params(pp_conn *conn, int32_t nparams, const pp_value *params,
                      const uint32_t *oids, pp_encoded *enc, pp_error **err)
{
    size_t total = 0;
    for (int32_t k = 0; k < nparams; k++) {
        enum how how;
        size_t bytes;
        if (plan(&params[k], oids[k], k, &how, &bytes, err) != PP_OK)
            return PP_ERROR;
        enc->formats[k] = (int)how;
        enc->lengths[k] = (int)bytes;
        total += bytes;
    }
    if (!pp__scratch_reserve(conn, total + 1))
        return pp__fail(err, pp__error_oom());
    size_t at = 0;
    for (int32_t k = 0; k < nparams; k++) {
        const pp_value *v = &params[k];
        enum how how = (enum how)enc->formats[k];
        size_t bytes = (size_t)enc->lengths[k];
        char *out = conn->scratch + at;
        switch (how) {
        case H_NULL:
            enc->values[k] = NULL;
            enc->lengths[k] = 0;
            enc->formats[k] = 0;
            break;
        case H_CALLER_BINARY:
            enc->values[k] = v->ptr != NULL ? v->ptr : "";
            enc->lengths[k] = (int)v->len;
            enc->formats[k] = 1;
            break;
        case H_SCRATCH_BINARY:
            write_binary(out, v, oids[k]);
            enc->values[k] = out;
            enc->formats[k] = 1;
            break;
        case H_SCRATCH_TEXT:
            if (oids[k] == OID_NUMERIC && v->tag == PP_INT)
                snprintf(out, bytes, "%lld", (long long)v->i);
            else
                pp__write_text(out, v, bytes);
            enc->values[k] = out;
            enc->lengths[k] = (int)strlen(out);
            enc->formats[k] = 0;
            break;
        }
        at += bytes;
    }
    return PP_OK;
}

size_t pp__binary_size(const pp_value *v)
{
    switch (v->tag) {
    case PP_NULL: return 0;
    case PP_TEXT: case PP_JSON: case PP_BYTES: return (size_t)v->len + 1;
    case PP_NUMERIC: return pp__numeric_binary_size(v->len);
    default: return pp__numeric_binary_size(40); /* also covers int/float as numeric */
    }
}

int64_t pp__encode_binary(const pp_value *v, uint32_t oid, int32_t idx, char *out,
                          pp_error **err)
{
    enum how how;
    size_t bytes;
    if (plan(v, oid, idx, &how, &bytes, err) != PP_OK)
        return -1;
    bool numeric = oid == OID_NUMERIC &&
                   (v->tag == PP_NUMERIC || v->tag == PP_INT || v->tag == PP_FLOAT);
    if (out == NULL && (how != H_SCRATCH_TEXT || numeric))
        return 0; /* only checking: the value's tag can be sent as oid */
    switch (how) {
    case H_NULL: return 0;
    case H_CALLER_BINARY:
        if (v->len > 0)
            memcpy(out, v->ptr, (size_t)v->len);
        return v->len;
    case H_SCRATCH_BINARY:
        write_binary(out, v, oid);
        return (int64_t)bytes;
    case H_SCRATCH_TEXT:
        if (numeric) {
            char text[48];
            const char *t = v->ptr != NULL ? v->ptr : "";
            int64_t len = v->len;
            if (v->tag != PP_NUMERIC) {
                len = (int64_t)pp__write_text(text, v, sizeof text) - 1;
                t = text;
            }
            int64_t n = pp__numeric_to_binary(t, len, out);
            if (n >= 0)
                return n;
            pp__fail(err, pp__error_new(PP_ERR_DATA, "22P02", "parameter $%d: \"%.*s\" is not "
                                        "a number", idx + 1, (int)(len > 40 ? 40 : len), t));
            return -1;
        }
        refuse(err, idx, v, oid, "binary COPY cannot let the server parse text: send the "
                                 "tag of the column's type, or use text COPY");
        return -1;
    }
    return -1;
}
