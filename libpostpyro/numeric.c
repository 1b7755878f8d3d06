/* SPDX-License-Identifier: MIT */
/* numeric.c — decimal text to PostgreSQL's binary numeric (base-10000 digit groups), for
 * binary COPY, where the server cannot parse text. */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define NUMERIC_NEG 0x4000
#define NUMERIC_NAN 0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000
#define MAX_DIGITS 131072 /* PostgreSQL's limit before the point */

static void put16(char *p, unsigned v)
{
    p[0] = (char)((v >> 8) & 0xff);
    p[1] = (char)(v & 0xff);
}

size_t pp__numeric_binary_size(int64_t text_len)
{
    /* header + one group per 4 digits, plus padding groups on both sides */
    return 8 + 2 * (size_t)((text_len + 8) / 4 + 2);
}

/* A finite decimal number as text: 0.d1d2… × 10^(point + exp10), its digits read from
 * `digits` (ndig of them, with a '.' after the first `point` when the text has one). */
typedef struct decimal {
    const char *digits;
    int64_t ndig, point, exp10;
} decimal;

/* Parses digits, point and exponent (no sign) of s[0..len); false when it is not a number. */
static bool parse_decimal(const char *s, int64_t len, decimal *d)
{
    int64_t k = 0, ndig = 0, point = -1;
    for (; k < len && (isdigit((unsigned char)s[k]) || s[k] == '.'); k++) {
        if (s[k] == '.') {
            if (point >= 0)
                return false;
            point = ndig;
        } else {
            ndig++;
        }
    }
    if (ndig == 0)
        return false;
    int64_t exp10 = 0;
    if (k < len && (s[k] == 'e' || s[k] == 'E')) {
        char *end;
        k++;
        if (k >= len || len - k > 10)
            return false;
        char buf[16];
        memcpy(buf, s + k, (size_t)(len - k));
        buf[len - k] = '\0';
        exp10 = strtoll(buf, &end, 10);
        if (*end != '\0' || end == buf)
            return false;
        k = len;
    }
    if (k != len)
        return false;
    d->digits = s;
    d->ndig = ndig;
    d->point = point < 0 ? ndig : point;
    d->exp10 = exp10;
    return true;
}

/* The decimal digit at decimal position pos (0 = units, negative after the point) of d,
 * whose integer part has int_digits digits; 0 outside the digits written. */
static unsigned digit_at(const decimal *d, int64_t int_digits, int64_t pos)
{
    int64_t i = int_digits - 1 - pos; /* index into the digit string */
    if (i < 0 || i >= d->ndig)
        return 0;
    /* skip the point when indexing digits */
    int64_t at = i < d->point ? i : i + 1;
    if (d->point == d->ndig)
        at = i;
    return (unsigned)(d->digits[at] - '0');
}

/* Writes d in base-10000 groups (header and groups) into out; its length, or -1 when out of
 * PostgreSQL's range. */
static int64_t write_groups(const decimal *d, bool neg, char *out)
{
    /* The value is 0.d1d2… × 10^(point + exp10); scale = digits after the point. */
    int64_t int_digits = d->point + d->exp10;    /* may be <= 0 or > ndig */
    int64_t scale = d->ndig - int_digits;
    if (scale < 0)
        scale = 0;
    if (int_digits > MAX_DIGITS || scale > 16383)
        return -1;
    /* Digit i (0-based over the whole number, 0 = first integer digit) has decimal
     * position int_digits - 1 - i (0 = units). Group boundaries every 4 positions. */
    int64_t first_group = int_digits > 0 ? (int_digits + 3) / 4 - 1 : -((-int_digits) / 4) - 1;
    int64_t last_pos = -scale;                   /* lowest decimal position present */
    int64_t last_group = last_pos >= 0 ? last_pos / 4 : -((-last_pos + 3) / 4);
    /* groups from first_group (weight) down to last_group */
    char *g = out + 8;
    int64_t written = 0, weight = first_group;
    bool leading = true;
    int64_t pending_zero_groups = 0;
    for (int64_t grp = first_group; grp >= last_group; grp--) {
        unsigned val = 0;
        for (int64_t pos = grp * 4 + 3; pos >= grp * 4; pos--)
            val = val * 10 + digit_at(d, int_digits, pos);
        if (leading && val == 0) {
            weight--;
            continue;
        }
        leading = false;
        if (val == 0) {
            pending_zero_groups++;
            continue;
        }
        for (; pending_zero_groups > 0; pending_zero_groups--)
            put16(g + 2 * written++, 0);
        put16(g + 2 * written++, val);
    }
    if (written == 0)
        weight = 0;
    put16(out, (unsigned)written);
    put16(out + 2, (unsigned)(weight & 0xffff));
    put16(out + 4, written > 0 && neg ? NUMERIC_NEG : 0);
    put16(out + 6, (unsigned)scale);
    return 8 + 2 * written;
}

/* Writes the binary form of decimal text s[0..len) into out (pp__numeric_binary_size(len)
 * bytes); returns its length, or -1 when s is not a number. Accepts what Python's
 * str(Decimal) and repr(float) produce: sign, digits, point, exponent, NaN, Infinity. */
int64_t pp__numeric_to_binary(const char *s, int64_t len, char *out)
{
    if (len == 3 && strncmp(s, "NaN", 3) == 0) {
        memset(out, 0, 8);
        put16(out + 4, NUMERIC_NAN);
        return 8;
    }
    bool neg = false;
    int64_t k = 0;
    if (k < len && (s[k] == '-' || s[k] == '+'))
        neg = s[k++] == '-';
    if (len - k == 8 && strncmp(s + k, "Infinity", 8) == 0) {
        memset(out, 0, 8);
        put16(out + 4, neg ? NUMERIC_NINF : NUMERIC_PINF);
        return 8;
    }
    decimal d;
    if (!parse_decimal(s + k, len - k, &d))
        return -1;
    return write_groups(&d, neg, out);
}
