# SPDX-License-Identifier: MIT
"""The adapter registries and what uses them: Python type -> dumper (dump_value,
dump_params, dump_many, register_dumper), type OID -> text loader (load_text,
register_loader), type OID -> column converter (convert_column), and the parts of arrays,
ranges and composites that recurse into the registries (an element is dumped or loaded like
any value)."""

from __future__ import annotations

import enum
import ipaddress
import numbers
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union
from uuid import UUID

from .. import errors as e
from . import _datetime, _json
from .._ffi import T_VALUE_ARRAY, ffi, newp, unpack
from ._composite import format_record
from ._hstore import Hstore, format_hstore
from ._interval import Interval
from ._range import (Multirange, Range, format_multirange, format_range, parse_multirange,
                     parse_range)
from ._arrays import _map_nested, _MAX_DIMS, _nest, parse_array, _quote, _ragged
from ._base import (_map_nullable, _NULL, _patch_nulls, PP_ARRAY, PP_BOOL, PP_BYTES, PP_DATE,
                    PP_FLOAT, PP_INT, PP_INTERVAL, PP_JSON, PP_NULL, PP_NUMERIC, PP_TEXT, PP_TIME,
                    PP_TIMESTAMP, PP_TIMESTAMPTZ, PP_TIMETZ, PP_UUID, _set_text, _strings)
from ._datetime import (_conv_date, _conv_interval, _conv_time, _conv_timestamp, _conv_timestamptz,
                        _conv_timetz, _datetime_infinity, _dump_date, _dump_datetime,
                        _dump_interval, _dump_time, _dump_timedelta, _interval_text,
                        load_date_text, load_interval_text, load_time_text, load_timestamp_text,
                        load_timestamptz_text, load_timetz_text)
from ._json import _conv_json, _dump_dict, _dump_json, Json, _json_text, _load_json_text
from ._numbers import (_conv_bool, _conv_float, _conv_int, _conv_numeric, _decimal_text,
                       _dump_bool, _dump_decimal, _dump_float, _dump_int, _float_text, _int_text,
                       load_bool_text, _load_float4_text)
from ._oids import ARRAY_DELIM, ARRAY_ELEMENT, _oid_name, type_oid, TYPE_OIDS
from ._text import _conv_bytes, _dump_bytes, _dump_str, load_bytea_text, _str_bytes
from ._uuid import _conv_uuid, _dump_uuid


# ---- Python -> pp_value ---------------------------------------------------------------


def _dump_none(x, v, keep, pos):
    pass  # a zeroed pp_value is PP_NULL


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


def _is_seq(x: Any) -> bool:
    """A list or tuple sent as an array (not one of a type with a dumper of its own, such
    as the namedtuple of a composite type)."""
    cls = type(x)
    if cls is list or cls is tuple:
        return True
    if not isinstance(x, (list, tuple)):
        return False
    return (_dumpers.get(cls) or _lookup_dumper(cls)) is _dump_list


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
        if _datetime._infinity_mapped and x == date.max:
            return "infinity"
        if _datetime._infinity_mapped and x == date.min:
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
        return _quote(_json_text(lambda: _json._json_dumps(x), pos).decode("utf-8"))
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

# A type name's OID, array type and delimiter (register_loader with conn=).
_ARRAY_OF_TYPE_SQL = ("SELECT t.oid, t.typarray, t.typdelim FROM pg_catalog.pg_type t "
                      "WHERE t.oid = $1::text::regtype::oid")

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


# The namedtuple classes of registered composite types (their dumper is in _BUILTIN_DUMPERS,
# so that register_dumper keeps it).
_composite_types: set = set()


def _record_text(x: Any, pos: int) -> str:
    return format_record(x, lambda f: _text_of(f, pos))


def _dump_composite(x, v, keep, pos):
    _set_text(v, PP_TEXT, _str_bytes(_record_text(x, pos), pos), keep)


# ---- result columns -> Python lists -------------------------------------------------------


def _conv_null(col, n, nulls):
    return [None] * n


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


def _conv_text(col, n, nulls):
    vals = _strings(col, n)
    f = _TEXT_LOADERS.get(col.oid)
    if f is None:
        return _patch_nulls(vals, nulls)
    return _map_nullable(f, vals, nulls, _oid_name(col.oid))


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
