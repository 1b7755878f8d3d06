# SPDX-License-Identifier: MIT
"""JSON and jsonb: :class:`Json`, the dumpers of dict and Json, the loaders, and
set_json_loads / set_json_dumps."""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from .. import errors as e
from ._base import _map_nullable, PP_JSON, _set_text, _strings
from ._text import _str_bytes


_json_loads: Callable[[str], Any] = json.loads
_json_dumps: Callable[[Any], str] = json.dumps


def set_json_loads(loads: Callable[[str], Any]) -> None:
    """Use ``loads`` (e.g. ``functools.partial(json.loads, parse_float=Decimal)``) to parse
    json/jsonb values."""
    global _json_loads
    _json_loads = loads


def set_json_dumps(dumps: Callable[[Any], str]) -> None:
    """Use ``dumps`` to serialize dicts and ``Json`` parameters."""
    global _json_dumps
    _json_dumps = dumps


class Json:
    """Send any JSON value (list, str, number, dict, None as JSON null) as json/jsonb.

    A bare dict is sent as JSON without the wrapper; a bare list would be an array, so wrap
    lists meant as JSON: ``conn.execute("INSERT INTO t(j) VALUES ($1)", [Json([1, 2])])``.
    """

    __slots__ = ("obj", "dumps")

    def __init__(self, obj: Any, dumps: Optional[Callable[[Any], str]] = None) -> None:
        self.obj = obj
        self.dumps = dumps

    def text(self) -> str:
        return (self.dumps or _json_dumps)(self.obj)

    def __repr__(self) -> str:
        return "Json(%r)" % (self.obj,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Json) and other.obj == self.obj

    __hash__ = None  # type: ignore[assignment]


def _json_text(dump: Callable[[], str], pos: int) -> bytes:
    try:
        text = dump()
    except (TypeError, ValueError, RecursionError) as exc:
        raise e.DataError("parameter $%d: cannot serialize to JSON: %s: %s"
                          % (pos, type(exc).__name__, exc)) from exc
    return _str_bytes(text, pos)


def _dump_dict(x, v, keep, pos, _adapters=None):
    _set_text(v, PP_JSON, _json_text(lambda: _json_dumps(x), pos), keep)


def _dump_json(x, v, keep, pos, _adapters=None):
    _set_text(v, PP_JSON, _json_text(x.text, pos), keep)


def _load_json_text(s: str) -> Any:
    return _json_loads(s)


def _conv_json(col, n, nulls):
    vals = _strings(col, n)
    if _json_loads is json.loads and n > 1:
        # The whole column in one parse, as the elements of one JSON array: 3x faster than
        # a json.loads per value. The server's JSON text is valid and holds no NUL; a NULL
        # becomes null, which is None too. Anything unexpected: value by value below.
        elems = vals if nulls is None else \
            ["null" if isnull else v for v, isnull in zip(vals, nulls)]
        try:
            out = json.loads("[" + ",".join(elems) + "]")
        except ValueError:
            out = None
        if type(out) is list and len(out) == n:
            return out
    return _map_nullable(_json_loads, vals, nulls, "json")
