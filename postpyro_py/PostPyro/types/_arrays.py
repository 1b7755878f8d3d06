# SPDX-License-Identifier: MIT
"""PostgreSQL array text: parsing it (parse_array), nesting flat element lists by
dimensions, quoting elements; no registry (arrays' per-element conversions are in _dumpers
and _loaders)."""

from __future__ import annotations

import re
from typing import Any, Callable, List, Optional

from .. import errors as e
from ._base import _bad


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# PostgreSQL arrays have at most 6 dimensions (MAXDIM).
_MAX_DIMS = 6


def _ragged(pos: int) -> e.Error:
    return e.DataError("parameter $%d: nested lists of different lengths (or mixing lists "
                       "and values) cannot be a PostgreSQL array, whose sub-arrays must all "
                       "have the same size" % pos)


def _array_token_re(delim: str) -> Any:
    d = re.escape(delim)
    return re.compile(r'[{}%s]|"(?:[^"\\]|\\.)*"|(?:[^{}%s"\\\s]|\\.)(?:[^{}%s"\\]|\\.)*|\s+'
                      % (d, d, d), re.S)


_ARRAY_TOKEN_RES = {",": _array_token_re(","), ";": _array_token_re(";")}


_UNESCAPE_RE = re.compile(r"\\(.)", re.S)


def parse_array(s: str, delim: str = ",") -> list:
    """PostgreSQL's array text form as nested lists of str (None for NULL). Lower bounds
    other than 1 (``[0:2]={…}``) are dropped. ``delim`` is the element type's delimiter
    (``;`` for box, ``,`` for every other built-in type)."""
    token_re = _ARRAY_TOKEN_RES.get(delim)
    if token_re is None:
        token_re = _ARRAY_TOKEN_RES[delim] = _array_token_re(delim)
    pos = 0
    if s.startswith("["):  # dimension decoration: [1:3]={...} or [0:1][1:2]={...}
        pos = s.find("=") + 1
        if pos == 0:
            raise _bad("array", s)
    end = len(s)
    stack: List[list] = []
    cur: Optional[list] = None
    result = None
    while pos < end:
        m = token_re.match(s, pos)
        if m is None:
            raise _bad("array", s)
        pos = m.end()
        tok = m.group()
        c = tok[0]
        if c.isspace():
            continue
        if result is not None:
            raise _bad("array", s)
        if c == "{":
            new: list = []
            if cur is not None:
                cur.append(new)
                stack.append(cur)
            cur = new
        elif cur is None:
            raise _bad("array", s)
        elif c == "}":
            if stack:
                cur = stack.pop()
            else:
                result = cur
        elif c == delim:
            pass
        elif c == '"':
            cur.append(_UNESCAPE_RE.sub(r"\1", tok[1:-1]))
        else:
            tok = tok.rstrip()
            if tok.upper() == "NULL":
                cur.append(None)
            else:
                cur.append(_UNESCAPE_RE.sub(r"\1", tok))
    if result is None:
        raise _bad("array", s)
    return result


def _map_nested(f: Callable[[str], Any], x: list) -> list:
    return [None if v is None else (_map_nested(f, v) if type(v) is list else f(v))
            for v in x]


def _nest(flat: list, start: int, dims: List[int]) -> list:
    if len(dims) == 1:
        return flat[start:start + dims[0]]
    step = 1
    for d in dims[1:]:
        step *= d
    inner = dims[1:]
    return [_nest(flat, start + k * step, inner) for k in range(dims[0])]
