# SPDX-License-Identifier: MIT
"""The value tags and the small helpers every type family uses (pp_value text, result
columns as str/bytes lists, NULL patching), with no I/O."""

from __future__ import annotations

import sys
from typing import Any, Callable, List, Optional

from .. import errors as e
from .._ffi import ffi, lib, unpack


_NULL = ffi.NULL  # a global read faster than ffi.NULL in per-column code
_IS_PYPY = sys.implementation.name == "pypy"
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


def _set_text(v, tag: int, data: bytes, keep: list) -> None:
    buf = ffi.from_buffer(data)
    keep.append(buf)
    v.tag = tag
    v.ptr = buf
    v.len = len(data)


def _bad(kind: str, s: str) -> e.DataError:
    return e.DataError("cannot read %s value %r" % (kind, s))


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


def _column_text(col, n: int) -> str:
    """A text-like column's data (``n`` values, each followed by a NUL) decoded as one str."""
    size = col.data_len
    if size == 0:
        raise e.DataError("malformed result column: no text data for %d values" % n)
    try:
        # a big column is decoded straight from the C buffer (no intermediate bytes copy); for
        # a small one the bytes copy costs less than making the buffer object
        return (unpack(col.data, size).decode("utf-8") if size < 65536
                else str(ffi.buffer(col.data, size), "utf-8"))
    except UnicodeDecodeError as exc:
        raise e.DataError("result text is not valid UTF-8: %s" % exc) from None


def _strings(col, n: int) -> List[str]:
    size = col.data_len
    if size == 0:
        raise e.DataError("malformed result column: no text data for %d values" % n)
    try:  # _column_text, inlined: a narrow result's Python time is mostly per column
        text = (unpack(col.data, size).decode("utf-8") if size < 65536
                else str(ffi.buffer(col.data, size), "utf-8"))
    except UnicodeDecodeError as exc:
        raise e.DataError("result text is not valid UTF-8: %s" % exc) from None
    if _IS_PYPY and len(text) == size:
        if size == 2 * n and text[1::2].count("\0") == n:  # every value one character
            return _one_chars(text, n)
        # ASCII: byte offsets are character offsets. PyPy slices the str faster than it
        # splits it (1 000 values: 13 against 29 us; 10 000: 0.42 against 0.70 ms).
        offs = col.offsets
        if offs[n] == size:
            return [text[offs[k]:offs[k + 1] - 1] for k in range(n)]
    parts = text.split("\0")
    if len(parts) != n + 1 or parts[-1]:
        raise e.DataError("malformed result column: expected %d NUL-terminated values, "
                          "found %d" % (n, len(parts) - 1))
    parts.pop()
    return parts


# PyPy: one shared str per ASCII character, for columns of one-character values ("char"
# codes such as pg_class.relkind, flags). A tuple: a list of ASCII strs would store them
# unboxed and make a new str at each read (19 against 6 KB a 410-value column).
_ONE_CHAR = tuple(chr(i) for i in range(128))


def _one_chars(text: str, n: int) -> List[str]:
    """PyPy: the values of an ASCII column whose every value is one character (``text`` is
    value, NUL, value, NUL, ...), as the shared strs of _ONE_CHAR: nothing made per value.
    The list is made with None first so that PyPy stores objects, not its unboxed strs:
    rows then take the shared strs as they are instead of boxing each value again (the
    catalog statement's two "char" columns: 82 against 112 bytes a value with its rows)."""
    out: List[Any] = [None] * n
    one = _ONE_CHAR
    for k in range(n):
        out[k] = one[ord(text[2 * k])]
    return out


def _slices(col, n: int) -> List[bytes]:
    offs = unpack(col.offsets, n + 1)
    total = col.data_len
    raw = ffi.buffer(col.data, total)[:] if total else b""
    if offs[0] < 0 or offs[-1] > total:
        raise e.DataError("malformed result column: offsets outside the data")
    return [raw[offs[k]:offs[k + 1]] for k in range(n)]

