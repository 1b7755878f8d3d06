# SPDX-License-Identifier: MIT
"""The SQLAlchemy dialect postgresql+postpyro_async (PostPyro.sqlalchemy_async) under
sqlalchemy.ext.asyncio, against the real server. What it shares with the sync dialect
(compiling, types, RETURNING pages) is tested in test_sqlalchemy.py; SQLAlchemy's own dialect
suite runs separately (tests/sqlalchemy/run_suite.py)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

sa = pytest.importorskip("sqlalchemy", reason="python3-sqlalchemy is not installed")
pytest.importorskip("greenlet", reason="SQLAlchemy's asyncio support needs greenlet")

from sqlalchemy import (Column, ForeignKey, Integer, String, event, func, select,  # noqa
                        text)
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402
from sqlalchemy.orm import declarative_base, relationship, selectinload  # noqa: E402

import PostPyro as pg  # noqa: E402
import PostPyro.sqlalchemy_async  # noqa: E402,F401  (registers postgresql+postpyro_async)

from conftest import sqla_url  # noqa: E402

Base = declarative_base()


class Author(Base):
    __tablename__ = "author"
    id = Column(Integer, primary_key=True)
    name = Column(String(40), nullable=False)
    books = relationship("Book", back_populates="author")


class Book(Base):
    __tablename__ = "book"
    id = Column(Integer, primary_key=True)
    title = Column(String(80), nullable=False)
    pages = Column(Integer, nullable=False)
    author_id = Column(ForeignKey("author.id"), nullable=False)
    author = relationship("Author", back_populates="books")


def _url(dsn: str) -> str:
    return sqla_url(dsn, "postpyro_async")


@pytest.fixture
def schema(admin):
    name = "sqla_async_%s" % uuid.uuid4().hex[:12]
    admin.execute("CREATE SCHEMA %s" % name)
    yield name
    admin.execute("DROP SCHEMA %s CASCADE" % name)


@pytest.fixture
def run(dsn, schema):
    """run(coroutine function): runs ``fn(make_engine)`` on a fresh event loop, with a
    bound; every engine made is disposed of before the loop ends."""

    def go(fn, seconds=60):
        async def main():
            engines = []

            def make_engine(**kw):
                kw.setdefault("connect_args", {"options": "-c search_path=%s" % schema})
                e = create_async_engine(_url(dsn), **kw)
                engines.append(e)
                return e
            try:
                return await asyncio.wait_for(fn(make_engine), seconds)
            finally:
                for e in engines:
                    await e.dispose()
        return asyncio.run(main())
    return go


async def _pid(conn) -> int:
    return (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()


def test_url_names_the_async_dialect(run):
    from PostPyro.sqlalchemy_async import PGDialect_postpyro_async

    async def fn(make_engine):
        engine = make_engine()
        assert isinstance(engine.dialect, PGDialect_postpyro_async)
        assert engine.dialect.is_async and engine.dialect.driver == "postpyro_async"
        async with engine.connect() as c:
            raw = await c.get_raw_connection()
            assert isinstance(raw.driver_connection, pg.AsyncConnection)
            assert (await c.execute(select(sa.literal(41) + 1))).scalar() == 42
            # values are bound on the server: the SQL holds $1
            r = await c.exec_driver_sql("SELECT $1::text || 'x'", ("a'b",))
            assert r.scalar() == "a'bx"
    run(fn)


def test_rows_are_plain_tuples(run):
    # (as for the sync dialect: SQLAlchemy's tuple() of a tuple is free)
    async def fn(make_engine):
        engine = make_engine()
        async with engine.connect() as c:
            r = await c.exec_driver_sql("SELECT 1, 'a'")
            assert type(r.cursor.fetchone()) is tuple
            r = await c.stream(text("SELECT g FROM generate_series(1, 3) g"))
            assert [type(row._data) for row in await r.all()] == [tuple] * 3
    run(fn)


def test_orm_round_trip_with_filter_join_and_relationship(run):
    async def fn(make_engine):
        engine = make_engine()
        async with engine.begin() as c:
            await c.run_sync(Base.metadata.create_all)
        async with AsyncSession(engine, expire_on_commit=False) as s:
            authors = [Author(name="a%d" % i) for i in range(3)]
            s.add_all(authors)
            s.add_all([Book(title="t%d" % i, pages=i, author=authors[i % 3])
                       for i in range(300)])
            await s.commit()
            assert sorted(a.id for a in authors) == [1, 2, 3]  # keys came back
        async with AsyncSession(engine) as s:
            q = (select(Book.title, Author.name).join(Book.author)
                 .where(Book.pages >= 290, Author.name == "a1").order_by(Book.pages))
            assert (await s.execute(q)).all() == [("t292", "a1"), ("t295", "a1"),
                                                  ("t298", "a1")]
            a = (await s.execute(select(Author).where(Author.name == "a2")
                                 .options(selectinload(Author.books)))).scalar_one()
            assert len(a.books) == 100 and {b.pages % 3 for b in a.books} == {2}
            book = await s.get(Book, 1)
            book.title = "changed"
            await s.commit()
        async with AsyncSession(engine) as s:
            assert (await s.get(Book, 1)).title == "changed"
            await s.delete(await s.get(Book, 2))
            await s.rollback()
            assert await s.scalar(select(func.count()).select_from(Book)) == 300
    run(fn)


def test_transaction_ended_in_another_task(run):
    # SQLAlchemy ends `async with engine.begin()` in a task of its own (asyncio.shield):
    # the AsyncConnection's transaction must follow it, not wait for the first task
    async def fn(make_engine):
        engine = make_engine()
        async with engine.begin() as c:
            await c.execute(text("CREATE TABLE t (x int)"))
        async with engine.begin() as c:
            await c.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.connect() as c:
            assert (await c.execute(text("SELECT x FROM t"))).all() == [(1,)]
            await c.execute(text("INSERT INTO t VALUES (2)"))
            await asyncio.get_running_loop().create_task(c.rollback())
            assert (await c.execute(text("SELECT count(*) FROM t"))).scalar() == 1
    run(fn, seconds=20)


def test_stream_uses_a_server_side_cursor(run, admin):
    async def fn(make_engine):
        engine = make_engine()
        async with engine.connect() as c:
            result = await c.stream(
                text("SELECT g, repeat('x', 10) FROM generate_series(1, 2500) g"),
                execution_options={"max_row_buffer": 100})
            first = await result.fetchone()
            cursors = (await c.execute(text(
                "SELECT name, statement FROM pg_cursors WHERE name <> ''"))).all()
            assert len(cursors) == 1 and "generate_series" in cursors[0][1]
            rows = [first] + [r async for r in result]
            assert [r[0] for r in rows] == list(range(1, 2501))
            left = await c.execute(text("SELECT count(*) FROM pg_cursors WHERE name <> ''"))
            assert left.scalar() == 0
            await c.commit()
        # ORM: yield_per streams objects the same way
        async with engine.begin() as c:
            await c.run_sync(Base.metadata.create_all)
            await c.execute(Author.__table__.insert(), [{"name": "n%d" % i}
                                                         for i in range(250)])
        async with AsyncSession(engine) as s:
            names = [a.name async for a in await s.stream_scalars(
                select(Author).order_by(Author.id).execution_options(yield_per=40))]
            assert names == ["n%d" % i for i in range(250)]
    run(fn)


def test_stream_in_autocommit_mode(run):
    async def fn(make_engine):
        engine = make_engine(isolation_level="AUTOCOMMIT")
        async with engine.connect() as c:
            result = await c.stream(text("SELECT g FROM generate_series(1, 300) g"),
                                    execution_options={"max_row_buffer": 50})
            assert [r[0] async for r in result] == list(range(1, 301))
            await result.close()
            # its own transaction ended with the cursor
            status = await c.exec_driver_sql("SELECT count(*) FROM pg_cursors WHERE name <> ''")
            assert status.scalar() == 0
            raw = await c.get_raw_connection()
            assert raw.driver_connection.info()["transaction_status"] == "idle"
    run(fn)


@pytest.mark.parametrize("level", ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"])
def test_isolation_level(run, level):
    async def fn(make_engine):
        engine = make_engine(pool_size=1, max_overflow=0)
        async with engine.connect() as c:
            c2 = await c.execution_options(isolation_level=level)
            assert await c2.get_isolation_level() == level
            got = await c2.execute(text("SELECT current_setting('transaction_isolation')"))
            assert got.scalar().upper() == level
        async with engine.connect() as c:  # back in the pool: reset to the default
            assert await c.get_isolation_level() == "READ COMMITTED"
    run(fn)


def test_autocommit_commits_each_statement(run, admin, schema):
    async def fn(make_engine):
        engine = make_engine(isolation_level="AUTOCOMMIT")
        async with engine.connect() as c:
            assert await c.get_isolation_level() == "AUTOCOMMIT"
            await c.execute(text("CREATE TABLE t (x int)"))
            await c.execute(text("INSERT INTO t VALUES (7)"))
            # another session sees it at once: nothing waits for a COMMIT
            assert admin.query("SELECT x FROM %s.t" % schema) == [(7,)]
    run(fn)


def test_pool_pre_ping_replaces_a_dead_connection(run, admin):
    async def fn(make_engine):
        engine = make_engine(pool_pre_ping=True, pool_size=1, max_overflow=0)
        async with engine.connect() as c:
            pid = await _pid(c)
        admin.execute("SELECT pg_terminate_backend($1)", [pid])
        async with engine.connect() as c:  # the ping finds it dead: a new one, no error
            assert await _pid(c) != pid
    run(fn)


def test_killed_backend_is_a_disconnect_and_the_pool_discards_it(run, admin):
    async def fn(make_engine):
        engine = make_engine(pool_size=1, max_overflow=0)
        async with engine.connect() as c:
            pid = await _pid(c)
            await c.commit()
            admin.execute("SELECT pg_terminate_backend($1)", [pid])
            with pytest.raises(sa.exc.DBAPIError) as info:
                await c.execute(text("SELECT 1"))
            assert info.value.connection_invalidated
            assert isinstance(info.value.orig, pg.Error)
        async with engine.connect() as c:
            assert await _pid(c) != pid
    run(fn)


def test_cancelled_task_leaves_the_pool_usable(run, admin):
    async def fn(make_engine):
        # one connection only: if the cancelled task kept it, the next checkout would
        # time out
        engine = make_engine(pool_size=1, max_overflow=0, pool_timeout=10)
        async with engine.begin() as c:
            await c.run_sync(Base.metadata.create_all)

        async def slow():
            async with AsyncSession(engine) as s:
                s.add(Author(name="lost"))
                await s.flush()
                await s.execute(text("SELECT pg_sleep(30)"))
                await s.commit()

        task = asyncio.ensure_future(slow())
        for _ in range(200):  # until the statement runs on the server
            await asyncio.sleep(0.05)
            if admin.query("SELECT 1 FROM pg_stat_activity WHERE query = "
                           "'SELECT pg_sleep(30)' AND state = 'active'"):
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert engine.sync_engine.pool.checkedout() == 0
        async with AsyncSession(engine) as s:
            # the cancelled task's transaction was rolled back, its statement ended
            assert await s.scalar(select(func.count()).select_from(Author)) == 0
            s.add(Author(name="kept"))
            await s.commit()
        assert not admin.query("SELECT 1 FROM pg_stat_activity WHERE query = "
                               "'SELECT pg_sleep(30)' AND state = 'active'")
    run(fn, seconds=30)


def test_timeout_of_wait_for_cancels_the_statement(run):
    async def fn(make_engine):
        engine = make_engine(pool_size=1, max_overflow=0, pool_timeout=10)

        async def slow():
            async with engine.connect() as c:
                await c.execute(text("SELECT pg_sleep(30)"))

        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(slow(), 0.5)
        async with engine.connect() as c:
            assert (await c.execute(text("SELECT 5"))).scalar() == 5
    run(fn, seconds=30)


def test_failed_commit_raises(run):
    async def fn(make_engine):
        engine = make_engine()
        async with engine.begin() as c:
            await c.execute(text("CREATE TABLE p (id int PRIMARY KEY)"))
            await c.execute(text("CREATE TABLE ch (p int REFERENCES p "
                                 "DEFERRABLE INITIALLY DEFERRED)"))
        with pytest.raises(sa.exc.IntegrityError):
            async with engine.begin() as c:
                await c.execute(text("INSERT INTO ch VALUES (1)"))  # checked at COMMIT
        async with engine.connect() as c:
            assert (await c.execute(text("SELECT count(*) FROM ch"))).scalar() == 0
    run(fn)


def test_server_notices_go_to_the_log(run, caplog):
    async def fn(make_engine):
        engine = make_engine()
        async with engine.connect() as c:
            with caplog.at_level("INFO", logger="sqlalchemy.dialects.postgresql"):
                await c.execute(text("DO $$ BEGIN RAISE NOTICE 'hello async'; END $$"))
    run(fn)
    assert any("hello async" in r.getMessage() for r in caplog.records)


def test_events_and_run_async_on_the_raw_connection(run):
    async def fn(make_engine):
        engine = make_engine()
        seen = []

        @event.listens_for(engine.sync_engine, "connect")
        def on_connect(dbapi_connection, record):
            # SQLAlchemy's documented way to call the driver's coroutines from an event
            seen.append(dbapi_connection.run_async(
                lambda conn: conn.query_one("SELECT 'hi'::text"))[0])

        async with engine.connect() as c:
            await c.execute(text("SELECT 1"))
        assert seen == ["hi"]
    run(fn)
