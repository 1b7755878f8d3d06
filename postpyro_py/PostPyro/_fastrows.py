# SPDX-License-Identifier: MIT
"""Functions a known plan makes for itself: the dumper of its parameters (make_dump) and
the maker of the rows of its small results (make_fast).

query() on a plan run before (_planned.py) gets a result whose columns are, almost always,
those of the last run: same names, tags and types. It then calls the plan's ``fast``
function, made for those columns from source text compiled once per column kinds
(as namedtuple and dataclasses make theirs): it checks that the result is one it was made
for, converts each column without the per-result checks of convert_columns (the adapters'
state, the dispatch on the tag) and makes the rows. For ``SELECT $1::int4``::

    def made(raw, make, convert, gen, key):
        def rows(info, cols, pack, call):
            pack, text = pack
            n = info.nrows
            if not 0 < n <= 499 or generation[0] != gen \\
                    or unpack(info.names, info.names_len) != raw:
                return None
            c = cols[0]
            if c.tag != 2 or c.count != n:
                return None
            v0 = unpack(c.ints, n) if not c.nulls else convert(c)
            return list(map(make, zip(v0)))
        return rows

On CPython it first compares pp_query_call's ``call.shape`` (a hash of the result's column
count, names' hash, tags, OIDs and NULL flags, 0 when nothing was packed) with ``key``, the
same of the shape it was made for: when equal, the result has no NULL and the int64 array
pp_query_call filled (``pack``) holds the int columns' values (one row of a few ints: read
one by one; else with one unpack, the values slices of it); only the other columns are read
from ``cols``. Else (a NULL, nothing packed, another shape) it goes on as above. Also on
CPython, the text columns without a loader and the numeric columns are decoded together:
one decode and one split of their data joined (_joined), each column a slice of it
(numeric: the Decimals of the slice, as _conv_numeric makes them on CPython). When they are
all the PP_TEXT and PP_NUMERIC columns, their data is read from the pack, where
pp_query_pack copied it after the int values (_packed_text): one slice of the pack's bytes
(``text``, an ffi.buffer of it kept with the buffer set) for all of them, instead of two
field reads and an unpack a column; one value alone (one row) without a split.

It returns None for any other result (more rows, other names, more than _MAX_DATA bytes
of text and other variable-size values, a column of another type
after an ALTER, a loader registered since): the caller converts the general way and makes a
new one. It is made only while no user loader is registered in the connection's adapters.

The parameters of a plan are, as often, of the Python types of the last run: its ``dump``
function checks that they are, then fills the ``pp_value`` array with the dumpers found
last time (an int inlined; None, a NULL, taken anywhere), without dump_list's lookups; up
to _INT_PARAMS ints alone go into the statement's buffer set's array, already tagged.
For anything else (another type or count of parameters, a value a dumper refuses, a dumper
registered since) it returns None and query() dumps with dump_list, which says what is
wrong.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any, Callable, Dict, Optional, Tuple

from ._ffi import T_VALUE_ARRAY, newp, unpack
from .types._adapters import _generation
from .types._base import PP_INT, PP_NUMERIC, PP_TEXT, PP_UUID, _strings
from .types._loaders import _CONVERTERS, _WITH_ADAPTERS, convert_column
from .types._dumpers import _dump_none
from .types._numbers import _FAST_DECIMAL, _dump_int
from .types._uuid import _conv_uuid, _uuid_from_bytes

__all__ = ["make_dump", "make_fast"]

# PyPy makes rows faster by index than through zip() (see row.py's _unrolled_rows).
_BY_INDEX = sys.implementation.name == "pypy"
# CPython: a result's loader-less text columns decoded and split together (see _source);
# PyPy keeps strings() per column, which slices ASCII text (split is slow there).
_JOIN_TEXT = not _BY_INDEX

# How a column of each kind is converted when it has no NULL (a NULL anywhere: the general
# convert_column): what convert_column does then, without its checks. Text only for types
# without a loader (checked when the function is made); the other tags of _CONVERTERS that
# need no adapters by their converter (which reads the column's OID where it matters).
_PLAIN = {
    PP_INT: "unpack(c.ints, n)",
    PP_TEXT: "strings(c, n)",
}
_PLAIN.update((tag, "conv_%d(c, n, None)" % tag) for tag in _CONVERTERS
              if tag not in _WITH_ADAPTERS and tag not in _PLAIN)
if not _BY_INDEX:
    _PLAIN[PP_UUID] = "uuids(c, n)"


def _uuids(col: Any, n: int) -> list:
    """CPython: the UUIDs of a uuid column without NULLs, as _conv_uuid makes them, cut
    from one copy of its data (C checked that each value has 16 bytes, back to back)
    without reading its offsets: half the time of _conv_uuid for a few values."""
    size = col.data_len
    if size != 16 * n:
        return _conv_uuid(col, n, None)  # says what is wrong
    raw = unpack(col.data, size)
    if n == 1:
        return [_uuid_from_bytes(raw)]
    return [_uuid_from_bytes(raw[k:k + 16]) for k in range(0, size, 16)]

# One row of at most this many columns reads what it needs of the pack (int values, data
# lengths) one by one, an index each, not with an unpack of the facts and values (1.6k
# machine instructions for 10 values, against ≈ 200 an index, callgrind).
_MAX_SINGLE = 5

# The most bytes of variable-size values a result made here may have: it stays in its
# buffer set for the next statement (_planned), uncounted, so it must stay below
# _result._KEEP_SMALL with its fixed part (at most 1 024 values of 17 bytes).
_MAX_DATA = 32 << 10

# Factories made so far, by the columns' (tag, oid, plain) triples and the most rows
# (bounded: cleared when full).
_made: Dict[Any, Callable] = {}
_MAX_MADE = 256


def _check(tag: int, oid: int, plain: bool) -> list:
    """Lines returning None unless the column in c is of the kind it was when made."""
    if not plain:
        return ["        if c.tag != %d or c.oid != %d:" % (tag, oid), "            return None"]
    # the oid of a text column: another type may have a loader
    check = " or c.oid != %d" % oid if tag == PP_TEXT else ""
    return ["        if c.tag != %d%s or c.count != n:" % (tag, check), "            return None"]


def _by_column(kinds: Tuple[Tuple[int, int, bool], ...]) -> list:
    """The body converting each column on its own."""
    lines = []
    sized = ["cols[%d].data_len" % k for k, (tag, _, _) in enumerate(kinds) if tag != PP_INT]
    if sized:  # big values: the general way, which does not keep them (_result._hold)
        lines += ["        if %s > %d:" % (" + ".join(sized), _MAX_DATA),
                  "            return None"]
    for k, (tag, oid, plain) in enumerate(kinds):
        lines.append("        c = cols[%d]" % k)
        lines += _check(tag, oid, plain)
        if plain:
            lines.append("        v%d = %s if not c.nulls else convert(c)" % (k, _PLAIN[tag]))
        else:
            lines += ["        v%d = convert(c)" % k,
                      "        if len(v%d) != n:" % k,
                      "            return None"]
    return lines


def _texts(kinds: Tuple[Tuple[int, int, bool], ...]) -> list:
    """The indexes of the columns decoded together (_split_joined): plain text, and numeric
    where Decimal is made from text."""
    return [k for k, (tag, _, plain) in enumerate(kinds)
            if plain and (tag == PP_TEXT or (tag == PP_NUMERIC and not _FAST_DECIMAL))]


def _split_joined(kinds: Tuple[Tuple[int, int, bool], ...], texts: list, data: list,
                  var: str, pad: str, assign: Callable[[int, str], str]) -> list:
    """Lines (indented ``pad``) decoding the data of the columns ``texts`` (their bytes
    expressions ``data``) at once into ``var``, split at the NULs, then ``assign(k, part)``
    for each: ``part`` its slice (numeric: the Decimals of it). Anything malformed returns
    None (the general way says what is wrong)."""
    lines = [pad + "try:",
             pad + "    %s = %s.decode('utf-8').split('\\0')"
             % (var, data[0] if len(data) == 1 else "b''.join((%s,))" % ", ".join(data)),
             pad + "except UnicodeDecodeError:",
             pad + "    return None",
             pad + "if len(%s) != %s + 1 or %s.pop():"
             % (var, "%d * n" % len(texts) if len(texts) > 1 else "n", var),
             pad + "    return None"]
    bounds = ["", "n"] + ["%d * n" % j for j in range(2, len(texts))] + [""]
    numeric = any(kinds[k][0] == PP_NUMERIC for k in texts)
    if numeric:  # a bad value: the general way says what is wrong
        lines.append(pad + "try:")
    for j, k in enumerate(texts):
        part = var if len(texts) == 1 else "%s[%s:%s]" % (var, bounds[j], bounds[j + 1])
        if kinds[k][0] == PP_NUMERIC:
            part = "list(map(Decimal, %s))" % part
        lines.append(pad + ("    " if numeric else "") + assign(k, part))
    if numeric:
        lines += [pad + "except ArithmeticError:", pad + "    return None"]
    return lines


def _joined(kinds: Tuple[Tuple[int, int, bool], ...], texts: list) -> list:
    """The body converting the plain text and numeric columns (``texts``, their indexes)
    together: the
    data of each is its values, each followed by a NUL (which text cannot hold), so the
    data of all, decoded and split at once, holds their values one column after the other.
    Per column, the Python steps of strings() less. A NULL is an empty value there: a
    column with NULLs is converted again the general way; anything malformed returns None
    (the general way says what is wrong)."""
    lines = []
    for k, (tag, oid, plain) in enumerate(kinds):
        lines.append("        c%d = c = cols[%d]" % (k, k))
        lines += _check(tag, oid, plain)
        if k in texts:
            lines.append("        d%d = c.data_len" % k)
    sized = [("d%d" if k in texts else "c%d.data_len") % k
             for k, (tag, _, _) in enumerate(kinds) if tag != PP_INT]
    lines += ["        if %s > %d:" % (" + ".join(sized), _MAX_DATA),
              "            return None"]
    lines += _split_joined(kinds, texts, ["unpack(c%d.data, d%d)" % (k, k) for k in texts],
                           "p", "        ",
                           lambda k, part: "v%d = %s if not c%d.nulls else convert(c%d)"
                           % (k, part, k, k))
    for k, (tag, oid, plain) in enumerate(kinds):
        if k in texts:
            continue
        if plain:
            lines.append("        v%d = %s if not c%d.nulls else convert(c%d)"
                         % (k, _PLAIN[tag].replace("(c.", "(c%d." % k).replace("(c,", "(c%d," % k),
                            k, k))
        else:
            lines += ["        v%d = convert(c%d)" % (k, k),
                      "        if len(v%d) != n:" % k,
                      "            return None"]
    return lines


def _packed(kinds: Tuple[Tuple[int, int, bool], ...], max_rows: int) -> list:
    """CPython: the body making the rows from pp_query_call's ``pack`` when it holds the
    result (its int values and each column's facts) and the result has the columns it was
    made for (ncols, names' hash, tags, OIDs) and no NULL: pp_query_call's ``shape``, a
    hash of those facts, compared with ``key`` checks them all. One row needing at most
    _MAX_SINGLE values of ``pack`` (int values, data lengths) reads them one by one; else one
    unpack reads the facts and values. Anything else goes on to the body reading ``cols``
    column by column (_joined, _by_column), which handles NULLs."""
    ncols = len(kinds)
    base = 5 + 4 * ncols  # where pack's int values begin
    nints = sum(tag == PP_INT for tag, _, _ in kinds)
    lines = ["        if call.shape == key and generation[0] == gen:",
             "            n = pack[1]"]
    if _text_packed(kinds):
        return lines + _packed_text(kinds, max_rows)
    if ncols <= _MAX_SINGLE:  # one row: a pack read a value, no list
        lines.append("            if n == 1:")
        lines += _packed_body(kinds, "                ", "pack", True)
    lines += ["            if 0 < n <= %d:" % max_rows,
              "                p = unpack(pack, %d%s)" % (base, " + %s" % _times(nints)
                                                          if nints else "")]
    return lines + _packed_body(kinds, "                ", "p", False)


def _packed_body(kinds: Tuple[Tuple[int, int, bool], ...], pad: str, p: str,
                 single: bool) -> list:
    """The lines (indented ``pad``) of _packed making the rows from ``p`` (``pack``, or the
    list unpacked from it): ``single``, one row (the values of ``p`` read one by one)."""
    ncols = len(kinds)
    lens, base = 5 + 3 * ncols, 5 + 4 * ncols
    lines = []
    sized = ["%s[%d]" % (p, lens + k) for k, (tag, _, _) in enumerate(kinds) if tag != PP_INT]
    if single and sized:  # each read once
        lines += [pad + "d%d = %s[%d]" % (k, p, lens + k)
                  for k, (tag, _, _) in enumerate(kinds) if tag != PP_INT]
        sized = ["d%d" % k for k, (tag, _, _) in enumerate(kinds) if tag != PP_INT]
    if sized:
        lines += [pad + "if %s > %d:" % (" + ".join(sized), _MAX_DATA),
                  pad + "    return None"]
    texts = _texts(kinds)
    if texts:
        lines += _split_joined(kinds, texts,
                               ["unpack(cols[%d].data, %s)"
                                % (k, "d%d" % k if single else "%s[%d]" % (p, lens + k))
                                for k in texts],
                               "t", pad, lambda k, part: "v%d = %s" % (k, part))
    one, many, j = [], [], 0
    for k, (tag, oid, plain) in enumerate(kinds):
        if tag == PP_INT:
            one.append("%s[%d]" % (p, base + j))
            many.append(_int_slice(base, j))
            j += 1
            continue
        one.append("v%d[0]" % k)
        many.append("v%d" % k)
        if k in texts:
            continue
        if plain:
            lines.append(pad + "v%d = %s" % (k, _PLAIN[tag].replace("(c.", "(cols[%d]." % k)
                                              .replace("(c,", "(cols[%d]," % k)))
        else:
            lines += [pad + "v%d = convert(cols[%d])" % (k, k),
                      pad + "if len(v%d) != n:" % k,
                      pad + "    return None"]
    if single:
        return lines + [pad + "return [make((%s,))]" % ", ".join(one)]
    return lines + [pad + "if n == 1:",
                    pad + "    return [make((%s,))]" % ", ".join(one),
                    pad + "return list(map(make, zip(%s)))" % ", ".join(many)]


def _text_packed(kinds: Tuple[Tuple[int, int, bool], ...]) -> bool:
    """Whether the columns decoded together (_texts) are all those whose data pp_query_pack
    copies after the int values (PP_TEXT and PP_NUMERIC), so that the rows' text is read
    from there, one slice of the pack's bytes."""
    texts = _texts(kinds)
    return bool(texts) and texts == [k for k, (tag, _, _) in enumerate(kinds)
                                     if tag == PP_TEXT or tag == PP_NUMERIC]


def _packed_text(kinds: Tuple[Tuple[int, int, bool], ...], max_rows: int) -> list:
    """The rest of _packed's body when _text_packed(kinds): the text of the columns decoded
    together is read from the pack (``text``: its bytes), after the int values and their
    byte count T, with one slice, instead of an unpack of each column's data (two field
    reads and an unpack a column: 1.7k machine instructions, callgrind). T -1 (the text did
    not fit) goes on to the body reading ``cols``."""
    ncols = len(kinds)
    lens, base = 5 + 3 * ncols, 5 + 4 * ncols
    nints = sum(tag == PP_INT for tag, _, _ in kinds)
    texts = _texts(kinds)
    others = [k for k, (tag, _, _) in enumerate(kinds) if tag != PP_INT and k not in texts]
    lines = []
    if 1 + nints + len(others) <= _MAX_SINGLE:  # one row: a pack read a value
        pad = "                "
        lines += ["            if n == 1:",
                  pad + "tot = pack[%d]" % (base + nints)]
        lines += [pad + "d%d = pack[%d]" % (k, lens + k) for k in others]
        lines += _text_body(kinds, pad, "pack", "%d" % (8 * (base + nints + 1)), True)
    pad = "                "
    lines.append("            if 0 < n <= %d:" % max_rows)
    if nints or len(others) > _MAX_SINGLE - 1:
        lines += [pad + "p = unpack(pack, %d%s)" % (base + 1, " + %s" % _times(nints)
                                                     if nints else ""),
                  pad + "tot = p[-1]"]
        lines += [pad + "d%d = p[%d]" % (k, lens + k) for k in others]
        src = "p"
    else:
        lines.append(pad + "tot = pack[%d]" % base)
        lines += [pad + "d%d = pack[%d]" % (k, lens + k) for k in others]
        src = "pack"
    start = "%d" % (8 * (base + 1)) + (" + %d * n" % (8 * nints) if nints else "")
    return lines + _text_body(kinds, pad, src, start, False)


def _text_body(kinds: Tuple[Tuple[int, int, bool], ...], pad: str, p: str, start: str,
               single: bool) -> list:
    """_packed_text's lines (indented ``pad``) making the rows once ``tot`` (T) and the
    data_len ``d<k>`` of the other variable-size columns are read: the text from ``text``
    at byte ``start``, the int values from ``p`` (``pack``, or the list unpacked from it);
    ``single``: one row."""
    ncols = len(kinds)
    base = 5 + 4 * ncols
    texts = _texts(kinds)
    others = [k for k, (tag, _, _) in enumerate(kinds) if tag != PP_INT and k not in texts]
    lines = [pad + "if %s > %d:" % (" + ".join(["tot"] + ["d%d" % k for k in others]),
                                    _MAX_DATA),
             pad + "    return None",
             pad + "if tot %s 0:" % (">" if single and len(texts) == 1 else ">=")]
    pad += "    "
    lines.append(pad + "s = %s" % start)
    nt = len(texts)
    alone = single and nt == 1  # one value: its text without its NUL, no split
    lines += [pad + "try:",
              pad + ("    t = text[s:s + tot - 1].decode('utf-8')" if alone else
                     "    t = text[s:s + tot].decode('utf-8').split('\\0')"),
              pad + "except UnicodeDecodeError:",
              pad + "    return None"]
    if not alone:
        lines += [pad + "if len(t) != %s + 1 or t.pop():" % ("%d" % nt if single else
                                                             "%d * n" % nt if nt > 1 else "n"),
                  pad + "    return None"]
    numeric = [k for k in texts if kinds[k][0] == PP_NUMERIC]
    if numeric:  # a bad value: the general way says what is wrong
        lines.append(pad + "try:")
        for k in numeric:
            j = texts.index(k)
            if single:
                lines.append(pad + "    v%d = Decimal(%s)" % (k, "t" if alone else "t[%d]" % j))
            else:
                lines.append(pad + "    v%d = list(map(Decimal, t[%s:%s]))"
                             % (k, _times(j) if j else "", _times(j + 1)))
        lines += [pad + "except ArithmeticError:", pad + "    return None"]
    one, many, j = [], [], 0
    for k, (tag, oid, plain) in enumerate(kinds):
        if tag == PP_INT:
            one.append("%s[%d]" % (p, base + j))
            many.append(_int_slice(base, j))
            j += 1
        elif k in texts:
            i = texts.index(k)
            if kinds[k][0] == PP_NUMERIC:  # single: the value, else the list
                one.append("v%d" % k if single else "v%d[0]" % k)
                many.append("v%d" % k)
            else:
                one.append("t" if alone else "t[%d]" % i)
                many.append("t" if nt == 1 else "t[%s:%s]" % (_times(i) if i else "",
                                                              _times(i + 1)))
        else:
            one.append("v%d[0]" % k)
            many.append("v%d" % k)
            if plain:
                lines.append(pad + "v%d = %s" % (k, _PLAIN[tag].replace("(c.", "(cols[%d]." % k)
                                                  .replace("(c,", "(cols[%d]," % k)))
            else:
                lines += [pad + "v%d = convert(cols[%d])" % (k, k),
                          pad + "if len(v%d) != n:" % k,
                          pad + "    return None"]
    # one row of text alone: the list split made is the row's values
    row = ("t" if len(texts) == ncols and not numeric and not alone
           else "(%s,)" % ", ".join(one))
    if single:
        return lines + [pad + "return [make(%s)]" % row]
    return lines + [pad + "if n == 1:",
                    pad + "    return [make(%s)]" % row,
                    pad + "return list(map(make, zip(%s)))" % ", ".join(many)]


def _times(j: int) -> str:
    return "n" if j == 1 else "%d * n" % j


def _int_slice(base: int, j: int) -> str:
    """The j-th int column's values, all rows: its slice of ``p`` (the pack's int values from
    ``base`` on, unpacked: column after column, n each)."""
    return "p[%d%s:%d + %s]" % (base, " + %s" % _times(j) if j else "", base, _times(j + 1))


def _source(kinds: Tuple[Tuple[int, int, bool], ...], max_rows: int) -> str:
    lines = ["def made(raw, make, convert, gen, key):",
             "    def rows(info, cols, pack, call):",
             "        pack, text = pack"]
    if _JOIN_TEXT:
        lines += _packed(kinds, max_rows)
    lines += ["        n = info.nrows",
             "        if not 0 < n <= %d or generation[0] != gen \\" % max_rows,
             "                or unpack(info.names, info.names_len) != raw:",
             "            return None"]
    texts = _texts(kinds)
    lines += _joined(kinds, texts) if _JOIN_TEXT and texts else _by_column(kinds)
    if _BY_INDEX:
        items = "".join("v%d[i], " % k for k in range(len(kinds)))
        lines.append("        return [make((%s)) for i in range(n)]" % items)
    else:  # one row: without zip's and map's objects (a third of the time of making it)
        lines += ["        if n == 1:",
                  "            return [make((%s))]" % "".join("v%d[0], " % k
                                                         for k in range(len(kinds))),
                  "        return list(map(make, zip(%s)))"
                  % ", ".join("v%d" % k for k in range(len(kinds)))]
    lines.append("    return rows")
    return "\n".join(lines) + "\n"


def _factory(kinds: Tuple[Tuple[int, int, bool], ...], max_rows: int) -> Callable:
    key = (kinds, max_rows)
    f = _made.get(key)
    if f is None:
        ns: Dict[str, Any] = {"unpack": unpack, "strings": _strings, "generation": _generation,
                              "Decimal": Decimal, "uuids": _uuids}
        ns.update(("conv_%d" % tag, conv) for tag, conv in _CONVERTERS.items())
        exec(_source(kinds, max_rows), ns)
        f = ns["made"]
        if len(_made) >= _MAX_MADE:
            _made.clear()
        _made[key] = f
    return f


def make_fast(cols, ncols: int, adapters: Any, shape: Tuple[bytes, Any, type],
              max_rows: int) -> Optional[Callable]:
    """The function a plan keeps (Plan.fast) to make the rows of results named as ``shape``
    says (_result._shape's (raw names, names, Row class)) whose decoded columns look like
    ``cols[0 … ncols-1]`` (a ``pp_column`` array just converted with ``adapters``), of 1 …
    ``max_rows`` rows: ``rows(info, cols, pack, call)`` (pack: the buffer set's pair (int64
    array pp_query_call filled, ffi.buffer of it), call: its pp_query_buffers) returns the
    Rows, or None for a result it is not for. None when it cannot have one (a user loader is
    registered)."""
    gen = adapters._gen
    if gen != _generation[0] or adapters.user_loaders:
        return None
    loaders, deep = adapters.loaders, adapters.deep_loaders
    kinds = []
    for k in range(ncols):
        col = cols[k]
        tag, oid = col.tag, col.oid
        plain = tag in _PLAIN and (tag != PP_TEXT or (loaders.get(oid) is None
                                                      and deep.get(oid) is None))
        kinds.append((tag, oid, plain))

    def convert(col: Any) -> list:
        return convert_column(col, adapters)
    # pp_query_call's shape of such a result without NULLs: the hash of what pack[2 …]
    # holds (ncols, names' hash, NULL count, tags, OIDs, NULL flags)
    key = _fnv([ncols, _fnv(shape[0]), 0] + [t for t, _, _ in kinds] +
               [o for _, o, _ in kinds] + [0] * ncols)
    return _factory(tuple(kinds), max_rows)(shape[0], shape[2], convert, gen, key)


def _fnv(values) -> int:
    """FNV-1a, 64 bits, as an int64: of the bytes ``values`` (pp_query_pack's hash of the
    column names), or of a list of int64s taken whole (pp_query_call's shape)."""
    h = 14695981039346656037
    for v in values:
        h = ((h ^ (v & 0xFFFFFFFFFFFFFFFF)) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h - (1 << 64) if h >= 1 << 63 else h


# ---- parameters ---------------------------------------------------------------------------

# At most this many int parameters go into a buffer set's pre-tagged pp_value array.
_INT_PARAMS = 8

# Dump factories made so far, by which parameters are ints dumped inline and whether None
# is taken anywhere (bounded).
_dumps: Dict[Tuple[Tuple[bool, ...], bool], Callable] = {}


def _dump_source(inline: Tuple[bool, ...], none_ok: bool) -> str:
    n = len(inline)
    xs = "".join("x%d, " % k for k in range(n))
    # with none_ok, a None (NULL: the zeroed pp_value) is taken anywhere, so that optional
    # parameters do not make the function again and again
    other = "type(x%d) is not t%d and x%d is not None" if none_ok else "type(x%d) is not t%d"
    lines = ["def made(gen, types, fns, adapters):",
             "    %s = types" % "".join("t%d, " % k for k in range(n)),
             "    %s = fns" % "".join("f%d, " % k for k in range(n)),
             "    def dump(params, ints):",
             "        if generation[0] != gen or len(params) != %d:" % n,
             "            return None",
             "        %s = params" % xs,
             "        if %s:" % " or ".join(other.replace("%d", str(k)) for k in range(n)),
             "            return None"]
    if all(inline) and n <= _INT_PARAMS:
        # ints alone (no None): into the buffer set's own pp_value array, whose values are
        # tagged PP_INT once and for all (_result.int_params): one store a value, instead
        # of a new array, an item and two stores (1.8k machine instructions less a statement
        # of one int parameter, callgrind)
        lines.append("        if %s:" % " and ".join("x%d is not None" % k for k in range(n))
                     if none_ok else "        if True:")
        lines += ["            try:"]
        lines += ["                ints[%d].i = x%d" % (k + 1, k) for k in range(n)]
        lines += ["            except OverflowError:  # dump_list says what is wrong",
                  "                return None",
                  "            return ints[0], None"]
    lines += ["        arr = newp(T_VALUE_ARRAY, %d)" % n,
              "        keep = [arr]",
              "        try:"]
    for k, is_int in enumerate(inline):
        pad = "            "
        if none_ok:
            lines.append(pad + "if x%d is not None:" % k)
            pad += "    "
        if is_int:  # _dump_int for an int: cffi checks the int64 range
            lines += [pad + "v = arr[%d]" % k,
                      pad + "v.i = x%d" % k,
                      pad + "v.tag = PP_INT"]
        else:
            lines.append(pad + "f%d(x%d, arr[%d], keep, %d, adapters)" % (k, k, k, k + 1))
    lines += ["        except Exception:  # dump_list says what is wrong",
              "            return None",
              "        return arr, keep",
              "    return dump"]
    return "\n".join(lines) + "\n"


def make_dump(params: Any, adapters: Any) -> Optional[Callable]:
    """The function a plan keeps (Plan.dump) to dump parameters of the types of
    ``params`` (a non-empty list or tuple just dumped by dump_list with ``adapters``):
    ``dump(params, ints)`` returns (``pp_value[]``, keep-alive list) as dump_list does, or
    None for parameters it is not for (``ints``: a buffer set's _result.int_params, into
    which ints alone go; the array returned is then ints[0], valid while the set is held).
    None when it cannot have one."""
    gen = adapters._gen
    if gen != _generation[0] or len(params) > 64:
        return None
    types = tuple(map(type, params))
    fns = tuple(map(adapters.dumpers.get, types))
    if None in fns:
        return None
    inline = tuple(t is int and f is _dump_int for t, f in zip(types, fns))
    none_ok = adapters.dumpers.get(type(None)) is _dump_none
    f = _dumps.get((inline, none_ok))
    if f is None:
        ns: Dict[str, Any] = {"generation": _generation, "newp": newp,
                              "T_VALUE_ARRAY": T_VALUE_ARRAY, "PP_INT": PP_INT}
        exec(_dump_source(inline, none_ok), ns)
        f = ns["made"]
        if len(_dumps) >= _MAX_MADE:
            _dumps.clear()
        _dumps[(inline, none_ok)] = f
    return f(gen, types, fns, adapters)
