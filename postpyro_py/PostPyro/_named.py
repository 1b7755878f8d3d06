# SPDX-License-Identifier: MIT
"""``$name`` placeholders: SQL rewritten to PostgreSQL's own ``$1, $2, …``.

``conn.query("SELECT * FROM t WHERE a = $a AND b > $b", {"a": 1, "b": 2})`` sends
``SELECT * FROM t WHERE a = $1 AND b > $2`` with the parameters ``[1, 2]``. Only the SQL
text changes: values are always sent as parameters, never written into the SQL.

The scanner follows PostgreSQL's lexer (``scan.l``) for everything that can hide a ``$``:

- string constants ``'…'`` (``''`` inside), also with the ``B``/``X``/``N``/``U&`` prefixes,
  and escape strings ``E'…'`` (backslash escapes as well);
- quoted identifiers ``"…"`` (``""`` inside), also ``U&"…"``;
- dollar quotes ``$$…$$`` and ``$tag$…$tag$``;
- ``-- …`` comments to the end of the line and ``/* … */`` comments, which nest;
- identifiers, which may contain ``$`` after their first character (``a$b``).

``$`` followed by digits is a positional placeholder; ``$`` followed by a letter or ``_``
(and not closing a dollar-quote tag) is a named one. A name used twice gets one number.
``::`` casts need nothing special: ``$id::int`` is ``$1::int``.

It assumes ``standard_conforming_strings = on`` (PostgreSQL's default since 9.1): with it
off, a backslash in a plain ``'…'`` string escapes the next character.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import errors as e

__all__ = ["parse", "bind", "bind_many", "positional_sql", "numeric_sql",
           "explain_syntax_error"]

# Letters beyond ASCII count as identifier characters, as in PostgreSQL (\200-\377 in bytes).
_START = "A-Za-z_\u0080-\U0010ffff"
_CONT = "A-Za-z0-9_\u0080-\U0010ffff"

_TOKEN = re.compile(
    r"(?P<line>--)"
    r"|(?P<block>/\*)"
    r"|(?P<estr>[eE]')"
    r"|(?P<str>')"
    r"|(?P<qid>\")"
    r"|(?P<dq>\$(?:[%s][%s]*)?\$)"
    r"|(?P<num>\$[0-9]+)"
    r"|(?P<name>\$[%s][%s]*)"
    r"|(?P<ident>[%s][%s$]*)"
    r"|(?P<digits>[0-9][0-9A-Za-z_.]*)"
    % (_START, _CONT, _START, _CONT, _START, _CONT))

_BLOCK_MARK = re.compile(r"/\*|\*/")


class Parsed:
    """The result of scanning one SQL string."""

    __slots__ = ("sql", "names", "positional", "named_at")

    def __init__(self, sql: str, names: Tuple[str, ...], positional: Tuple[str, ...],
                 named_at: Tuple[str, ...]) -> None:
        #: The SQL with every ``$name`` replaced by ``$k`` (unchanged when there is none).
        self.sql = sql
        #: The distinct names, in the order of their numbers ($1 is names[0]).
        self.names = names
        #: The positional placeholders found (``$1`` …), in order of appearance.
        self.positional = positional
        #: Every named placeholder as written, in order of appearance.
        self.named_at = named_at


# The rest of a literal after its opening quote, closing quote included.
_REST = {
    "str": re.compile(r"[^']*(?:''[^']*)*'"),
    "estr": re.compile(r"[^'\\]*(?:(?:\\.|'')[^'\\]*)*'", re.S),
    "qid": re.compile(r'[^"]*(?:""[^"]*)*"'),
}


def _skip_quoted(sql: str, pos: int, kind: str) -> int:
    """Index just after the closing quote of a literal whose body starts at pos (len(sql)
    when it is never closed: the server will say so)."""
    m = _REST[kind].match(sql, pos)
    return len(sql) if m is None else m.end()


def _skip_block(sql: str, pos: int) -> int:
    """Index just after the ``*/`` closing a (nested) comment whose body starts at pos."""
    depth = 1
    while depth:
        m = _BLOCK_MARK.search(sql, pos)
        if m is None:
            return len(sql)
        depth += 1 if m.group() == "/*" else -1
        pos = m.end()
    return pos


def _skip_noise(sql: str, m: "re.Match[str]", kind: Optional[str], end: int) -> int:
    """Where scanning goes on after the token m (of kind) when it opens a comment, a string,
    a quoted identifier or a dollar quote, which hold no placeholders; -1 for other tokens."""
    if kind == "line":
        nl = sql.find("\n", end)
        return len(sql) if nl < 0 else nl + 1
    if kind == "block":
        return _skip_block(sql, end)
    if kind == "estr" or kind == "str" or kind == "qid":
        return _skip_quoted(sql, end, kind)
    if kind == "dq":
        close = sql.find(m.group(), end)
        return len(sql) if close < 0 else close + len(m.group())
    return -1


def _scan(sql: str) -> Parsed:
    pieces: List[str] = []
    numbers: Dict[str, int] = {}
    positional: List[str] = []
    named_at: List[str] = []
    copied = 0  # sql[:copied] is in pieces
    pos = 0
    n = len(sql)
    search = _TOKEN.search
    while pos < n:
        m = search(sql, pos)
        if m is None:
            break
        kind = m.lastgroup
        end = m.end()
        skip = _skip_noise(sql, m, kind, end)
        if skip >= 0:
            pos = skip
        elif kind == "num":
            positional.append(m.group())
            pos = end
        elif kind == "name":
            name = m.group()[1:]
            named_at.append(name)
            k = numbers.get(name)
            if k is None:
                k = numbers[name] = len(numbers) + 1
            pieces.append(sql[copied:m.start()])
            pieces.append("$%d" % k)
            copied = pos = end
        else:  # identifiers and numbers: skipped whole (a '$' inside is part of them)
            pos = end
    if numbers:
        pieces.append(sql[copied:])
        out = "".join(pieces)
    else:
        out = sql
    return Parsed(out, tuple(numbers), tuple(positional), tuple(named_at))


_cache: Dict[str, Parsed] = {}
_CACHE_MAX = 512


def parse(sql: str) -> Parsed:
    """Scan ``sql`` for placeholders (cached per SQL string)."""
    p = _cache.get(sql)
    if p is None:
        p = _scan(sql)
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[sql] = p
    return p


def positional_sql(sql: str) -> str:
    """``sql`` with ``$name`` placeholders numbered (for prepare())."""
    if "$" not in sql:
        return sql
    p = parse(sql)
    if p.names and p.positional:
        _mixed(p)
    return p.sql


def _mixed(p: Parsed) -> None:
    raise e.ProgrammingError(
        "the SQL mixes positional placeholders (%s) with named ones (%s): use one style"
        % (", ".join(sorted(set(p.positional))), ", ".join("$" + x for x in p.names)))


def _values(p: Parsed, params: Mapping, row: Optional[int] = None) -> List[Any]:
    out = []
    for name in p.names:
        try:
            out.append(params[name])
        except KeyError:
            where = "" if row is None else " in parameter row %d" % row
            given = ", ".join(sorted(repr(k) for k in params)) or "none"
            raise e.ProgrammingError("no value for the placeholder $%s%s (the mapping has "
                                     "keys: %s)" % (name, where, given)) from None
    return out


def _check_mapping_sql(p: Parsed) -> None:
    if p.positional:
        if p.names:
            _mixed(p)
        raise e.ProgrammingError(
            "parameters given as a mapping, but the SQL uses positional placeholders (%s): "
            "pass a list or a tuple, or name the placeholders ($name)"
            % ", ".join(sorted(set(p.positional))))


def bind(sql: Any, params: Any, prepared: Optional[Dict[str, str]] = None
         ) -> Tuple[Any, Any]:
    """(SQL to send, parameter list) for parameters that are not a list or a tuple.

    A mapping binds ``$name`` placeholders; anything else (None, a sequence, a wrong type)
    is returned unchanged for the usual checks. ``prepared`` maps the ids made by
    ``Connection.prepare`` to their SQL: for such an id the id is kept and the names come
    from its SQL."""
    if not isinstance(params, Mapping) or not isinstance(sql, str):
        return sql, params
    text = prepared.get(sql) if prepared else None
    p = parse(text if text is not None else sql)
    _check_mapping_sql(p)
    values = _values(p, params)
    return (sql if text is not None else p.sql), values


_SEQUENCES = frozenset((tuple, list))


def bind_many(sql: Any, seq_of_params: Any) -> Tuple[Any, Any]:
    """(SQL to send, rows) for executemany(): rows that are mappings bind ``$name``
    placeholders. Rows that are sequences come back unchanged (as a list when the input was
    an iterator)."""
    if isinstance(seq_of_params, (str, bytes)) or isinstance(seq_of_params, Mapping):
        raise e.ProgrammingError("executemany() needs a sequence of parameter rows, not %s"
                                 % type(seq_of_params).__name__)
    rows: Sequence[Any] = seq_of_params if isinstance(seq_of_params, (list, tuple)) \
        else list(seq_of_params)
    if not rows or not isinstance(rows[0], Mapping):
        if set(map(type, rows)) <= _SEQUENCES:
            return sql, rows  # the usual case, without an isinstance per row
        for k, row in enumerate(rows):
            if isinstance(row, Mapping):
                raise e.ProgrammingError("executemany(): row %d is a mapping but row 0 is "
                                         "not; give every row the same form" % k)
        return sql, rows
    if not isinstance(sql, str):
        return sql, rows
    p = parse(sql)
    _check_mapping_sql(p)
    out = []
    for k, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise e.ProgrammingError("executemany(): row %d is a %s but row 0 is a mapping; "
                                     "give every row the same form"
                                     % (k, type(row).__name__))
        out.append(_values(p, row, k))
    return p.sql, out


# PEP 249's "numeric" paramstyle (:1, :2, …) for cursors: the same scanner's literals and
# comments, plus the tokens that decide what a colon is.
_NUMERIC_TOKEN = re.compile(
    r"(?P<line>--)"
    r"|(?P<block>/\*)"
    r"|(?P<estr>[eE]')"
    r"|(?P<str>')"
    r"|(?P<qid>\")"
    r"|(?P<dq>\$(?:[%s][%s]*)?\$)"
    r"|(?P<cast>::)"
    r"|(?P<colon>:[0-9]+)"
    r"|(?P<open>\[)"
    r"|(?P<close>\])"
    r"|(?P<num>\$[0-9]+)"
    r"|(?P<ident>[%s][%s$]*)"
    r"|(?P<digits>[0-9][0-9A-Za-z_.]*)"
    % (_START, _CONT, _START, _CONT))

_numeric_cache: Dict[str, str] = {}


def numeric_sql(sql: str) -> str:
    """``sql`` with PEP 249 numeric placeholders (``:1``, ``:2``, …) written as PostgreSQL's
    ``$1``, ``$2`` (cached per SQL string). Unchanged when it has none, or when it already
    uses ``$n``. Skipped like ``$name``: strings, quoted identifiers, dollar quotes,
    comments; ``::`` casts; and anything inside ``[…]``, where ``a[1:2]`` is a slice."""
    out = _numeric_cache.get(sql)
    if out is not None:
        return out
    pieces: List[str] = []
    copied = pos = depth = 0
    n = len(sql)
    search = _NUMERIC_TOKEN.search
    while pos < n:
        m = search(sql, pos)
        if m is None:
            break
        kind = m.lastgroup
        end = m.end()
        skip = _skip_noise(sql, m, kind, end)
        if skip >= 0:
            pos = skip
        elif kind == "num":
            pieces = []  # $n already: the SQL is PostgreSQL's own, leave it alone
            break
        elif kind == "colon" and depth == 0:
            pieces.append(sql[copied:m.start()])
            pieces.append("$" + m.group()[1:])
            copied = pos = end
        else:
            if kind == "open":
                depth += 1
            elif kind == "close" and depth:
                depth -= 1
            pos = end
    out = "".join(pieces) + sql[copied:] if pieces else sql
    if len(_numeric_cache) >= _CACHE_MAX:
        _numeric_cache.clear()
    _numeric_cache[sql] = out
    return out


# What other drivers' placeholders look like where the server's syntax error points.
_FOREIGN_PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|\?|:[0-9]+|:[A-Za-z_]\w*")
_STYLES = {"%": "psycopg2's %s / %(name)s", "?": "qmark's ?", ":": "the :1 / :name style"}


def _placeholder_hint(sql: str, exc: BaseException) -> Optional[str]:
    """The placeholder of another driver's style at (or just before) the position of the
    server's syntax error, if any."""
    diag = getattr(exc, "diag", None)
    try:
        pos = int(getattr(diag, "statement_position", None) or 0) - 1
    except (TypeError, ValueError):
        return None
    if pos < 0:
        return None
    # "at end of input" points after the text: a trailing '?' is the culprit then
    for start in (pos, pos - 1) if pos >= len(sql) else (pos,):
        m = _FOREIGN_PLACEHOLDER.match(sql, max(start, 0))
        if m is not None:
            return m.group()
    return None


def _explain_untyped(params: Any, exc: BaseException) -> None:
    """The server could not determine the type of parameter $n (named in its message) and
    the value is None, so nothing else says it (``$1 IS NULL OR int_col = $1``: the type
    comes from a parameter's first use): raise an error that says to cast it."""
    m = re.search(r"\$(\d+)", str(exc).split("\n", 1)[0])
    if m is None or not isinstance(params, (list, tuple)):
        return
    n = int(m.group(1))
    if not 1 <= n <= len(params) or params[n - 1] is not None:
        return
    raise type(exc)(
        "%s\nHINT:  $%d is None, and where the SQL first uses it nothing gives it a type "
        "(as in `$%d IS NULL OR col = $%d`): cast it there, e.g. `$%d::integer IS NULL`"
        % (exc, n, n, n, n), sqlstate=exc.sqlstate,  # type: ignore[attr-defined]
        diag=getattr(exc, "diag", None)) from exc


def explain_syntax_error(sql: Any, params: Any, exc: BaseException) -> None:
    """After the server refused ``sql`` with a syntax error: when the cause is ``$name``
    placeholders given no mapping, or another driver's placeholders (``%s``, ``%(name)s``,
    ``?``, ``:1``) where the error points, raise a ProgrammingError that says so (from
    exc). After it could not type a parameter given None: one that says to cast it."""
    if not isinstance(exc, e.ProgrammingError):
        return
    if getattr(exc, "sqlstate", None) in ("42P08", "42P18"):
        _explain_untyped(params, exc)
    if getattr(exc, "sqlstate", None) != "42601":
        return
    if not isinstance(sql, str):
        return
    found = _placeholder_hint(sql, exc)
    if found is not None:
        raise type(exc)(
            "%s\nHINT:  PostPyro's placeholders are PostgreSQL's own: $1, $2, … with a list "
            "or tuple (and $name with a mapping), not %s as in %s%s"
            % (exc, found, _STYLES[found[0]],
               " (cursors also accept :1, :2, …)" if found[0] == ":" else ""),
            sqlstate=exc.sqlstate, diag=getattr(exc, "diag", None)) from exc
    if "$" not in sql or isinstance(params, Mapping):
        return
    p = parse(sql)
    if not p.names:
        return
    given = "no parameters" if params is None else "a %s" % type(params).__name__
    raise type(exc)(
        "the SQL uses named placeholders (%s) but the parameters are %s: pass them as a "
        "mapping, e.g. {%s}" % (", ".join("$" + x for x in p.names), given,
                                ", ".join("%r: …" % x for x in p.names)),
        sqlstate=exc.sqlstate) from exc
