# SPDX-License-Identifier: MIT
"""Range and Multirange: PostgreSQL's range types (int4range, numrange, tsrange, tstzrange,
daterange, int8range and user-defined ranges) and multirange types (PostgreSQL 14+).

A bound of ``None`` is unbounded (infinite); such a bound is always exclusive, as in
PostgreSQL. An empty range is ``Range(empty=True)``. Discrete ranges (int4range, int8range,
daterange) come back from the server in canonical ``[)`` form: ``[1,3]`` reads as
``Range(1, 4, '[)')``. Equality is structural (same bounds, same inclusivity).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

from .. import errors as e
from ._fields import scan_field

__all__ = ["Range", "Multirange"]

_BOUNDS = ("[)", "[]", "()", "(]")


class Range:
    """A PostgreSQL range: ``Range(lower, upper, bounds='[)')`` or ``Range(empty=True)``."""

    __slots__ = ("_lower", "_upper", "_bounds")

    def __init__(self, lower: Any = None, upper: Any = None, bounds: str = "[)",
                 empty: bool = False) -> None:
        if empty:
            if lower is not None or upper is not None:
                raise ValueError("an empty Range has no bounds")
            self._lower = self._upper = None
            self._bounds = ""
            return
        if bounds not in _BOUNDS:
            raise ValueError("Range bounds must be one of %s, not %r"
                             % (", ".join(repr(b) for b in _BOUNDS), bounds))
        # An unbounded side is exclusive, as PostgreSQL has it.
        lo = "(" if lower is None else bounds[0]
        hi = ")" if upper is None else bounds[1]
        self._lower = lower
        self._upper = upper
        self._bounds = lo + hi

    lower = property(lambda self: self._lower, doc="The lower bound (None: unbounded).")
    upper = property(lambda self: self._upper, doc="The upper bound (None: unbounded).")

    @property
    def bounds(self) -> Optional[str]:
        """'[)', '[]', '()' or '(]'; None for an empty range."""
        return self._bounds or None

    @property
    def isempty(self) -> bool:
        return not self._bounds

    @property
    def lower_inc(self) -> bool:
        return self._bounds[:1] == "["

    @property
    def upper_inc(self) -> bool:
        return self._bounds[1:] == "]"

    @property
    def lower_inf(self) -> bool:
        return bool(self._bounds) and self._lower is None

    @property
    def upper_inf(self) -> bool:
        return bool(self._bounds) and self._upper is None

    def __contains__(self, x: Any) -> bool:
        if not self._bounds:
            return False
        if self._lower is not None:
            if x < self._lower or (x == self._lower and self._bounds[0] == "("):
                return False
        if self._upper is not None:
            if x > self._upper or (x == self._upper and self._bounds[1] == ")"):
                return False
        return True

    def __bool__(self) -> bool:
        return bool(self._bounds)

    def _key(self) -> Tuple[Any, Any, str]:
        return (self._lower, self._upper, self._bounds)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Range):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        if not self._bounds:
            return "Range(empty=True)"
        return "Range(%r, %r, %r)" % (self._lower, self._upper, self._bounds)

    def __reduce__(self) -> Tuple[Any, ...]:
        if not self._bounds:
            return (Range, (None, None, "[)", True))
        return (Range, (self._lower, self._upper, self._bounds))


class Multirange:
    """A PostgreSQL multirange: an ordered sequence of non-empty :class:`Range` values,
    ``Multirange([Range(1, 3), Range(5, 7)])``. Equal to another Multirange with equal
    ranges (the server returns them sorted and merged)."""

    __slots__ = ("ranges",)

    def __init__(self, ranges: Iterable[Range] = ()) -> None:
        items = list(ranges)
        for r in items:
            if not isinstance(r, Range):
                raise TypeError("a Multirange holds Range values, not %s" % type(r).__name__)
        self.ranges: List[Range] = items

    def __iter__(self) -> Iterator[Range]:
        return iter(self.ranges)

    def __len__(self) -> int:
        return len(self.ranges)

    def __getitem__(self, i: Any) -> Any:
        return self.ranges[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Multirange):
            return NotImplemented
        return self.ranges == other.ranges

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "Multirange(%r)" % (self.ranges,)

    def __reduce__(self) -> Tuple[Any, ...]:
        return (Multirange, (self.ranges,))


# ---- text forms ------------------------------------------------------------------------------

def format_range(r: Range, bound_text: Callable[[Any], str]) -> str:
    """The text form of ``r``; ``bound_text(x)`` gives a bound's (quoted) text form."""
    if not r._bounds:
        return "empty"
    lo = "" if r._lower is None else bound_text(r._lower)
    hi = "" if r._upper is None else bound_text(r._upper)
    return "%s%s,%s%s" % (r._bounds[0], lo, hi, r._bounds[1])


def format_multirange(m: Multirange, bound_text: Callable[[Any], str]) -> str:
    return "{" + ",".join(format_range(r, bound_text) for r in m.ranges) + "}"


def _bad(kind: str, s: str) -> e.DataError:
    return e.DataError("cannot read %s value %r" % (kind, s))


def _scan_bound(s: str, pos: int, stop: str) -> Tuple[Optional[str], int]:
    """One bound of a range literal starting at pos, up to (not including) a char of
    ``stop``: (text or None when empty, position of the stop char)."""
    bound, pos = scan_field(s, pos, len(s), stop, lambda: _bad("range", s), strict=True)
    if pos >= len(s):
        raise _bad("range", s)
    return bound, pos


def _scan_range(s: str, pos: int, load: Callable[[str], Any]) -> Tuple[Range, int]:
    """A range literal starting at s[pos]: (Range, position after it)."""
    if s[pos:pos + 5].lower() == "empty":
        return Range(empty=True), pos + 5
    if pos >= len(s) or s[pos] not in "[(":
        raise _bad("range", s)
    lo_c = s[pos]
    lo, pos = _scan_bound(s, pos + 1, ",")
    hi, pos = _scan_bound(s, pos + 1, ")]")
    hi_c = s[pos]
    return Range(None if lo is None else load(lo), None if hi is None else load(hi),
                 lo_c + hi_c), pos + 1


def parse_range(s: str, load: Callable[[str], Any] = str) -> Range:
    """A range's text form as a :class:`Range`, each bound read by ``load``."""
    s = s.strip()
    if not s:
        raise _bad("range", s)
    r, pos = _scan_range(s, 0, load)
    if pos != len(s):
        raise _bad("range", s)
    return r


def parse_multirange(s: str, load: Callable[[str], Any] = str) -> Multirange:
    """A multirange's text form as a :class:`Multirange`, each bound read by ``load``."""
    s = s.strip()
    if len(s) < 2 or s[0] != "{" or s[-1] != "}":
        raise _bad("multirange", s)
    ranges = []
    pos, end = 1, len(s) - 1
    after_comma = False
    while True:
        while pos < end and s[pos].isspace():
            pos += 1
        if pos == end:
            if after_comma:
                raise _bad("multirange", s)
            break
        r, pos = _scan_range(s, pos, load)
        if pos > end:
            raise _bad("multirange", s)
        if r:
            ranges.append(r)
        while pos < end and s[pos].isspace():
            pos += 1
        if pos == end:
            break
        if s[pos] != ",":
            raise _bad("multirange", s)
        pos += 1
        after_comma = True
    return Multirange(ranges)
