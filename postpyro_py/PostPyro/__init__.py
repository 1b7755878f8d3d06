# SPDX-License-Identifier: MIT
"""PostPyro: a PostgreSQL driver — libpostpyro (C, over libpq) driven through cffi.

    import PostPyro as pg

    with pg.Connection("postgresql://user:pw@localhost/db") as conn:
        rows = conn.query("SELECT id, name FROM users WHERE active = $1", [True])
        for row in rows:
            print(row["id"], row["name"])

:class:`Connection` autocommits each statement unless inside ``conn.begin()``;
:func:`connect` opens one the PEP 249 way (``autocommit=False``). Placeholders are
PostgreSQL's own: ``$1, $2, …`` (paramstyle "numeric"). Errors are the PEP 249 classes, with
one subclass per SQLSTATE in :mod:`PostPyro.errors` (``pg.errors.UniqueViolation``).
"""

from __future__ import annotations

from . import _ffi, errors, rows
from ._ffi import library_path
from .connection import Connection, connect
from .cursor import Column, Cursor
from .dbapi import (BINARY, DATETIME, NUMBER, ROWID, STRING, Binary, Date, DateFromTicks, Time,
                    TimeFromTicks, Timestamp, TimestampFromTicks)
from .errors import (CommitUnknown, DatabaseError, DataError, Error, IntegrityError,
                     InterfaceError, InternalError, MultipleRowsError, NoRowError,
                     NotificationsLost, NotSupportedError, OperationalError, PoolTimeout,
                     ProgrammingError, TooManyRequests, TransactionRollbackError, Warning)
from ._notify import Notify
from .null_pool import NullPool
from .pool import Pool
from .row import Row
from .transaction import Transaction
from .types import (Hstore, Interval, Json, Multirange, Range, register_dumper, register_loader,
                    register_type)

from ._version import VERSION as __version__

#: PEP 249 module globals.
apilevel = "2.0"
threadsafety = 2
paramstyle = "numeric"


def get_version() -> str:
    """The version of this package (see :func:`library_version` for libpostpyro's)."""
    return __version__


def library_version() -> str:
    """The version of the loaded libpostpyro ("major.minor.patch")."""
    return _ffi.ffi.string(_ffi.lib.pp_version()).decode("ascii")


def libpq_version() -> int:
    """The version of the libpq libpostpyro runs with (e.g. 150018)."""
    return int(_ffi.lib.pp_libpq_version())


# The async front end is imported when first used (it needs greenlet on CPython).
_ASYNC = {"AsyncConnection": "connection_async", "AsyncTransaction": "objects_async",
          "AsyncCursor": "objects_async", "AsyncStream": "objects_async",
          "AsyncCopy": "objects_async", "AsyncPool": "pool_async",
          "AsyncNullPool": "null_pool_async"}


def __getattr__(name: str):
    module = _ASYNC.get(name)
    if module is None:
        raise AttributeError("module 'PostPyro' has no attribute %r" % (name,))
    import importlib
    value = getattr(importlib.import_module("." + module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "__version__", "apilevel", "threadsafety", "paramstyle",
    "connect", "get_version", "library_version", "libpq_version", "library_path",
    "Connection", "Cursor", "Column", "Row", "Transaction", "Json",
    "Pool", "NullPool", "PoolTimeout", "TooManyRequests",
    "AsyncConnection", "AsyncTransaction", "AsyncCursor", "AsyncStream", "AsyncCopy",
    "AsyncPool", "AsyncNullPool",
    "Interval", "Range", "Multirange", "Hstore",
    "register_loader", "register_dumper", "register_type", "errors", "rows",
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
    "TransactionRollbackError", "CommitUnknown", "NoRowError", "MultipleRowsError",
    "Notify", "NotificationsLost",
    "Date", "Time", "Timestamp", "DateFromTicks", "TimeFromTicks", "TimestampFromTicks",
    "Binary", "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID",
]
