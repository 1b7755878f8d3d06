# SPDX-License-Identifier: MIT
"""bool, integers, float and numeric: dumpers, text loaders and column converters (the
PyPy variant of numeric's beside the CPython one)."""

from __future__ import annotations

import math
import struct
from array import array
from decimal import Decimal

from .. import errors as e
from .._ffi import ffi, newp, unpack
from ._base import (_bad, _column_text, _IS_PYPY, _map_nullable, _patch_nulls, PP_BOOL, PP_FLOAT,
                    PP_INT, PP_NUMERIC, _set_text, _strings)


_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_INT32_MIN = -(1 << 31)
_INT32_MAX = (1 << 31) - 1


# numeric holds up to 131072 digits before the decimal point: no point in sending more.
_NUMERIC_MAX_BITS = 435412  # 131072 decimal digits


def _int_text(x: int, pos: int) -> str:
    """The decimal text of an int of any size: Python refuses str() beyond 4300 digits
    (sys.set_int_max_str_digits), so a big one goes in pieces of 1000 digits."""
    try:
        return str(x)
    except ValueError:
        pass
    if x.bit_length() > _NUMERIC_MAX_BITS:
        raise e.DataError("parameter $%d: an int of about %d digits is beyond PostgreSQL's "
                          "numeric (131072 digits)" % (pos, int(x.bit_length() * 0.30103)))
    sign = "-" if x < 0 else ""
    x = abs(x)
    pieces = []
    while x:
        x, r = divmod(x, _THOUSAND_DIGITS)
        pieces.append(r)
    top = pieces.pop()
    return sign + str(top) + "".join("%01000d" % p for p in reversed(pieces))


_THOUSAND_DIGITS = 10 ** 1000


def _decimal_text(d: Decimal, pos: int) -> str:
    if d.is_nan():
        if d.is_snan():
            raise e.DataError("parameter $%d: a signaling NaN Decimal cannot be sent" % pos)
        return "NaN"
    if d.is_infinite():
        return "-Infinity" if d < 0 else "Infinity"
    return format(d, "f")


def _float_text(f: float) -> str:
    if f != f:
        return "NaN"
    if f == math.inf:
        return "Infinity"
    if f == -math.inf:
        return "-Infinity"
    return repr(f)


def _dump_bool(x, v, keep, pos, _adapters=None):
    v.tag = PP_BOOL
    v.i = 1 if x else 0


def _dump_int(x, v, keep, pos, _adapters=None):
    if type(x) is not int:
        x = int(x)  # IntEnum, numpy.int64, …
    try:
        v.i = x  # OverflowError beyond int64 (cffi checks the range)
    except OverflowError:
        _set_text(v, PP_NUMERIC, _int_text(x, pos).encode("ascii"), keep)
    else:
        v.tag = PP_INT


def _dump_float(x, v, keep, pos, _adapters=None):
    v.tag = PP_FLOAT
    v.f = x


def _dump_decimal(x, v, keep, pos, _adapters=None):
    _set_text(v, PP_NUMERIC, _decimal_text(x, pos).encode("ascii"), keep)


def load_bool_text(s: str) -> bool:
    if s == "t":
        return True
    if s == "f":
        return False
    raise _bad("boolean", s)


def load_int_vector_text(s: str) -> list:
    """int2vector / oidvector ("1 2 3", "" when empty) -> a list of ints."""
    return [int(p) for p in s.split()]


_FLOAT4 = struct.Struct("f")


def _load_float4_text(s: str) -> float:
    """A real's text form as the exact value of the float4 (what the binary path gives:
    '3.14' is 3.140000104904175)."""
    return _FLOAT4.unpack(_FLOAT4.pack(float(s)))[0]


def _conv_int(col, n, nulls):
    vals = unpack(col.ints, n)
    return vals if nulls is None else _patch_nulls(vals, nulls)


def _conv_bool(col, n, nulls):
    if _IS_PYPY:  # a loop the JIT compiles: 10 against 70 B a value (map(bool) boxes each int)
        ints = col.ints
        return _patch_nulls([ints[k] != 0 for k in range(n)], nulls)
    return _patch_nulls(list(map(bool, unpack(col.ints, n))), nulls)


_T_FLOAT_ARRAY = ffi.typeof("float[]")


def _conv_float(col, n, nulls):
    if col.oid == 700:  # real: the float4's exact value, from binary and text alike
        if _IS_PYPY:  # rounded in a C float[]: 10 against 85 B a value (array's tolist boxes
            floats = col.floats  # each float); the same values, inf for what is out of range
            buf = newp(_T_FLOAT_ARRAY, n)
            for k in range(n):
                buf[k] = floats[k]
            return _patch_nulls(unpack(buf, n), nulls)
        return _patch_nulls(array("f", unpack(col.floats, n)).tolist(), nulls)
    return _patch_nulls(unpack(col.floats, n), nulls)


def _decimal_from_parts(s: str) -> Decimal:
    """Decimal(s) for the numeric text the library hands out ("-12.500", "NaN", …), built
    from its parts: the pure-Python decimal (PyPy's) parses a string with a regular
    expression, which costs ten times more."""
    sign = 0
    body = s
    if s[:1] == "-":
        sign, body = 1, s[1:]
    whole, _, frac = body.partition(".")
    if not (whole.isdigit() and whole.isascii() and (not frac or (frac.isdigit() and
                                                                     frac.isascii()))):
        return Decimal(s)  # NaN, Infinity, -Infinity
    return _dec_from_triple(sign, (whole + frac).lstrip("0") or "0", -len(frac))


# Only the pure-Python decimal (its Decimal has slots such as _int) has _dec_from_triple.
_FAST_DECIMAL = "_int" in getattr(Decimal, "__slots__", ())


if _FAST_DECIMAL:
    from _pydecimal import _dec_from_triple


def _decimals_in_text(text: str, offs, n: int, nulls) -> list:
    """PyPy: the Decimals of a numeric column, from its decoded ASCII ``text`` and the C
    ``offs``ets, each value's digits cut straight from the column's text (no str per value
    before them: 440 -> 340 ns a value). What _decimal_from_parts makes, value for value."""
    out: list = []
    append = out.append
    for k in range(n):
        if nulls is not None and nulls[k]:
            append(None)
            continue
        a = offs[k]
        b = offs[k + 1] - 1
        sign = 0
        if text[a:a + 1] == "-":
            sign = 1
            a += 1
        dot = text.find(".", a, b)
        if dot < 0:
            digits = text[a:b]
            exp = 0
        else:
            digits = text[a:dot] + text[dot + 1:b]
            exp = dot + 1 - b
        if digits.isdigit():  # ASCII: only 0-9
            append(_dec_from_triple(sign, digits.lstrip("0") or "0", exp))
        else:  # NaN, Infinity, -Infinity
            append(Decimal(text[a - sign:b]))
    return out


def _conv_numeric(col, n, nulls):
    if _FAST_DECIMAL:
        text = _column_text(col, n)
        offs = col.offsets
        if len(text) == col.data_len and offs[n] == col.data_len:  # ASCII, as numerics are
            try:
                return _decimals_in_text(text, offs, n, nulls)
            except (ValueError, ArithmeticError, TypeError) as exc:  # as _map_nullable
                raise e.DataError("cannot convert a numeric value: %s" % exc) from None
    make = _decimal_from_parts if _FAST_DECIMAL else Decimal
    return _map_nullable(make, _strings(col, n), nulls, "numeric")
