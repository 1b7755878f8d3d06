/* SPDX-License-Identifier: MIT */
/* timeconv.c — PP_DATE / PP_TIMESTAMP values (days or microseconds from 2000-01-01) to and
 * from Unix time and broken-down dates and times, within PostgreSQL's ranges. */
#include "internal.h"

#include <stdbool.h>

#define USECS_PER_DAY 86400000000LL
/* PostgreSQL's limits (datatype/timestamp.h): Julian day 0 (4714-11-24 BC) up to, not
 * including, 294277-01-01 for timestamps and 5874898-01-01 for dates. */
#define MIN_TIMESTAMP (-211813488000000000LL)
#define END_TIMESTAMP 9223371331200000000LL
#define MIN_DATE (-2451545LL)
#define END_DATE 2145031949LL

static int out_of_range(pp_error **err, const char *fn, const char *what)
{
    return pp__fail(err, pp__error_new(PP_ERR_DATA, "22008", "%s: %s", fn, what));
}

int pp_timestamp_to_unix(int64_t ts, int64_t *unix_usecs, pp_error **err)
{
    if (unix_usecs == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_timestamp_to_unix: bad arguments"));
    if (ts == INT64_MAX || ts == INT64_MIN)
        return out_of_range(err, "pp_timestamp_to_unix", "an infinite timestamp has no Unix time");
    if (ts < MIN_TIMESTAMP || ts >= END_TIMESTAMP || ts > INT64_MAX + PP_UNIX_EPOCH_USECS)
        return out_of_range(err, "pp_timestamp_to_unix", "timestamp out of range");
    *unix_usecs = ts - PP_UNIX_EPOCH_USECS;
    return PP_OK;
}

int pp_timestamp_from_unix(int64_t unix_usecs, int64_t *ts, pp_error **err)
{
    if (ts == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_timestamp_from_unix: bad arguments"));
    if (unix_usecs < INT64_MIN - PP_UNIX_EPOCH_USECS ||
        unix_usecs + PP_UNIX_EPOCH_USECS < MIN_TIMESTAMP ||
        unix_usecs + PP_UNIX_EPOCH_USECS >= END_TIMESTAMP)
        return out_of_range(err, "pp_timestamp_from_unix", "timestamp out of range");
    *ts = unix_usecs + PP_UNIX_EPOCH_USECS;
    return PP_OK;
}

static void date_parts(int64_t days, pp_datetime *out)
{
    int64_t y;
    int m, d;
    pp__days_to_ymd(days, &y, &m, &d);
    *out = (pp_datetime){.year = (int32_t)y, .month = m, .day = d};
}

int pp_timestamp_to_parts(int64_t ts, pp_datetime *out, pp_error **err)
{
    if (out == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_timestamp_to_parts: bad arguments"));
    if (ts < MIN_TIMESTAMP || ts >= END_TIMESTAMP) /* the infinities too */
        return out_of_range(err, "pp_timestamp_to_parts", "timestamp out of range");
    int64_t days = ts / USECS_PER_DAY, rem = ts % USECS_PER_DAY;
    if (rem < 0) {
        rem += USECS_PER_DAY;
        days--;
    }
    date_parts(days, out);
    out->hour = (int32_t)(rem / 3600000000LL);
    out->minute = (int32_t)(rem / 60000000LL % 60);
    out->second = (int32_t)(rem / 1000000LL % 60);
    out->microsecond = (int32_t)(rem % 1000000LL);
    return PP_OK;
}

/* Days from 2000-01-01 of a valid y-m-d (Howard Hinnant's days_from_civil). */
static int64_t days_from_ymd(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 + PP_UNIX_EPOCH_DAYS;
}

static bool valid_date(const pp_datetime *p)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (p->month < 1 || p->month > 12 || p->day < 1)
        return false;
    int64_t y = p->year;
    bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    return p->day <= mdays[p->month - 1] + (p->month == 2 && leap);
}

int pp_timestamp_from_parts(const pp_datetime *parts, int64_t *ts, pp_error **err)
{
    if (parts == NULL || ts == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_timestamp_from_parts: bad arguments"));
    const pp_datetime *p = parts;
    if (!valid_date(p) || p->hour < 0 || p->hour > 23 || p->minute < 0 || p->minute > 59 ||
        p->second < 0 || p->second > 59 || p->microsecond < 0 || p->microsecond > 999999)
        return out_of_range(err, "pp_timestamp_from_parts", "a field is out of its range");
    int64_t days = days_from_ymd(p->year, p->month, p->day);
    if (days < MIN_DATE || days > END_TIMESTAMP / USECS_PER_DAY)
        return out_of_range(err, "pp_timestamp_from_parts", "timestamp out of range");
    int64_t t = days * USECS_PER_DAY + p->hour * 3600000000LL + p->minute * 60000000LL +
                p->second * 1000000LL + p->microsecond;
    if (t < MIN_TIMESTAMP || t >= END_TIMESTAMP)
        return out_of_range(err, "pp_timestamp_from_parts", "timestamp out of range");
    *ts = t;
    return PP_OK;
}

int pp_date_to_parts(int64_t days, pp_datetime *out, pp_error **err)
{
    if (out == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_date_to_parts: bad arguments"));
    if (days < MIN_DATE || days >= END_DATE) /* the infinities too */
        return out_of_range(err, "pp_date_to_parts", "date out of range");
    date_parts(days, out);
    return PP_OK;
}

int pp_date_from_parts(const pp_datetime *parts, int64_t *days, pp_error **err)
{
    if (parts == NULL || days == NULL)
        return pp__fail(err, pp__error_new(PP_ERR_INTERFACE, "",
                                           "pp_date_from_parts: bad arguments"));
    if (!valid_date(parts))
        return out_of_range(err, "pp_date_from_parts", "a field is out of its range");
    int64_t d = days_from_ymd(parts->year, parts->month, parts->day);
    if (d < MIN_DATE || d >= END_DATE)
        return out_of_range(err, "pp_date_from_parts", "date out of range");
    *days = d;
    return PP_OK;
}
