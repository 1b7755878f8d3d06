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
    /* digits with the position of the decimal point */
    const char *digits = s + k;
    int64_t ndig = 0, point = -1, start = k;
    for (; k < len && (isdigit((unsigned char)s[k]) || s[k] == '.'); k++) {
        if (s[k] == '.') {
            if (point >= 0)
                return -1;
            point = ndig;
        } else {
            ndig++;
        }
    }
    if (ndig == 0)
        return -1;
    int64_t exp10 = 0;
    if (k < len && (s[k] == 'e' || s[k] == 'E')) {
        char *end;
        k++;
        if (k >= len || len - k > 10)
            return -1;
        char buf[16];
        memcpy(buf, s + k, (size_t)(len - k));
        buf[len - k] = '\0';
        exp10 = strtoll(buf, &end, 10);
        if (*end != '\0' || end == buf)
            return -1;
        k = len;
    }
    if (k != len)
        return -1;
    if (point < 0)
        point = ndig;
    /* The value is 0.d1d2… × 10^(point + exp10); scale = digits after the point. */
    int64_t int_digits = point + exp10;          /* may be <= 0 or > ndig */
    int64_t scale = ndig - int_digits;
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
    int64_t ngroups = first_group - last_group + 1;
    if (ngroups < 1)
        ngroups = 1;
    char *g = out + 8;
    int64_t written = 0, weight = first_group;
    bool leading = true;
    int64_t pending_zero_groups = 0;
    for (int64_t grp = first_group; grp >= last_group; grp--) {
        unsigned val = 0;
        for (int64_t pos = grp * 4 + 3; pos >= grp * 4; pos--) {
            int64_t i = int_digits - 1 - pos; /* index into the digit string */
            unsigned d = 0;
            if (i >= 0 && i < ndig) {
                /* skip the point when indexing digits */
                int64_t at = i < point ? i : i + 1;
                if (point == ndig)
                    at = i;
                d = (unsigned)(digits[at] - '0');
            }
            val = val * 10 + d;
        }
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
    (void)start;
    if (written == 0)
        weight = 0;
    put16(out, (unsigned)written);
    put16(out + 2, (unsigned)(weight & 0xffff));
    put16(out + 4, written > 0 && neg ? NUMERIC_NEG : 0);
    put16(out + 6, (unsigned)scale);
    return 8 + 2 * written;
}
