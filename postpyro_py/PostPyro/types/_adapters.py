# SPDX-License-Identifier: MIT
"""Adapter maps: which loader makes a Python value of a PostgreSQL type (by OID), and which
dumper sends a Python type.

There are three levels: the global map (``PostPyro.types.adapters()``), one map per
connection (``conn.adapters``) and one per cursor (``cursor.adapters``). A lookup sees the
cursor's own registrations first, then its connection's, then the global ones, and a change
at a level is seen at once by the levels below it (so a global registration made after a
connection opened still applies to it, unless that connection registered something else for
the same type). Two databases whose extension types (hstore, citext, enums, composites) have
different OIDs thus work in one process: register those types on each connection.

Copy-on-write: a map without registrations of its own uses its parent's dicts (making one
for a connection copies nothing); a map with some holds merged dicts, rebuilt when any map
changed (one counter for the process: registrations are rare, lookups are not). Changes are
made under one lock; lookups take none (they see a dict before or after a change)."""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Optional

__all__ = ["AdaptersMap"]

# The dicts a level can change (see AdaptersMap); "dumpers" is a cache that follows them.
_TABLES = ("deep_loaders", "user_loaders", "loader_arrays", "user_dumpers", "type_dumpers")
_REMOVED = object()  # in a level's own dict: removed at this level (the parent's is hidden)

_lock = threading.RLock()
# Bumped by every change of any map: a map whose _gen differs rebuilds its merged dicts.
_generation = [0]


def _changed() -> None:
    _generation[0] += 1


class AdaptersMap:
    """The loaders and dumpers one level (global, connection, cursor) uses. Merged views,
    read by the conversions (call :meth:`fresh` first):

    - ``loaders``: OID -> ``f(text)`` for built-in types in text format;
    - ``deep_loaders``: OID -> ``f(text, adapters)`` for values made of other values (arrays,
      ranges, composites, domains, hstore: their parts load with the same map);
    - ``user_loaders``: OID -> ``f(value)`` applied after the above (``register_loader``);
    - ``loader_arrays``: OID -> (array OID, its loader) that register_loader added (removing
      the loader removes it);
    - ``user_dumpers``: Python type -> ``f(value)`` returning a value PostPyro can send
      (``register_dumper``);
    - ``type_dumpers``: the namedtuple classes of registered composite types -> their dumper;
    - ``dumpers``: concrete Python type -> dumper, a cache filled on first sight of a type.
    """

    __slots__ = _TABLES + ("loaders", "dumpers", "parent", "_base", "_own", "_gen",
                           "__weakref__")

    def __init__(self, parent: Optional["AdaptersMap"] = None,
                 base: Optional[Dict[str, Any]] = None) -> None:
        """A map below ``parent``; the global map has none but ``base``: PostPyro's own
        tables and functions (see types/__init__.py: this module imports none of them)."""
        self.parent = parent
        self._base: Dict[str, Any] = base if parent is None else parent._base  # type: ignore
        self._own: Dict[str, dict] = {}  # this level's registrations, by table
        self._gen = -1  # never built: the first fresh() builds
        if parent is None:
            self._build()

    def fresh(self) -> "AdaptersMap":
        """This map, its merged dicts up to date with every level above it."""
        if self._gen != _generation[0]:
            with _lock:
                self._build()
        return self

    def _build(self) -> None:
        gen = _generation[0]
        if self.parent is None:
            base: Dict[str, dict] = {"deep_loaders": self._base["deep_loaders"]}
            base_dumpers = None
            self.loaders = self._base["loaders"]
        else:
            p = self.parent.fresh()
            base = {name: getattr(p, name) for name in _TABLES}
            base_dumpers = p.dumpers
            self.loaders = p.loaders
        for name in _TABLES:
            own = self._own.get(name)
            merged = base.get(name)
            if merged is None:
                merged = {}
            if own:
                merged = dict(merged)
                for k, v in own.items():
                    if v is _REMOVED:
                        merged.pop(k, None)
                    else:
                        merged[k] = v
            setattr(self, name, merged)
        if base_dumpers is not None and not self._own.get("user_dumpers") \
                and not self._own.get("type_dumpers"):
            self.dumpers = base_dumpers  # the same dumpers above: the same cache
        else:
            cache = dict(self._base["dumpers"])
            cache.update(self.type_dumpers)
            wrap = self._base["wrap_user_dumper"]
            for cls, func in self.user_dumpers.items():
                cache[cls] = wrap(func)
            self.dumpers = cache
        self._gen = gen

    def _set(self, table: str, key: Any, value: Any) -> None:
        """Register (or with value None, remove) ``key`` in ``table`` at this level. Call
        with _lock held."""
        own = self._own.setdefault(table, {})
        if value is None:
            if self.parent is None:
                own.pop(key, None)
            else:
                own[key] = _REMOVED
        else:
            own[key] = value
        _changed()
        self._gen = -1  # rebuilt (and its dumper cache too) by the next fresh()

    def child(self) -> "AdaptersMap":
        """A map below this one (a connection's below the global map, a cursor's below its
        connection's)."""
        return AdaptersMap(self)

    # ---- registration at this level --------------------------------------------------------

    def register_loader(self, type_: Any, func: Optional[Callable[[Any], Any]],
                        conn: Any = None) -> None:
        """See :func:`PostPyro.types.register_loader`; this level only."""
        self._base["register_loader"](type_, func, conn, adapters=self)

    def register_dumper(self, pytype: type, func: Optional[Callable[[Any], Any]]) -> None:
        """See :func:`PostPyro.types.register_dumper`; this level only."""
        self._base["register_dumper"](pytype, func, adapters=self)

    def register_type(self, conn: Any, name: str) -> Any:
        """See :func:`PostPyro.types.register_type`; this level only."""
        return self._base["register_type"](conn, name, adapters=self)

    def unregister_type(self, info: Any) -> None:
        """See :func:`PostPyro.types.unregister_type`; this level only."""
        self._base["unregister_type"](info, self)

    def __repr__(self) -> str:
        level = "global" if self.parent is None else "child"
        return "<PostPyro AdaptersMap (%s): %d registrations of its own>" % (
            level, sum(len(t) for t in self._own.values()))


_global: Optional[AdaptersMap] = None


def install_global(base: Dict[str, Any]) -> None:
    """Make the global map from PostPyro's own tables (types/__init__.py, once)."""
    global _global
    _global = AdaptersMap(None, base)


def global_adapters() -> AdaptersMap:
    """The global map: the level above every connection's."""
    return _global  # type: ignore[return-value]  (set when PostPyro.types is imported)
