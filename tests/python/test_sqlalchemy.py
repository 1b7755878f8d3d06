# SPDX-License-Identifier: MIT
"""The SQLAlchemy dialect postgresql+postpyro (PostPyro.sqlalchemy), against the real server.
SQLAlchemy's own dialect suite runs separately (tests/sqlalchemy/run_suite.py)."""

from __future__ import annotations

import datetime
import decimal
import platform
import uuid

import pytest

sa = pytest.importorskip("sqlalchemy", reason="python3-sqlalchemy is not installed")

from sqlalchemy import (Column, Date, DateTime, ForeignKey, Integer, MetaData,  # noqa
                        Numeric, String, Table, event, func, inspect, literal, select, text)
from sqlalchemy.dialects import postgresql as pgsa  # noqa: E402
from sqlalchemy.orm import Session, declarative_base, relationship  # noqa: E402

import PostPyro as pg  # noqa: E402

_SQLA14 = sa.__version__.startswith("1.")
from PostPyro.sqlalchemy import dollar_sql  # noqa: E402

from conftest import sqla_url  # noqa: E402


def _url(dsn: str) -> str:
    return sqla_url(dsn, "postpyro")


@pytest.fixture
def schema(admin):
    name = "sqla_%s" % uuid.uuid4().hex[:12]
    admin.execute("CREATE SCHEMA %s" % name)
    yield name
    admin.execute("DROP SCHEMA %s CASCADE" % name)


@pytest.fixture
def make_engine(dsn, schema):
    engines = []

    def make(**kw):
        kw.setdefault("future", True)
        kw.setdefault("connect_args", {"options": "-c search_path=%s" % schema})
        e = sa.create_engine(_url(dsn), **kw)
        engines.append(e)
        return e
    yield make
    for e in engines:
        e.dispose()


@pytest.fixture
def engine(make_engine):
    return make_engine()


def _sent(engine):
    """The statements and parameters the dialect hands to PostPyro, as a list that grows."""
    seen = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))
    return seen


# ---- registration and placeholders -----------------------------------------------------

def test_url_names_the_dialect(engine):
    from PostPyro.sqlalchemy import PGDialect_postpyro
    assert isinstance(engine.dialect, PGDialect_postpyro)
    assert engine.dialect.driver == "postpyro"
    with engine.connect() as c:
        assert c.execute(select(literal(1))).scalar() == 1


def test_url_query_becomes_connect_arguments():
    from sqlalchemy.engine import make_url
    d = sa.dialects.registry.load("postgresql.postpyro")()
    args, kw = d.create_connect_args(make_url(
        "postgresql+postpyro://u:p%40w@/db?host=h1:5432&host=h2:5433"
        "&target_session_attrs=read-write&statement_cache=false&timeout=3"))
    assert args == [] and kw == {"dbname": "db", "user": "u", "password": "p@w",
                                 "host": "h1,h2", "port": "5432,5433",
                                 "target_session_attrs": "read-write",
                                 "statement_cache": False, "timeout": 3.0}
    with pytest.raises(sa.exc.ArgumentError):
        d.create_connect_args(make_url("postgresql+postpyro://u@h:1/db?host=a:2&host=b:3"))


def test_dollar_sql_numbers_placeholders_and_undoubles_percent():
    assert dollar_sql("SELECT %s, '100%%', a %% b FROM t WHERE c = %s") == \
        "SELECT $1, '100%', a % b FROM t WHERE c = $2"
    with pytest.raises(sa.exc.CompileError):
        dollar_sql("SELECT '5%' , %s")


def test_values_are_bound_on_the_server_not_written_into_sql(engine):
    hostile = "'); DROP TABLE x; -- 100% %s $1"
    seen = _sent(engine)
    with engine.connect() as c:
        got = c.execute(select(literal(hostile)).where(literal(1) == 1)).scalar()
        got2 = c.execute(text("SELECT :v || '%'"), {"v": hostile}).scalar()
    assert got == hostile and got2 == hostile + "%"
    sql, params = seen[0]
    assert "$1" in sql and "DROP" not in sql and hostile in params
    assert seen[1][0] == "SELECT $1 || '%'"


def test_exec_driver_sql_takes_postpyro_placeholders(engine):
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT $1::int + 1", (41,)).scalar() == 42


def test_expanding_in_and_select_list_literals(engine):
    with engine.connect() as c:
        rows = c.execute(select(func.generate_series(1, 5).column_valued("n"))
                         .where(text("n IN :ns").bindparams(
                             sa.bindparam("ns", expanding=True))),
                         {"ns": [2, 4]}).scalars().all()
        assert rows == [2, 4]
        assert c.execute(select(literal(5), literal(1.5), literal(None, Integer))).one() == \
            (5, 1.5, None)


# ---- RETURNING and executemany ---------------------------------------------------------

@pytest.fixture
def items(engine):
    md = MetaData()
    t = Table("items", md, Column("id", Integer, primary_key=True),
              Column("name", String(30), nullable=False), Column("n", Integer))
    md.create_all(engine)
    return t


def test_insert_returning(engine, items):
    with engine.begin() as c:
        r = c.execute(items.insert().returning(items.c.id, items.c.name), {"name": "a"})
        assert r.one() == (1, "a")


def test_executemany_with_returning_pages_rows_in_order(make_engine, items):
    e = make_engine(executemany_values_page_size=300)
    seen = _sent(e)
    rows = [{"name": "n%d" % i, "n": i} for i in range(1000)]
    with e.begin() as c:
        r = c.execute(items.insert().returning(items.c.id, items.c.n), rows)
        got = r.all()
    assert [n for _, n in got] == list(range(1000))
    assert [i for i, _ in got] == list(range(1, 1001))
    if _SQLA14:  # (2.0's insertmanyvalues makes its own rowcount)
        assert r.rowcount == 1000
    # one statement per page of 300 rows (1000 rows: 4 pages), each with $ placeholders:
    # under 1.4 the dialect makes the pages (SQLAlchemy sees one executemany), under 2.0
    # SQLAlchemy's insertmanyvalues does
    assert len(seen) == (1 if _SQLA14 else 4)


def test_orm_gets_generated_keys_of_many_objects(engine, items):
    Base = declarative_base()

    class Item(Base):
        __table__ = items
    with Session(engine) as s:
        objs = [Item(name="o%d" % i, n=i) for i in range(2500)]
        s.add_all(objs)
        s.commit()
        assert [o.id for o in objs] == list(range(1, 2501))


def test_executemany_without_returning_counts_every_row(engine, items):
    with engine.begin() as c:
        r = c.execute(items.insert(), [{"name": "x", "n": i} for i in range(500)])
        if _SQLA14:  # (2.0 inserts these with insertmanyvalues, see above)
            assert r.rowcount == 500
        r = c.execute(items.update().where(items.c.n < sa.bindparam("lim"))
                      .values(name="y"), [{"lim": 10}, {"lim": 20}])
        assert r.rowcount == 30


def test_update_rowcount_after_returning(engine, items):
    with engine.begin() as c:
        c.execute(items.insert(), [{"name": "a", "n": i} for i in range(3)])
        r = c.execute(items.update().values(n=items.c.n + 1).returning(items.c.id))
        assert len(r.all()) == 3 and r.rowcount == 3


def test_dialect_cursors_hand_sqlalchemy_plain_tuples(engine):
    # SQLAlchemy makes a tuple of every row it reads: free for a tuple, a copy for a Row
    with engine.connect() as c:
        r = c.exec_driver_sql("SELECT 1, 'a'")
        assert type(r.cursor.fetchone()) is tuple
        r.close()
        r = c.execution_options(stream_results=True).exec_driver_sql(
            "SELECT g FROM generate_series(1, 3) g")
        assert type(r.cursor.fetchone()) is tuple
        r.close()


# ---- server-side cursors ---------------------------------------------------------------

def test_stream_results_uses_a_server_side_cursor(engine):
    with engine.connect() as c:
        r = c.execution_options(stream_results=True, max_row_buffer=100).execute(
            select(func.generate_series(1, 10000)))
        assert isinstance(r.cursor, pg.stream.ServerCursor)
        assert r.cursor.name
        first = r.fetchmany(10)
        assert r.cursor.rowcount < 10000  # not read whole
        rest = r.scalars().all()
    assert [x for (x,) in first] + rest == list(range(1, 10001))


def test_yield_per_with_orm(engine, items):
    with engine.begin() as c:
        c.execute(items.insert(), [{"name": "a", "n": i} for i in range(50)])
    with Session(engine) as s:
        got = [n for (n,) in s.execute(select(items.c.n).order_by(items.c.n)
                                       .execution_options(yield_per=7))]
    assert got == list(range(50))


# ---- transactions ----------------------------------------------------------------------

@pytest.mark.parametrize("level", ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"])
def test_isolation_level(engine, level):
    with engine.connect().execution_options(isolation_level=level) as c:
        assert c.exec_driver_sql("SHOW transaction_isolation").scalar() == level.lower()
        assert c.get_isolation_level() == level
    with engine.connect() as c:  # given back to the pool at the default level
        assert c.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"


def test_autocommit_commits_each_statement(engine, items, admin, schema):
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        assert c.get_isolation_level() == "AUTOCOMMIT"
        c.execute(items.insert(), {"name": "auto"})
        # visible to another session at once: nothing waits for a COMMIT
        assert admin.query_one("SELECT count(*) FROM %s.items" % schema)[0] == 1
    with engine.connect() as c:
        assert c.connection.dbapi_connection.autocommit is False


def test_rollback_discards(engine, items):
    with engine.connect() as c:
        c.execute(items.insert(), {"name": "gone"})
        c.rollback()
        assert c.execute(select(func.count()).select_from(items)).scalar() == 0


def test_postgresql_readonly_and_deferrable(engine, items):
    with engine.connect().execution_options(postgresql_readonly=True) as c:
        with pytest.raises(sa.exc.InternalError, match="read-only"):
            c.execute(items.insert(), {"name": "no"})
    with engine.connect().execution_options(postgresql_deferrable=True) as c:
        assert c.exec_driver_sql("SHOW transaction_deferrable").scalar() == "on"
    with engine.connect() as c:  # both reset when the connection went back to the pool
        assert c.exec_driver_sql("SHOW transaction_read_only").scalar() == "off"
        assert c.exec_driver_sql("SHOW transaction_deferrable").scalar() == "off"


# ---- disconnects -----------------------------------------------------------------------

def _backend_pid(c):
    return c.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def test_killed_backend_is_a_disconnect_and_the_pool_discards_it(engine, admin):
    with engine.connect() as c:
        pid = _backend_pid(c)
    admin.execute("SELECT pg_terminate_backend($1)", [pid])
    with engine.connect() as c:
        with pytest.raises(sa.exc.DBAPIError) as info:
            c.exec_driver_sql("SELECT 1")
        assert info.value.connection_invalidated
    with engine.connect() as c:  # a new connection, not the dead one
        assert _backend_pid(c) != pid


def test_pool_pre_ping_replaces_a_dead_connection(make_engine, admin):
    e = make_engine(pool_pre_ping=True)
    with e.connect() as c:
        pid = _backend_pid(c)
    admin.execute("SELECT pg_terminate_backend($1)", [pid])
    with e.connect() as c:  # no error: the ping found it dead and the pool reconnected
        assert _backend_pid(c) != pid


def test_is_disconnect_says_no_for_ordinary_errors(engine):
    with engine.connect() as c:
        with pytest.raises(sa.exc.ProgrammingError) as info:
            c.exec_driver_sql("SELECT * FROM no_such_table")
        assert not info.value.connection_invalidated


# ---- types -----------------------------------------------------------------------------

def test_types_round_trip(engine):
    md = MetaData()
    t = Table("typed", md, Column("id", Integer, primary_key=True),
              Column("j", pgsa.JSON), Column("jb", pgsa.JSONB),
              Column("a", pgsa.ARRAY(Integer, dimensions=2)), Column("u", pgsa.UUID(as_uuid=True)),
              Column("us", pgsa.UUID(as_uuid=False)), Column("r", pgsa.INT4RANGE),
              Column("i", pgsa.INTERVAL), Column("num", Numeric(38, 18)),
              Column("f", sa.Float), Column("d", Date), Column("ts", DateTime(timezone=True)))
    md.create_all(engine)
    u = uuid.uuid4()
    num = decimal.Decimal("12345678901234567890.123456789012345678")
    ts = datetime.datetime(2024, 2, 29, 12, 0, tzinfo=datetime.timezone.utc)
    with engine.begin() as c:
        c.execute(t.insert(), {"id": 1, "j": {"a": [1, None]}, "jb": [1, "x"], "a": [[1, 2],
                               [3, None]], "u": u, "us": str(u), "r": pg.Range(1, 5),
                               "i": datetime.timedelta(days=3, seconds=5), "num": num,
                               "f": 1.5, "d": datetime.datetime(2020, 1, 2, 3, 4), "ts": ts})
        row = c.execute(select(t)).one()
        assert row.j == {"a": [1, None]} and row.jb == [1, "x"]
        assert row.a == [[1, 2], [3, None]]
        assert row.u == u and row.us == str(u)
        assert row.r == pg.Range(1, 5)
        assert row.i == datetime.timedelta(days=3, seconds=5)
        assert row.num == num and isinstance(row.num, decimal.Decimal)  # exact
        assert row.f == 1.5 and row.d == datetime.date(2020, 1, 2) and row.ts == ts
        # JSON path and index operators, array containment
        assert c.execute(select(t.c.jb[1], t.c.j["a"][0])).one() == ("x", 1)
        assert c.execute(select(t.c.id).where(t.c.jb.contains([1]))).scalar() == 1
        assert c.execute(select(t.c.id).where(t.c.a.contains([[5]]))).scalar() is None
        assert c.execute(select(t.c.id).where(t.c.a[1][2] == 2)).scalar() == 1


def test_hstore(engine, admin, schema):
    if not admin.query_one("SELECT count(*) FROM pg_extension WHERE extname = 'hstore'")[0]:
        pytest.skip("the hstore extension is not installed in the test database")
    md = MetaData()
    t = Table("hs", md, Column("h", pgsa.HSTORE))
    with engine.begin() as c:
        c.exec_driver_sql("SET LOCAL search_path = %s, public" % schema)
        md.create_all(c)
        c.execute(t.insert(), {"h": {"a": "1", "b": None}})
        assert c.execute(select(t.c.h)).scalar() == {"a": "1", "b": None}
        assert c.execute(select(t.c.h["a"])).scalar() == "1"


def test_numeric_as_float_and_float_as_decimal(engine):
    with engine.connect() as c:
        x = c.execute(select(sa.cast(literal("1.25"), Numeric(5, 2, asdecimal=False)))).scalar()
        y = c.execute(select(sa.cast(literal(0.5), sa.Float(asdecimal=True)))).scalar()
    assert x == 1.25 and isinstance(x, float)
    assert y == decimal.Decimal("0.5")


def test_enum_reflection(engine, schema):
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        c.exec_driver_sql("CREATE TABLE person (id int PRIMARY KEY, m mood)")
    insp = inspect(engine)
    col = {c["name"]: c for c in insp.get_columns("person", schema=schema)}["m"]
    assert isinstance(col["type"], pgsa.ENUM)
    assert list(col["type"].enums) == ["sad", "ok", "happy"]
    assert [e["name"] for e in insp.get_enums(schema=schema)] == ["mood"]
    person = Table("person", MetaData(), autoload_with=engine, schema=schema)
    with engine.begin() as c:
        c.execute(person.insert(), {"id": 1, "m": "happy"})
        assert c.execute(select(person.c.m)).scalar() == "happy"


def test_table_made_again_with_other_types_in_a_transaction(engine):
    # the statement cache must not keep the old table's parameter and result types
    for typ, value in ((Integer, 5), (String(10), "five"), (Date, datetime.date(2020, 5, 5))):
        md = MetaData()
        t = Table("again", md, Column("v", typ))
        md.drop_all(engine)
        md.create_all(engine)
        with engine.begin() as c:
            c.execute(t.insert(), {"v": value})
            assert c.execute(select(t.c.v).where(t.c.v == value)).scalar() == value


def test_ddl_leaves_a_connection_without_statement_cache_without_it(make_engine, schema):
    e = make_engine(connect_args={"statement_cache": False,
                                  "options": "-c search_path=%s" % schema})
    md = MetaData()
    t = Table("nocache", md, Column("v", Integer))
    md.create_all(e)  # DDL: the connections forget their statements ...
    with e.connect() as c:
        c.execute(t.insert(), {"v": 1})
        assert c.connection.dbapi_connection._sqla_ddl_seen > 0  # (it did forget)
        for _ in range(3):
            c.execute(select(t.c.v)).all()
        # ... and a connection without a cache did not get one
        n = c.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()
    assert n == 0


def test_server_notices_go_to_the_log(engine, caplog):
    caplog.set_level("INFO", logger="sqlalchemy.dialects.postgresql")
    with engine.connect() as c:
        c.exec_driver_sql("DO $$ BEGIN RAISE NOTICE 'hello from the server'; END $$")
    assert any("hello from the server" in r.getMessage() for r in caplog.records)


# ---- ORM: filter and join --------------------------------------------------------------

def test_orm_filter_and_join(engine):
    Base = declarative_base()

    class Author(Base):
        __tablename__ = "author"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))
        books = relationship("Book", back_populates="author")

    class Book(Base):
        __tablename__ = "book"
        id = Column(Integer, primary_key=True)
        title = Column(String(100))
        author_id = Column(ForeignKey("author.id"))
        author = relationship(Author, back_populates="books")

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Author(name="a%d" % i, books=[Book(title="t%d_%d" % (i, k))
                                                  for k in range(3)]) for i in range(20)])
        s.commit()
        got = s.execute(select(Book.title, Author.name).join(Book.author)
                        .where(Author.name.in_(["a3", "a7"])).order_by(Book.title)).all()
    assert got == [("t3_%d" % k, "a3") for k in range(3)] + \
        [("t7_%d" % k, "a7") for k in range(3)]


# ---- pandas (CPython: Debian has no pandas for PyPy) -----------------------------------

@pytest.mark.filterwarnings("ignore:Deprecated API features")  # pandas 1.5 on SQLAlchemy 1.4
@pytest.mark.skipif(platform.python_implementation() != "CPython",
                    reason="Debian's python3-pandas is for CPython only")
def test_pandas_read_sql_and_to_sql(make_engine):
    pd = pytest.importorskip("pandas", reason="python3-pandas is not installed")
    if not _SQLA14 and pd.__version__.startswith("1."):
        pytest.skip("pandas %s does not support SQLAlchemy 2" % pd.__version__)
    # pandas 1.5 runs strings on 1.4-style engines
    engine = make_engine(future=False) if _SQLA14 else make_engine()
    df = pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", None],
                       "price": [1.5, 2.25, 3.0]})
    assert df.to_sql("frame", engine, index=False) == 3
    back = pd.read_sql("SELECT * FROM frame ORDER BY id", engine)
    assert back.to_dict("list") == {"id": [1, 2, 3], "name": ["a", "b", None],
                                    "price": [1.5, 2.25, 3.0]}
    q = pd.read_sql(text("SELECT name FROM frame WHERE price > :p"), engine,
                    params={"p": 2})
    assert q["name"].tolist() == ["b", None]
