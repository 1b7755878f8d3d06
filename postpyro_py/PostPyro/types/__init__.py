# SPDX-License-Identifier: MIT
"""Conversion between Python values and PostgreSQL values — the one place for it.
One private module per family (_numbers, _text, _datetime, _json, _uuid, _arrays, _range,
_hstore, _composite, _interval), _dumpers and _loaders for the adapter registries (Python ->
server, server -> Python), _catalog for the types of one database (register_type), _oids for
built-in type OIDs, _base for the value tags and helpers they share; this module is their
public face.
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
:func:`set_interval_type`, :func:`set_infinity_mapping`. The ``register_*`` functions change
the global :class:`AdaptersMap` (:func:`adapters`), seen by every connection; each
connection and cursor has its own map below it (``conn.adapters``, ``cursor.adapters``,
with the same ``register_*`` methods) for registrations that apply there only — OIDs of
extension types, enums and composites differ between databases.
"""

from __future__ import annotations

from ._base import (PP_ARRAY, PP_BOOL, PP_BYTES, PP_DATE, PP_FLOAT, PP_INT, PP_INTERVAL, PP_JSON,
                    PP_NULL, PP_NUMERIC, PP_TEXT, PP_TIME, PP_TIMESTAMP, PP_TIMESTAMPTZ,
                    PP_TIMETZ, PP_UUID)
from ._arrays import parse_array
from ._catalog import TypeInfo, register_type, unregister_type
from ._composite import format_record, parse_record
from ._datetime import (load_date_text, load_interval_text, load_time_text, load_timestamp_text,
                        load_timestamptz_text, load_timetz_text, set_infinity_mapping,
                        set_interval_type)
from ._hstore import Hstore, format_hstore, parse_hstore
from ._interval import Interval
from ._json import Json, set_json_dumps, set_json_loads
from ._numbers import load_bool_text
from ._range import (Multirange, Range, format_multirange, format_range, parse_multirange,
                     parse_range)
from ._oids import ARRAY_DELIM, ARRAY_ELEMENT, TYPE_OIDS, type_oid
from ._adapters import AdaptersMap, global_adapters as adapters
from ._dumpers import array_literal, check_params, dump_params, dump_value, register_dumper
from ._loaders import convert_column, load_text, register_loader
from ._text import load_bytea_text
from . import _adapters, _dumpers, _loaders

# The global adapter map, from the built-in tables (_adapters imports none of these modules).
_adapters.install_global({
    "loaders": _loaders._TEXT_LOADERS, "deep_loaders": _loaders._DEEP_LOADERS,
    "dumpers": _dumpers._BUILTIN_DUMPERS, "wrap_user_dumper": _dumpers._wrap_user_dumper,
    "register_loader": register_loader, "register_dumper": register_dumper,
    "register_type": register_type, "unregister_type": unregister_type})

__all__ = [
    "Json", "Interval", "Range", "Multirange", "Hstore", "TypeInfo", "AdaptersMap", "adapters",
    "register_loader", "register_dumper", "register_type", "unregister_type",
    "set_json_loads", "set_json_dumps", "set_interval_type", "set_infinity_mapping",
    "type_oid", "parse_array", "parse_record", "parse_range", "parse_multirange",
]
