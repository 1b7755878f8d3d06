# SPDX-License-Identifier: MIT
"""Rows of Python values laid out for the C library, with no I/O: as ``pp_value`` arrays
(row after row, for pp_copy_put_rows and pp_exec_many) or as ``pp_column`` arrays (one per
column, for pp_copy_put_columns and pp_exec_many_columns). Used by COPY (copy.py) and by
executemany (connection.py).

In the ``pp_value`` layout, columns of one exact type are filled with a few bulk operations (on
CPython; value by value on PyPy, where that is faster)."""

from __future__ import annotations

import sys
from array import array
from itertools import accumulate, chain, repeat
from operator import is_, itemgetter
from typing import Any, List, Optional, Sequence, Tuple

from . import errors as e
from .types import _adapters
from .types import _dumpers as _types
from ._ffi import ffi, lib

_PP_NULL = lib.PP_NULL
_PP_BOOL = lib.PP_BOOL
_PP_INT = lib.PP_INT
_PP_FLOAT = lib.PP_FLOAT
_PP_TEXT = lib.PP_TEXT

_IS_PYPY = sys.implementation.name == "pypy"


# ---- rows of Python values -> pp_value[] ---------------------------------------------------

_VSIZE = ffi.sizeof("pp_value")
_OFF_TAG = ffi.offsetof("pp_value", "tag")
_OFF_I = ffi.offsetof("pp_value", "i")
_OFF_F = ffi.offsetof("pp_value", "f")
_OFF_PTR = ffi.offsetof("pp_value", "ptr")
_OFF_LEN = ffi.offsetof("pp_value", "len")
# The bulk layout writes fields through memoryviews of the array: it needs the fields at
# offsets that are multiples of their size, and 64-bit pointers.
_BULK_OK = (_VSIZE % 8 == 0 and _OFF_TAG % 4 == 0 and _OFF_I % 8 == 0 and _OFF_F % 8 == 0
            and _OFF_PTR % 8 == 0 and _OFF_LEN % 8 == 0 and ffi.sizeof("void *") == 8
            and array("q").itemsize == 8 and array("i").itemsize == 4
            and array("d").itemsize == 8)

_NoneType = type(None)


def builtin_dumper(cls: type, adapters: Any) -> bool:
    """True when values of exactly ``cls`` are dumped by PostPyro's own dumper (no
    register_dumper override in ``adapters``), so the bulk layout gives the same pp_value."""
    fn = _types._BUILTIN_DUMPERS.get(cls)
    if fn is None:
        return False
    found = adapters.dumpers.get(cls)
    if found is None:
        found = _types._lookup_dumper(cls, adapters)
    return found is fn


class _Bulk(Exception):
    """A column the bulk layout cannot take: fill it value by value."""


def _fill_column_bulk(views, col: list, j: int, ncols: int, keep: list, adapters: Any) -> None:
    i32, q, d = views
    n = len(col)
    kinds = set(map(type, col))
    has_null = _NoneType in kinds
    kinds.discard(_NoneType)
    if not kinds:
        return  # all NULL: the zeroed pp_values already are
    if len(kinds) != 1:
        raise _Bulk
    kind = kinds.pop()
    if not builtin_dumper(kind, adapters):
        raise _Bulk
    step4 = ncols * _VSIZE // 4
    step8 = ncols * _VSIZE // 8
    base = j * _VSIZE
    if kind is int or kind is bool:
        tag = _PP_INT if kind is int else _PP_BOOL
        vals = [0 if x is None else x for x in col] if has_null else col
        try:
            q[(base + _OFF_I) // 8::step8] = array("q", vals)
        except OverflowError:
            raise _Bulk from None  # beyond int64: numeric, value by value
    elif kind is float:
        tag = _PP_FLOAT
        vals = [0.0 if x is None else x for x in col] if has_null else col
        d[(base + _OFF_F) // 8::step8] = array("d", vals)
    elif kind is str:
        tag = _PP_TEXT
        vals = ["" if x is None else x for x in col] if has_null else col
        joined = "".join(vals)
        if "\0" in joined:
            raise _Bulk  # a NUL inside a value: the value-by-value path says which
        if joined.isascii():
            data = joined.encode("ascii")
            lens = list(map(len, vals))
        else:
            try:
                parts = [s.encode("utf-8") for s in vals]
            except UnicodeEncodeError:
                raise _Bulk from None
            data = b"".join(parts)
            lens = list(map(len, parts))
        buf = ffi.from_buffer(data)
        keep.append(data)
        keep.append(buf)
        start = int(ffi.cast("intptr_t", buf))
        # the values lie back to back: value k starts at start + the lengths before it
        ptrs = array("q", accumulate(chain((start,), lens)))
        ptrs.pop()
        q[(base + _OFF_PTR) // 8::step8] = ptrs
        q[(base + _OFF_LEN) // 8::step8] = array("q", lens)
    else:
        raise _Bulk
    tags = array("i", (tag,)) * n
    if has_null:
        for k, x in enumerate(col):
            if x is None:
                tags[k] = _PP_NULL
    i32[(base + _OFF_TAG) // 4::step4] = tags


def _fill_column_each(arr, col, j: int, ncols: int, keep: list,
                      first_row: Optional[int], adapters: Any) -> None:
    dump = _types.dump_value
    k = j
    try:
        for x in col:
            dump(x, arr[k], keep, j + 1, adapters)
            k += ncols
    except e.Error as exc:
        if first_row is None:
            raise
        row = first_row + (k - j) // ncols
        raise type(exc)("COPY row %d, column %d: %s" % (row, j + 1, exc)) from exc.__cause__


def check_rows(rows: Sequence[Sequence[Any]], ncols: Optional[int],
                first_row: Optional[int]) -> Tuple[Sequence[Sequence[Any]], int]:
    """(rows, ncols) once every row has ncols values (None: the first row's count)."""
    try:
        widths = set(map(len, rows))
    except TypeError:
        rows = [tuple(r) for r in rows]
        widths = set(map(len, rows))
    if ncols is None:
        ncols = next(iter(widths)) if widths else 0
    if widths != {ncols}:
        for k, r in enumerate(rows):
            if len(r) != ncols:
                raise e.ProgrammingError("COPY row %d has %d values; expected %d"
                                         % ((first_row or 0) + k, len(r), ncols))
    if ncols == 0:
        raise e.ProgrammingError("COPY rows must have at least one value")
    return rows, ncols


def transpose(rows: Sequence[Sequence[Any]], ncols: int) -> List[list]:
    if _IS_PYPY:
        return [[r[j] for r in rows] for j in range(ncols)]
    # not zip(*rows): its thousands of iterators make the garbage collector run
    return [list(map(itemgetter(j), rows)) for j in range(ncols)]


def encode_row_values(rows: Sequence[Sequence[Any]], ncols: int, first_row: Optional[int],
                      columns: List[list], adapters: Any = None) -> Tuple[Any, int, list]:
    """The rows as a ``pp_value[]`` (row after row), dumped with ``adapters`` (None: the
    global map); ``columns`` is ``transpose(rows, ncols)``."""
    adapters = _fresh(adapters)
    n = len(rows)
    arr = ffi.new("pp_value[]", n * ncols)  # zeroed: every value starts as PP_NULL
    keep = [arr]
    views = None
    if _BULK_OK and not _IS_PYPY:
        mv = memoryview(ffi.buffer(arr))
        views = (mv.cast("i"), mv.cast("q"), mv.cast("d"))
    for j, col in enumerate(columns):
        if views is not None:
            try:
                _fill_column_bulk(views, col, j, ncols, keep, adapters)
                continue
            except _Bulk:
                pass
        _fill_column_each(arr, col, j, ncols, keep, first_row, adapters)
    return arr, ncols, keep


# ---- rows of Python values -> pp_column[] (pp_copy_put_columns) ------------------------------

_ZERO = {int: 0, bool: False, float: 0.0, str: ""}
_SEQUENCES = frozenset((tuple, list))


def encode_columns(columns: List[list], n: int,
                   adapters: Any = None) -> Optional[Tuple[Any, list]]:
    """The columns as a ``pp_column[]`` for pp_copy_put_columns: one array per column, laid
    out by a few bulk operations. None when a column holds anything but exactly int, bool,
    float or str (each with PostPyro's own dumper) and None, or a value those arrays cannot
    hold as the pp_value path would send it (an int beyond int64, a str with a NUL or a
    lone surrogate): the caller then lays the rows out value by value."""
    if n == 0:
        return None
    adapters = _fresh(adapters)
    cols = ffi.new("pp_column[]", len(columns))
    keep = [cols]
    for c, col in zip(cols, columns):
        kinds = set(map(type, col))
        has_null = _NoneType in kinds
        kinds.discard(_NoneType)
        c.count = n
        if not kinds:
            c.tag = _PP_NULL
            continue
        if len(kinds) != 1:
            return None
        kind = kinds.pop()
        if kind not in _ZERO or not builtin_dumper(kind, adapters):
            return None
        if has_null:
            zero = _ZERO[kind]
            nulls = bytes(map(is_, col, repeat(None)))
            keep.append(nulls)
            c.nulls = ffi.from_buffer("uint8_t[]", nulls)
            col = [zero if x is None else x for x in col]
        if kind is str:
            c.tag = _PP_TEXT
            joined = "\0".join(col)
            if joined.count("\0") != n - 1:
                return None  # a NUL inside a value: the value-by-value path says which
            try:
                # every value followed by a NUL byte: no offsets to compute
                data = joined.encode("utf-8") + b"\0"
            except UnicodeEncodeError:
                return None
            keep.append(data)
            c.data = ffi.from_buffer(data)
            c.data_len = len(data)
        elif kind is float:
            c.tag = _PP_FLOAT
            floats = array("d", col)
            keep.append(floats)
            c.floats = ffi.from_buffer("double[]", floats)
        else:
            c.tag = _PP_INT if kind is int else _PP_BOOL
            try:
                ints = array("q", col)
            except OverflowError:
                return None  # beyond int64: numeric text, value by value
            keep.append(ints)
            c.ints = ffi.from_buffer("int64_t[]", ints)
    return cols, keep


def dump_many(seq_of_params: Any, adapters: Any = None) -> Tuple[bool, Any, int, int, list]:
    """Rows of parameters for executemany, laid out like COPY rows: column by column (a
    ``pp_column[]`` for pp_exec_many_columns) when every column allows it, else row by row
    (a ``pp_value[]`` for pp_exec_many). Dumped with ``adapters`` (None: the global map).
    ``seq_of_params`` is a list or tuple (bind_many's). Returns (by_columns, array, nparams,
    nrows, keep-alive list)."""
    if set(map(type, seq_of_params)) <= _SEQUENCES:
        rows = seq_of_params  # the usual case, without a call per row
    else:
        check = _types.check_params
        rows = [check(p) for p in seq_of_params]
    nrows = len(rows)
    if nrows == 0:
        return False, ffi.NULL, 0, 0, []
    nparams = len(rows[0])
    if set(map(len, rows)) != {nparams}:
        for k, row in enumerate(rows):
            if len(row) != nparams:
                raise e.ProgrammingError("executemany: row %d has %d parameters, row 0 has "
                                         "%d" % (k, len(row), nparams))
    if nparams == 0:
        return False, ffi.NULL, 0, nrows, []
    columns = transpose(rows, nparams)
    laid = encode_columns(columns, nrows, adapters)
    if laid is not None:
        return True, laid[0], nparams, nrows, laid[1]
    arr, _, keep = encode_row_values(rows, nparams, None, columns, adapters)
    return False, arr, nparams, nrows, keep


def _fresh(adapters: Any) -> Any:
    return (adapters if adapters is not None else _adapters.global_adapters()).fresh()
