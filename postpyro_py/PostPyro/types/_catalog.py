# SPDX-License-Identifier: MIT
"""The types of one database (register_type, unregister_type): enums, composites,
domains, ranges, multiranges and extension types looked up in pg_type and registered with
the adapter registries."""

from __future__ import annotations

import functools
from collections import namedtuple
from typing import Any, Callable, NamedTuple, Optional, Tuple

from .. import errors as e
from ._composite import parse_record
from ._hstore import Hstore, parse_hstore
from ._range import Multirange, Range
from ._dumpers import _BUILTIN_DUMPERS, _composite_types, _dump_composite, _dumpers
from ._loaders import (_array_text_loader, _BUILTIN_TEXT_LOADER_OIDS, load_text,
                       _multirange_loader, _range_loader, _TEXT_LOADERS)




_TYPE_SQL = ("SELECT t.oid, t.typname, t.typtype, t.typarray, t.typdelim, t.typrelid, "
             "t.typbasetype, (SELECT r.rngsubtype FROM pg_catalog.pg_range r "
             "WHERE r.rngtypid = t.oid) FROM pg_catalog.pg_type t "
             "WHERE t.oid = $1::text::regtype::oid")


_MULTIRANGE_SQL = "SELECT rngsubtype FROM pg_catalog.pg_range WHERE rngmultitypid = $1"


_FIELDS_SQL = ("SELECT attname, atttypid FROM pg_catalog.pg_attribute WHERE attrelid = $1 "
               "AND attnum > 0 AND NOT attisdropped ORDER BY attnum")


_KINDS = {"b": "base", "c": "composite", "d": "domain", "e": "enum", "r": "range",
          "m": "multirange", "p": "pseudo"}


class TypeInfo(NamedTuple):
    """What :func:`register_type` learned about a type."""
    name: str                    #: the type's name in pg_type
    oid: int
    array_oid: int               #: the OID of its array type (0 if none)
    kind: str                    #: base, composite, domain, enum, range, multirange
    python_type: Optional[type]  #: what its values become (None: str)


def _composite_loader(cls: type, field_oids: Tuple[int, ...]) -> Callable[[str], Any]:
    n = len(field_oids)

    def load(s: str) -> Any:
        fields = parse_record(s)
        if not fields and n == 1:  # '()' is also a single NULL field
            fields = (None,)
        if len(fields) != n:
            raise e.DataError("cannot read %s value %r: %d fields for %d"
                              % (cls.__name__, s, len(fields), n))
        return cls(*[load_text(o, f) for o, f in zip(field_oids, fields)])
    return load


def register_type(conn: Any, name: str) -> TypeInfo:
    """Look up the type ``name`` (as SQL writes it: ``"mood"``, ``"myschema.pair"``,
    ``"hstore"``) in ``conn``'s database and teach PostPyro its values and its array's:

    - enum, citext and any other base type: ``str`` (their arrays: lists of str);
    - composite type: a namedtuple class named after the type (``TypeInfo.python_type``),
      each field converted by its own type; instances of that class are sent back as the
      composite type (a plain tuple is an array);
    - domain: as its base type (a domain's own values already come back as the base type;
      this is for arrays of the domain and composites holding it);
    - range / multirange: :class:`Range` / :class:`Multirange` with bounds of the subtype;
    - hstore: :class:`Hstore` (a dict of str to str or None).

    OIDs differ between databases: the registration applies to every connection, so call
    it for the database you use. Returns a :class:`TypeInfo`; :func:`unregister_type`
    undoes it."""
    rows = conn.query(_TYPE_SQL, [name])
    oid, typname, typtype, typarray, delim, relid, basetype, subtype = rows[0]
    kind = _KINDS.get(typtype, typtype)
    pytype: Optional[type] = None
    loader: Optional[Callable[[str], Any]] = None
    if typtype == "c":
        fields = conn.query(_FIELDS_SQL, [relid])
        field_oids = tuple(f[1] for f in fields)
        pytype = namedtuple(typname, [f[0] for f in fields], rename=True)  # type: ignore
        loader = _composite_loader(pytype, field_oids)
        _composite_types.add(pytype)
        _BUILTIN_DUMPERS[pytype] = _dump_composite
        _dumpers[pytype] = _dump_composite
    elif typtype == "d":
        loader = functools.partial(load_text, basetype)
    elif typtype == "r":
        pytype = Range
        loader = _range_loader(subtype)
    elif typtype == "m":
        pytype = Multirange
        loader = _multirange_loader(conn.query_one(_MULTIRANGE_SQL, [oid])[0])
    elif typtype == "b" and typname == "hstore":
        pytype = Hstore
        loader = parse_hstore
    if loader is not None and oid not in _BUILTIN_TEXT_LOADER_OIDS:
        _TEXT_LOADERS[oid] = loader
    if typarray and typarray not in _BUILTIN_TEXT_LOADER_OIDS:
        _TEXT_LOADERS[typarray] = _array_text_loader(oid, delim)
    return TypeInfo(typname, oid, typarray, kind, pytype)


def unregister_type(info: TypeInfo) -> None:
    """Undo :func:`register_type`: the type's values come back as their text form again."""
    for oid in (info.oid, info.array_oid):
        if oid not in _BUILTIN_TEXT_LOADER_OIDS:
            _TEXT_LOADERS.pop(oid, None)
    if info.kind == "composite" and info.python_type is not None:
        _composite_types.discard(info.python_type)
        _BUILTIN_DUMPERS.pop(info.python_type, None)
        _dumpers.pop(info.python_type, None)
