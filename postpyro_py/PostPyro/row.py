# SPDX-License-Identifier: MIT
"""Rows of query results.

A :class:`Row` is a tuple (so it compares equal to a tuple, unpacks, hashes and is cheap to
create) that also answers by column name: ``row["name"]``, ``row.get("age", 0)``,
``row.keys()``, ``row.items()``, ``row.to_dict()``. The column names live once per result
shape, in a small subclass made (and cached) per tuple of column names, so a row costs no
more than a tuple.

With duplicate column names (``SELECT 1 AS a, 2 AS a``) a name means its first column, and
``keys()`` / ``items()`` / ``to_dict()`` list each name once.
"""

from __future__ import annotations

import sys
from itertools import starmap
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

__all__ = ["Row", "row_class", "tuple_row", "dict_row"]


class Row(tuple):
    """One result row: a tuple of values that can also be indexed by column name."""

    __slots__ = ()

    #: Column names (all of them, in order); set on each per-result subclass.
    _names: Tuple[str, ...] = ()
    #: Column name -> position (first occurrence).
    _index: Dict[str, int] = {}

    def __getitem__(self, key: Union[int, slice, str]) -> Any:  # type: ignore[override]
        if type(key) is str:
            try:
                key = self._index[key]
            except KeyError:
                raise KeyError("no column named %r (columns: %s)"
                               % (key, ", ".join(self._names) or "none")) from None
        return tuple.__getitem__(self, key)

    def get(self, key: Union[int, str], default: Any = None) -> Any:
        """The value of a column by name or position, or ``default`` when there is none."""
        if type(key) is str:
            i = self._index.get(key)
            if i is None:
                return default
            return tuple.__getitem__(self, i)
        try:
            return tuple.__getitem__(self, key)
        except (IndexError, TypeError):
            return default

    def keys(self) -> List[str]:
        """The column names."""
        return list(self._index)

    def values(self) -> List[Any]:
        """The values, in column order."""
        return list(self)

    def items(self) -> List[Tuple[str, Any]]:
        """(column name, value) pairs."""
        get = tuple.__getitem__
        return [(name, get(self, i)) for name, i in self._index.items()]

    def to_dict(self) -> Dict[str, Any]:
        """The row as a new dict {column name: value}."""
        get = tuple.__getitem__
        return {name: get(self, i) for name, i in self._index.items()}

    def __repr__(self) -> str:
        names = self._names
        if len(names) != len(self):
            return "Row%s" % (tuple.__repr__(self),)
        return "Row(%s)" % ", ".join("%s=%r" % (n, v) for n, v in zip(names, self))

    def __reduce__(self):
        return (_make_row, (self._names, tuple(self)))


def _make_row(names: Sequence[str], values: Sequence[Any]) -> Row:
    return row_class(tuple(names))(values)


# Shared by threads without a lock: a dict's get, set and clear are atomic on every
# interpreter (free-threaded CPython locks each dict); two threads missing at once make two
# equal classes, of which the cache keeps one (rows compare as tuples either way).
_classes: Dict[Tuple[str, ...], type] = {}
_MAX_CLASSES = 512


def row_class(names: Tuple[str, ...]) -> type:
    """The Row subclass for results with these column names (made once, then cached)."""
    cls = _classes.get(names)
    if cls is None:
        index: Dict[str, int] = {}
        for i, name in enumerate(names):
            index.setdefault(name, i)
        cls = type("Row", (Row,), {"__slots__": (), "_names": names, "_index": index,
                                   "__module__": __name__})
        if len(_classes) >= _MAX_CLASSES:
            _classes.clear()
        _classes[names] = cls
    return cls


# From this many rows, _zip_rows calls ``make`` through starmap: it calls it with the
# tuple zip made as the argument tuple itself (tp_call), where map's call makes another for
# each row (1 000 Row objects: 4-6 % less time; below about 20 rows, starmap's two more
# objects cost more than that saves).
_STARMAP_ROWS = 32


def _zip_rows(make: Callable, columns: List[list]) -> list:
    if len(columns[0]) < _STARMAP_ROWS:
        return list(map(make, zip(*columns)))
    return list(starmap(make, zip(zip(*columns))))


# On PyPy, zip(*columns) is slow for wide rows (32 columns: half of the time of rows()):
# there the rows are made by a loop written out for the number of columns,
# [make((c0[i], c1[i], ...)) for i in range(n)], which the JIT compiles to direct reads.
# Up to _MAX_UNROLLED columns (a longer loop is a trace too long for the JIT).
_UNROLLED = sys.implementation.name == "pypy"
_MAX_UNROLLED = 64
_unrolled: Dict[int, Callable] = {}


def _unrolled_rows(make: Callable, columns: List[list]) -> list:
    ncols = len(columns)
    if ncols > _MAX_UNROLLED:
        return _zip_rows(make, columns)
    f = _unrolled.get(ncols)
    if f is None:
        args = ", ".join("c%d" % k for k in range(ncols))
        items = "".join("c%d[i], " % k for k in range(ncols))
        ns: Dict[str, Any] = {}
        exec("def rows(make, n, %s):\n    return [make((%s)) for i in range(n)]\n"
             % (args, items), ns)
        f = _unrolled[ncols] = ns["rows"]
    return f(make, min(map(len, columns)), *columns)  # as many rows as zip() makes


_rows_of = _unrolled_rows if _UNROLLED else _zip_rows


def make_rows(names: Tuple[str, ...], columns: List[list], nrows: int,
              row_factory: Optional[Callable] = None) -> list:
    """Rows from per-column value lists."""
    if row_factory is not None:
        make = row_factory(list(names))
        if not columns:
            return [make(()) for _ in range(nrows)]
        return _rows_of(make, columns)
    cls = row_class(names)
    if not columns:
        return [cls() for _ in range(nrows)]
    return _rows_of(cls, columns)


# ---- row factories (Connection(row_factory=...)) ------------------------------------------

def tuple_row(names: List[str]) -> Callable[[tuple], tuple]:
    """Row factory giving plain tuples."""
    return tuple


def dict_row(names: List[str]) -> Callable[[tuple], Dict[str, Any]]:
    """Row factory giving dicts {column name: value}."""
    def make(values: tuple) -> Dict[str, Any]:
        return dict(zip(names, values))
    return make

