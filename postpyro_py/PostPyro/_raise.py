"""Turning a libpostpyro ``pp_error`` into the right Python exception (the one place)."""

from __future__ import annotations

import re
from typing import NoReturn

from . import errors as e
from ._ffi import ffi, lib

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


def python_words(message: str) -> str:
    """A library message said the Python way: Python types for tags, Python advice."""
    for c_words, py_words in _HINTS:
        message = message.replace(c_words, py_words)

    def tag(m):
        word = _TAG_WORDS.get(m.group(2))
        if word is None:
            return m.group(0)
        return ("cannot send Python " if m.group(1) else "") + word
    return _TAG.sub(tag, message)


_FIELDS = tuple(zip(e.Diagnostic.__slots__, (ord(c) for c in e.Diagnostic.CODES)))


def _field(err, code: int):
    p = lib.pp_error_field(err, code)
    if p == ffi.NULL:
        return None
    return ffi.string(p).decode("utf-8", "replace")


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
    finally:
        lib.pp_error_free(err)
    if origin != lib.PP_ORIGIN_SERVER:
        message = python_words(message)
    if fields["message_primary"] is None:
        fields["message_primary"] = message
    if fields["sqlstate"] is None:
        fields["sqlstate"] = sqlstate
    default = _BY_CATEGORY.get(category, e.DatabaseError)
    if category in (lib.PP_ERR_INTERFACE, lib.PP_ERR_COMMIT_UNKNOWN, lib.PP_ERR_TIMEOUT):
        cls = default
    else:
        cls = e.error_class(sqlstate, default)
    return cls(message, sqlstate=sqlstate, diag=e.Diagnostic(**fields),
               index=None if index < 0 else index)


def raise_error(err) -> NoReturn:
    """Raise the exception for a ``pp_error *`` (freeing it)."""
    raise build_error(err)


def discard_error(err) -> None:
    """Free a ``pp_error *`` nobody will look at."""
    if err != ffi.NULL:
        lib.pp_error_free(err)
