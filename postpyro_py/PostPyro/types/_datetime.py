# SPDX-License-Identifier: MIT
"""date, time, timetz, timestamp, timestamptz and interval: dumpers, text loaders, binary
column converters, and the set_interval_type / set_infinity_mapping switches."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

from .. import errors as e
from .._ffi import unpack
from ._interval import Interval
from ._base import (_bad, _IS_PYPY, _patch_nulls, PP_DATE, PP_INTERVAL, PP_TIME, PP_TIMESTAMP,
                    PP_TIMESTAMPTZ, PP_TIMETZ)
from ._numbers import _INT32_MAX, _INT32_MIN, _INT64_MAX, _INT64_MIN


_PG_EPOCH_ORDINAL = 730120  # date(2000, 1, 1).toordinal()
_EPOCH = datetime(2000, 1, 1)
_EPOCH_UTC = datetime(2000, 1, 1, tzinfo=timezone.utc)


# date.max / date.min in days from 2000-01-01: sent as 'infinity' / '-infinity' when
# set_infinity_mapping(True) says so.
_DATE_MAX_DAYS = date.max.toordinal() - _PG_EPOCH_ORDINAL
_DATE_MIN_DAYS = date.min.toordinal() - _PG_EPOCH_ORDINAL


def _usec(td: timedelta) -> int:
    return (td.days * 86400 + td.seconds) * 1000000 + td.microseconds


def _interval_text(td: timedelta) -> str:
    return "%d days %d seconds %d microseconds" % (td.days, td.seconds, td.microseconds)


def _dump_date(x, v, keep, pos, _adapters=None):
    v.tag = PP_DATE
    d = x.toordinal() - _PG_EPOCH_ORDINAL
    if _infinity_mapped:
        if d == _DATE_MAX_DAYS:
            d = _INT32_MAX  # 'infinity'
        elif d == _DATE_MIN_DAYS:
            d = _INT32_MIN
    v.i = d


def _datetime_infinity(x: datetime) -> int:
    """+1 for datetime.max, -1 for datetime.min (whatever the tzinfo) when
    set_infinity_mapping(True) maps them to ±infinity, else 0."""
    if not _infinity_mapped:
        return 0
    if x.year == 9999 and x.replace(tzinfo=None) == datetime.max:
        return 1
    if x.year == 1 and x.replace(tzinfo=None) == datetime.min:
        return -1
    return 0


def _dump_datetime(x, v, keep, pos, _adapters=None):
    if x.utcoffset() is None:
        v.tag = PP_TIMESTAMP
        v.i = _usec(x - _EPOCH)
    else:
        v.tag = PP_TIMESTAMPTZ
        v.i = _usec(x - _EPOCH_UTC)
    if x.year == 9999 or x.year == 1:
        inf = _datetime_infinity(x)
        if inf:
            v.i = _INT64_MAX if inf > 0 else _INT64_MIN


def _dump_time(x, v, keep, pos, _adapters=None):
    us = ((x.hour * 60 + x.minute) * 60 + x.second) * 1000000 + x.microsecond
    off = x.utcoffset()
    if off is None:
        v.tag = PP_TIME
        v.i = us
    else:
        v.tag = PP_TIMETZ
        v.i = us
        v.i2 = off.days * 86400 + off.seconds


def _dump_timedelta(x, v, keep, pos, _adapters=None):
    v.tag = PP_INTERVAL
    v.i = x.seconds * 1000000 + x.microseconds
    v.i2 = x.days
    v.i3 = 0


def _dump_interval(x, v, keep, pos, _adapters=None):
    if not (_INT64_MIN <= x.microseconds <= _INT64_MAX):
        raise e.DataError("parameter $%d: Interval of %d microseconds is out of range for "
                          "interval" % (pos, x.microseconds))
    v.tag = PP_INTERVAL
    v.i = x.microseconds
    v.i2 = x.days
    v.i3 = x.months


_DATE_RE = re.compile(r"(\d{4,})-(\d\d)-(\d\d)( BC)?\Z")
_TIME_RE = re.compile(r"(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?")
_OFFSET_RE = re.compile(r"([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?")
_TS_RE = re.compile(r"(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?"
                    r"(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?( BC)?\Z")


def _frac(s: Optional[str]) -> int:
    return int((s + "000000")[:6]) if s else 0


def load_date_text(s: str) -> date:
    if s == "infinity":
        return _infinite_date(1)
    if s == "-infinity":
        return _infinite_date(-1)
    m = _DATE_RE.match(s)
    if not m:
        raise e.DataError("cannot read date %r (PostPyro needs DateStyle ISO)" % s)
    y = int(m.group(1))
    if m.group(4) or y > 9999:
        raise e.DataError("date %s is outside Python's date range (years 1 to 9999)" % s)
    return date(y, int(m.group(2)), int(m.group(3)))


def load_time_text(s: str) -> time:
    m = _TIME_RE.match(s)
    if not m or m.end() != len(s):
        raise _bad("time", s)
    h = int(m.group(1))
    if h == 24:
        raise e.DataError("time %s is outside Python's time range" % s)
    return time(h, int(m.group(2)), int(m.group(3)), _frac(m.group(4)))


# UTC offset (seconds) -> timezone; a handful of entries. Threads share it without a lock
# (a dict's get and set are atomic everywhere; a race makes an equal timezone twice).
_tz_cache: Dict[int, timezone] = {0: timezone.utc}


def _tz(seconds: int) -> timezone:
    tz = _tz_cache.get(seconds)
    if tz is None:
        tz = _tz_cache[seconds] = timezone(timedelta(seconds=seconds))
    return tz


def _offset_seconds(sign: str, hh: str, mm: Optional[str], ss: Optional[str]) -> int:
    off = int(hh) * 3600 + int(mm or 0) * 60 + int(ss or 0)
    return -off if sign == "-" else off


def load_timetz_text(s: str) -> time:
    m = _TIME_RE.match(s)
    if not m:
        raise _bad("timetz", s)
    o = _OFFSET_RE.match(s, m.end())
    if not o or o.end() != len(s):
        raise _bad("timetz", s)
    h = int(m.group(1))
    if h == 24:
        raise e.DataError("time %s is outside Python's time range" % s)
    return time(h, int(m.group(2)), int(m.group(3)), _frac(m.group(4)),
                tzinfo=_tz(_offset_seconds(*o.groups())))


def _load_ts(s: str, aware: bool) -> datetime:
    if s == "infinity":
        return _infinite_ts(1, aware)
    if s == "-infinity":
        return _infinite_ts(-1, aware)
    m = _TS_RE.match(s)
    if not m:
        raise e.DataError("cannot read timestamp %r (PostPyro needs DateStyle ISO)" % s)
    g = m.groups()
    y = int(g[0])
    if g[11] or y > 9999:
        raise e.DataError("timestamp %s is outside Python's datetime range (years 1 to "
                          "9999)" % s)
    tz = None
    if aware:
        tz = _tz(_offset_seconds(g[7], g[8], g[9], g[10])) if g[7] else timezone.utc
    dt = datetime(y, int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5]), _frac(g[6]),
                  tzinfo=tz)
    if aware and tz is not timezone.utc:
        try:
            dt = dt.astimezone(timezone.utc)
        except OverflowError:
            raise e.DataError("timestamp %s is outside Python's datetime range" % s) from None
    return dt


def load_timestamp_text(s: str) -> datetime:
    return _load_ts(s, False)


def load_timestamptz_text(s: str) -> datetime:
    return _load_ts(s, True)


_IV_UNIT_RE = re.compile(r"([+-]?\d+) (year|mon|day|hour|min|sec)s?\b")
_IV_TIME_RE = re.compile(r"([+-])?(\d+):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?\Z")


def load_interval_text(s: str) -> timedelta:
    """An interval in IntervalStyle postgres ("1 year 2 mons 3 days 04:05:06.5")."""
    months = days = usec = 0
    rest = s.strip()
    tm = _IV_TIME_RE.search(rest)
    if tm and (tm.start() == 0 or rest[tm.start() - 1] == " "):
        sign, hh, mi, ss, frac = tm.groups()
        t = ((int(hh) * 60 + int(mi)) * 60 + int(ss or 0)) * 1000000 + _frac(frac)
        usec = -t if sign == "-" else t
        rest = rest[:tm.start()].strip()
    pos = 0
    for m in _IV_UNIT_RE.finditer(rest):
        if rest[pos:m.start()].strip():
            raise e.DataError("cannot read interval %r (PostPyro needs IntervalStyle "
                              "postgres)" % s)
        n, unit = int(m.group(1)), m.group(2)
        if unit == "year":
            months += 12 * n
        elif unit == "mon":
            months += n
        elif unit == "day":
            days += n
        elif unit == "hour":
            usec += n * 3600000000
        elif unit == "min":
            usec += n * 60000000
        else:
            usec += n * 1000000
        pos = m.end()
    if rest[pos:].strip():
        raise e.DataError("cannot read interval %r (PostPyro needs IntervalStyle postgres)"
                          % s)
    return _interval(usec, days, months)


_interval_exact = False


def set_interval_type(cls: type) -> None:
    """What interval values become: ``timedelta`` (the default; a month counts 30 days, a
    year 12 months) or :class:`Interval` (months, days and microseconds kept apart,
    exactly). Applies to every connection."""
    global _interval_exact
    if cls is timedelta:
        _interval_exact = False
    elif cls is Interval:
        _interval_exact = True
    else:
        raise TypeError("set_interval_type() takes datetime.timedelta or PostPyro.Interval, "
                        "not %r" % (cls,))


_infinity_mapped = False


def set_infinity_mapping(enabled: bool) -> None:
    """Whether PostgreSQL's ``infinity`` / ``-infinity`` dates and timestamps are read as
    ``date.max`` / ``date.min`` and ``datetime.max`` / ``datetime.min`` (timestamptz: with
    ``tzinfo=UTC``), and those Python values sent as ±infinity. Off by default: then
    reading ±infinity raises DataError, and date.max (9999-12-31) and the others are sent
    as the dates they are. Applies to every connection."""
    global _infinity_mapped
    _infinity_mapped = bool(enabled)


def _infinite(kind: str, sign: int, mapped: Any) -> Any:
    """The value for an infinite (sign +1 or -1) date or timestamp: ``mapped`` under
    set_infinity_mapping, else DataError (no Python value would be sent back as it)."""
    if _infinity_mapped:
        return mapped
    raise e.DataError("%s '%sinfinity' has no Python value: select it as text, or call "
                      "PostPyro.types.set_infinity_mapping(True) to read it as %s.%s (and "
                      "send that back as %sinfinity)"
                      % (kind, "-" if sign < 0 else "", type(mapped).__name__,
                         "min" if sign < 0 else "max", "-" if sign < 0 else ""))


def _infinite_date(sign: int) -> date:
    return _infinite("date", sign, date.max if sign > 0 else date.min)


def _infinite_ts(sign: int, aware: bool) -> datetime:
    value = datetime.max if sign > 0 else datetime.min
    if aware:
        return _infinite("timestamptz", sign, value.replace(tzinfo=timezone.utc))
    return _infinite("timestamp", sign, value)


def _interval(usec: int, days: int, months: int) -> Any:
    if _interval_exact:
        return Interval(months, days, usec)
    try:
        return timedelta(days=months * 30 + days, microseconds=usec)
    except OverflowError:
        raise e.DataError("interval of %d months %d days %d microseconds is outside "
                          "Python's timedelta range" % (months, days, usec)) from None


def _date_from_days(v: int) -> date:
    if v == _INT32_MAX:
        return _infinite_date(1)
    if v == _INT32_MIN:
        return _infinite_date(-1)
    try:
        return date.fromordinal(v + _PG_EPOCH_ORDINAL)
    except (ValueError, OverflowError):
        raise e.DataError("date %d days from 2000-01-01 is outside Python's date range "
                          "(years 1 to 9999)" % v) from None


def _conv_date(col, n, nulls):
    days = unpack(col.ints, n)
    fromordinal = date.fromordinal
    try:
        vals = [fromordinal(v + _PG_EPOCH_ORDINAL) for v in days]
    except (ValueError, OverflowError):
        vals = [None if nulls is not None and nulls[k] else _date_from_days(v)
                for k, v in enumerate(days)]
    return _patch_nulls(vals, nulls)


def _time_from_usec(v: int, tzinfo=None) -> time:
    s, us = divmod(v, 1000000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    try:
        return time(h, m, s, us, tzinfo)
    except ValueError:
        raise e.DataError("time of %d microseconds after midnight is outside Python's time "
                          "range" % v) from None


def _conv_time(col, n, nulls):
    return _patch_nulls([_time_from_usec(v) for v in unpack(col.ints, n)], nulls)


def _conv_timetz(col, n, nulls):
    us = unpack(col.ints, n)
    offs = unpack(col.ints2, n)
    return _patch_nulls([_time_from_usec(v, _tz(o)) for v, o in zip(us, offs)], nulls)


def _ts_from_usec(v: int, aware: bool) -> datetime:
    if v == _INT64_MAX:
        return _infinite_ts(1, aware)
    if v == _INT64_MIN:
        return _infinite_ts(-1, aware)
    try:
        return (_EPOCH_UTC if aware else _EPOCH) + timedelta(microseconds=v)
    except OverflowError:
        raise e.DataError("timestamp %d microseconds from 2000-01-01 is outside Python's "
                          "datetime range (years 1 to 9999)" % v) from None


def _timestamps_from_fields(us: List[int], tzinfo: Optional[timezone]) -> list:
    # For PyPy, whose datetime is written in Python: building each value from its fields
    # (arithmetic the JIT compiles) is about 6x faster there than epoch + timedelta.
    out = []
    append = out.append
    days_cache: Dict[int, Tuple[int, int, int]] = {}
    fromordinal = date.fromordinal
    for v in us:
        d, r = divmod(v, 86400000000)
        ymd = days_cache.get(d)
        if ymd is None:
            x = fromordinal(d + _PG_EPOCH_ORDINAL)
            if len(days_cache) > 4096:
                days_cache.clear()
            ymd = days_cache[d] = (x.year, x.month, x.day)
        s, u = divmod(r, 1000000)
        m, s = divmod(s, 60)
        h, m = divmod(m, 60)
        append(datetime(ymd[0], ymd[1], ymd[2], h, m, s, u, tzinfo))
    return out


def _conv_timestamp_common(col, n, nulls, epoch, aware):
    us = unpack(col.ints, n)
    try:
        if _IS_PYPY:
            vals = _timestamps_from_fields(us, epoch.tzinfo)
        else:
            vals = [epoch + timedelta(0, 0, v) for v in us]
    except (OverflowError, ValueError):
        vals = [None if nulls is not None and nulls[k] else _ts_from_usec(v, aware)
                for k, v in enumerate(us)]
    return _patch_nulls(vals, nulls)


def _conv_timestamp(col, n, nulls):
    return _conv_timestamp_common(col, n, nulls, _EPOCH, False)


def _conv_timestamptz(col, n, nulls):
    return _conv_timestamp_common(col, n, nulls, _EPOCH_UTC, True)


def _conv_interval(col, n, nulls):
    us = unpack(col.ints, n)
    days = unpack(col.ints2, n)
    months = unpack(col.ints3, n)
    return _patch_nulls([_interval(a, b, c) for a, b, c in zip(us, days, months)], nulls)
