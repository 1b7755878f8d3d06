# SPDX-License-Identifier: MIT
"""SQLAlchemy dialect ``postgresql+postpyro``: SQLAlchemy on PostPyro.

::

    from sqlalchemy import create_engine
    engine = create_engine("postgresql+postpyro://user:pw@localhost/db")

The package metadata registers this module as the entry point ``postgresql.postpyro`` of
the group ``sqlalchemy.dialects``; without it (running from a source tree)::

    from sqlalchemy.dialects import registry
    registry.register("postgresql.postpyro", "PostPyro.sqlalchemy", "dialect")

Importing this module does that registration too.

Values are always bound on the server, never written into the SQL. SQLAlchemy 1.4 has no
paramstyle for PostgreSQL's ``$1``: it compiles with ``format`` (``%s``, every literal ``%``
doubled, as for psycopg2) and the execution context renumbers the compiled statement to
``$1, $2, …`` (:func:`dollar_sql`), exactly, since the compiler doubled every other ``%``.
SQLAlchemy 2.0 has ``numeric_dollar`` and compiles ``$1`` itself: nothing is rewritten.
SQL run with ``exec_driver_sql()`` goes to PostPyro as written: ``$1`` placeholders.

See docs/python-api.md, section "SQLAlchemy", for the URL, the options and the differences
from psycopg2.
"""

from __future__ import annotations

import itertools
import logging
import re
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy
from sqlalchemy import exc, util
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects.postgresql.base import (PGCompiler, PGDialect, PGExecutionContext,
                                                 PGIdentifierPreparer)
from sqlalchemy.engine import cursor as _cursor
from sqlalchemy.sql import compiler as _compiler
from sqlalchemy.sql.elements import BindParameter as _BindParameter

from ._sqla_types import colspecs
from .rows import tuple_row

__all__ = ["dialect", "PGDialect_postpyro", "dollar_sql"]

logger = logging.getLogger("sqlalchemy.dialects.postgresql")

# SQLAlchemy 2.0 compiles PostgreSQL's own $1 placeholders ("numeric_dollar"); 1.4 cannot.
_NATIVE_DOLLAR = "numeric_dollar" in _compiler.BIND_TEMPLATES
_SQLA2 = int(sqlalchemy.__version__.split(".")[0]) >= 2

# PostgreSQL refuses more than 65535 parameters in one statement.
_MAX_PARAMS = 65535

# ---- placeholders ----------------------------------------------------------------------------

_FORMAT_RE = re.compile(r"%(.?)", re.S)
_dollar_cache: Dict[str, str] = {}


def dollar_sql(sql: str) -> str:
    """A statement SQLAlchemy compiled in the ``format`` paramstyle, with PostgreSQL's
    placeholders: the n-th ``%s`` becomes ``$n`` and ``%%`` becomes ``%``. The compiler
    doubles every ``%`` that is not a placeholder (in literals, identifiers, ``text()`` and
    the modulo operator), so this is exact; a lone ``%`` means the statement was not
    compiled for this paramstyle and raises :class:`sqlalchemy.exc.CompileError`."""
    out = _dollar_cache.get(sql)
    if out is not None:
        return out
    count = itertools.count(1)

    def repl(m: "re.Match[str]") -> str:
        c = m.group(1)
        if c == "s":
            return "$%d" % next(count)
        if c == "%":
            return "%"
        raise exc.CompileError("a lone %%%s in a statement compiled for the format "
                               "paramstyle: %r" % (c, sql[:200]))

    out = _FORMAT_RE.sub(repl, sql)
    if len(_dollar_cache) >= 1024:  # a bound: statements with literal values differ
        _dollar_cache.clear()
    _dollar_cache[sql] = out
    return out




def _is_placeholder(text: str) -> bool:
    """Whether the compiler rendered a bound parameter as a placeholder (not as a literal
    value): 1.4 renders ``%s``; 2.0 ``%(name)s`` while compiling, numbered ``$n`` after."""
    return text == "%s" or (text[:2] == "%(" and text[-2:] == ")s")


def _select_list_cast(dialect, type_) -> Optional[str]:
    """The SQL type to cast a SELECT-list parameter of SQLAlchemy type ``type_`` to; None
    for a str (text is right) or an unknown type (the server's text; a str is fine)."""
    impl = type_.dialect_impl(dialect)
    if isinstance(impl, sqltypes.TypeDecorator):
        impl = impl.impl_instance if hasattr(impl, "impl_instance") else impl.impl
    if isinstance(impl, sqltypes.NullType):
        return None
    if isinstance(impl, (sqltypes.String, sqltypes.Enum)) and not isinstance(
            impl, sqltypes.JSON):
        return None
    try:
        return dialect.type_compiler.process(impl)
    except (exc.CompileError, AttributeError, NotImplementedError):
        return None  # not a type SQL can name (JSON's index types): the server's type


# ---- execution -------------------------------------------------------------------------------

_server_side_ids = itertools.count(1)

_ddl = [0]  # DDL statements this process ran through the dialect (see post_exec)
_DDL_RE = re.compile(r"\s*(CREATE|ALTER|DROP|COMMENT)\b", re.I)


def _forget_statements(raw, count: int) -> None:
    """Drop the connection's cached prepared statements (kept again from now on, at the
    default size, unless the connection was opened without the cache)."""
    raw._sqla_ddl_seen = count
    if not getattr(raw, "_sqla_cache", True):
        return
    try:
        raw.set_statement_cache_size(0)
        raw.set_statement_cache_size(256)
    except Exception:  # e.g. a failed transaction: the statement about to run says so
        raw._sqla_ddl_seen = -1


class PGExecutionContext_postpyro(PGExecutionContext):
    _postpyro_rows: Optional[list] = None  # executemany ... RETURNING: every page's rows
    _postpyro_rowcount: Optional[int] = None

    if not _SQLA2:  # (2.0 reads the rowcount before it closes the cursor)
        @property
        def rowcount(self) -> int:
            if self._postpyro_rowcount is not None:
                return self._postpyro_rowcount
            return self.cursor.rowcount

    def create_default_cursor(self):
        # rows as plain tuples: SQLAlchemy makes a tuple of each row it reads, which is the
        # row itself for a tuple but a copy for a PostPyro Row
        return self._dbapi_connection.cursor(row_factory=tuple_row)

    def create_server_side_cursor(self):
        # stream_results: PostPyro's named cursor (DECLARE … / FETCH itersize at a time)
        ident = "c_%x_%x" % (id(self), next(_server_side_ids))
        size = self.execution_options.get("max_row_buffer", 1000)
        return self._dbapi_connection.cursor(name=ident, itersize=size, row_factory=tuple_row)

    def pre_exec(self):
        # 1.4: a compiled statement (SQL or DDL) has %s placeholders and doubled %
        if not _NATIVE_DOLLAR and self.compiled is not None:
            self._postpyro_format = self.statement
            self.statement = dollar_sql(self.statement)
        raw = getattr(self._dbapi_connection, "dbapi_connection", self._dbapi_connection)
        if getattr(raw, "_sqla_ddl_seen", 0) != _ddl[0]:
            _forget_statements(raw, _ddl[0])

    def post_exec(self):
        if self.isddl or (self.compiled is None and _DDL_RE.match(self.statement)):
            # a cached statement's parameter and result types may be stale now (a table
            # dropped and made again with other types): every connection of this process
            # forgets its prepared statements before its next one
            _ddl[0] += 1
        # SQLAlchemy may read rowcount after it closed the cursor (UPDATE … RETURNING)
        self._postpyro_rowcount = (len(self._postpyro_rows) if self._postpyro_rows is not None
                                   else self.cursor.rowcount)
        if self._postpyro_rows is not None:
            # several INSERT … RETURNING pages ran: their rows together are the result
            self.cursor_fetch_strategy = _cursor.FullyBufferedCursorFetchStrategy(
                self.cursor, initial_buffer=self._postpyro_rows)
        notices = getattr(self._dbapi_connection, "notices", None)
        if notices:
            for notice in notices:
                logger.info(notice.rstrip())
            del notices[:]


class PGCompiler_postpyro(PGCompiler):
    def visit_bindparam(self, bindparam, within_columns_clause=False, _postpyro_cast=False,
                        **kw):
        text = super().visit_bindparam(bindparam, within_columns_clause=within_columns_clause,
                                       **kw)
        # A parameter in the SELECT list (``select(literal(5))``) has no column to take its
        # type from, and the server types it text; a value that is not a str is then
        # refused (values are bound, not interpolated as psycopg2 does). The operand of
        # IS [NOT] NULL has no type at all. Say the type SQLAlchemy knows.
        if (within_columns_clause or _postpyro_cast) and not bindparam.expanding \
                and _is_placeholder(text):
            cast = _select_list_cast(self.dialect, bindparam.type)
            if cast:
                return text + "::" + cast
        return text

    def visit_binary(self, binary, **kw):
        # two parameters compared (``literal(1) == 1``): neither gives the other a type
        if isinstance(binary.left, _BindParameter) and isinstance(binary.right,
                                                                  _BindParameter):
            kw["_postpyro_cast"] = True
        return super().visit_binary(binary, **kw)

    def visit_is__binary(self, binary, operator, **kw):
        kw["_postpyro_cast"] = True
        return self._generate_generic_binary(binary, " IS ", **kw)

    def visit_is_not_binary(self, binary, operator, **kw):
        kw["_postpyro_cast"] = True
        return self._generate_generic_binary(binary, " IS NOT ", **kw)

    def visit_select(self, select_stmt, **kw):
        kw.pop("_postpyro_cast", None)  # a subquery's own parameters have their context
        return super().visit_select(select_stmt, **kw)


class PGIdentifierPreparer_postpyro(PGIdentifierPreparer):
    pass


class PGDialect_postpyro(PGDialect):
    """PostgreSQL through PostPyro. ``create_engine`` options beyond SQLAlchemy's own:

    - ``executemany_values_page_size`` (default 1000): rows per statement when an
      ``executemany`` of an INSERT needs RETURNING (the ORM inserting objects whose key the
      server makes): ``INSERT … VALUES (…), (…), … RETURNING`` pages. Without RETURNING,
      ``executemany`` is PostPyro's pipeline (every row in one round trip).
    - URL query parameters go to :func:`PostPyro.connect`: libpq's (``sslmode``,
      ``connect_timeout``, …) and PostPyro's ``statement_cache`` (``true``/``false``) and
      ``timeout`` (seconds).
    """

    driver = "postpyro"
    supports_statement_cache = True
    supports_unicode_statements = True
    supports_unicode_binds = True
    default_paramstyle = "numeric_dollar" if _NATIVE_DOLLAR else "format"
    supports_sane_rowcount = True
    supports_sane_multi_rowcount = True  # executemany's rowcount is the total
    supports_server_side_cursors = True
    insert_executemany_returning = True
    description_encoding = None
    # 2.0: SQLAlchemy pages INSERT … RETURNING of many rows itself ("insertmanyvalues")
    use_insertmanyvalues = True
    execution_ctx_cls = PGExecutionContext_postpyro
    statement_compiler = PGCompiler_postpyro
    preparer = PGIdentifierPreparer_postpyro
    colspecs = colspecs

    def __init__(self, executemany_values_page_size: int = 1000, **kwargs: Any) -> None:
        # SQLAlchemy would take the module's paramstyle ("numeric", PEP 249's name for
        # PostPyro's $1), which it renders as :1; this dialect compiles its own way.
        paramstyle = kwargs.pop("paramstyle", None)
        if paramstyle not in (None, self.default_paramstyle):
            raise exc.ArgumentError("the postpyro dialect compiles with the %r paramstyle, "
                                    "not %r" % (self.default_paramstyle, paramstyle))
        PGDialect.__init__(self, paramstyle=self.default_paramstyle, **kwargs)
        self.executemany_values_page_size = int(executemany_values_page_size)
        if _SQLA2:
            self.insertmanyvalues_page_size = self.executemany_values_page_size

    # 1.4 calls dbapi(); 2.0 import_dbapi() (dbapi() is deprecated there).
    @classmethod
    def dbapi(cls):  # type: ignore[override]
        import PostPyro
        return PostPyro

    @classmethod
    def import_dbapi(cls):
        import PostPyro
        return PostPyro

    @classmethod
    def load_provisioning(cls):
        # SQLAlchemy's test harness looks for <dialect package>.provision: PostgreSQL's
        from sqlalchemy.dialects.postgresql import provision  # noqa: F401

    # ---- connecting ------------------------------------------------------------------------

    def create_connect_args(self, url) -> Tuple[List[Any], Dict[str, Any]]:
        opts = url.translate_connect_args(username="user", database="dbname")
        query = dict(url.query)
        hosts = query.pop("host", None)
        if isinstance(hosts, (list, tuple)):  # host=h1:p1&host=h2:p2 (libpq: h1,h2 / p1,p2)
            pairs = [h.rsplit(":", 1) if ":" in h else (h, "") for h in hosts]
            opts["host"] = ",".join(h for h, _ in pairs)
            if any(p for _, p in pairs):
                if "port" in opts:
                    raise exc.ArgumentError("give the ports either in host=h:p or in the URL,"
                                            " not both")
                opts["port"] = ",".join(p for _, p in pairs)
        elif hosts is not None:
            opts["host"] = hosts
        if "statement_cache" in query:
            opts["statement_cache"] = util.asbool(query.pop("statement_cache"))
        if "timeout" in query:
            opts["timeout"] = float(query.pop("timeout"))
        opts.update(query)
        return [], opts

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        conn = super().connect(*cargs, **cparams)
        # whether it keeps prepared statements (see _forget_statements)
        conn._sqla_cache = cparams.get("statement_cache", True)
        return conn

    def do_ping(self, dbapi_connection) -> bool:
        # a round trip that never raises and opens no transaction
        return dbapi_connection.ping()

    def is_disconnect(self, e, connection, cursor) -> bool:
        """True when ``e`` means the session is gone, so that the pool discards the
        connection: the connection says it is closed, the error is a connection failure
        (SQLSTATE class 08, the server shutting down 57P01-57P03), or PostPyro's
        "connection is closed"."""
        dbapi = self.dbapi if not _SQLA2 else self.loaded_dbapi
        if not isinstance(e, dbapi.Error):
            return False
        if connection is not None:
            try:
                if connection.closed:
                    return True
            except Exception:
                pass
        code = getattr(e, "sqlstate", None) or ""
        if code.startswith("08") or code in ("57P01", "57P02", "57P03"):
            return True
        return isinstance(e, dbapi.InterfaceError) and "connection is closed" in str(e)

    # ---- transactions ----------------------------------------------------------------------

    def get_isolation_level_values(self, dbapi_connection=None) -> List[str]:
        return ["AUTOCOMMIT", "READ COMMITTED", "READ UNCOMMITTED", "REPEATABLE READ",
                "SERIALIZABLE"]

    def set_isolation_level(self, dbapi_connection, level) -> None:
        level = level.replace("_", " ").upper()
        if level == "AUTOCOMMIT":
            dbapi_connection.autocommit = True
            return
        if level not in self.get_isolation_level_values():
            raise exc.ArgumentError(
                "Invalid value '%s' for isolation_level. Valid isolation levels for %s are "
                "%s" % (level, self.name, ", ".join(self.get_isolation_level_values())))
        dbapi_connection.autocommit = False
        self._set_session(dbapi_connection, "ISOLATION LEVEL " + level)

    def get_isolation_level(self, dbapi_connection) -> str:
        if dbapi_connection.autocommit:
            return "AUTOCOMMIT"
        return self._show(dbapi_connection, "transaction_isolation").upper()

    def set_readonly(self, dbapi_connection, value) -> None:
        self._set_session(dbapi_connection, "READ ONLY" if value else "READ WRITE")

    def get_readonly(self, dbapi_connection) -> bool:
        return self._show(dbapi_connection, "default_transaction_read_only") == "on"

    def set_deferrable(self, dbapi_connection, value) -> None:
        self._set_session(dbapi_connection, "DEFERRABLE" if value else "NOT DEFERRABLE")

    def get_deferrable(self, dbapi_connection) -> bool:
        return self._show(dbapi_connection, "default_transaction_deferrable") == "on"

    @staticmethod
    def _set_session(dbapi_connection, characteristic: str) -> None:
        # a session default for the transactions that follow (SQLAlchemy sets these between
        # transactions); in PEP 249 mode the SET must be committed to stay
        cur = dbapi_connection.cursor()
        try:
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION " + characteristic)
        finally:
            cur.close()
        if not dbapi_connection.autocommit:
            dbapi_connection.commit()

    @staticmethod
    def _show(dbapi_connection, setting: str) -> str:
        cur = dbapi_connection.cursor()
        try:
            cur.execute("SELECT pg_catalog.current_setting($1)", [setting])
            return cur.fetchone()[0]
        finally:
            cur.close()

    # ---- executemany -----------------------------------------------------------------------

    def do_executemany(self, cursor, statement, parameters, context=None) -> None:
        compiled = context.compiled if context is not None else None
        if (not _NATIVE_DOLLAR and compiled is not None and compiled.returning
                and context.isinsert and compiled._is_safe_for_fast_insert_values_helper
                and statement == dollar_sql(context._postpyro_format)):
            rows = self._insert_pages(cursor, context._postpyro_format,
                                      compiled.insert_single_values_expr, parameters)
            if rows is not None:
                context._postpyro_rows = rows
                return
        cursor.executemany(statement, parameters)

    def _insert_pages(self, cursor, statement: str, values: str,
                      parameters) -> Optional[list]:
        """1.4's executemany of INSERT … RETURNING (SQLAlchemy 2.0 does this itself): the
        rows go in pages of ``INSERT … VALUES (…), (…), … RETURNING …``, each one statement
        with server-side parameters; returns every page's rows, in order. None when the
        statement does not have the one VALUES clause this needs."""
        clause = "(%s)" % values
        head, sep, tail = statement.partition(clause)
        if not sep or "%s" not in clause or "%s" in head or "%s" in tail:
            return None  # (parameters outside VALUES would be out of order)
        width = len(parameters[0]) if parameters else 0
        page = max(1, min(self.executemany_values_page_size, _MAX_PARAMS // max(width, 1)))
        rows: list = []
        for start in range(0, len(parameters), page):
            chunk = parameters[start:start + page]
            sql = dollar_sql(head + ", ".join([clause] * len(chunk)) + tail)
            cursor.execute(sql, [v for params in chunk for v in params])
            if cursor.description is not None:
                rows.extend(cursor.fetchall())
        return rows


dialect = PGDialect_postpyro


def _register() -> None:
    """Make ``postgresql+postpyro`` known to SQLAlchemy without the package metadata's entry
    point (e.g. when running from a source tree)."""
    from sqlalchemy.dialects import registry
    registry.register("postgresql.postpyro", __name__, "dialect")


_register()
