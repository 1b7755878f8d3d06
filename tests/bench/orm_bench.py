#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""SQLAlchemy ORM workload, postgresql+postpyro side by side with postgresql+psycopg2, and
postgresql+postpyro_async (sqlalchemy.ext.asyncio) with postgresql+asyncpg.

    orm_bench.py --dsn DSN                 every interpreter x driver, a table with ratios
    orm_bench.py --dsn DSN --one DRIVER    one run in this interpreter (JSON on stdout)
    orm_bench.py --dsn DSN --alternate N   in this one process, the drivers' runs in turn

The workload (SQLAlchemy's ORM, one Session): insert 10 000 mapped objects (100 authors,
9 900 books, each book pointing at an author; keys made by the server, so the ORM needs
them back: INSERT … RETURNING of many rows), commit; then query them back with a filter
and a join (``select(Book).join(Book.author).where(Author.name.like(…), Book.price > …)``,
every matching Book object built) and, in a second query, every book with its author
(``joinedload``). Each (interpreter, driver) pair is its own process; in it the workload
runs ``--warmup`` times untimed (PyPy's JIT needs several full runs of SQLAlchemy's ORM
before it is fast: the first run is reported apart, as "cold"), then ``--repeats`` times,
on the same tables emptied (TRUNCATE) before each run; the whole is done ``--rounds``
times, the processes in turn. The best (least disturbed) run is reported, and the median
(time.perf_counter around the work only). A second, smaller table: the same books through
SQLAlchemy Core, where the driver's share of the time is larger. The machine's load
varies: compare ratios within one run of this script.

psycopg2 runs with SQLAlchemy's defaults (executemany_mode "values_only": INSERT … VALUES
pages of 1000 rows, like PostPyro's). Debian's psycopg2 and asyncpg are for CPython only:
PyPy's PostPyro is compared with CPython's psycopg2 (and asyncpg).

The async drivers run the same ORM work through AsyncSession (``--no-async`` leaves them out).
``--alternate N``: one process, each driver's engine in it, N runs of each in turn after a
warm-up (psycopg2's and PostPyro's; then asyncpg's and PostPyro's async): every run meets the
same heap, garbage collector and machine load, which separate processes do not — on a loaded
machine the steadier comparison.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

N_AUTHORS = 100
N_BOOKS = 9900
ASYNC_DRIVERS = ("postpyro_async", "asyncpg")

sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))  # tests/
from pypy_greenlet import use_pypy_greenlet  # noqa: E402


def url_for(driver, dsn):
    fields = dict(p.split("=", 1) for p in dsn.split())
    if driver == "asyncpg":  # (its connect() takes host and port as they are)
        return "postgresql+asyncpg://%s@/%s?host=%s&port=%s" % (
            fields.get("user", "postgres"), fields.get("dbname", "postgres"),
            fields.get("host", "127.0.0.1"), fields.get("port", "5432"))
    query = "host=%s" % fields.get("host", "127.0.0.1")
    if "port" in fields:
        query += "&port=%s" % fields["port"]
    return "postgresql+%s://%s@/%s?%s" % (driver, fields.get("user", "postgres"),
                                          fields.get("dbname", "postgres"), query)


def model():
    """The mapped classes (and their tables): authors and their books."""
    from sqlalchemy import Column, ForeignKey, Integer, Numeric, String
    from sqlalchemy.orm import declarative_base, relationship

    Base = declarative_base()

    class Author(Base):
        __tablename__ = "bench_author"
        id = Column(Integer, primary_key=True)
        name = Column(String(50), nullable=False)
        books = relationship("Book", back_populates="author")

    class Book(Base):
        __tablename__ = "bench_book"
        id = Column(Integer, primary_key=True)
        title = Column(String(100), nullable=False)
        price = Column(Numeric(10, 2), nullable=False)
        pages = Column(Integer)
        author_id = Column(ForeignKey("bench_author.id"), nullable=False, index=True)
        author = relationship(Author, back_populates="books")

    return Base, Author, Book


def workload(engine, classes):
    """One ORM run on empty tables: (insert seconds, query seconds, client CPU seconds)."""
    from decimal import Decimal

    from sqlalchemy import select
    from sqlalchemy.orm import Session, joinedload

    Base, Author, Book = classes
    with engine.begin() as c:  # empty tables, keys from 1 again (untimed)
        c.exec_driver_sql("TRUNCATE bench_book, bench_author RESTART IDENTITY")
    c0, t0 = time.process_time(), time.perf_counter()
    with Session(engine) as s:
        authors = [Author(name="author %03d" % i) for i in range(N_AUTHORS)]
        s.add_all(authors)
        s.add_all([Book(title="book %d" % i, price=Decimal(i % 500) / 4, pages=100 + i % 900,
                        author=authors[i % N_AUTHORS]) for i in range(N_BOOKS)])
        s.commit()
    t1 = time.perf_counter()
    with Session(engine) as s:
        found = s.execute(select(Book).join(Book.author)
                          .where(Author.name.like("author 0%"), Book.price > 10)
                          ).scalars().all()
        every = s.execute(select(Book).options(joinedload(Book.author))).scalars().all()
        check = sum(b.pages for b in found) + sum(len(b.author.name) for b in every)
    c2, t2 = time.process_time(), time.perf_counter()
    assert len(every) == N_BOOKS and check > 0
    return t1 - t0, t2 - t1, c2 - c0


async def workload_async(engine, classes):
    """workload() through sqlalchemy.ext.asyncio (engine: an AsyncEngine)."""
    from decimal import Decimal

    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import joinedload

    Base, Author, Book = classes
    async with engine.begin() as c:
        await c.exec_driver_sql("TRUNCATE bench_book, bench_author RESTART IDENTITY")
    c0, t0 = time.process_time(), time.perf_counter()
    async with AsyncSession(engine) as s:
        authors = [Author(name="author %03d" % i) for i in range(N_AUTHORS)]
        s.add_all(authors)
        s.add_all([Book(title="book %d" % i, price=Decimal(i % 500) / 4, pages=100 + i % 900,
                        author=authors[i % N_AUTHORS]) for i in range(N_BOOKS)])
        await s.commit()
    t1 = time.perf_counter()
    async with AsyncSession(engine) as s:
        found = (await s.execute(select(Book).join(Book.author)
                                 .where(Author.name.like("author 0%"), Book.price > 10))
                 ).scalars().all()
        every = (await s.execute(select(Book).options(joinedload(Book.author)))
                 ).scalars().all()
        check = sum(b.pages for b in found) + sum(len(b.author.name) for b in every)
    c2, t2 = time.process_time(), time.perf_counter()
    assert len(every) == N_BOOKS and check > 0
    return t1 - t0, t2 - t1, c2 - c0


def core_workload(engine, classes):
    """The same rows through SQLAlchemy Core (no ORM): one executemany of the books with
    RETURNING of their keys, then every book read back. (seconds, client CPU seconds)"""
    from decimal import Decimal

    from sqlalchemy import select

    book = classes[2].__table__
    with engine.begin() as c:
        c.exec_driver_sql("TRUNCATE bench_book RESTART IDENTITY")
    rows = [{"title": "book %d" % i, "price": Decimal(i % 500) / 4, "pages": 100 + i % 900,
             "author_id": 1 + i % N_AUTHORS} for i in range(N_BOOKS)]
    c0, t0 = time.process_time(), time.perf_counter()
    with engine.begin() as c:
        ids = c.execute(book.insert().returning(book.c.id), rows).all()
        back = c.execute(select(book)).all()
    c1, t1 = time.process_time(), time.perf_counter()
    assert len(ids) == len(back) == N_BOOKS
    return t1 - t0, c1 - c0


def one(driver, dsn, repeats, warmup):
    if driver in ASYNC_DRIVERS:
        import asyncio
        return asyncio.run(one_async(driver, dsn, repeats, warmup))
    from sqlalchemy import create_engine
    if driver == "postpyro":
        import PostPyro.sqlalchemy  # noqa: F401  (registers the dialect)
    engine = create_engine(url_for(driver, dsn), future=True)
    classes = model()
    classes[0].metadata.drop_all(engine)
    classes[0].metadata.create_all(engine)
    with engine.begin() as c:  # the authors the Core workload's books point at
        c.execute(classes[1].__table__.insert(),
                  [{"name": "author %03d" % i} for i in range(N_AUTHORS)])
    cold = sum(core_workload(engine, classes)[:1]) + sum(workload(engine, classes)[:2])
    for _ in range(warmup - 1):
        core_workload(engine, classes)
        workload(engine, classes)
    inserts, queries, cpu, core, core_cpu = [], [], [], [], []
    for _ in range(repeats):
        a, b = core_workload(engine, classes)
        core.append(a)
        core_cpu.append(b)
        a, b, c = workload(engine, classes)
        inserts.append(a)
        queries.append(b)
        cpu.append(c)
    classes[0].metadata.drop_all(engine)
    engine.dispose()
    return {"driver": driver, "interpreter": platform.python_implementation(),
            "insert": inserts, "query": queries,
            "total": [a + b for a, b in zip(inserts, queries)],
            "cold": cold, "cpu": cpu, "core": core, "core_cpu": core_cpu}


async def one_async(driver, dsn, repeats, warmup):
    """one() for an async driver (no Core table)."""
    from sqlalchemy.ext.asyncio import create_async_engine
    if driver == "postpyro_async":
        import PostPyro.sqlalchemy_async  # noqa: F401  (registers the dialect)
    engine = create_async_engine(url_for(driver, dsn))
    classes = model()
    async with engine.begin() as c:
        await c.run_sync(classes[0].metadata.drop_all)
        await c.run_sync(classes[0].metadata.create_all)
    cold = sum((await workload_async(engine, classes))[:2])
    for _ in range(warmup - 1):
        await workload_async(engine, classes)
    inserts, queries, cpu = [], [], []
    for _ in range(repeats):
        a, b, c = await workload_async(engine, classes)
        inserts.append(a)
        queries.append(b)
        cpu.append(c)
    async with engine.begin() as c:
        await c.run_sync(classes[0].metadata.drop_all)
    await engine.dispose()
    return {"driver": driver, "interpreter": platform.python_implementation(),
            "insert": inserts, "query": queries,
            "total": [a + b for a, b in zip(inserts, queries)],
            "cold": cold, "cpu": cpu, "core": [], "core_cpu": []}


def _importable(name):
    """Whether the driver loads here (Debian's psycopg2 and asyncpg are CPython's only)."""
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def alternate(dsn, n, warmup, with_async):
    """--alternate: the drivers' engines in this one process, n runs each in turn (the
    order flipped every time) after ``warmup`` runs each; prints medians and ratios."""
    import asyncio

    from sqlalchemy import create_engine
    from sqlalchemy.ext.asyncio import create_async_engine

    import PostPyro.sqlalchemy  # noqa: F401
    classes = model()
    rows = []

    def report(pair, times):
        ref = pair[1] if pair[1] in times else pair[0]
        for d in pair:
            if d in times:
                wall = statistics.median(times[d][0])
                cpu = statistics.median(times[d][1])
                rows.append((d, wall, cpu, wall / statistics.median(times[ref][0]),
                             cpu / statistics.median(times[ref][1]), ref))

    pair = ("postpyro", "psycopg2")
    engines = {d: create_engine(url_for(d, dsn), future=True)
               for d in pair if d == "postpyro" or _importable(d)}
    first = engines["postpyro"]
    classes[0].metadata.drop_all(first)
    classes[0].metadata.create_all(first)
    times = {d: ([], []) for d in engines}
    for i in range(warmup + n):
        for d, e in (list(engines.items())[::1 if i % 2 else -1]):
            a, b, c = workload(e, classes)
            if i >= warmup:
                times[d][0].append(a + b)
                times[d][1].append(c)
    for e in engines.values():
        e.dispose()
    report(pair, times)

    async def go():
        import PostPyro.sqlalchemy_async  # noqa: F401
        pair = ASYNC_DRIVERS
        engines = {d: create_async_engine(url_for(d, dsn))
                   for d in pair if d == "postpyro_async" or _importable(d)}
        times = {d: ([], []) for d in engines}
        for i in range(warmup + n):
            for d, e in (list(engines.items())[::1 if i % 2 else -1]):
                a, b, c = await workload_async(e, classes)
                if i >= warmup:
                    times[d][0].append(a + b)
                    times[d][1].append(c)
        for e in engines.values():
            await e.dispose()
        report(pair, times)
    if with_async:
        asyncio.run(go())
    classes[0].metadata.drop_all(first)
    first.dispose()
    print("%s %s, one process, %d runs of each driver in turn after %d warm-up runs"
          % (platform.python_implementation(), sys.version.split()[0], n, warmup))
    print()
    print("| driver | median total s | median client CPU s | wall vs | CPU vs | vs |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %.3f | %.3f | %.2fx | %.2fx | %s |" % r)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--one")
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2,
                    help="run every (interpreter, driver) process this many times, in turn")
    ap.add_argument("--pypy", default=shutil.which("pypy3"))
    ap.add_argument("--no-async", dest="with_async", action="store_false",
                    help="leave out postgresql+postpyro_async and postgresql+asyncpg")
    ap.add_argument("--alternate", type=int, metavar="N",
                    help="in this one process: N runs of each driver in turn")
    args = ap.parse_args()
    use_pypy_greenlet()  # (before SQLAlchemy is imported)
    if args.alternate:
        return alternate(args.dsn, args.alternate, args.warmup, args.with_async)
    if args.one:
        print(json.dumps(one(args.one, args.dsn, args.repeats, args.warmup)))
        return 0
    runs = [(sys.executable, "postpyro"), (sys.executable, "psycopg2")]
    if args.with_async:
        runs += [(sys.executable, "postpyro_async"), (sys.executable, "asyncpg")]
    if args.pypy:
        runs.append((args.pypy, "postpyro"))
        if args.with_async:
            runs.append((args.pypy, "postpyro_async"))
    env = dict(os.environ, SQLALCHEMY_SILENCE_UBER_WARNING="1")
    cpython_env = dict(env)
    if args.pypy:  # PyPy finds SQLAlchemy in Debian's CPython tree (pure Python)
        env["PYTHONPATH"] = env.get("PYTHONPATH", "") + ":/usr/lib/python3/dist-packages"
    results = []
    for round_ in range(args.rounds):  # in turn, so that the machine's load falls on all
        for k, (exe, driver) in enumerate(runs):
            out = subprocess.run([exe, os.path.abspath(__file__), "--dsn", args.dsn, "--one",
                                  driver, "--repeats", str(args.repeats), "--warmup",
                                  str(args.warmup)],
                                 env=env if "pypy" in os.path.basename(exe) else cpython_env,
                                 check=True, stdout=subprocess.PIPE, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            if round_ == 0:
                results.append(r)
            else:
                for key in ("insert", "query", "total", "cpu", "core", "core_cpu"):
                    results[k][key] += r[key]
                results[k]["cold"] = min(results[k]["cold"], r["cold"])
    for r in results:  # best (the least disturbed) and median of every timed run
        for key in ("insert", "query", "total", "cpu", "core", "core_cpu"):
            if r[key]:
                r[key + "_median"] = statistics.median(r[key])
                r[key] = min(r[key])
    ref = next(r for r in results if r["driver"] == "psycopg2")
    aref = next((r for r in results if r["driver"] == "asyncpg"), ref)
    print("SQLAlchemy %s ORM: insert %d objects in one session, then query them back "
          "(filter + join); best of %d runs (%d processes x %d, each after %d untimed runs)"
          % (__import__("sqlalchemy").__version__, N_AUTHORS + N_BOOKS,
             args.rounds * args.repeats, args.rounds, args.repeats, args.warmup))
    print()
    print("| interpreter | driver | insert s | query s | total s | vs CPython psycopg2 "
          "| median total s | vs | client CPU s | vs | median CPU s | vs | median vs CPython "
          "asyncpg (wall, CPU) | cold first run s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        vs_async = ("%.2fx, %.2fx" % (r["total_median"] / aref["total_median"],
                                      r["cpu_median"] / aref["cpu_median"])
                    if r["driver"] in ASYNC_DRIVERS and aref is not ref else "")
        print("| %s | %s | %.3f | %.3f | %.3f | %.2fx | %.3f | %.2fx | %.3f | %.2fx | %.3f "
              "| %.2fx | %s | %.2f |" % (
                  r["interpreter"], r["driver"], r["insert"], r["query"], r["total"],
                  r["total"] / ref["total"], r["total_median"],
                  r["total_median"] / ref["total_median"], r["cpu"], r["cpu"] / ref["cpu"],
                  r["cpu_median"], r["cpu_median"] / ref["cpu_median"], vs_async, r["cold"]))
    print()
    print("total: wall-clock time of insert + query (best run, then the median); client CPU: "
          "this process's CPU time for the same (the server's work is not in it; on a loaded "
          "machine it is the steadier number); cold: the first ORM (+ Core) run of the "
          "process, untimed above")
    print()
    print("Core (no ORM): executemany of %d books with RETURNING, then all read back"
          % N_BOOKS)
    print()
    print("| interpreter | driver | s | vs CPython psycopg2 | median s | client CPU s "
          "| CPU vs CPython psycopg2 |")
    print("|---|---|---|---|---|---|---|")
    for r in (r for r in results if r["driver"] not in ASYNC_DRIVERS):
        print("| %s | %s | %.3f | %.2fx | %.3f | %.3f | %.2fx |" % (
            r["interpreter"], r["driver"], r["core"], r["core"] / ref["core"],
            r["core_median"], r["core_cpu"], r["core_cpu"] / ref["core_cpu"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
