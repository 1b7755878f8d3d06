# SPDX-License-Identifier: MIT
"""Hstore: the hstore extension's key/value sets, as a dict of str to str (or None).

hstore's OID differs from database to database, so its values come back as their text form
until ``PostPyro.types.register_type(conn, "hstore")`` has looked it up; from then on they
are :class:`Hstore` dicts, and an ``Hstore`` parameter is sent as hstore text (a plain
dict is JSON).
"""

from __future__ import annotations

import re
from typing import List, Optional

from .. import errors as e

__all__ = ["Hstore"]


class Hstore(dict):
    """A dict of str keys to str (or None) values, sent as hstore:
    ``conn.execute("INSERT INTO t(h) VALUES ($1)", [Hstore({"a": "1", "b": None})])``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Hstore(%s)" % dict.__repr__(self)


_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_PAIR_RE = re.compile(r'\s*' + _QUOTED + r'\s*=>\s*(?:' + _QUOTED + r'|(NULL))\s*(,|\Z)',
                      re.S | re.I)
_UNESCAPE_RE = re.compile(r"\\(.)", re.S)


def parse_hstore(s: str) -> Hstore:
    """hstore's output form (``"a"=>"1", "b"=>NULL``) as an :class:`Hstore`."""
    out = Hstore()
    pos, n = 0, len(s)
    if not s.strip():
        return out
    while pos < n:
        m = _PAIR_RE.match(s, pos)
        if m is None:
            raise e.DataError("cannot read hstore value %r" % s)
        key, value, null, sep = m.groups()
        out[_UNESCAPE_RE.sub(r"\1", key)] = None if null else _UNESCAPE_RE.sub(r"\1", value)
        pos = m.end()
        if not sep:
            break
        if pos >= n:
            raise e.DataError("cannot read hstore value %r" % s)
    return out


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_hstore(h: dict, pos: int) -> str:
    """The hstore text form of a dict of str to str/None (parameter number ``pos``)."""
    parts: List[str] = []
    for k, v in h.items():
        if not isinstance(k, str) or not (v is None or isinstance(v, str)):
            raise e.DataError("parameter $%d: hstore keys must be str and values str or None, "
                              "got %s => %s" % (pos, type(k).__name__, type(v).__name__))
        value: Optional[str] = "NULL" if v is None else _quote(v)
        parts.append("%s=>%s" % (_quote(k), value))
    return ", ".join(parts)
