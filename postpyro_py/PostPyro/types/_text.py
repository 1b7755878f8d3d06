# SPDX-License-Identifier: MIT
"""text and bytea: dumpers, text loaders and column converters."""

from __future__ import annotations

import re

from .. import errors as e
from .._ffi import ffi
from ._base import _bad, _patch_nulls, PP_BYTES, PP_TEXT, _set_text, _slices


def _str_bytes(s: str, pos: int) -> bytes:
    if "\0" in s:
        raise e.DataError("parameter $%d: str contains a NUL character, which PostgreSQL "
                          "text cannot hold" % pos)
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise e.DataError("parameter $%d: str cannot be encoded as UTF-8: %s"
                          % (pos, exc)) from exc


def _dump_str(x, v, keep, pos, _adapters=None):
    _set_text(v, PP_TEXT, _str_bytes(x, pos), keep)


def _dump_bytes(x, v, keep, pos, _adapters=None):
    if isinstance(x, memoryview) and not x.c_contiguous:
        x = x.tobytes()
    buf = ffi.from_buffer(x)
    keep.append(buf)
    v.tag = PP_BYTES
    v.ptr = buf
    v.len = len(buf)


_BYTEA_ESCAPE_RE = re.compile(rb"\\(\\|[0-7]{3})")


def load_bytea_text(s: str) -> bytes:
    if s.startswith("\\x"):
        try:
            return bytes.fromhex(s[2:])
        except ValueError:
            raise _bad("bytea", s) from None
    raw = s.encode("latin-1", "strict") if s.isascii() else s.encode("utf-8")
    return _BYTEA_ESCAPE_RE.sub(
        lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1), 8)]), raw)


def _conv_bytes(col, n, nulls):
    return _patch_nulls(_slices(col, n), nulls)
