# SPDX-License-Identifier: MIT
"""PostPyro's exceptions.

The DB-API 2.0 (PEP 249) hierarchy::

    Warning
    Error
    ├── InterfaceError                 misuse of the driver (e.g. a closed connection)
    └── DatabaseError                  anything the database said
        ├── DataError                  bad values (class 21, 22)
        ├── OperationalError           connection and server conditions (08, 28, 53, …)
        │   ├── TransactionRollbackError   class 40: serialization failure, deadlock
        │   ├── CommitUnknown          the connection broke during COMMIT: outcome unknown
        │   ├── ConnectionTimeout      the timeout passed and the server did not answer:
        │   │                          the connection was closed (or the connect gave up)
        │   ├── PoolTimeout            a pool had no connection to give in time
        │   └── TooManyRequests        a pool's queue of waiting checkouts is full
        ├── IntegrityError             constraint violations (class 23)
        ├── InternalError              transaction state, internal errors (24, 25, XX, …)
        ├── ProgrammingError           bad SQL, unknown objects (class 42, 3D, …)
        ├── NotSupportedError          class 0A, features the installed libpq lacks
        ├── NoRowError                 query_one() found no row
        └── MultipleRowsError          query_one() found more than one row

and one subclass per SQLSTATE, named as in psycopg (generated from PostgreSQL's
``errcodes.txt``): ``UniqueViolation(IntegrityError)``, ``SerializationFailure
(TransactionRollbackError)``, ``UndefinedTable(ProgrammingError)``, ``SyntaxError
(ProgrammingError)`` (only in this module, never over the builtin) … ``lookup("23505")``
returns the class for a SQLSTATE.

Every exception has ``sqlstate`` (alias ``pgcode``; None when the failure did not come from
the server), ``pgerror`` (the full message), ``diag`` (every diagnostic field the server
sent) and ``index`` (the failing statement or parameter row of a batch, else None).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type

from ._sqlstate import SQLSTATES

__all__ = [
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
    "TransactionRollbackError", "CommitUnknown", "ConnectionTimeout", "PoolTimeout", "TooManyRequests",
    "NoRowError", "MultipleRowsError", "NotificationsLost", "Diagnostic", "lookup",
]

class Diagnostic:
    """The diagnostic fields of an error, as the server sent them (None when absent)."""

    __slots__ = (
        "severity", "sqlstate", "message_primary", "message_detail", "message_hint",
        "statement_position", "internal_position", "internal_query", "context",
        "schema_name", "table_name", "column_name", "datatype_name", "constraint_name",
        "source_file", "source_line", "source_function",
    )

    # libpq's PG_DIAG_* field codes, in the order of __slots__.
    CODES = "SCMDHPpqWstcdnFLR"

    def __init__(self, **fields: Optional[str]) -> None:
        for name in self.__slots__:
            setattr(self, name, fields.pop(name, None))
        if fields:
            raise TypeError("unknown diagnostic field(s): %s" % ", ".join(sorted(fields)))

    def to_dict(self) -> Dict[str, Optional[str]]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        shown = ", ".join("%s=%r" % (k, v) for k, v in self.to_dict().items() if v is not None)
        return "Diagnostic(%s)" % shown

    def __reduce__(self):
        return (_make_diagnostic, (self.to_dict(),))


def _make_diagnostic(fields):
    return Diagnostic(**fields)


class Warning(Exception):  # noqa: A001 - the PEP 249 name
    """Important warnings (PEP 249). PostPyro collects server warnings in
    ``Connection.notices`` instead of raising this."""


class Error(Exception):
    """Base class of every PostPyro error (PEP 249)."""

    #: The SQLSTATE a generated subclass stands for (None on the base classes).
    sqlstate_class: Optional[str] = None
    #: Who said it: "server", "library" (libpostpyro's checks), "connection" (libpq, the
    #: network); None for errors PostPyro's Python code raises itself.
    origin: Optional[str] = None

    def __init__(self, message: str = "", *, sqlstate: Optional[str] = None,
                 diag: Optional[Diagnostic] = None, index: Optional[int] = None) -> None:
        if diag is None:
            diag = Diagnostic(message_primary=message or None)
        if sqlstate is None:
            sqlstate = diag.sqlstate or type(self).sqlstate_class
        self.sqlstate: Optional[str] = sqlstate or None
        self.diag: Diagnostic = diag
        self.index: Optional[int] = index
        text = message
        if diag.message_detail:
            text += "\nDETAIL: " + diag.message_detail
        if diag.message_hint:
            text += "\nHINT: " + diag.message_hint
        self.pgerror: str = text
        super().__init__(text)

    @property
    def pgcode(self) -> Optional[str]:
        """The SQLSTATE (psycopg's name for it)."""
        return self.sqlstate

    def __reduce__(self):
        return (_rebuild, (type(self), self.diag.message_primary or "", self.sqlstate,
                           self.diag, self.index))


def _rebuild(cls, message, sqlstate, diag, index):
    return cls(message, sqlstate=sqlstate, diag=diag, index=index)


class InterfaceError(Error):
    """An error of the driver's interface rather than of the database: a closed connection,
    a finished transaction, a bad argument."""


class DatabaseError(Error):
    """An error the database reported (or one about the data exchanged with it)."""


class DataError(DatabaseError):
    """A problem with the processed data: division by zero, value out of range, bad cast."""


class OperationalError(DatabaseError):
    """A problem with the database's operation, not necessarily under the programmer's
    control: connection lost, authentication failed, statement cancelled, out of memory."""


class IntegrityError(DatabaseError):
    """The relational integrity of the database is affected: a constraint was violated."""


class InternalError(DatabaseError):
    """The database hit an internal error, or the transaction is in a bad state."""


class ProgrammingError(DatabaseError):
    """A programming error: bad SQL, an unknown table, wrong number or type of parameters."""


class NotSupportedError(DatabaseError):
    """A method or database feature that is not supported."""


class TransactionRollbackError(OperationalError):
    """The server rolled the transaction back (SQLSTATE class 40): serialization failure,
    deadlock. Retrying the whole transaction may succeed."""


class CommitUnknown(OperationalError):
    """The connection broke while COMMIT was running: whether the transaction committed is
    unknown. PostPyro never replays a commit; check the data before retrying."""


class ConnectionTimeout(OperationalError):
    """The connection's ``timeout`` passed, a cancel request got no answer in time either,
    and the connection was closed; or a connect ran out of time. (When the server does
    cancel the statement, the error is ``QueryCanceled`` and the connection stays usable.)"""


class PoolTimeout(OperationalError):
    """A pool had no connection to give within the checkout's timeout."""


class TooManyRequests(OperationalError):
    """A pool's queue of waiting checkouts is full (``max_waiting``)."""


class NotificationsLost(OperationalError):
    """Notifications arrived while the connection's queue was full (``notify_limit``) and
    were dropped. ``notifies()`` raises it once per overflow, after handing out every
    notification kept before it; ``lost`` says how many were dropped. Iterate again to go
    on listening."""

    def __init__(self, message: str = "", *, lost: int = 0, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.lost: int = lost


class NoRowError(DatabaseError):
    """``query_one()`` expected exactly one row and the statement returned none."""


class MultipleRowsError(DatabaseError):
    """``query_one()`` expected exactly one row and the statement returned more."""


_BASES: Dict[str, Type[Error]] = {
    "DatabaseError": DatabaseError,
    "DataError": DataError,
    "OperationalError": OperationalError,
    "IntegrityError": IntegrityError,
    "InternalError": InternalError,
    "ProgrammingError": ProgrammingError,
    "NotSupportedError": NotSupportedError,
    "TransactionRollbackError": TransactionRollbackError,
}

_BY_SQLSTATE: Dict[str, Type[Error]] = {}


def _generate() -> None:
    g = globals()
    for code, (name, base) in SQLSTATES.items():
        if name in g:
            raise RuntimeError("SQLSTATE %s: class %s exists already" % (code, name))
        cls = type(name, (_BASES[base],), {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": "SQLSTATE %s." % code,
            "sqlstate_class": code,
        })
        _BY_SQLSTATE[code] = cls
        g[name] = cls
        __all__.append(name)


_generate()


def lookup(sqlstate: str) -> Type[Error]:
    """The exception class for a SQLSTATE (KeyError when it has none)."""
    return _BY_SQLSTATE[sqlstate]


def error_class(sqlstate: Optional[str], default: Type[Error]) -> Type[Error]:
    """The class for a SQLSTATE: its own, else its SQLSTATE class's base, else default."""
    if sqlstate:
        cls = _BY_SQLSTATE.get(sqlstate)
        if cls is not None:
            return cls
        base = _BASES.get(_CLASS_BASE_NAMES.get(sqlstate[:2], ""))
        if base is not None:
            return base
    return default


def _class_base_names() -> Dict[str, str]:
    out = {}
    for code, (_name, base) in SQLSTATES.items():
        out.setdefault(code[:2], base)
    return out


_CLASS_BASE_NAMES = _class_base_names()
