# SPDX-License-Identifier: MIT
"""The types of one database (register_type, unregister_type): enums, composites,
domains, ranges, multiranges and extension types looked up in pg_type and registered with
the adapter registries."""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Callable, NamedTuple, Optional, Tuple

from .. import errors as e
from ._composite import parse_record
from ._hstore import Hstore, parse_hstore
from ._range import Multirange, Range
from . import _adapters
from ._adapters import AdaptersMap, global_adapters
from ._dumpers import _dump_composite
from ._loaders import (_array_text_loader, _BUILTIN_TEXT_LOADER_OIDS, load_text,
                       _multirange_loader, _range_loader)


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


def _composite_loader(cls: type, field_oids: Tuple[int, ...]) -> Callable[[str, Any], Any]:
    n = len(field_oids)

    def load(s: str, adapters: Any) -> Any:
        fields = parse_record(s)
        if not fields and n == 1:  # '()' is also a single NULL field
            fields = (None,)
        if len(fields) != n:
            raise e.DataError("cannot read %s value %r: %d fields for %d"
                              % (cls.__name__, s, len(fields), n))
        return cls(*[load_text(o, f, adapters) for o, f in zip(field_oids, fields)])
    return load


def _domain_loader(basetype: int) -> Callable[[str, Any], Any]:
    def load(s: str, adapters: Any) -> Any:
        return load_text(basetype, s, adapters)
    return load


def _simple(load: Callable[[str], Any]) -> Callable[[str, Any], Any]:
    return lambda s, adapters: load(s)


def register_type(conn: Any, name: str, adapters: Any = None) -> TypeInfo:
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

    The registration is global (every connection, also those opened before) unless
    ``adapters`` names a level: ``conn.adapters.register_type(conn, name)`` registers it for
    that connection only (and its cursors) — what a process talking to several databases
    does, since OIDs differ between databases. Returns a :class:`TypeInfo`;
    :func:`unregister_type` undoes it."""
    adapters = _where(adapters)
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
    elif typtype == "d":
        loader = _domain_loader(basetype)
    elif typtype == "r":
        pytype = Range
        loader = _range_loader(subtype)
    elif typtype == "m":
        pytype = Multirange
        loader = _multirange_loader(conn.query_one(_MULTIRANGE_SQL, [oid])[0])
    elif typtype == "b" and typname == "hstore":
        pytype = Hstore
        loader = _simple(parse_hstore)
    with _adapters._lock:
        if loader is not None and oid not in _BUILTIN_TEXT_LOADER_OIDS:
            adapters._set("deep_loaders", oid, loader)
        if typarray and typarray not in _BUILTIN_TEXT_LOADER_OIDS:
            adapters._set("deep_loaders", typarray, _array_text_loader(oid, delim))
        if typtype == "c":
            adapters._set("type_dumpers", pytype, _dump_composite)
    return TypeInfo(typname, oid, typarray, kind, pytype)


def unregister_type(info: TypeInfo, where: Any = None) -> None:
    """Undo :func:`register_type`: the type's values come back as their text form again.
    ``where`` is the connection (or cursor, or AdaptersMap) it was registered on; None: the
    global map."""
    adapters = _where(where)
    with _adapters._lock:
        for oid in (info.oid, info.array_oid):
            if oid and oid not in _BUILTIN_TEXT_LOADER_OIDS:
                adapters._set("deep_loaders", oid, None)
        if info.kind == "composite" and info.python_type is not None:
            adapters._set("type_dumpers", info.python_type, None)


def _where(where: Any) -> Any:
    """The AdaptersMap of a connection, a cursor or a map (None: the global map)."""
    if where is None:
        return global_adapters()
    if isinstance(where, AdaptersMap):
        return where
    return where.adapters
