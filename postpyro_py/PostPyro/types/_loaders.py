# SPDX-License-Identifier: MIT
"""The load side of the adapter registries: type OID -> text loader (load_text,
register_loader; results in text format, the simple protocol, arrays, ranges and multiranges
whose elements load like any value) and tag -> column converter (convert_column: decoded
``pp_column`` arrays to lists of Python values). The dump side is _dumpers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, Dict, Optional, Union
from uuid import UUID

from .. import errors as e
from .._ffi import ffi, unpack
from ._range import Multirange, Range, parse_multirange, parse_range
from ._arrays import _map_nested, _nest, parse_array
from ._base import (_map_nullable, _patch_nulls, PP_ARRAY, PP_BOOL, PP_BYTES, PP_DATE,
                    PP_FLOAT, PP_INT, PP_INTERVAL, PP_JSON, PP_NULL, PP_NUMERIC, PP_TEXT, PP_TIME,
                    PP_TIMESTAMP, PP_TIMESTAMPTZ, PP_TIMETZ, PP_UUID, _strings)
from ._datetime import (_conv_date, _conv_interval, _conv_time, _conv_timestamp, _conv_timestamptz,
                        _conv_timetz, load_date_text, load_interval_text, load_time_text,
                        load_timestamp_text, load_timestamptz_text, load_timetz_text)
from ._json import _conv_json, _load_json_text
from ._numbers import (_conv_bool, _conv_float, _conv_int, _conv_numeric, load_bool_text,
                       _load_float4_text, load_int_vector_text)
from ._oids import ARRAY_DELIM, ARRAY_ELEMENT, _oid_name, type_oid, TYPE_OIDS
from ._text import _conv_bytes, load_bytea_text
from ._uuid import _conv_uuid
from . import _adapters
from ._adapters import _generation, global_adapters


# ---- text form -> Python (results in text format, simple protocol) ------------------------


def _load_void_text(s: str) -> None:
    return None


_TEXT_LOADERS: Dict[int, Callable[[str], Any]] = {
    16: load_bool_text,
    17: load_bytea_text,
    20: int, 21: int, 23: int, 26: int, 28: int, 29: int, 5069: int,
    22: load_int_vector_text, 30: load_int_vector_text,  # int2vector, oidvector
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


def _array_text_loader(elem_oid: int, delim: str = ",") -> Callable[[str, Any], list]:
    def load(s: str, adapters: Any) -> list:
        arr = parse_array(s, delim)
        f = adapters.loaders.get(elem_oid)
        if f is None:
            deep = adapters.deep_loaders.get(elem_oid)
            if deep is not None:
                arr = _map_nested(lambda x: deep(x, adapters), arr)
        else:
            arr = _map_nested(f, arr)
        user = adapters.user_loaders.get(elem_oid)
        if user is not None:
            arr = _map_nested(user, arr)
        return arr
    return load


def _range_loader(subtype: int) -> Callable[[str, Any], Range]:
    def load(s: str, adapters: Any) -> Range:
        return parse_range(s, lambda b: load_text(subtype, b, adapters))
    return load


def _multirange_loader(subtype: int) -> Callable[[str, Any], Multirange]:
    def load(s: str, adapters: Any) -> Multirange:
        return parse_multirange(s, lambda b: load_text(subtype, b, adapters))
    return load


# Loaders of values made of other values: f(text, adapters), the parts loaded by the same map.
_DEEP_LOADERS: Dict[int, Callable[[str, Any], Any]] = {}
# Built-in range and multirange types -> their subtype.
_RANGE_SUBTYPE = {3904: 23, 3906: 1700, 3908: 1114, 3910: 1184, 3912: 1082, 3926: 20}
_MULTIRANGE_SUBTYPE = {4451: 23, 4532: 1700, 4533: 1114, 4534: 1184, 4535: 1082, 4536: 20}
for _oid, _sub in _RANGE_SUBTYPE.items():
    _DEEP_LOADERS[_oid] = _range_loader(_sub)
for _oid, _sub in _MULTIRANGE_SUBTYPE.items():
    _DEEP_LOADERS[_oid] = _multirange_loader(_sub)
for _arr, _elem in ARRAY_ELEMENT.items():
    _DEEP_LOADERS[_arr] = _array_text_loader(_elem, ARRAY_DELIM.get(_arr, ","))
del _arr, _elem, _oid, _sub
_BUILTIN_TEXT_LOADER_OIDS = frozenset(_TEXT_LOADERS) | frozenset(_DEEP_LOADERS)


def load_text(oid: int, s: Optional[str], adapters: Any = None) -> Any:
    """The Python value of the text form ``s`` of a value of type ``oid`` (with the loaders
    of ``adapters``, an AdaptersMap; None: the global one)."""
    if s is None:
        return None
    if adapters is None:
        adapters = global_adapters()
    if adapters._gen != _generation[0]:
        adapters.fresh()
    f = adapters.loaders.get(oid)
    if f is not None:
        v = f(s)
    else:
        deep = adapters.deep_loaders.get(oid)
        v = s if deep is None else deep(s, adapters)
    user = adapters.user_loaders.get(oid)
    return v if user is None else user(v)


# ---- user loaders -------------------------------------------------------------------------

# A type name's OID, array type and delimiter (register_loader with conn=).
_ARRAY_OF_TYPE_SQL = ("SELECT t.oid, t.typarray, t.typdelim FROM pg_catalog.pg_type t "
                      "WHERE t.oid = $1::text::regtype::oid")


def register_loader(type_: Union[int, str], func: Optional[Callable[[Any], Any]],
                    conn: Any = None, adapters: Any = None) -> None:
    """Change what values of a PostgreSQL type become: ``func(value)`` receives the value
    PostPyro made (a str for types it has no conversion for, such as inet, enums or your
    own types) and returns the replacement. ``type_`` is an OID or a type name (a built-in
    name, or any name when ``conn`` is given to look it up). ``func=None`` removes it.
    Elements of arrays of that type are converted too (and no longer, after removal).
    Global: applies to every connection, also those already open, unless it or its cursor
    registered its own for the type; ``conn.adapters.register_loader(...)`` (or
    ``cursor.adapters``) changes one connection (or cursor) only."""
    if adapters is None:
        adapters = global_adapters()
    typarray = 0
    delim = ","
    if isinstance(type_, str):
        key = " ".join(type_.lower().split())
        if key in TYPE_OIDS or conn is None:
            oid = type_oid(type_)
        else:
            oid, typarray, delim = conn.query_one(_ARRAY_OF_TYPE_SQL, [type_])
    elif isinstance(type_, int) and not isinstance(type_, bool):
        oid = type_
    else:
        raise TypeError("register_loader() needs an OID or a type name, got %r" % (type_,))
    with _adapters._lock:
        adapters.fresh()
        if func is None:
            adapters._set("user_loaders", oid, None)
            # the array loader the registration added goes too (built-in ones and
            # register_type's stay: they load the elements with the element type's loader)
            added = adapters.loader_arrays.get(oid)
            if added is not None:
                adapters._set("loader_arrays", oid, None)
                if adapters.deep_loaders.get(added[0]) is added[1]:
                    adapters._set("deep_loaders", added[0], None)
        else:
            adapters._set("user_loaders", oid, func)
            if typarray and typarray not in adapters.loaders \
                    and typarray not in adapters.deep_loaders:
                load = _array_text_loader(oid, delim)
                adapters._set("deep_loaders", typarray, load)
                adapters._set("loader_arrays", oid, (typarray, load))


# ---- result columns -> Python lists -------------------------------------------------------


def _conv_null(col, n, nulls):
    return [None] * n


def _conv_array(col, n, nulls, adapters):
    if col.elements == ffi.NULL:
        flat: list = []
    else:
        flat = convert_column(col.elements, adapters)
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


def _conv_text(col, n, nulls, adapters):
    vals = _strings(col, n)
    oid = col.oid
    f = adapters.loaders.get(oid)
    if f is None:
        deep = adapters.deep_loaders.get(oid)
        if deep is None:
            return _patch_nulls(vals, nulls)
        f = lambda s: deep(s, adapters)  # noqa: E731
    return _map_nullable(f, vals, nulls, _oid_name(oid))


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


# Converters that load values with the adapters map: conv(col, n, nulls, adapters).
_WITH_ADAPTERS = frozenset((PP_TEXT, PP_ARRAY))


def convert_column(col, adapters: Any = None) -> list:
    """A decoded ``pp_column`` (pointer) as a list of Python values, one per row, with the
    loaders of ``adapters`` (an AdaptersMap; None: the global one)."""
    if adapters is None:
        adapters = global_adapters()
    if adapters._gen != _generation[0]:
        adapters.fresh()
    return _convert_one(col, adapters)


def convert_columns(cols, ncols: int, adapters: Any = None) -> list:
    """convert_column for each of ``cols[0 … ncols-1]`` (a ``pp_column`` array), the checks
    common to all columns done once: a narrow result's Python time is mostly per column."""
    if adapters is None:
        adapters = global_adapters()
    if adapters._gen != _generation[0]:
        adapters.fresh()
    if adapters.user_loaders:
        return [_convert_one(cols[i], adapters) for i in range(ncols)]
    loaders, deep = adapters.loaders, adapters.deep_loaders
    out = []
    for i in range(ncols):
        col = cols[i]
        tag = col.tag
        # the commonest columns inlined: ints, and text without a loader, without NULLs
        if tag == PP_INT and not col.nulls:
            n = col.count
            out.append(unpack(col.ints, n) if n > 0 else [])
        elif tag == PP_TEXT and not col.nulls and col.count > 0 \
                and loaders.get(col.oid) is None and deep.get(col.oid) is None:
            out.append(_strings(col, col.count))
        else:
            out.append(_convert_one(col, adapters))
    return out


def _convert_one(col, adapters: Any) -> list:
    n = col.count
    if n <= 0:
        return []
    tag = col.tag
    conv = _CONVERTERS.get(tag)
    if conv is None:
        raise e.InterfaceError("libpostpyro returned a column with unknown tag %d (a newer "
                               "library than this PostPyro?)" % tag)
    nulls = col.nulls
    if not nulls:
        nulls = None
    else:
        nulls = ffi.buffer(nulls, n)[:]
        if not nulls.count(0):
            return [None] * n  # all NULL (common in catalogs): nothing to decode
    if tag in _WITH_ADAPTERS:
        vals = conv(col, n, nulls, adapters)
    else:
        vals = conv(col, n, nulls)
    users = adapters.user_loaders
    if users:
        user = users.get(col.oid)
        if user is not None:
            vals = [None if v is None else user(v) for v in vals]
    return vals
