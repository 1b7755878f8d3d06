# SPDX-License-Identifier: MIT
"""Turning a libpostpyro ``pp_error`` into the right Python exception (the one place), and
which exceptions met during a wait for the server abandon the statement (SIGNALLED)."""

from __future__ import annotations

import re
from typing import NoReturn, Optional

from . import errors as e
from ._ffi import ffi, lib

#: What a signal's Python handler may raise during a wait for the server (Ctrl-C, SIGTERM's
#: SystemExit, an alarm's own exception): the statement is then cancelled and waited for
#: (Connection._abandon). Not every BaseException: a fiber's kill (GreenletExit) or a task's
#: cancellation reaching the async front end's fiber passes through untouched.
SIGNALLED = (KeyboardInterrupt, SystemExit, Exception)


def later(first: Optional[BaseException], exc: BaseException) -> Optional[BaseException]:
    """The exception to raise once an abandoned statement has ended: the first one another
    signal's handler raised meanwhile (more Ctrl-C presses are ignored)."""
    return first if first is not None or isinstance(exc, KeyboardInterrupt) else exc


_BY_CATEGORY = {
    lib.PP_ERR_NONE: e.DatabaseError,
    lib.PP_ERR_INTERFACE: e.InterfaceError,
    lib.PP_ERR_DATABASE: e.DatabaseError,
    lib.PP_ERR_DATA: e.DataError,
    lib.PP_ERR_OPERATIONAL: e.OperationalError,
    lib.PP_ERR_INTEGRITY: e.IntegrityError,
    lib.PP_ERR_INTERNAL: e.InternalError,
    lib.PP_ERR_PROGRAMMING: e.ProgrammingError,
    lib.PP_ERR_NOT_SUPPORTED: e.NotSupportedError,
    lib.PP_ERR_TRANSACTION_ROLLBACK: e.TransactionRollbackError,
    lib.PP_ERR_COMMIT_UNKNOWN: e.CommitUnknown,
    lib.PP_ERR_TIMEOUT: e.ConnectionTimeout,
}

# libpostpyro's messages name C tags (PP_FLOAT); a Python caller passed Python values.
_TAG_WORDS = {
    "PP_NULL": "None", "PP_BOOL": "bool", "PP_INT": "int", "PP_FLOAT": "float",
    "PP_TEXT": "str", "PP_BYTES": "bytes", "PP_NUMERIC": "Decimal", "PP_DATE": "date",
    "PP_TIME": "time", "PP_TIMETZ": "time with tzinfo", "PP_TIMESTAMP": "naive datetime",
    "PP_TIMESTAMPTZ": "aware datetime", "PP_INTERVAL": "timedelta", "PP_UUID": "UUID",
    "PP_JSON": "JSON", "PP_ARRAY": "list",
}
_HINTS = (  # C advice -> what a Python caller does
    ("send it as PP_TEXT for the server to parse", "pass a str"),
    ("send JSON as PP_JSON", "wrap the list in PostPyro.Json() to send JSON"),
    ("its PP_TIMESTAMPTZ elements would lose their UTC offset; send PP_TIMESTAMP elements",
     "its aware values would lose their UTC offset; pass naive ones"),
    ("PP_TIMESTAMPTZ needs timestamp with time zone; send PP_TIMESTAMP",
     "an aware datetime needs timestamp with time zone; pass a naive one"),
    ("send the tag of the column's type", "pass the column's own Python type"),
    ("PP_CONNECT_NO_STATEMENT_CACHE", "statement_cache=False"),
    ("pp_exec_many takes", "executemany takes"),
)
_TAG = re.compile(r"\b(cannot send )?(PP_[A-Z]+)\b")


def python_words(message: str, tags: bool) -> str:
    """A message said the Python way: Python advice for the library's C advice (also in a
    server error it explained), and with ``tags`` (the library's own messages, which never
    quote the server's text), Python types for tags."""
    for c_words, py_words in _HINTS:
        message = message.replace(c_words, py_words)
    if not tags:
        return message

    def tag(m):
        word = _TAG_WORDS.get(m.group(2))
        if word is None:
            return m.group(0)
        return ("cannot send Python " if m.group(1) else "") + word
    return _TAG.sub(tag, message)


_ORIGINS = {lib.PP_ORIGIN_SERVER: "server", lib.PP_ORIGIN_LIBRARY: "library",
            lib.PP_ORIGIN_CONNECTION: "connection"}

_FIELDS = tuple(zip(e.Diagnostic.__slots__, (ord(c) for c in e.Diagnostic.CODES)))


def _field(err, code: int):
    p = lib.pp_error_field(err, code)
    if p == ffi.NULL:
        return None
    return ffi.string(p).decode("utf-8", "replace")


def _statement_context(err) -> str:
    """The "LINE n: ..." line and the caret under the error's position, as psql and
    psycopg2 show them (from pp_error_format), or ""."""
    text = lib.pp_error_format(err)
    if text == ffi.NULL:
        return ""
    try:
        lines = ffi.string(text).decode("utf-8", "replace").split("\n")
    finally:
        lib.pp_free(text)
    for k, line in enumerate(lines):
        if line.startswith("LINE ") and k + 1 < len(lines):
            return "\n" + line + "\n" + lines[k + 1]
    return ""


def build_error(err) -> e.Error:
    """The exception for a ``pp_error *`` (which is freed). NULL gives a generic error."""
    if err == ffi.NULL:
        return e.InterfaceError("libpostpyro failed without saying why")
    try:
        category = lib.pp_error_category(err)
        message = ffi.string(lib.pp_error_message(err)).decode("utf-8", "replace")
        sqlstate = ffi.string(lib.pp_error_sqlstate(err)).decode("ascii", "replace") or None
        fields = {name: _field(err, code) for name, code in _FIELDS}
        index = lib.pp_error_index(err)
        origin = lib.pp_error_origin(err)
        context = _statement_context(err) if fields["statement_position"] else ""
    finally:
        lib.pp_error_free(err)
    message = python_words(message, origin != lib.PP_ORIGIN_SERVER)
    message += context
    if fields["message_primary"] is None:
        fields["message_primary"] = message
    if fields["sqlstate"] is None:
        fields["sqlstate"] = sqlstate
    default = _BY_CATEGORY.get(category, e.DatabaseError)
    if category in (lib.PP_ERR_INTERFACE, lib.PP_ERR_COMMIT_UNKNOWN, lib.PP_ERR_TIMEOUT):
        cls = default
    else:
        cls = e.error_class(sqlstate, default)
    exc = cls(message, sqlstate=sqlstate, diag=e.Diagnostic(**fields),
              index=None if index < 0 else index)
    exc.origin = _ORIGINS.get(origin)
    return exc


def raise_error(err) -> NoReturn:
    """Raise the exception for a ``pp_error *`` (freeing it)."""
    raise build_error(err)


