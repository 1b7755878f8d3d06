# SPDX-License-Identifier: MIT
"""The dump side of the adapter registries: Python type -> dumper (dump_value, dump_params,
register_dumper), and the parts of arrays, ranges and composites that recurse into
it (an element is dumped like any value). The load side is _loaders."""

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
from .._ffi import T_VALUE_ARRAY, ffi, newp
from ._composite import format_record
from ._hstore import Hstore, format_hstore
from ._interval import Interval
from ._range import Multirange, Range, format_multirange, format_range
from ._arrays import _MAX_DIMS, _quote, _ragged
from ._base import PP_ARRAY, PP_TEXT, _set_text
from ._datetime import (_datetime_infinity, _dump_date, _dump_datetime, _dump_interval,
                        _dump_time, _dump_timedelta, _interval_text)
from ._json import _dump_dict, _dump_json, Json, _json_text
from ._numbers import (_decimal_text, _dump_bool, _dump_decimal, _dump_float, _dump_int,
                       _float_text, _int_text)
from ._text import _dump_bytes, _dump_str, _str_bytes
from ._uuid import _dump_uuid
from . import _adapters
from ._adapters import _generation, global_adapters


# ---- Python -> pp_value ---------------------------------------------------------------


# A dumper is fn(x, v, keep, pos, adapters): fill the pp_value v with x (parameter pos);
# cdata that must outlive v goes to keep; adapters is the AdaptersMap in use (for values
# made of other values: arrays, ranges, records).


def _dump_none(x, v, keep, pos, _adapters=None):
    pass  # a zeroed pp_value is PP_NULL


def _dump_list(x, v, keep, pos, adapters=None):
    text, oid = array_literal(x, pos, adapters)
    _set_text(v, PP_ARRAY, _str_bytes(text, pos), keep)
    v.oid = oid


def _text_of(x: Any, pos: int, adapters: Any) -> str:
    """The text form of a value inside a range, multirange or record (quoted as needed)."""
    if _is_seq(x, adapters):
        return _quote(array_literal(x, pos, adapters)[0])
    return _element_text(x, pos, set(), adapters)


def _dump_range(x, v, keep, pos, adapters=None):
    adapters = adapters or global_adapters()
    text = format_range(x, lambda b: _text_of(b, pos, adapters))
    _set_text(v, PP_TEXT, _str_bytes(text, pos), keep)


def _dump_multirange(x, v, keep, pos, adapters=None):
    adapters = adapters or global_adapters()
    text = format_multirange(x, lambda b: _text_of(b, pos, adapters))
    _set_text(v, PP_TEXT, _str_bytes(text, pos), keep)


def _dump_hstore(x, v, keep, pos, _adapters=None):
    _set_text(v, PP_TEXT, _str_bytes(format_hstore(x, pos), pos), keep)


def _dump_enum(x, v, keep, pos, _adapters=None):
    if not isinstance(x.name, str):  # a combination of enum.Flag members
        raise _cannot_send(x, pos)
    _dump_str(x.name, v, keep, pos)


def _dump_as_str(x, v, keep, pos, _adapters=None):
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


def _find_dumper(cls: type, adapters: Any) -> Optional[Callable]:
    users = adapters.user_dumpers
    types = adapters.type_dumpers
    for base in cls.__mro__:
        user = users.get(base)
        if user is not None:
            return _wrap_user_dumper(user)
        fn = _BUILTIN_DUMPERS.get(base) or types.get(base)
        if fn is not None:
            return fn
    # Numbers of other libraries (numpy.int64, …) registered with the numbers ABCs.
    if issubclass(cls, numbers.Integral):
        return _dump_int
    if issubclass(cls, numbers.Real) and not issubclass(cls, numbers.Rational):
        return _dump_real
    return None


def _dump_real(x, v, keep, pos, _adapters=None):
    _dump_float(float(x), v, keep, pos)


def _wrap_user_dumper(func: Callable[[Any], Any]) -> Callable:
    def dump(x, v, keep, pos, adapters=None):
        y = func(x)
        if type(y) is type(x) and type(x) in (adapters or global_adapters()).user_dumpers:
            raise e.ProgrammingError("parameter $%d: the dumper registered for %s returned "
                                     "the same type" % (pos, type(x).__name__))
        dump_value(y, v, keep, pos, adapters)
    return dump


def register_dumper(pytype: type, func: Optional[Callable[[Any], Any]],
                    adapters: Any = None) -> None:
    """Teach PostPyro to send values of ``pytype`` (and its subclasses): ``func(value)``
    returns a value PostPyro can already send (often a str, which the server parses as
    the parameter's type). Example: ``register_dumper(ipaddress.IPv4Address, str)``.
    ``func=None`` removes it. Global: applies to every connection, also those already
    open, unless it or its cursor registered its own for the type;
    ``conn.adapters.register_dumper(...)`` (or ``cursor.adapters``) changes one connection
    (or cursor) only."""
    if not isinstance(pytype, type):
        raise TypeError("register_dumper() needs a type, got %r" % (pytype,))
    if adapters is None:
        adapters = global_adapters()
    with _adapters._lock:
        adapters._set("user_dumpers", pytype, func)


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


def _lookup_dumper(cls: type, adapters: Any) -> Optional[Callable]:
    """The dumper of a type not yet in the adapters' ``dumpers`` cache, cached when there is
    one."""
    fn = _find_dumper(cls, adapters)
    if fn is not None:
        adapters.dumpers[cls] = fn
    return fn


# What a dumper (or a user's dumper, or json.dumps) may raise for a value it cannot send:
# they become a DataError naming the parameter, the original as its __cause__.
_DUMP_FAILURES = (TypeError, ValueError, OverflowError, RecursionError)


def _dump_failed(x: Any, pos: int, exc: BaseException) -> e.Error:
    what = "nested too deep" if isinstance(exc, RecursionError) else \
        "%s: %s" % (type(exc).__name__, exc)
    return e.DataError("parameter $%d: cannot send this Python %s: %s"
                       % (pos, _type_name(x), what))


def dump_value(x: Any, v, keep: list, pos: int, adapters: Any = None) -> None:
    """Fill the pp_value ``v`` with the Python value ``x`` (parameter number ``pos``);
    cdata that must outlive ``v`` is appended to ``keep``. ``adapters``: the AdaptersMap
    whose dumpers to use (None: the global one)."""
    if adapters is None:
        adapters = global_adapters()
    if adapters._gen != _generation[0]:
        adapters.fresh()
    fn = adapters.dumpers.get(type(x))
    if fn is None:
        fn = _lookup_dumper(type(x), adapters)
        if fn is None:
            raise _cannot_send(x, pos)
    try:
        fn(x, v, keep, pos, adapters)
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


def dump_params(params: Any, adapters: Any = None) -> Tuple[Any, int, Sequence[Any]]:
    """Parameters as (``pp_value[]`` or NULL, count, keep-alive list), dumped with
    ``adapters`` (None: the global map)."""
    if type(params) is not list and type(params) is not tuple:
        params = check_params(params)
    if not params:
        return ffi.NULL, 0, ()
    arr, keep = dump_list(params, adapters or global_adapters())
    return arr, len(params), keep


def dump_list(params: Union[list, tuple], adapters: Any) -> Tuple[Any, list]:
    """A non-empty list or tuple of parameters as (``pp_value[]``, keep-alive list, which
    holds the array), dumped with ``adapters`` (an AdaptersMap)."""
    if adapters._gen != _generation[0]:
        adapters.fresh()
    dumpers = adapters.dumpers
    arr = newp(T_VALUE_ARRAY, len(params))
    keep = [arr]
    pos = 0
    for x in params:
        fn = dumpers.get(type(x))
        if fn is None:
            fn = _lookup_dumper(type(x), adapters)
            if fn is None:
                raise _cannot_send(x, pos + 1)
        try:
            fn(x, arr[pos], keep, pos + 1, adapters)
        except _DUMP_FAILURES as exc:
            raise _dump_failed(x, pos + 1, exc) from exc
        pos += 1
    return arr, keep


# ---- Python list -> PostgreSQL array literal ---------------------------------------------

# Python type -> the array type to declare when the server cannot infer the parameter's.
_ARRAY_OID_OF_TYPE = {
    bool: 1000, int: 1016, float: 1022, Decimal: 1231, str: 1009, bytes: 1001,
    bytearray: 1001, memoryview: 1001, date: 1182, time: 1183, timedelta: 1187,
    UUID: 2951, dict: 3807, Json: 3807,
}


def _is_seq(x: Any, adapters: Any) -> bool:
    """A list or tuple sent as an array (not one of a type with a dumper of its own, such
    as the namedtuple of a composite type)."""
    cls = type(x)
    if cls is list or cls is tuple:
        return True
    if not isinstance(x, (list, tuple)):
        return False
    return (adapters.dumpers.get(cls) or _lookup_dumper(cls, adapters)) is _dump_list


def _array_shape(x: Union[list, tuple], pos: int, adapters: Any) -> List[int]:
    dims = []
    cur: Any = x
    while _is_seq(cur, adapters):
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
            if _is_seq(item, adapters) != inner:
                raise _ragged(pos)
            if inner:
                check(item, depth + 1)

    check(x, 0)
    return dims


def _element_text(x: Any, pos: int, kinds: set, adapters: Any) -> str:
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
    users = adapters.user_dumpers
    if users:  # as for parameters, a registered dumper comes first
        for base in cls.__mro__:
            user = users.get(base)
            if user is not None:
                return _element_text(user(x), pos, kinds, adapters)
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
        return _element_text(str.__str__(x), pos, kinds, adapters)
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
        return _quote(format_range(x, lambda b: _text_of(b, pos, adapters)))
    if isinstance(x, Multirange):
        kinds.add("other")
        return _quote(format_multirange(x, lambda b: _text_of(b, pos, adapters)))
    if isinstance(x, enum.Enum) and isinstance(x.name, str):
        kinds.add("other")
        return _quote(x.name)
    if isinstance(x, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        kinds.add("inet")
        return _quote(str(x))
    if isinstance(x, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        kinds.add("cidr")
        return _quote(str(x))
    if cls in adapters.type_dumpers:
        kinds.add("other")
        return _quote(_record_text(x, pos, adapters))
    if isinstance(x, numbers.Integral):
        return _element_text(int(x), pos, kinds, adapters)
    if isinstance(x, numbers.Real) and not isinstance(x, numbers.Rational):
        return _element_text(float(x), pos, kinds, adapters)
    raise e.ProgrammingError("parameter $%d: cannot send a Python %s inside an array"
                             % (pos, _type_name(x)))


_KIND_OIDS = dict(_ARRAY_OID_OF_TYPE)
_KIND_OIDS.update({"timestamp": 1115, "timestamptz": 1185, "timetz": 1270, "inet": 1041,
                   "cidr": 651, "other": 0})


def array_literal(x: Union[list, tuple], pos: int = 1, adapters: Any = None) -> Tuple[str, int]:
    """A (nested) list as PostgreSQL's array text form, plus the array type OID inferred
    from its elements (0 when they are mixed)."""
    if adapters is None:
        adapters = global_adapters().fresh()
    dims = _array_shape(x, pos, adapters)
    kinds: set = set()
    depth = len(dims)

    def fmt(seq, d):
        if d + 1 < depth:
            return "{" + ",".join(fmt(item, d + 1) for item in seq) + "}"
        return "{" + ",".join(_element_text(item, pos, kinds, adapters) for item in seq) + "}"

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


# ---- types of one database: enums, composites, domains, ranges, extension types -----------


# The namedtuple classes of registered composite types are in each map's type_dumpers.


def _record_text(x: Any, pos: int, adapters: Any) -> str:
    return format_record(x, lambda f: _text_of(f, pos, adapters))


def _dump_composite(x, v, keep, pos, adapters=None):
    adapters = adapters or global_adapters()
    _set_text(v, PP_TEXT, _str_bytes(_record_text(x, pos, adapters), pos), keep)
