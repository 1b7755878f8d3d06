# SPDX-License-Identifier: MIT
"""Interval: PostgreSQL's interval exactly, as months, days and microseconds.

A ``timedelta`` (what interval values become by default) has no months: PostPyro counts a
month as 30 days and a year as 12 months, as PostgreSQL's own ``EXTRACT(EPOCH …)`` and
``justify_days`` do. ``Interval`` keeps the three fields apart, so '1 mon' and '30 days'
stay different values; ask for it with ``PostPyro.types.set_interval_type(Interval)``, and
send it as a parameter any time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Tuple

__all__ = ["Interval"]


class Interval:
    """An interval as PostgreSQL stores it: ``Interval(months=0, days=0, microseconds=0)``.
    Two Intervals are equal when their three fields are equal (so ``Interval(months=1)``
    is not ``Interval(days=30)``, unlike PostgreSQL's ``=`` on intervals, which compares
    them as 30-day months)."""

    __slots__ = ("months", "days", "microseconds")

    def __init__(self, months: int = 0, days: int = 0, microseconds: int = 0) -> None:
        for name, v in (("months", months), ("days", days), ("microseconds", microseconds)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError("Interval %s must be an int, not %s" % (name, type(v).__name__))
        self.months = months
        self.days = days
        self.microseconds = microseconds

    @classmethod
    def from_timedelta(cls, td: timedelta) -> "Interval":
        """The Interval of a timedelta: its days and the rest in microseconds."""
        return cls(0, td.days, td.seconds * 1000000 + td.microseconds)

    def to_timedelta(self, days_per_month: int = 30) -> timedelta:
        """As a timedelta, a month counted as ``days_per_month`` days (PostPyro's default
        conversion). Raises OverflowError outside timedelta's range."""
        return timedelta(days=self.months * days_per_month + self.days,
                         microseconds=self.microseconds)

    def _key(self) -> Tuple[int, int, int]:
        return (self.months, self.days, self.microseconds)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Interval):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "Interval(months=%d, days=%d, microseconds=%d)" % self._key()

    def __reduce__(self) -> Tuple[type, Tuple[int, int, int]]:
        return (Interval, self._key())
