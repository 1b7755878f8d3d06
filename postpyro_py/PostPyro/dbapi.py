# SPDX-License-Identifier: MIT
"""PEP 249 type objects and constructors.

``cursor.description[i].type_code`` is the column's type OID; it compares equal to the type
object of its family: ``desc.type_code == PostPyro.NUMBER``.
"""

from __future__ import annotations

import datetime as _dt
import time as _time
from typing import FrozenSet

__all__ = [
    "Date", "Time", "Timestamp", "DateFromTicks", "TimeFromTicks", "TimestampFromTicks",
    "Binary", "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID", "DBAPITypeObject",
]

Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime


def DateFromTicks(ticks: float) -> _dt.date:
    """The local date of a POSIX timestamp."""
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _dt.time:
    """The local time of day of a POSIX timestamp."""
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _dt.datetime:
    """The local date and time of a POSIX timestamp (naive)."""
    return Timestamp(*_time.localtime(ticks)[:6])


def Binary(data: bytes) -> bytes:
    """A value to send as bytea."""
    return bytes(data)


class DBAPITypeObject:
    """A family of PostgreSQL types; equal to each type OID of the family."""

    def __init__(self, name: str, oids: FrozenSet[int]) -> None:
        self.name = name
        self.values = frozenset(oids)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DBAPITypeObject):
            return other.values == self.values
        if isinstance(other, int):
            return other in self.values
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(self.values)

    def __repr__(self) -> str:
        return "<DBAPITypeObject %s>" % self.name


# text, varchar, bpchar, name, "char", json, jsonb, xml
STRING = DBAPITypeObject("STRING", frozenset({25, 1043, 1042, 19, 18, 114, 3802, 142}))
BINARY = DBAPITypeObject("BINARY", frozenset({17}))
NUMBER = DBAPITypeObject("NUMBER", frozenset({20, 21, 23, 26, 700, 701, 1700, 790}))
DATETIME = DBAPITypeObject("DATETIME", frozenset({1082, 1083, 1266, 1114, 1184, 1186}))
ROWID = DBAPITypeObject("ROWID", frozenset({26, 27}))
