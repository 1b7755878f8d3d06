# SPDX-License-Identifier: MIT
"""COPY statements and formats (core: no I/O, no waiting): the SQL of a COPY made from a
table name, what a COPY statement says (direction, text or not), and which columns can go
in binary COPY (copy_records_to_table). The front end is PostPyro.copy."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Optional, Sequence
from uuid import UUID

from . import errors as e
from . import types as _types
from ._layout import builtin_dumper
from .types._adapters import global_adapters
from ._sql import quote_identifier


def table_sql(table: str, columns: Optional[Sequence[str]], schema_name: Optional[str],
               direction: str) -> str:
    name = quote_identifier(table)
    if schema_name is not None:
        name = quote_identifier(schema_name) + "." + name
    cols = ""
    if columns is not None:
        if isinstance(columns, str):
            raise e.ProgrammingError("columns must be a list of names, not a str")
        columns = list(columns)
        if not columns:
            raise e.ProgrammingError("columns, when given, cannot be empty")
        cols = " (" + ", ".join(quote_identifier(c) for c in columns) + ")"
    return "COPY %s%s %s" % (name, cols, direction)


COPY_SQL = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*copy\b", re.I | re.S)
TO_STDOUT = re.compile(r"\bto\s+stdout\b", re.I)
FROM_STDIN_OPTIONS = re.compile(r"\bfrom\s+stdin\b(.*)\Z", re.I | re.S)
NOT_TEXT = re.compile(r"\b(csv|binary)\b", re.I)


def is_copy_sql(s: str) -> bool:
    return COPY_SQL.match(s) is not None


# Base types whose values the C library encodes for a binary COPY, with the Python types
# (exactly) that go there in binary; anything else makes copy_records_to_table use text.
_TEXTUAL = frozenset((str,))
_BINARY_TYPES = {
    16: frozenset((bool,)),
    17: frozenset((bytes, bytearray, memoryview)),
    19: _TEXTUAL, 25: _TEXTUAL, 1042: _TEXTUAL, 1043: _TEXTUAL,
    20: frozenset((int,)), 21: frozenset((int,)), 23: frozenset((int,)), 26: frozenset((int,)),
    700: frozenset((float, int)), 701: frozenset((float, int)),
    1700: frozenset((Decimal, int, float)),
    114: frozenset((str, dict, _types.Json)), 3802: frozenset((str, dict, _types.Json)),
    1082: frozenset((date,)), 1083: frozenset((time,)), 1266: frozenset((time,)),
    1114: frozenset((datetime,)), 1184: frozenset((datetime,)),
    1186: frozenset((timedelta,)), 2950: frozenset((UUID,)),
}

COLUMNS_SQL = (
    "SELECT a.attname::text, CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid "
    "END::int8 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
    "WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped "
    "AND a.attgenerated = '' ORDER BY a.attnum")


def fits_binary(oid: int, col: Sequence[Any], adapters: Any = None) -> bool:
    """Whether the values ``col`` of a column of type ``oid`` can go in binary COPY (each
    dumped by PostPyro's own dumper in ``adapters``, None: the global map)."""
    if adapters is None:
        adapters = global_adapters()
    allowed = _BINARY_TYPES.get(oid)
    if allowed is None:
        return False
    kinds = set(map(type, col))
    kinds.discard(type(None))
    if not kinds <= allowed:
        return False
    if not all(builtin_dumper(k, adapters.fresh()) for k in kinds):
        return False
    if oid in (1114, 1184, 1083):  # naive timestamp / aware timestamptz / naive time
        want_aware = oid == 1184
        return all((x.utcoffset() is not None) == want_aware for x in col if x is not None)
    if oid == 1266:
        return all(x.utcoffset() is not None for x in col if x is not None)
    if oid in (700, 701) and int in kinds:  # exactly representable, else C refuses
        limit = 1 << (24 if oid == 700 else 53)
        return all(-limit <= x <= limit for x in col if type(x) is int)
    return True
