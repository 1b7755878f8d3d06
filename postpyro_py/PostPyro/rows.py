# SPDX-License-Identifier: MIT
"""Row factories: what a row of a result is.

A row factory is called once per result with the list of column names and returns the
function that makes one row from a tuple of values. Choose one per connection
(``Connection(dsn, row_factory=dict_row)``, ``conn.row_factory = dict_row``) or per cursor
(``conn.cursor(row_factory=tuple_row)``, ``cur.row_factory = …``)::

    from PostPyro.rows import dict_row, tuple_row

    conn.row_factory = dict_row
    conn.query("SELECT 1 AS a")          # [{'a': 1}]

``None`` (the default) and :func:`row` give :class:`~PostPyro.Row`, a tuple that also answers
by column name. Any callable of the same shape works::

    def point_row(names):
        return lambda values: Point(*values)
"""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

from .row import Row, dict_row, row_class, tuple_row

__all__ = ["Row", "row", "tuple_row", "dict_row", "RowFactory"]

#: The type of a row factory: column names -> (values -> row).
RowFactory = Callable[[List[str]], Callable[[Tuple[Any, ...]], Any]]


def row(names: List[str]) -> Callable[[Tuple[Any, ...]], Row]:
    """Row factory giving :class:`~PostPyro.Row` objects (what ``None`` means)."""
    return row_class(tuple(names))


def check_row_factory(factory: Any) -> Any:
    """``factory`` if it can be a row factory (None or a callable), else ProgrammingError."""
    if factory is not None and not callable(factory):
        from . import errors as e
        raise e.ProgrammingError("row_factory must be None or a callable taking the column "
                                 "names, not %s" % type(factory).__name__)
    return factory
