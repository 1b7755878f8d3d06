# SPDX-License-Identifier: MIT
"""Quoted fields of PostgreSQL's text forms for records (``(1,"a b",)``) and range bounds
(``["a,b",c)``): double quotes group, a backslash escapes the next character, and ``""``
inside quotes is one quote."""

from __future__ import annotations

from typing import Callable, List, Optional, Tuple


def scan_field(s: str, pos: int, end: int, stop: str, bad: Callable[[], Exception],
               strict: bool) -> Tuple[Optional[str], int]:
    """The field starting at s[pos] and running to a character of ``stop`` outside quotes
    (or to ``end``): (its text, or None when it is empty and unquoted; the position of the
    stop character or ``end``). An unterminated quote raises ``bad()``; so does a backslash
    with nothing after it when ``strict`` (otherwise it stands for itself)."""
    out: List[str] = []
    quoted = False
    while pos < end:
        c = s[pos]
        if c in stop:
            break
        if c == '"':
            quoted = True
            pos += 1
            while True:
                if pos >= end:
                    raise bad()
                c = s[pos]
                if c == "\\" and pos + 1 < end:
                    out.append(s[pos + 1])
                    pos += 2
                elif c == "\\" and strict:
                    raise bad()
                elif c == '"':
                    if pos + 1 < end and s[pos + 1] == '"':
                        out.append('"')
                        pos += 2
                    else:
                        pos += 1
                        break
                else:
                    out.append(c)
                    pos += 1
        elif c == "\\" and pos + 1 < end:
            out.append(s[pos + 1])
            pos += 2
        elif c == "\\" and strict:
            raise bad()
        else:
            out.append(c)
            pos += 1
    return ("".join(out) if out or quoted else None), pos
