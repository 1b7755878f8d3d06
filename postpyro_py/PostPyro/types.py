"""Conversion between Python values and PostgreSQL values — the one place for it.
docs/types.md has the full table (tests/python/test_type_table.py checks it).

Parameters (Python -> ``pp_value``), chosen by the value's Python type; libpostpyro then
encodes each to the type the server describes for its parameter, or refuses it naming the
parameter:

=============================  ===========================================================
Python                         sent as
=============================  ===========================================================
None                           NULL of whatever type the parameter has
bool                           boolean
int                            int2/int4/int8/oid (range-checked by the library), numeric,
                               float4/8 (when exact); beyond int8, numeric text
float                          float4/float8/numeric (NaN and infinities included)
Decimal                        numeric, exact ('NaN', 'Infinity', '-Infinity')
str                            text, for the server to parse as the parameter's type
                               (so '2024-01-01' is fine for a date); may not contain NUL
bytes, bytearray, memoryview   bytea
date / time / datetime         date / time (timetz when aware) / timestamp (timestamptz
                               when aware); date.max/min and datetime.max/min are
                               themselves (±infinity only with set_infinity_mapping)
timedelta, Interval            interval (Interval keeps months)
UUID                           uuid
dict, ``Json(obj)``            json/jsonb (``Json`` for lists, strings, numbers as JSON)
list, tuple                    an array (nested lists: multi-dimensional), as its text form
Range, Multirange, Hstore      their text form (any range / multirange type, hstore)
enum.Enum                      its name (IntEnum, str mixins: their value)
ipaddress objects              their text form (inet, cidr)
=============================  ===========================================================

Results (column by column, see :func:`convert_column`): bool, int, float (float4: its exact
value), Decimal, str, bytes, date, time, datetime (timestamptz: aware, in UTC), timedelta (an
interval's month counts 30 days, its years 12 months; :func:`set_interval_type` gives exact
:class:`Interval` values instead), UUID, json/jsonb as parsed JSON (dict, list, …), ranges and
multiranges as :class:`Range` / :class:`Multirange`, void as None, arrays as (nested) lists —
their lower bounds are dropped — and the text form (str) for every type without a conversion
(inet, cidr, money, geometric types, enums, composites, extension types …). Infinite dates and
timestamps raise DataError, unless :func:`set_infinity_mapping` maps them to ``date.max``/
``date.min`` and ``datetime.max``/``datetime.min`` (and those back to ±infinity); other values
out of Python's range raise DataError. Binary and text results give the same values.

Hooks: :func:`register_loader` (change what a column type becomes), :func:`register_dumper`
(teach PostPyro to send a new Python type), :func:`register_type` (enums, composites,
domains, ranges, hstore … of a database), :func:`set_json_loads` / :func:`set_json_dumps`,
:func:`set_interval_type`, :func:`set_infinity_mapping`.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import json
import math
import numbers
import re
import struct
import sys
from array import array
from collections import namedtuple
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union
from uuid import UUID, SafeUUID

from . import errors as e
from ._composite import format_record, parse_record
from ._ffi import T_VALUE_ARRAY, ffi, lib, newp, unpack
from ._hstore import Hstore, format_hstore, parse_hstore
from ._interval import Interval
from ._range import (Multirange, Range, format_multirange, format_range, parse_multirange,
                     parse_range)

__all__ = [
    "Json", "Interval", "Range", "Multirange", "Hstore", "TypeInfo",
    "register_loader", "register_dumper", "register_type", "unregister_type",
    "set_json_loads", "set_json_dumps", "set_interval_type", "set_infinity_mapping",
    "type_oid", "parse_array", "parse_record", "parse_range", "parse_multirange",
]

# ---- type OIDs ----------------------------------------------------------------------

#: Built-in type names (and common aliases) -> OID. "name[]" is the array type.
TYPE_OIDS: Dict[str, int] = {
    "bool": 16, "boolean": 16, "bytea": 17, "char": 18, "name": 19,
    "int8": 20, "bigint": 20, "int2": 21, "smallint": 21, "int4": 23, "integer": 23,
    "int": 23, "text": 25, "oid": 26, "tid": 27, "xid": 28, "json": 114, "xml": 142,
    "point": 600, "cidr": 650, "float4": 700, "real": 700, "float8": 701,
    "double precision": 701, "money": 790, "macaddr": 829, "inet": 869,
    "bpchar": 1042, "character": 1042, "varchar": 1043, "character varying": 1043,
    "date": 1082, "time": 1083, "time without time zone": 1083,
    "timestamp": 1114, "timestamp without time zone": 1114,
    "timestamptz": 1184, "timestamp with time zone": 1184, "interval": 1186,
    "timetz": 1266, "time with time zone": 1266, "bit": 1560, "varbit": 1562,
    "numeric": 1700, "decimal": 1700, "uuid": 2950, "jsonb": 3802,
    "int2vector": 22, "regproc": 24, "cid": 29, "oidvector": 30, "lseg": 601, "path": 602,
    "box": 603, "polygon": 604, "line": 628, "circle": 718, "macaddr8": 774,
    "aclitem": 1033, "bit varying": 1562, "refcursor": 1790, "regprocedure": 2202,
    "regoper": 2203, "regoperator": 2204, "regclass": 2205, "regtype": 2206,
    "record": 2249, "void": 2278, "txid_snapshot": 2970, "pg_lsn": 3220, "tsvector": 3614,
    "tsquery": 3615, "regconfig": 3734, "regdictionary": 3769, "int4range": 3904,
    "numrange": 3906, "tsrange": 3908, "tstzrange": 3910, "daterange": 3912,
    "int8range": 3926, "jsonpath": 4072, "regnamespace": 4089, "regrole": 4096,
    "regcollation": 4191, "int4multirange": 4451, "nummultirange": 4532,
    "tsmultirange": 4533, "tstzmultirange": 4534, "datemultirange": 4535,
    "int8multirange": 4536, "pg_snapshot": 5038, "xid8": 5069,
}

#: Array type OID -> element type OID.
ARRAY_ELEMENT: Dict[int, int] = {
    1000: 16, 1001: 17, 1002: 18, 1003: 19, 1016: 20, 1005: 21, 1007: 23, 1009: 25,
    1028: 26, 1010: 27, 1011: 28, 199: 114, 143: 142, 651: 650, 1021: 700, 1022: 701,
    791: 790, 1040: 829, 1041: 869, 1014: 1042, 1015: 1043, 1182: 1082, 1183: 1083,
    1115: 1114, 1185: 1184, 1187: 1186, 1270: 1266, 1561: 1560, 1563: 1562, 1231: 1700,
    2951: 2950, 3807: 3802,
    1006: 22, 1008: 24, 1012: 29, 1013: 30, 1017: 600, 1018: 601, 1019: 602, 1020: 603,
    1027: 604, 629: 628, 719: 718, 775: 774, 1034: 1033, 2201: 1790, 2207: 2202,
    2208: 2203, 2209: 2204, 2210: 2205, 2211: 2206, 2287: 2249, 2949: 2970, 3221: 3220,
    3643: 3614, 3645: 3615, 3735: 3734, 3770: 3769, 3905: 3904, 3907: 3906, 3909: 3908,
    3911: 3910, 3913: 3912, 3927: 3926, 4073: 4072, 4090: 4089, 4097: 4096, 4192: 4191,
    6150: 4451, 6151: 4532, 6152: 4533, 6153: 4534, 6155: 4535, 6157: 4536, 5039: 5038,
    271: 5069,
}
#: Array type OID -> the delimiter between its elements when it is not a comma.
ARRAY_DELIM: Dict[int, str] = {1020: ";"}
_ARRAY_OF = {elem: arr for arr, elem in ARRAY_ELEMENT.items()}
for _name, _oid in list(TYPE_OIDS.items()):
    if _oid in _ARRAY_OF:
        TYPE_OIDS[_name + "[]"] = _ARRAY_OF[_oid]
del _name, _oid


def type_oid(name: str) -> int:
    """The OID of a built-in type name ("int4", "integer", "text[]", …)."""
    try:
        return TYPE_OIDS[" ".join(name.lower().split())]
    except KeyError:
        raise e.ProgrammingError("unknown built-in type name %r (give the OID, or pass "
                                 "conn= to look it up)" % (name,)) from None


# ---- JSON ---------------------------------------------------------------------------

_json_loads: Callable[[str], Any] = json.loads
_json_dumps: Callable[[Any], str] = json.dumps


def set_json_loads(loads: Callable[[str], Any]) -> None:
    """Use ``loads`` (e.g. ``functools.partial(json.loads, parse_float=Decimal)``) to parse
    json/jsonb values."""
    global _json_loads
    _json_loads = loads


def set_json_dumps(dumps: Callable[[Any], str]) -> None:
    """Use ``dumps`` to serialize dicts and ``Json`` parameters."""
    global _json_dumps
    _json_dumps = dumps


class Json:
    """Send any JSON value (list, str, number, dict, None as JSON null) as json/jsonb.

    A bare dict is sent as JSON without the wrapper; a bare list would be an array, so wrap
    lists meant as JSON: ``conn.execute("INSERT INTO t(j) VALUES ($1)", [Json([1, 2])])``.
    """

    __slots__ = ("obj", "dumps")

    def __init__(self, obj: Any, dumps: Optional[Callable[[Any], str]] = None) -> None:
        self.obj = obj
        self.dumps = dumps

    def text(self) -> str:
        return (self.dumps or _json_dumps)(self.obj)

    def __repr__(self) -> str:
        return "Json(%r)" % (self.obj,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Json) and other.obj == self.obj

    __hash__ = None  # type: ignore[assignment]


# ---- Python -> pp_value ---------------------------------------------------------------

_NULL = ffi.NULL  # a global read faster than ffi.NULL in per-column code
PP_NULL = lib.PP_NULL
PP_BOOL = lib.PP_BOOL
PP_INT = lib.PP_INT
PP_FLOAT = lib.PP_FLOAT
PP_TEXT = lib.PP_TEXT
PP_BYTES = lib.PP_BYTES
PP_NUMERIC = lib.PP_NUMERIC
PP_DATE = lib.PP_DATE
PP_TIME = lib.PP_TIME
PP_TIMETZ = lib.PP_TIMETZ
PP_TIMESTAMP = lib.PP_TIMESTAMP
PP_TIMESTAMPTZ = lib.PP_TIMESTAMPTZ
PP_INTERVAL = lib.PP_INTERVAL
PP_UUID = lib.PP_UUID
PP_JSON = lib.PP_JSON
PP_ARRAY = lib.PP_ARRAY

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_INT32_MIN = -(1 << 31)
_INT32_MAX = (1 << 31) - 1
_PG_EPOCH_ORDINAL = 730120  # date(2000, 1, 1).toordinal()
_EPOCH = datetime(2000, 1, 1)
_EPOCH_UTC = datetime(2000, 1, 1, tzinfo=timezone.utc)
_EPOCH_DATE = date(2000, 1, 1)
# date.max / date.min in days from 2000-01-01: sent as 'infinity' / '-infinity' when
# set_infinity_mapping(True) says so.
_DATE_MAX_DAYS = date.max.toordinal() - _PG_EPOCH_ORDINAL
_DATE_MIN_DAYS = date.min.toordinal() - _PG_EPOCH_ORDINAL


def _usec(td: timedelta) -> int:
    return (td.days * 86400 + td.seconds) * 1000000 + td.microseconds


def _set_text(v, tag: int, data: bytes, keep: list) -> None:
    buf = ffi.from_buffer(data)
    keep.append(buf)
    v.tag = tag
    v.ptr = buf
    v.len = len(data)


def _str_bytes(s: str, pos: int) -> bytes:
    if "\0" in s:
        raise e.DataError("parameter $%d: str contains a NUL character, which PostgreSQL "
                          "text cannot hold" % pos)
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise e.DataError("parameter $%d: str cannot be encoded as UTF-8: %s"
                          % (pos, exc)) from exc


# numeric holds up to 131072 digits before the decimal point: no point in sending more.
_NUMERIC_MAX_BITS = 435412  # 131072 decimal digits


def _int_text(x: int, pos: int) -> str:
    """The decimal text of an int of any size: Python refuses str() beyond 4300 digits
    (sys.set_int_max_str_digits), so a big one goes in pieces of 1000 digits."""
    try:
        return str(x)
    except ValueError:
        pass
    if x.bit_length() > _NUMERIC_MAX_BITS:
        raise e.DataError("parameter $%d: an int of about %d digits is beyond PostgreSQL's "
                          "numeric (131072 digits)" % (pos, int(x.bit_length() * 0.30103)))
    sign = "-" if x < 0 else ""
    x = abs(x)
    pieces = []
    while x:
        x, r = divmod(x, _THOUSAND_DIGITS)
        pieces.append(r)
    top = pieces.pop()
    return sign + str(top) + "".join("%01000d" % p for p in reversed(pieces))


_THOUSAND_DIGITS = 10 ** 1000


def _decimal_text(d: Decimal, pos: int) -> str:
    if d.is_nan():
        if d.is_snan():
            raise e.DataError("parameter $%d: a signaling NaN Decimal cannot be sent" % pos)
        return "NaN"
    if d.is_infinite():
        return "-Infinity" if d < 0 else "Infinity"
    return format(d, "f")


def _float_text(f: float) -> str:
    if f != f:
        return "NaN"
    if f == math.inf:
        return "Infinity"
    if f == -math.inf:
        return "-Infinity"
    return repr(f)


def _interval_text(td: timedelta) -> str:
    return "%d days %d seconds %d microseconds" % (td.days, td.seconds, td.microseconds)


def _dump_none(x, v, keep, pos):
    pass  # a zeroed pp_value is PP_NULL


def _dump_bool(x, v, keep, pos):
    v.tag = PP_BOOL
    v.i = 1 if x else 0


def _dump_int(x, v, keep, pos):
    if type(x) is not int:
        x = int(x)  # IntEnum, numpy.int64, …
    if -0x8000000000000000 <= x <= 0x7FFFFFFFFFFFFFFF:  # _INT64_MIN/MAX, read as constants
        v.tag = PP_INT
        v.i = x
    else:
        _set_text(v, PP_NUMERIC, _int_text(x, pos).encode("ascii"), keep)


def _dump_float(x, v, keep, pos):
    v.tag = PP_FLOAT
    v.f = x


def _dump_decimal(x, v, keep, pos):
    _set_text(v, PP_NUMERIC, _decimal_text(x, pos).encode("ascii"), keep)


def _dump_str(x, v, keep, pos):
    _set_text(v, PP_TEXT, _str_bytes(x, pos), keep)


def _dump_bytes(x, v, keep, pos):
    if isinstance(x, memoryview) and not x.c_contiguous:
        x = x.tobytes()
    buf = ffi.from_buffer(x)
    keep.append(buf)
    v.tag = PP_BYTES
    v.ptr = buf
    v.len = len(buf)


def _dump_date(x, v, keep, pos):
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


def _dump_datetime(x, v, keep, pos):
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


def _dump_time(x, v, keep, pos):
    us = ((x.hour * 60 + x.minute) * 60 + x.second) * 1000000 + x.microsecond
    off = x.utcoffset()
    if off is None:
        v.tag = PP_TIME
        v.i = us
    else:
        v.tag = PP_TIMETZ
        v.i = us
        v.i2 = off.days * 86400 + off.seconds


def _dump_timedelta(x, v, keep, pos):
    v.tag = PP_INTERVAL
    v.i = x.seconds * 1000000 + x.microseconds
    v.i2 = x.days
    v.i3 = 0


def _dump_interval(x, v, keep, pos):
    if not (_INT64_MIN <= x.microseconds <= _INT64_MAX):
        raise e.DataError("parameter $%d: Interval of %d microseconds is out of range for "
                          "interval" % (pos, x.microseconds))
    v.tag = PP_INTERVAL
    v.i = x.microseconds
    v.i2 = x.days
    v.i3 = x.months


def _dump_uuid(x, v, keep, pos):
    _set_text(v, PP_UUID, x.bytes, keep)


def _json_text(dump: Callable[[], str], pos: int) -> bytes:
    try:
        text = dump()
    except (TypeError, ValueError, RecursionError) as exc:
        raise e.DataError("parameter $%d: cannot serialize to JSON: %s: %s"
                          % (pos, type(exc).__name__, exc)) from exc
    return _str_bytes(text, pos)


def _dump_dict(x, v, keep, pos):
    _set_text(v, PP_JSON, _json_text(lambda: _json_dumps(x), pos), keep)


def _dump_json(x, v, keep, pos):
    _set_text(v, PP_JSON, _json_text(x.text, pos), keep)


def _dump_list(x, v, keep, pos):
    text, oid = array_literal(x, pos)
    _set_text(v, PP_ARRAY, _str_bytes(text, pos), keep)
    v.oid = oid


def _text_of(x: Any, pos: int) -> str:
    """The text form of a value inside a range, multirange or record (quoted as needed)."""
    if _is_seq(x):
        return _quote(array_literal(x, pos)[0])
    return _element_text(x, pos, set())


def _dump_range(x, v, keep, pos):
    _set_text(v, PP_TEXT, _str_bytes(format_range(x, lambda b: _text_of(b, pos)), pos), keep)


def _dump_multirange(x, v, keep, pos):
    _set_text(v, PP_TEXT, _str_bytes(format_multirange(x, lambda b: _text_of(b, pos)), pos),
              keep)


def _dump_hstore(x, v, keep, pos):
    _set_text(v, PP_TEXT, _str_bytes(format_hstore(x, pos), pos), keep)


def _dump_enum(x, v, keep, pos):
    if not isinstance(x.name, str):  # a combination of enum.Flag members
        raise _cannot_send(x, pos)
    _dump_str(x.name, v, keep, pos)


def _dump_as_str(x, v, keep, pos):
    _dump_str(str(x), v, keep, pos)


_BUILTIN_DUMPERS: Dict[type, Callable] = {
    type(None): _dump_none,
    bool: _dump_bool,
    int: _dump_int,
    float: _dump_float,
    Decimal: _dump_decimal,
    str: _dump_str,
    bytes: _dump_bytes,
    bytearray: _dump_bytes,
    memoryview: _dump_bytes,
    date: _dump_date,
    datetime: _dump_datetime,
    time: _dump_time,
    timedelta: _dump_timedelta,
    UUID: _dump_uuid,
    dict: _dump_dict,
    Json: _dump_json,
    list: _dump_list,
    tuple: _dump_list,
    Interval: _dump_interval,
    Range: _dump_range,
    Multirange: _dump_multirange,
    Hstore: _dump_hstore,
    enum.Enum: _dump_enum,
    ipaddress.IPv4Address: _dump_as_str,
    ipaddress.IPv6Address: _dump_as_str,
    ipaddress.IPv4Interface: _dump_as_str,
    ipaddress.IPv6Interface: _dump_as_str,
    ipaddress.IPv4Network: _dump_as_str,
    ipaddress.IPv6Network: _dump_as_str,
}
_user_dumpers: Dict[type, Callable[[Any], Any]] = {}
# Concrete type -> dumper, filled on first sight of a type (cleared on registration).
_dumpers: Dict[type, Callable] = dict(_BUILTIN_DUMPERS)


def _find_dumper(cls: type) -> Optional[Callable]:
    for base in cls.__mro__:
        user = _user_dumpers.get(base)
        if user is not None:
            return _wrap_user_dumper(user)
        fn = _BUILTIN_DUMPERS.get(base)
        if fn is not None:
            return fn
    # Numbers of other libraries (numpy.int64, …) registered with the numbers ABCs.
    if issubclass(cls, numbers.Integral):
        return _dump_int
    if issubclass(cls, numbers.Real) and not issubclass(cls, numbers.Rational):
        return _dump_real
    return None


def _dump_real(x, v, keep, pos):
    _dump_float(float(x), v, keep, pos)


def _wrap_user_dumper(func: Callable[[Any], Any]) -> Callable:
    def dump(x, v, keep, pos):
        y = func(x)
        if type(y) is type(x) and type(x) in _user_dumpers:
            raise e.ProgrammingError("parameter $%d: the dumper registered for %s returned "
                                     "the same type" % (pos, type(x).__name__))
        dump_value(y, v, keep, pos)
    return dump


def register_dumper(pytype: type, func: Optional[Callable[[Any], Any]]) -> None:
    """Teach PostPyro to send values of ``pytype`` (and its subclasses): ``func(value)``
    returns a value PostPyro can already send (often a str, which the server parses as
    the parameter's type). Example: ``register_dumper(ipaddress.IPv4Address, str)``.
    ``func=None`` removes it. Applies to every connection."""
    if not isinstance(pytype, type):
        raise TypeError("register_dumper() needs a type, got %r" % (pytype,))
    if func is None:
        _user_dumpers.pop(pytype, None)
    else:
        _user_dumpers[pytype] = func
    _dumpers.clear()
    _dumpers.update(_BUILTIN_DUMPERS)
    for cls in _user_dumpers:
        _dumpers[cls] = _wrap_user_dumper(_user_dumpers[cls])


def _cannot_send(x: Any, pos: int) -> e.Error:
    return e.ProgrammingError(
        "parameter $%d: cannot send a Python %s to PostgreSQL (register a dumper with "
        "PostPyro.types.register_dumper, or pass a str for the server to parse)"
        % (pos, _type_name(x)))


def _type_name(x: Any) -> str:
    cls = type(x)
    if cls.__module__ in ("builtins", None):
        return cls.__qualname__
    return "%s.%s" % (cls.__module__, cls.__qualname__)


def _lookup_dumper(cls: type) -> Optional[Callable]:
    """The dumper of a type not yet in the ``_dumpers`` cache, cached when there is one."""
    fn = _find_dumper(cls)
    if fn is not None:
        _dumpers[cls] = fn
    return fn


# What a dumper (or a user's dumper, or json.dumps) may raise for a value it cannot send:
# they become a DataError naming the parameter, the original as its __cause__.
_DUMP_FAILURES = (TypeError, ValueError, OverflowError, RecursionError)


def _dump_failed(x: Any, pos: int, exc: BaseException) -> e.Error:
    what = "nested too deep" if isinstance(exc, RecursionError) else \
        "%s: %s" % (type(exc).__name__, exc)
    return e.DataError("parameter $%d: cannot send this Python %s: %s"
                       % (pos, _type_name(x), what))


def dump_value(x: Any, v, keep: list, pos: int) -> None:
    """Fill the pp_value ``v`` with the Python value ``x`` (parameter number ``pos``);
    cdata that must outlive ``v`` is appended to ``keep``."""
    fn = _dumpers.get(type(x))
    if fn is None:
        fn = _lookup_dumper(type(x))
        if fn is None:
            raise _cannot_send(x, pos)
    try:
        fn(x, v, keep, pos)
    except _DUMP_FAILURES as exc:
        raise _dump_failed(x, pos, exc) from exc


def check_params(params: Any) -> Union[list, tuple]:
    """Parameters must be omitted (None), a list or a tuple."""
    if params is None:
        return ()
    if type(params) is list or type(params) is tuple or isinstance(params, (list, tuple)):
        return params
    raise e.ProgrammingError("parameters must be a list or a tuple, not %s"
                             % _type_name(params))


def dump_params(params: Any) -> Tuple[Any, int, Sequence[Any]]:
    """Parameters as (``pp_value[]`` or NULL, count, keep-alive list)."""
    if type(params) is not list and type(params) is not tuple:
        params = check_params(params)
    n = len(params)
    if n == 0:
        return ffi.NULL, 0, ()
    arr = newp(T_VALUE_ARRAY, n)
    keep = [arr]
    i = 0
    try:
        for x in params:
            fn = _dumpers.get(type(x))
            if fn is None:
                fn = _lookup_dumper(type(x))
                if fn is None:
                    raise _cannot_send(x, i + 1)
            fn(x, arr[i], keep, i + 1)
            i += 1
    except _DUMP_FAILURES as exc:
        raise _dump_failed(params[i], i + 1, exc) from exc
    return arr, n, keep


def dump_many(seq_of_params: Any) -> Tuple[Any, int, int, list]:
    """Rows of parameters as (``pp_value[]``, nparams, nrows, keep-alive list)."""
    rows = [check_params(p) for p in seq_of_params]
    nrows = len(rows)
    if nrows == 0:
        return ffi.NULL, 0, 0, []
    nparams = len(rows[0])
    for k, row in enumerate(rows):
        if len(row) != nparams:
            raise e.ProgrammingError("executemany: row %d has %d parameters, row 0 has %d"
                                     % (k, len(row), nparams))
    if nparams == 0:
        return ffi.NULL, 0, nrows, []
    arr = ffi.new("pp_value[]", nrows * nparams)
    keep = [arr]
    j = 0
    for row in rows:
        for i in range(nparams):
            dump_value(row[i], arr[j], keep, i + 1)
            j += 1
    return arr, nparams, nrows, keep


# ---- Python list -> PostgreSQL array literal ---------------------------------------------

# Python type -> the array type to declare when the server cannot infer the parameter's.
_ARRAY_OID_OF_TYPE = {
    bool: 1000, int: 1016, float: 1022, Decimal: 1231, str: 1009, bytes: 1001,
    bytearray: 1001, memoryview: 1001, date: 1182, time: 1183, timedelta: 1187,
    UUID: 2951, dict: 3807, Json: 3807,
}


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_seq(x: Any) -> bool:
    """A list or tuple sent as an array (not one of a type with a dumper of its own, such
    as the namedtuple of a composite type)."""
    cls = type(x)
    if cls is list or cls is tuple:
        return True
    if not isinstance(x, (list, tuple)):
        return False
    return (_dumpers.get(cls) or _lookup_dumper(cls)) is _dump_list


# PostgreSQL arrays have at most 6 dimensions (MAXDIM).
_MAX_DIMS = 6


def _array_shape(x: Union[list, tuple], pos: int) -> List[int]:
    dims = []
    cur: Any = x
    while _is_seq(cur):
        dims.append(len(cur))
        if len(dims) > _MAX_DIMS:
            raise e.DataError("parameter $%d: lists nested more than %d deep cannot be a "
                              "PostgreSQL array (at most %d dimensions)"
                              % (pos, _MAX_DIMS, _MAX_DIMS))
        if not cur:
            break
        cur = cur[0]

    def check(seq, depth):
        if len(seq) != dims[depth]:
            raise _ragged(pos)
        inner = depth + 1 < len(dims)
        for item in seq:
            if _is_seq(item) != inner:
                raise _ragged(pos)
            if inner:
                check(item, depth + 1)

    check(x, 0)
    return dims


def _ragged(pos: int) -> e.Error:
    return e.DataError("parameter $%d: nested lists of different lengths (or mixing lists "
                       "and values) cannot be a PostgreSQL array, whose sub-arrays must all "
                       "have the same size" % pos)


def _element_text(x: Any, pos: int, kinds: set) -> str:
    if x is None:
        return "NULL"
    cls = type(x)
    if cls is bool:
        kinds.add(bool)
        return "t" if x else "f"
    if cls is int:
        kinds.add(int)
        return _int_text(x, pos)
    if cls is str:
        kinds.add(str)
        if "\0" in x:
            raise e.DataError("parameter $%d: str in array contains a NUL character, which "
                              "PostgreSQL text cannot hold" % pos)
        return _quote(x)
    if cls is float:
        kinds.add(float)
        return _float_text(x)
    if _user_dumpers:  # as for parameters, a registered dumper comes first
        for base in cls.__mro__:
            user = _user_dumpers.get(base)
            if user is not None:
                return _element_text(user(x), pos, kinds)
    if isinstance(x, bool):
        kinds.add(bool)
        return "t" if x else "f"
    if isinstance(x, int):
        kinds.add(int)
        return str(int(x))
    if isinstance(x, float):
        kinds.add(float)
        return _float_text(float(x))
    if isinstance(x, Decimal):
        kinds.add(Decimal)
        return _decimal_text(x, pos)
    if isinstance(x, str):
        return _element_text(str.__str__(x), pos, kinds)
    if isinstance(x, (bytes, bytearray, memoryview)):
        kinds.add(bytes)
        return _quote("\\x" + bytes(x).hex())
    if isinstance(x, datetime):
        kinds.add("timestamptz" if x.utcoffset() is not None else "timestamp")
        inf = _datetime_infinity(x)
        if inf:
            return "infinity" if inf > 0 else "-infinity"
        return _quote(x.isoformat())
    if isinstance(x, date):
        kinds.add(date)
        if _infinity_mapped and x == date.max:
            return "infinity"
        if _infinity_mapped and x == date.min:
            return "-infinity"
        return _quote(x.isoformat())
    if isinstance(x, time):
        kinds.add("timetz" if x.utcoffset() is not None else time)
        return _quote(x.isoformat())
    if isinstance(x, timedelta):
        kinds.add(timedelta)
        return _quote(_interval_text(x))
    if isinstance(x, Interval):
        kinds.add(timedelta)
        return _quote("%d months %d days %d microseconds"
                      % (x.months, x.days, x.microseconds))
    if isinstance(x, UUID):
        kinds.add(UUID)
        return str(x)
    if isinstance(x, Hstore):
        kinds.add("other")
        return _quote(format_hstore(x, pos))
    if isinstance(x, dict):
        kinds.add(dict)
        return _quote(_json_text(lambda: _json_dumps(x), pos).decode("utf-8"))
    if isinstance(x, Json):
        kinds.add(dict)
        return _quote(_json_text(x.text, pos).decode("utf-8"))
    if isinstance(x, Range):
        kinds.add("other")
        return _quote(format_range(x, lambda b: _text_of(b, pos)))
    if isinstance(x, Multirange):
        kinds.add("other")
        return _quote(format_multirange(x, lambda b: _text_of(b, pos)))
    if isinstance(x, enum.Enum) and isinstance(x.name, str):
        kinds.add("other")
        return _quote(x.name)
    if isinstance(x, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        kinds.add("inet")
        return _quote(str(x))
    if isinstance(x, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        kinds.add("cidr")
        return _quote(str(x))
    if cls in _composite_types:
        kinds.add("other")
        return _quote(_record_text(x, pos))
    if isinstance(x, numbers.Integral):
        return _element_text(int(x), pos, kinds)
    if isinstance(x, numbers.Real) and not isinstance(x, numbers.Rational):
        return _element_text(float(x), pos, kinds)
    raise e.ProgrammingError("parameter $%d: cannot send a Python %s inside an array"
                             % (pos, _type_name(x)))


_KIND_OIDS = dict(_ARRAY_OID_OF_TYPE)
_KIND_OIDS.update({"timestamp": 1115, "timestamptz": 1185, "timetz": 1270, "inet": 1041,
                   "cidr": 651, "other": 0})


def array_literal(x: Union[list, tuple], pos: int = 1) -> Tuple[str, int]:
    """A (nested) list as PostgreSQL's array text form, plus the array type OID inferred
    from its elements (0 when they are mixed)."""
    dims = _array_shape(x, pos)
    kinds: set = set()
    depth = len(dims)

    def fmt(seq, d):
        if d + 1 < depth:
            return "{" + ",".join(fmt(item, d + 1) for item in seq) + "}"
        return "{" + ",".join(_element_text(item, pos, kinds) for item in seq) + "}"

    text = fmt(x, 0)
    if kinds == {int, float}:
        kinds = {float}
    if len(kinds) == 1:
        oid = _KIND_OIDS.get(next(iter(kinds)), 0)
    elif not kinds:
        oid = 1009  # empty, or only NULLs: text[] parses '{}' / '{NULL}' fine
    else:
        oid = 0
    return text, oid


# ---- text form -> Python (results in text format, simple protocol) ------------------------

def _bad(kind: str, s: str) -> e.DataError:
    return e.DataError("cannot read %s value %r" % (kind, s))


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


_BYTEA_ESCAPE_RE = re.compile(rb"\\(\\|[0-7]{3})")


def load_bytea_text(s: str) -> bytes:
    if s.startswith("\\x"):
        try:
            return bytes.fromhex(s[2:])
        except ValueError:
            raise _bad("bytea", s) from None
    raw = s.encode("latin-1", "strict") if s.isascii() else s.encode("utf-8")
    return _BYTEA_ESCAPE_RE.sub(
        lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1), 8)]), raw)


def load_bool_text(s: str) -> bool:
    if s == "t":
        return True
    if s == "f":
        return False
    raise _bad("boolean", s)


def _load_json_text(s: str) -> Any:
    return _json_loads(s)


_FLOAT4 = struct.Struct("f")


def _load_float4_text(s: str) -> float:
    """A real's text form as the exact value of the float4 (what the binary path gives:
    '3.14' is 3.140000104904175)."""
    return _FLOAT4.unpack(_FLOAT4.pack(float(s)))[0]


def _load_void_text(s: str) -> None:
    return None


_TEXT_LOADERS: Dict[int, Callable[[str], Any]] = {
    16: load_bool_text,
    17: load_bytea_text,
    20: int, 21: int, 23: int, 26: int, 28: int, 29: int, 5069: int,
    700: _load_float4_text, 701: float,
    2278: _load_void_text,
    1700: Decimal,
    1082: load_date_text,
    1083: load_time_text,
    1266: load_timetz_text,
    1114: load_timestamp_text,
    1184: load_timestamptz_text,
    1186: load_interval_text,
    2950: UUID,
    114: _load_json_text, 3802: _load_json_text,
}

def _array_token_re(delim: str) -> Any:
    d = re.escape(delim)
    return re.compile(r'[{}%s]|"(?:[^"\\]|\\.)*"|(?:[^{}%s"\\\s]|\\.)(?:[^{}%s"\\]|\\.)*|\s+'
                      % (d, d, d), re.S)


_ARRAY_TOKEN_RES = {",": _array_token_re(","), ";": _array_token_re(";")}
_UNESCAPE_RE = re.compile(r"\\(.)", re.S)


def parse_array(s: str, delim: str = ",") -> list:
    """PostgreSQL's array text form as nested lists of str (None for NULL). Lower bounds
    other than 1 (``[0:2]={…}``) are dropped. ``delim`` is the element type's delimiter
    (``;`` for box, ``,`` for every other built-in type)."""
    token_re = _ARRAY_TOKEN_RES.get(delim)
    if token_re is None:
        token_re = _ARRAY_TOKEN_RES[delim] = _array_token_re(delim)
    pos = 0
    if s.startswith("["):  # dimension decoration: [1:3]={...} or [0:1][1:2]={...}
        pos = s.find("=") + 1
        if pos == 0:
            raise _bad("array", s)
    end = len(s)
    stack: List[list] = []
    cur: Optional[list] = None
    result = None
    while pos < end:
        m = token_re.match(s, pos)
        if m is None:
            raise _bad("array", s)
        pos = m.end()
        tok = m.group()
        c = tok[0]
        if c.isspace():
            continue
        if result is not None:
            raise _bad("array", s)
        if c == "{":
            new: list = []
            if cur is not None:
                cur.append(new)
                stack.append(cur)
            cur = new
        elif cur is None:
            raise _bad("array", s)
        elif c == "}":
            if stack:
                cur = stack.pop()
            else:
                result = cur
        elif c == delim:
            pass
        elif c == '"':
            cur.append(_UNESCAPE_RE.sub(r"\1", tok[1:-1]))
        else:
            tok = tok.rstrip()
            if tok.upper() == "NULL":
                cur.append(None)
            else:
                cur.append(_UNESCAPE_RE.sub(r"\1", tok))
    if result is None:
        raise _bad("array", s)
    return result


def _map_nested(f: Callable[[str], Any], x: list) -> list:
    return [None if v is None else (_map_nested(f, v) if type(v) is list else f(v))
            for v in x]


def _array_text_loader(elem_oid: int, delim: str = ",") -> Callable[[str], list]:
    def load(s: str) -> list:
        arr = parse_array(s, delim)
        f = _TEXT_LOADERS.get(elem_oid)
        user = _user_loaders.get(elem_oid)
        if f is not None:
            arr = _map_nested(f, arr)
        if user is not None:
            arr = _map_nested(user, arr)
        return arr
    return load


def _range_loader(subtype: int) -> Callable[[str], Range]:
    def load(s: str) -> Range:
        return parse_range(s, lambda b: load_text(subtype, b))
    return load


def _multirange_loader(subtype: int) -> Callable[[str], Multirange]:
    def load(s: str) -> Multirange:
        return parse_multirange(s, lambda b: load_text(subtype, b))
    return load


# Built-in range and multirange types -> their subtype.
_RANGE_SUBTYPE = {3904: 23, 3906: 1700, 3908: 1114, 3910: 1184, 3912: 1082, 3926: 20}
_MULTIRANGE_SUBTYPE = {4451: 23, 4532: 1700, 4533: 1114, 4534: 1184, 4535: 1082, 4536: 20}
for _oid, _sub in _RANGE_SUBTYPE.items():
    _TEXT_LOADERS[_oid] = _range_loader(_sub)
for _oid, _sub in _MULTIRANGE_SUBTYPE.items():
    _TEXT_LOADERS[_oid] = _multirange_loader(_sub)
for _arr, _elem in ARRAY_ELEMENT.items():
    _TEXT_LOADERS[_arr] = _array_text_loader(_elem, ARRAY_DELIM.get(_arr, ","))
del _arr, _elem, _oid, _sub
_BUILTIN_TEXT_LOADER_OIDS = frozenset(_TEXT_LOADERS)


def load_text(oid: int, s: Optional[str]) -> Any:
    """The Python value of the text form ``s`` of a value of type ``oid``."""
    if s is None:
        return None
    f = _TEXT_LOADERS.get(oid)
    v = s if f is None else f(s)
    user = _user_loaders.get(oid)
    return v if user is None else user(v)


# ---- user loaders -------------------------------------------------------------------------

_user_loaders: Dict[int, Callable[[Any], Any]] = {}


def register_loader(type_: Union[int, str], func: Optional[Callable[[Any], Any]],
                    conn: Any = None) -> None:
    """Change what values of a PostgreSQL type become: ``func(value)`` receives the value
    PostPyro made (a str for types it has no conversion for, such as inet, enums or your
    own types) and returns the replacement. ``type_`` is an OID or a type name (a built-in
    name, or any name when ``conn`` is given to look it up). ``func=None`` removes it.
    Elements of arrays of that type are converted too. Applies to every connection."""
    if isinstance(type_, str):
        key = " ".join(type_.lower().split())
        if key in TYPE_OIDS or conn is None:
            oid = type_oid(type_)
        else:
            oid, typarray, delim = conn.query_one(_ARRAY_OF_TYPE_SQL, [type_])
            if typarray and typarray not in _TEXT_LOADERS:
                _TEXT_LOADERS[typarray] = _array_text_loader(oid, delim)
    elif isinstance(type_, int) and not isinstance(type_, bool):
        oid = type_
    else:
        raise TypeError("register_loader() needs an OID or a type name, got %r" % (type_,))
    if func is None:
        _user_loaders.pop(oid, None)
    else:
        _user_loaders[oid] = func


# ---- types of one database: enums, composites, domains, ranges, extension types -----------

_ARRAY_OF_TYPE_SQL = ("SELECT t.oid, t.typarray, t.typdelim FROM pg_catalog.pg_type t "
                      "WHERE t.oid = $1::text::regtype::oid")
_TYPE_SQL = ("SELECT t.oid, t.typname, t.typtype, t.typarray, t.typdelim, t.typrelid, "
             "t.typbasetype, (SELECT r.rngsubtype FROM pg_catalog.pg_range r "
             "WHERE r.rngtypid = t.oid) FROM pg_catalog.pg_type t "
             "WHERE t.oid = $1::text::regtype::oid")
_MULTIRANGE_SQL = "SELECT rngsubtype FROM pg_catalog.pg_range WHERE rngmultitypid = $1"
_FIELDS_SQL = ("SELECT attname, atttypid FROM pg_catalog.pg_attribute WHERE attrelid = $1 "
               "AND attnum > 0 AND NOT attisdropped ORDER BY attnum")

_KINDS = {"b": "base", "c": "composite", "d": "domain", "e": "enum", "r": "range",
          "m": "multirange", "p": "pseudo"}


class TypeInfo(NamedTuple):
    """What :func:`register_type` learned about a type."""
    name: str                    #: the type's name in pg_type
    oid: int
    array_oid: int               #: the OID of its array type (0 if none)
    kind: str                    #: base, composite, domain, enum, range, multirange
    python_type: Optional[type]  #: what its values become (None: str)


# The namedtuple classes of registered composite types (their dumper is in _BUILTIN_DUMPERS,
# so that register_dumper keeps it).
_composite_types: set = set()


def _record_text(x: Any, pos: int) -> str:
    return format_record(x, lambda f: _text_of(f, pos))


def _dump_composite(x, v, keep, pos):
    _set_text(v, PP_TEXT, _str_bytes(_record_text(x, pos), pos), keep)


def _composite_loader(cls: type, field_oids: Tuple[int, ...]) -> Callable[[str], Any]:
    n = len(field_oids)

    def load(s: str) -> Any:
        fields = parse_record(s)
        if not fields and n == 1:  # '()' is also a single NULL field
            fields = (None,)
        if len(fields) != n:
            raise e.DataError("cannot read %s value %r: %d fields for %d"
                              % (cls.__name__, s, len(fields), n))
        return cls(*[load_text(o, f) for o, f in zip(field_oids, fields)])
    return load


def register_type(conn: Any, name: str) -> TypeInfo:
    """Look up the type ``name`` (as SQL writes it: ``"mood"``, ``"myschema.pair"``,
    ``"hstore"``) in ``conn``'s database and teach PostPyro its values and its array's:

    - enum, citext and any other base type: ``str`` (their arrays: lists of str);
    - composite type: a namedtuple class named after the type (``TypeInfo.python_type``),
      each field converted by its own type; instances of that class are sent back as the
      composite type (a plain tuple is an array);
    - domain: as its base type (a domain's own values already come back as the base type;
      this is for arrays of the domain and composites holding it);
    - range / multirange: :class:`Range` / :class:`Multirange` with bounds of the subtype;
    - hstore: :class:`Hstore` (a dict of str to str or None).

    OIDs differ between databases: the registration applies to every connection, so call
    it for the database you use. Returns a :class:`TypeInfo`; :func:`unregister_type`
    undoes it."""
    rows = conn.query(_TYPE_SQL, [name])
    oid, typname, typtype, typarray, delim, relid, basetype, subtype = rows[0]
    kind = _KINDS.get(typtype, typtype)
    pytype: Optional[type] = None
    loader: Optional[Callable[[str], Any]] = None
    if typtype == "c":
        fields = conn.query(_FIELDS_SQL, [relid])
        field_oids = tuple(f[1] for f in fields)
        pytype = namedtuple(typname, [f[0] for f in fields], rename=True)  # type: ignore
        loader = _composite_loader(pytype, field_oids)
        _composite_types.add(pytype)
        _BUILTIN_DUMPERS[pytype] = _dump_composite
        _dumpers[pytype] = _dump_composite
    elif typtype == "d":
        loader = functools.partial(load_text, basetype)
    elif typtype == "r":
        pytype = Range
        loader = _range_loader(subtype)
    elif typtype == "m":
        pytype = Multirange
        loader = _multirange_loader(conn.query_one(_MULTIRANGE_SQL, [oid])[0])
    elif typtype == "b" and typname == "hstore":
        pytype = Hstore
        loader = parse_hstore
    if loader is not None and oid not in _BUILTIN_TEXT_LOADER_OIDS:
        _TEXT_LOADERS[oid] = loader
    if typarray and typarray not in _BUILTIN_TEXT_LOADER_OIDS:
        _TEXT_LOADERS[typarray] = _array_text_loader(oid, delim)
    return TypeInfo(typname, oid, typarray, kind, pytype)


def unregister_type(info: TypeInfo) -> None:
    """Undo :func:`register_type`: the type's values come back as their text form again."""
    for oid in (info.oid, info.array_oid):
        if oid not in _BUILTIN_TEXT_LOADER_OIDS:
            _TEXT_LOADERS.pop(oid, None)
    if info.kind == "composite" and info.python_type is not None:
        _composite_types.discard(info.python_type)
        _BUILTIN_DUMPERS.pop(info.python_type, None)
        _dumpers.pop(info.python_type, None)


# ---- result columns -> Python lists -------------------------------------------------------

def _patch_nulls(vals: list, nulls: Optional[bytes]) -> list:
    if nulls is not None:
        k = nulls.count(1)
        if k == len(vals):  # all NULL (common in catalogs)
            return [None] * k
        if k * 8 > len(vals):  # many NULLs: one pass beats a find() per NULL
            return [None if isnull else v for v, isnull in zip(vals, nulls)]
        i = nulls.find(1)
        while i >= 0:
            vals[i] = None
            i = nulls.find(1, i + 1)
    return vals


def _map_nullable(f: Callable[[Any], Any], vals: list, nulls: Optional[bytes],
                  what: str) -> list:
    try:
        if nulls is None:
            return list(map(f, vals))
        return [None if isnull else f(v) for v, isnull in zip(vals, nulls)]
    except e.Error:
        raise
    except (ValueError, ArithmeticError, TypeError) as exc:
        raise e.DataError("cannot convert a %s value: %s" % (what, exc)) from None


def _strings(col, n: int) -> List[str]:
    if col.data_len == 0:
        raise e.DataError("malformed result column: no text data for %d values" % n)
    try:
        # decoded straight from the C buffer: no intermediate bytes copy
        text = str(ffi.buffer(col.data, col.data_len), "utf-8")
    except UnicodeDecodeError as exc:
        raise e.DataError("result text is not valid UTF-8: %s" % exc) from None
    parts = text.split("\0")
    if len(parts) != n + 1 or parts[-1]:
        raise e.DataError("malformed result column: expected %d NUL-terminated values, "
                          "found %d" % (n, len(parts) - 1))
    parts.pop()
    return parts


def _slices(col, n: int) -> List[bytes]:
    offs = unpack(col.offsets, n + 1)
    total = col.data_len
    raw = ffi.buffer(col.data, total)[:] if total else b""
    if offs[0] < 0 or offs[-1] > total:
        raise e.DataError("malformed result column: offsets outside the data")
    return [raw[offs[k]:offs[k + 1]] for k in range(n)]


def _conv_null(col, n, nulls):
    return [None] * n


def _conv_int(col, n, nulls):
    vals = unpack(col.ints, n)
    return vals if nulls is None else _patch_nulls(vals, nulls)


def _conv_bool(col, n, nulls):
    return _patch_nulls(list(map(bool, unpack(col.ints, n))), nulls)


def _conv_float(col, n, nulls):
    vals = unpack(col.floats, n)
    if col.oid == 700:  # real: the float4's exact value, from binary and text alike
        vals = array("f", vals).tolist()
    return _patch_nulls(vals, nulls)


def _conv_text(col, n, nulls):
    vals = _strings(col, n)
    f = _TEXT_LOADERS.get(col.oid)
    if f is None:
        return _patch_nulls(vals, nulls)
    return _map_nullable(f, vals, nulls, _oid_name(col.oid))


def _decimal_from_parts(s: str) -> Decimal:
    """Decimal(s) for the numeric text the library hands out ("-12.500", "NaN", …), built
    from its parts: the pure-Python decimal (PyPy's) parses a string with a regular
    expression, which costs ten times more."""
    sign = 0
    body = s
    if s[:1] == "-":
        sign, body = 1, s[1:]
    whole, _, frac = body.partition(".")
    if not (whole.isdigit() and whole.isascii() and (not frac or (frac.isdigit() and
                                                                     frac.isascii()))):
        return Decimal(s)  # NaN, Infinity, -Infinity
    return _dec_from_triple(sign, (whole + frac).lstrip("0") or "0", -len(frac))


# Only the pure-Python decimal (its Decimal has slots such as _int) has _dec_from_triple.
_FAST_DECIMAL = "_int" in getattr(Decimal, "__slots__", ())
if _FAST_DECIMAL:
    from _pydecimal import _dec_from_triple


def _conv_numeric(col, n, nulls):
    make = _decimal_from_parts if _FAST_DECIMAL else Decimal
    return _map_nullable(make, _strings(col, n), nulls, "numeric")


def _conv_json(col, n, nulls):
    vals = _strings(col, n)
    if _json_loads is json.loads and n > 1:
        # The whole column in one parse, as the elements of one JSON array: 3x faster than
        # a json.loads per value. The server's JSON text is valid and holds no NUL; a NULL
        # becomes null, which is None too. Anything unexpected: value by value below.
        elems = vals if nulls is None else \
            ["null" if isnull else v for v, isnull in zip(vals, nulls)]
        try:
            out = json.loads("[" + ",".join(elems) + "]")
        except ValueError:
            out = None
        if type(out) is list and len(out) == n:
            return out
    return _map_nullable(_json_loads, vals, nulls, "json")


def _conv_bytes(col, n, nulls):
    return _patch_nulls(_slices(col, n), nulls)


def _uuid_checked(b: bytes) -> UUID:
    return UUID(bytes=b)


def _uuid_fast(b: bytes, _new=object.__new__, _set=object.__setattr__,
               _from=int.from_bytes, _unknown=SafeUUID.unknown) -> UUID:
    # What UUID(bytes=b) makes, without its argument checks (2-3x faster; the 16 bytes
    # come from the server's binary uuid).
    u = _new(UUID)
    _set(u, "int", _from(b, "big"))
    _set(u, "is_safe", _unknown)
    return u


def _pick_uuid_from_bytes() -> Callable[[bytes], UUID]:
    try:
        if _uuid_fast(bytes(range(16))) == UUID(bytes=bytes(range(16))):
            return _uuid_fast
    except (TypeError, AttributeError):  # pragma: no cover - UUID without those slots
        pass
    return _uuid_checked  # pragma: no cover


_uuid_from_bytes = _pick_uuid_from_bytes()


def _conv_uuid(col, n, nulls):
    vals = _slices(col, n)
    if nulls is None:
        return list(map(_uuid_from_bytes, vals))
    conv = _uuid_from_bytes
    return [None if isnull else conv(v) for v, isnull in zip(vals, nulls)]


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


_IS_PYPY = sys.implementation.name == "pypy"


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


def _nest(flat: list, start: int, dims: List[int]) -> list:
    if len(dims) == 1:
        return flat[start:start + dims[0]]
    step = 1
    for d in dims[1:]:
        step *= d
    inner = dims[1:]
    return [_nest(flat, start + k * step, inner) for k in range(dims[0])]


def _conv_array(col, n, nulls):
    if col.elements == ffi.NULL:
        flat: list = []
    else:
        flat = convert_column(col.elements)
    eo = unpack(col.elem_offsets, n + 1)
    so = unpack(col.shape_offsets, n)
    last = max(so)
    shapes = unpack(col.shapes, last + 1)
    shapes = unpack(col.shapes, last + 1 + 2 * shapes[last])
    out: list = []
    append = out.append
    for k in range(n):
        if nulls is not None and nulls[k]:
            append(None)
            continue
        s = so[k]
        ndim = shapes[s]
        a, b = eo[k], eo[k + 1]
        if ndim == 0:
            append([])
        elif ndim == 1:
            append(flat[a:b])
        else:
            dims = shapes[s + 1:s + 1 + ndim]
            size = 1
            for d in dims:
                size *= d
            if size != b - a:
                raise e.DataError("malformed array result: shape %r but %d elements"
                                  % (dims, b - a))
            append(_nest(flat, a, dims))
    return out


_CONVERTERS = {
    PP_NULL: _conv_null,
    PP_BOOL: _conv_bool,
    PP_INT: _conv_int,
    PP_FLOAT: _conv_float,
    PP_TEXT: _conv_text,
    PP_BYTES: _conv_bytes,
    PP_NUMERIC: _conv_numeric,
    PP_DATE: _conv_date,
    PP_TIME: _conv_time,
    PP_TIMETZ: _conv_timetz,
    PP_TIMESTAMP: _conv_timestamp,
    PP_TIMESTAMPTZ: _conv_timestamptz,
    PP_INTERVAL: _conv_interval,
    PP_UUID: _conv_uuid,
    PP_JSON: _conv_json,
    PP_ARRAY: _conv_array,
}

_OID_NAMES = {}
for _name, _oid in TYPE_OIDS.items():
    _OID_NAMES.setdefault(_oid, _name)
del _name, _oid


def _oid_name(oid: int) -> str:
    return _OID_NAMES.get(oid, "type %d" % oid)


def convert_column(col) -> list:
    """A decoded ``pp_column`` (pointer) as a list of Python values, one per row."""
    n = col.count
    if n <= 0:
        return []
    conv = _CONVERTERS.get(col.tag)
    if conv is None:
        raise e.InterfaceError("libpostpyro returned a column with unknown tag %d (a newer "
                               "library than this PostPyro?)" % col.tag)
    nulls = col.nulls
    if nulls == _NULL:
        nulls = None
    else:
        nulls = ffi.buffer(nulls, n)[:]
        if not nulls.count(0):
            return [None] * n  # all NULL (common in catalogs): nothing to decode
    vals = conv(col, n, nulls)
    if _user_loaders:
        user = _user_loaders.get(col.oid)
        if user is not None:
            vals = [None if v is None else user(v) for v in vals]
    return vals
