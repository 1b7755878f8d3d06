"""Turning a libpostpyro ``pp_error`` into the right Python exception (the one place)."""

from __future__ import annotations

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
    finally:
        lib.pp_error_free(err)
    if "PP_CONNECT_NO_STATEMENT_CACHE" in message:  # the C flag's name, said the Python way
        message = message.replace("PP_CONNECT_NO_STATEMENT_CACHE", "statement_cache=False")
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


