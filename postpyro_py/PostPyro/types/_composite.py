# SPDX-License-Identifier: MIT
"""Composite (row) values in their text form: ``(1,"a b",)``.

Values of composite types and anonymous records come back as their text form (str);
``PostPyro.types.parse_record`` splits one into its fields (str, or None for NULL), and
``PostPyro.types.register_type(conn, "mytype")`` turns a named composite type into a
namedtuple with each field converted by its own type (and sendable as a parameter).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, List, Optional, Tuple

from .. import errors as e
from ._fields import scan_field

__all__ = ["parse_record", "format_record"]


def parse_record(s: str) -> Tuple[Optional[str], ...]:
    """A record's text form as a tuple of field texts (None for NULL)."""
    n = len(s)
    if n < 2 or s[0] != "(" or s[-1] != ")":
        raise e.DataError("cannot read record value %r" % s)
    fields: List[Optional[str]] = []
    pos, end = 1, n - 1
    if end == 1:
        return ()

    def bad() -> e.DataError:
        return e.DataError("cannot read record value %r" % s)

    while True:
        field, pos = scan_field(s, pos, end, ",", bad, strict=False)
        fields.append(field)
        if pos >= end:
            break
        pos += 1  # the comma
    return tuple(fields)


def format_record(values: Iterable[Any], field_text: Callable[[Any], str]) -> str:
    """The record text form of ``values``: ``field_text(x)`` gives a non-None field's
    (quoted) text; None is an empty field (NULL)."""
    return "(" + ",".join("" if v is None else field_text(v) for v in values) + ")"
