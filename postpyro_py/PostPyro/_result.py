# SPDX-License-Identifier: MIT
"""Results (core: no I/O, no waiting): what a ``pp_result`` holds, read into Python values.

A statement's front end (sync Connection, or an async one) calls ``pp_query`` with a set of
buffers from :func:`take_buffers`, loops on PP_PENDING its own way, then hands the return
code to :func:`finish_query` and the result to :func:`take_result`. A chunked result
(PP_MORE) is merged chunk by chunk with :func:`add_chunk` / :func:`end_chunks`.
"""

from __future__ import annotations

import gc
import platform
import threading
from collections import deque
from typing import Any, Callable, Deque, Dict, Optional, Tuple

from . import errors as e
from ._ffi import (PP_MORE, PP_OK, T_COLUMN_ARRAY, T_ERROR_PP, T_RESULT_INFO_P, T_RESULT_PP,
                   T_VALUE_ARRAY, ffi, lib, newp, unpack)
from . import _pypygc
from ._raise import raise_error
from ._fastrows import _INT_PARAMS, _MAX_DATA, make_fast
from .row import make_rows, row_class
from .types._adapters import _generation
from .types._loaders import convert_columns


# Building a big result allocates many objects at once; CPython's cyclic garbage collector
# would then run again and again over them (more than half of the time for large results),
# though none can be garbage. It is paused while a result is converted (and rows made), and
# restored after. On PyPy the pause defers its major collections, caught up at the end
# (_pypygc).
_PYPY_GC = platform.python_implementation() == "PyPy" and _pypygc.usable()
_PAUSE_GC = platform.python_implementation() == "CPython" or _PYPY_GC
_PAUSE_GC_CELLS = 5000
# PyPy: from 100 000 values (from 1 000, the pause measured slower: text × 1 × 1 000 1.2 ×,
# × 10 000 1.1 ×; rows pass their cells too, which on CPython pause from _PAUSE_GC_ROWS).
# A result read in chunks (Connection._read_chunks) passes _PAUSE_CELLS: always paused.
_PAUSE_CELLS = 100000 if _PYPY_GC else _PAUSE_GC_CELLS
# Rows (each a tracked object, unlike most values) pause it from fewer: 1 000 one-column
# rows take 0.19 ms of CPU with the collector's passes over them, 0.11 ms without (the
# pass it then makes at once adds 0.025 ms to the next statement).
_PAUSE_GC_ROWS = 500

# make_rows builds rows with zip() on CPython, which rows() inlines; on PyPy it has a faster
# way for the JIT (row.py), which small results must take too.
_ZIP_ROWS = platform.python_implementation() != "PyPy"

# The collector is one switch for the whole process: threads converting at the same time
# share one pause. The first turns the collector off (only if it was on: an application's
# own gc.disable() is left alone), the last turns it back on.
_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_ours = False  # the first pauser turned the collector off: the last turns it back on


class _gc_paused:
    __slots__ = ("on",)

    def __init__(self, cells: int) -> None:
        self.on = _PAUSE_GC and cells >= _PAUSE_CELLS

    def __enter__(self) -> None:
        if self.on:
            global _gc_pausers, _gc_ours
            if _PYPY_GC and _gc_pausers == 0:  # before the pause: the last result is
                _pypygc.catch_up()              # most likely garbage by now
            with _gc_lock:
                if _gc_pausers == 0:
                    _gc_ours = gc.isenabled()
                    if _gc_ours:
                        gc.disable()
                _gc_pausers += 1

    def __exit__(self, *exc: Any) -> None:
        if self.on:
            global _gc_pausers, _gc_ours
            with _gc_lock:
                _gc_pausers -= 1
                if _gc_pausers == 0 and _gc_ours:
                    _gc_ours = False
                    gc.enable()


class _Result:
    """Everything read from one pp_result (which is freed right after)."""

    __slots__ = ("command", "rowcount", "has_rows", "names", "row_cls", "types", "typmods",
                 "columns", "nrows", "_last")

    def rows(self, row_factory: Optional[Callable] = None) -> list:
        if not self.has_rows:
            return []
        if self.nrows < _PAUSE_GC_ROWS:  # no pause object to make
            if row_factory is None and self.columns and _ZIP_ROWS:  # make_rows' common
                return list(map(self.row_cls, zip(*self.columns)))  # case, inlined
            return make_rows(self.names, self.columns, self.nrows, row_factory)
        with _gc_paused(max(_PAUSE_GC_CELLS, self.nrows * len(self.columns))):
            return make_rows(self.names, self.columns, self.nrows, row_factory)


# Column names of recent result shapes, and their Row class, by the names' raw bytes: a
# statement run again does not decode and split its names again. Shared by threads without a
# lock: a dict's get, set and clear are atomic on every interpreter (free-threaded CPython
# locks each dict), and two threads missing at once only make the same entry twice.
_names_cache: Dict[bytes, Tuple[bytes, Tuple[str, ...], type]] = {}


# pp_query decodes up to this many columns in the same call; wider results take one more.
_QUERY_COLS = 32

# int64 values of a buffer set's pack, for pp_query_pack (_planned): room for the facts of
# _QUERY_COLS columns, the int values of the _KEEP_CELLS a plan's fast function takes, the
# text's byte count and the _MAX_DATA bytes of text it takes (so that text a fast function
# would take always fits).
_PACK_LEN = 6 + 4 * _QUERY_COLS + 1024 + _MAX_DATA // 8
_T_PACK = ffi.typeof("int64_t[]")
_T_CALL = ffi.typeof("pp_query_buffers *")
_T_STMT = ffi.typeof("pp_query_stmt *")
_T_CHARS = ffi.typeof("char[]")

# Spare (pp_result_info *, pp_column[_QUERY_COLS], pp_result **, pp_error **,
# (int64_t[_PACK_LEN], ffi.buffer of it: the pack's text read as bytes by one slice), the
# pp_query_buffers * pointing at them all, int_params()) sets for pp_query_call
# (6 arguments where pp_query_pack takes 13: CPython's cffi call 2.3k machine instructions
# cheaper, 7 % of a small statement), reused: making them (a zeroed 3.6 KB array) cost more than the rest of a
# small statement's Python. A statement takes a set (a nested one, e.g. a loader's query,
# takes another) and puts it back once its result is converted without an error (*err is
# NULL again). A small result stays in *out (see take_result): the set's next
# pp_query_reuse frees it, in the same call, or the set's `out` when it is dropped. A
# deque: its append and pop are atomic (documented, not a GIL accident), so two threads
# never take the same set; beyond 8 spares the oldest is dropped.
_spare_buffers: Deque[Tuple[Any, Any, Any, Any, Any, Any, Any]] = deque(maxlen=8)

# A converted result is left in its buffer set's *out: the set's next pp_query_reuse frees
# it in the same call (not a call into C of its own, and under threads a turn of the GIL, a
# statement), decoding into its column memory instead of fresh heap memory (10 000 rows x
# 20 int columns: 1 900 page faults a statement, a quarter of the C time, gone; 100 000 rows
# x 20 int columns, 18 MB: 244 -> 204 ms of CPU). What the spare sets hold that way is
# bounded: results of more than _KEEP_SMALL bytes of decoded values are counted, and kept
# only while those counted total at most _KEEP_TOTAL; smaller ones, not counted (that
# would cost a lock a statement), hold at most 8 x _KEEP_SMALL in the idle spare sets. A
# result that would go above is freed at once, not to keep its memory while the program
# is idle (psycopg2 keeps a cursor's last PGresult, of any size, until its next statement).
# 24 MB keeps the shape sweep's gains (its biggest reused result, 100 000 rows x 20 int
# columns, counts 18 MB; with 8 MB that cell and 100 000 x 5 text took 16-22 % more CPU).
_KEEP_CELLS = 1024  # below _PAUSE_GC_CELLS: plan_rows relies on it
_KEEP_SMALL = 64 << 10
_KEEP_TOTAL = 24 << 20
_kept: Dict[int, int] = {}  # id(a spare set's out) -> bytes of the result it holds
_kept_total = 0
_kept_lock = threading.Lock()
# The keys of dropped sets whose destructor freed a counted result, uncounted by the next
# holder of _kept_lock (_settle). A destructor runs wherever the collector is, on PyPy at
# any point of any thread, e.g. inside _hold's count in this very thread: changing the
# count there lost the change (_hold then wrote back the total it had read before).
_freed: Deque[int] = deque()


def _settle() -> None:
    """(Holding _kept_lock.) Uncounts the results freed by dropped sets' destructors. A
    freed set's id is only reused once its destructor has run: its key is here first."""
    global _kept_total
    while _freed:
        _kept_total -= _kept.pop(_freed.popleft(), 0)


def kept_bytes() -> int:
    """Bytes of decoded values (roughly) of the results above _KEEP_SMALL bytes that the
    spare buffer sets hold for the next statements to decode into: at most _KEEP_TOTAL,
    for the whole process (smaller ones add at most 8 x _KEEP_SMALL)."""
    with _kept_lock:
        _settle()
        return _kept_total


def _hold(buffers, cols, ncols: int, nrows: int) -> bool:
    """Whether the result in ``buffers``' out, whose decoded columns are cols[0 … ncols-1]
    (None: not in cols, more than _QUERY_COLS of them), stays there for the set's next
    statement (see _KEEP_TOTAL; its size, roughly: 9 bytes a value, 8 more for values in
    data, plus the data). A counted one is in kept_bytes() until the set comes back from
    its next statement."""
    global _kept_total
    if cols is None:
        size = _KEEP_TOTAL + 1
    else:
        size = nrows * ncols * 9
        for k in range(ncols):
            n = cols[k].data_len
            if n:
                size += n + nrows * 8
    key = id(buffers[2])
    if size <= _KEEP_SMALL and key not in _kept:  # the common case: no lock
        return True
    with _kept_lock:
        _settle()
        total = _kept_total - _kept.pop(key, 0)  # held before: freed by this statement
        keep = total + size <= _KEEP_TOTAL
        if keep and size > _KEEP_SMALL:
            _kept[key] = size
            total += size
        _kept_total = total
    return keep


def _unhold(key: int) -> None:
    """The result counted for the set whose out has id ``key`` is freed."""
    global _kept_total
    if key in _kept:
        with _kept_lock:
            _settle()
            _kept_total -= _kept.pop(key, 0)


def _free_held(out, key: int) -> None:
    """Destructor of a buffer set's ``pp_result **``: frees the result it still holds (its
    count goes at the next _settle: a destructor takes no lock)."""
    if key in _kept:
        _freed.append(key)
    if out[0] != ffi.NULL:
        lib.pp_result_free(out[0])
        out[0] = ffi.NULL


def _new_buffers() -> Tuple[Any, Any, Any, Any, Any, Any, Any]:
    key = []  # the id of the set's out, for its destructor
    out = ffi.gc(newp(T_RESULT_PP, None), lambda raw: _free_held(raw, key[0]))
    key.append(id(out))
    info, cols, err, pack = (newp(T_RESULT_INFO_P, None), newp(T_COLUMN_ARRAY, _QUERY_COLS),
                             newp(T_ERROR_PP, None), newp(_T_PACK, _PACK_LEN))
    ints = int_params()
    call = call_buffers(info, cols, _QUERY_COLS, out, err, pack, _PACK_LEN)
    call.params = ints[0]  # pp_query_run's values: the set's own array (the set keeps it)
    return (info, cols, out, err, (pack, ffi.buffer(pack)), call, ints)


def int_params() -> tuple:
    """A buffer set's (``pp_value[_INT_PARAMS]`` array, then its items): every value tagged
    PP_INT, so that a plan's dump function (_fastrows.make_dump) puts up to _INT_PARAMS
    ints into it with one store each (the items hold no reference to the array: the tuple
    keeps it)."""
    arr = newp(T_VALUE_ARRAY, _INT_PARAMS)
    items = tuple(arr[k] for k in range(_INT_PARAMS))
    for v in items:
        v.tag = lib.PP_INT
    return (arr,) + items


def query_stmt(conn: Any, sqlb: bytes, how: int) -> Tuple[Any, Any]:
    """(the text as ``char[]``, the ``pp_query_stmt *`` of pp_query_run pointing at it, at
    the connection ``conn`` — a ``pp_conn *``, or None — and at the PP_EXEC_* flags
    ``how``) for a plan (_session.Plan), which keeps both."""
    text = newp(_T_CHARS, sqlb)
    return text, newp(_T_STMT, {"conn": ffi.NULL if conn is None else conn, "sql": text,
                                "flags": how})


def call_buffers(info, cols, max_cols: int, out, err, pack, pack_len: int) -> Any:
    """The ``pp_query_buffers *`` of pp_query_call pointing at the buffers of a set (which
    keeps them alive: the struct only points at them)."""
    return newp(_T_CALL, {"out": out, "info": info, "cols": cols, "max_cols": max_cols,
                          "txstatus": -1, "pack": pack, "pack_len": pack_len, "err": err})


def read_result(res, adapters: Any = None) -> _Result:
    """Read (and convert, column by column) a ``pp_result *``. Does not free it."""
    info = newp(T_RESULT_INFO_P, None)
    lib.pp_result_describe(res, info, ffi.NULL)
    return _convert(res, info, None, True, adapters)


def _convert(res, info, cols, describe: bool = True, adapters: Any = None) -> _Result:
    """The _Result for res, described by info; cols holds its decoded columns when pp_query
    had room for them, else None (they are decoded here). Without ``describe`` the command
    tag and the column types are left out (None): query() has no use for them. The values
    are loaded with ``adapters`` (an AdaptersMap; None: the global one)."""
    r = _Result()
    r.rowcount = info.rows_affected
    if describe:
        r.command = ffi.string(info.command).decode("utf-8", "replace")
    else:
        r.command = r.types = r.typmods = None
    if not info.has_rows:
        r.has_rows = False
        r.names = ()
        r.row_cls = None
        r.columns = []
        if describe:
            r.types = r.typmods = []
        r.nrows = 0
        return r
    r.has_rows = True
    ncols = info.ncols
    r.nrows = nrows = info.nrows
    raw = unpack(info.names, info.names_len)  # bytes: names is a char *
    shape = _names_cache.get(raw)
    if shape is None:
        shape = _shape(raw, ncols)
    r.names = shape[1]
    r.row_cls = shape[2]
    if describe:
        r.types = unpack(info.types, ncols)
        r.typmods = unpack(info.typmods, ncols)
    r.columns = _columns(res, cols, ncols, nrows, adapters)
    return r


def _shape(raw: bytes, ncols: int) -> Tuple[bytes, Tuple[str, ...], type]:
    """(raw, names, Row class) of a result whose column names are ``raw`` (pp_result_info's
    names: each followed by a NUL), from _names_cache or added to it."""
    shape = _names_cache.get(raw)
    if shape is None:
        names = tuple(raw.decode("utf-8", "replace").split("\0")[:ncols])
        shape = raw, names, row_class(names)
        if len(_names_cache) >= 256:
            _names_cache.clear()
        _names_cache[raw] = shape
    return shape


def _columns(res, cols, ncols: int, nrows: int, adapters: Any) -> list:
    """The converted columns of ``res``; ``cols`` holds them decoded when pp_query had room
    for them, else None (they are decoded here)."""
    if cols is None or ncols > _QUERY_COLS:
        cols = newp(T_COLUMN_ARRAY, ncols)
        err = newp(T_ERROR_PP, None)
        if lib.pp_result_columns(res, cols, err) != PP_OK:
            raise_error(err[0])
    if nrows * ncols < _PAUSE_GC_CELLS:
        columns = convert_columns(cols, ncols, adapters)
    else:
        with _gc_paused(nrows * ncols):
            columns = convert_columns(cols, ncols, adapters)
    for values in columns:
        if len(values) != nrows:
            _short_column(columns, values, nrows)
    return columns


def _short_column(columns: list, values: list, nrows: int) -> None:
    raise e.InterfaceError("column %d has %d values for %d rows"
                           % (columns.index(values), len(values), nrows))


def take_counts(res, counts, affected) -> None:
    """A batch's counts from the result pp_resume gives after PP_PENDING (one int8 column,
    one row per command) into the caller's ``counts`` array or ``affected`` total."""
    value = ffi.new("pp_value *")
    for k in range(lib.pp_result_nrows(res)):
        lib.pp_result_value(res, k, 0, value, ffi.NULL)
        if counts is not None:
            counts[k] = value.i
        if affected is not None and value.i > 0:
            affected[0] += value.i


def _free_out(out, err) -> None:
    if out is not None and out[0] != ffi.NULL:
        lib.pp_result_free(out[0])
        out[0] = ffi.NULL
    if err[0] != ffi.NULL:
        lib.pp_error_free(err[0])
        err[0] = ffi.NULL


def take_buffers() -> Tuple[Any, Any, Any, Any, Any, Any, Any]:
    """A spare (info, cols, out, err, pack, call, ints) set for pp_query_call
    (:func:`take_result` puts it back)."""
    try:
        return _spare_buffers.pop()
    except IndexError:
        return _new_buffers()


def finish_query(rc: int, buffers) -> Any:
    """The end of a pp_query / pp_query_next that returned ``rc`` (not PP_PENDING) into
    ``buffers``: the ``pp_result *`` (the caller frees it: see take_result), or None for
    PP_MORE (the first chunk of several is in buffers' out). Raises the statement's error."""
    if rc == PP_OK:
        return buffers[2][0]
    if rc != PP_MORE:
        raise_error(buffers[3][0])
    return None


def take_result(res, buffers, describe: bool, rest: Optional[list],
                adapters: Any = None) -> _Result:
    """The converted result of a whole pp_query (``res`` from finish_query), which is freed
    with the results chained after it (a small one, alone, stays in ``buffers``' out for
    the next pp_query_reuse to free); ``buffers`` go back to the spares. With ``rest`` (a
    list), the results of the following statements of a multi-statement string are appended
    to it. ``describe``, ``adapters``: see _convert."""
    info = buffers[0]
    keep = False
    try:
        first = _convert(res, info, buffers[1], describe, adapters)
        if rest is None:
            # a small result stays in out[0]: freed by the set's next statement
            ncols = len(first.names)
            keep = _hold(buffers, buffers[1] if ncols <= _QUERY_COLS else None, ncols,
                         first.nrows)
        while rest is not None:
            following = lib.pp_result_take_next(res)
            if following == ffi.NULL:
                break
            lib.pp_result_free(res)
            res = following
            rest.append(read_result(res, adapters))
        return first
    finally:
        if not keep:
            _unhold(id(buffers[2]))
            lib.pp_result_free(res)  # and the results still chained after it
            buffers[2][0] = ffi.NULL  # freed: never to be freed again
        _spare_buffers.append(buffers)


def plan_rows(res, buffers, plan: Any, adapters: Any, row_factory: Optional[Callable]) -> list:
    """query()'s rows of ``res``, a whole result of ``plan``'s statement (a _session.Plan:
    its ``shape`` and ``fast`` are kept here), straight from the described columns in
    ``buffers`` (as take_result: freed or kept in their out, the set goes back to the
    spares). take_result + _convert + _Result.rows in one step for the commonest call, when
    the plan's ``fast`` function (_fastrows), tried first, was not for this result: a small
    one that fits makes it again."""
    info = buffers[0]
    keep = True
    try:
        if not info.has_rows:
            _unhold(id(buffers[2]))  # a result without rows: nothing to count
            return []
        ncols = info.ncols
        nrows = info.nrows
        small = nrows * ncols <= _KEEP_CELLS
        keep = _hold(buffers, buffers[1] if ncols <= _QUERY_COLS else None, ncols, nrows)
        raw = unpack(info.names, info.names_len)
        shape = plan.shape
        if shape is None or shape[0] != raw:  # first run, or the result's columns changed
            shape = plan.shape = _shape(raw, ncols)
        if small and ncols <= _QUERY_COLS:  # _columns' common case: no pause, decoded
            columns = convert_columns(buffers[1], ncols, adapters)
            for values in columns:
                if len(values) != nrows:
                    _short_column(columns, values, nrows)
            if row_factory is None and 0 < nrows < _PAUSE_GC_ROWS:
                plan.fast = make_fast(buffers[1], ncols, adapters, shape,
                                      min(_PAUSE_GC_ROWS - 1, _KEEP_CELLS // ncols))
        else:
            columns = _columns(res, buffers[1], ncols, nrows, adapters)
        if not keep:  # too big to keep: its decoded columns go before the rows are made
            keep = True  # (freed here, not again below)
            _unhold(id(buffers[2]))
            lib.pp_result_free(res)
            buffers[2][0] = ffi.NULL
        if nrows >= _PAUSE_GC_ROWS:
            with _gc_paused(max(_PAUSE_GC_CELLS, nrows * ncols)):
                return make_rows(shape[1], columns, nrows, row_factory)
        if row_factory is None and columns and _ZIP_ROWS:  # make_rows' common case
            return list(map(shape[2], zip(*columns)))
        return make_rows(shape[1], columns, nrows, row_factory)
    finally:
        if not keep:
            _unhold(id(buffers[2]))
            lib.pp_result_free(res)  # and the results still chained after it
            buffers[2][0] = ffi.NULL  # freed: never to be freed again
        _spare_buffers.append(buffers)


def add_chunk(whole: Optional[_Result], res, info, cols, describe: bool,
              adapters: Any = None) -> _Result:
    """One more chunk of a PP_EXEC_CHUNKED result converted (``res`` is freed) and merged
    into ``whole`` (None for the first); returns the merged result. Call under
    ``_gc_paused(_PAUSE_CELLS)``: every chunk stays alive."""
    try:
        part = _convert(res, info, cols, describe, adapters)
    finally:
        lib.pp_result_free(res)
    if whole is None:
        whole = part
        whole._last = part
        return whole
    for values, more in zip(whole.columns, part.columns):
        values.extend(more)
    whole.nrows += part.nrows
    whole._last = part
    return whole


def end_chunks(whole: _Result) -> _Result:
    """The merged result once its last chunk is in: the last chunk's tag counts every row."""
    part = whole._last
    whole._last = None
    whole.command = part.command
    whole.rowcount = part.rowcount
    return whole


def one_row(rows: list) -> Any:
    """query_one()'s row of query()'s ``rows``: exactly one, else NoRowError /
    MultipleRowsError."""
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise e.NoRowError("query_one() expected exactly one row; the statement returned "
                           "none")
    raise e.MultipleRowsError("query_one() expected exactly one row; the statement "
                              "returned %d" % len(rows))
