# SPDX-License-Identifier: MIT
"""SQL text helpers shared by every front end, with no I/O: statement text as bytes for the C
library, identifier quoting, the type of statement parameters."""

from __future__ import annotations

import re
from typing import Any, Optional, Sequence, Tuple, Union

from . import errors as e

#: Statement parameters: a sequence of values (positional, $1 …), or None for none.
Params = Optional[Union[Sequence[Any], Tuple[Any, ...]]]


def sql_bytes(sql: Any) -> bytes:
    """Statement text as UTF-8 for the C library; ProgrammingError for a non-str, an empty
    (or all-blank) str, a NUL character or a str with no UTF-8 form."""
    if not isinstance(sql, str):
        raise e.ProgrammingError("SQL must be a str, not %s" % type(sql).__name__)
    if not sql or sql.isspace():
        raise e.ProgrammingError("cannot run an empty statement: the SQL is %s"
                                 % ("empty" if not sql else "only blanks"))
    if "\0" in sql:
        raise e.ProgrammingError("SQL contains a NUL character")
    try:
        return sql.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate
        raise e.ProgrammingError("SQL cannot be encoded as UTF-8: %s" % exc) from exc


def check_utf8(s: str, what: str) -> bytes:
    """s as UTF-8; DataError for a str that has no UTF-8 form (a lone surrogate)."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise e.DataError("%s cannot be encoded as UTF-8: %s" % (what, exc)) from exc


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (always quoted, so case and keywords are
    kept as given). Refuses an empty name and NUL characters."""
    if not isinstance(name, str):
        raise e.ProgrammingError("an identifier must be a str, not %s" % type(name).__name__)
    if not name:
        raise e.ProgrammingError("an identifier cannot be empty")
    if "\0" in name:
        raise e.DataError("identifier contains a NUL character")
    check_utf8(name, "identifier")
    return '"' + name.replace('"', '""') + '"'


_PLAIN_IDENT = re.compile(r"[a-z_][a-z0-9_$]*\Z")


def quote_ident(name: str) -> str:
    """An SQL identifier, double-quoted unless it is a plain lower-case name (savepoints,
    procedure and argument names)."""
    if not isinstance(name, str) or not name:
        raise e.ProgrammingError("an identifier must be a non-empty str")
    if "\0" in name:
        raise e.DataError("identifier contains a NUL character")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise e.DataError("identifier cannot be encoded as UTF-8: %s" % exc) from exc
    if _PLAIN_IDENT.match(name):
        return name
    return '"' + name.replace('"', '""') + '"'
