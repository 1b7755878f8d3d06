#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""SQLAlchemy ORM workload, postgresql+postpyro side by side with postgresql+psycopg2.

    orm_bench.py --dsn DSN                 every interpreter x driver, a table with ratios
    orm_bench.py --dsn DSN --one DRIVER    one run in this interpreter (JSON on stdout)

The workload (SQLAlchemy 1.4 ORM, one Session): insert 10 000 mapped objects (100 authors,
9 900 books, each book pointing at an author; keys made by the server, so the ORM needs
them back: INSERT … RETURNING of many rows), commit; then query them back with a filter
and a join (``select(Book).join(Book.author).where(Author.name.like(…), Book.price > …)``,
every matching Book object built) and, in a second query, every book with its author
(``joinedload``). Each (interpreter, driver) pair is its own process; in it the workload
runs ``--warmup`` times untimed (PyPy's JIT needs several full runs of SQLAlchemy's ORM
before it is fast: the first run is reported apart, as "cold"), then ``--repeats`` times,
on fresh tables each time; the medians are reported (time.perf_counter around the work
only). The machine's load varies: compare ratios within one run of this script.

psycopg2 runs with SQLAlchemy's defaults (executemany_mode "values_only": INSERT … VALUES
pages of 1000 rows, like PostPyro's). Debian's psycopg2 is for CPython only: PyPy's
PostPyro is compared with CPython's psycopg2.
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


def url_for(driver, dsn):
    fields = dict(p.split("=", 1) for p in dsn.split())
    query = "host=%s" % fields.get("host", "127.0.0.1")
    if "port" in fields:
        query += "&port=%s" % fields["port"]
    return "postgresql+%s://%s@/%s?%s" % (driver, fields.get("user", "postgres"),
                                          fields.get("dbname", "postgres"), query)


def workload(engine, scale):
    from decimal import Decimal

    from sqlalchemy import Column, ForeignKey, Integer, Numeric, String, select
    from sqlalchemy.orm import Session, declarative_base, joinedload, relationship

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

    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    n_authors = max(1, N_AUTHORS // scale)
    n_books = N_BOOKS // scale

    c0, t0 = time.process_time(), time.perf_counter()
    with Session(engine) as s:
        authors = [Author(name="author %03d" % i) for i in range(n_authors)]
        s.add_all(authors)
        s.add_all(Book(title="book %d" % i, price=Decimal(i % 500) / 4, pages=100 + i % 900,
                       author=authors[i % n_authors]) for i in range(n_books))
        s.commit()
    t1 = time.perf_counter()
    with Session(engine) as s:
        found = s.execute(select(Book).join(Book.author)
                          .where(Author.name.like("author 0%"), Book.price > 10)
                          ).scalars().all()
        every = s.execute(select(Book).options(joinedload(Book.author))).scalars().all()
        check = sum(b.pages for b in found) + sum(len(b.author.name) for b in every)
    c2, t2 = time.process_time(), time.perf_counter()
    Base.metadata.drop_all(engine)
    assert len(every) == n_books and check > 0
    return t1 - t0, t2 - t1, c2 - c0


def one(driver, dsn, repeats, warmup):
    from sqlalchemy import create_engine
    if driver == "postpyro":
        import PostPyro.sqlalchemy  # noqa: F401  (registers the dialect)
    engine = create_engine(url_for(driver, dsn), future=True)
    cold = sum(workload(engine, 1)[:2])
    for _ in range(warmup - 1):
        workload(engine, 1)
    inserts, queries, cpu = [], [], []
    for _ in range(repeats):
        a, b, c = workload(engine, 1)
        inserts.append(a)
        queries.append(b)
        cpu.append(c)
    engine.dispose()
    return {"driver": driver, "interpreter": platform.python_implementation(),
            "insert": statistics.median(inserts), "query": statistics.median(queries),
            "total": statistics.median(a + b for a, b in zip(inserts, queries)),
            "cold": cold, "cpu": statistics.median(cpu)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--one")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=8)
    ap.add_argument("--pypy", default=shutil.which("pypy3"))
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.dsn, args.repeats, args.warmup)))
        return 0
    runs = [(sys.executable, "postpyro"), (sys.executable, "psycopg2")]
    if args.pypy:
        runs.append((args.pypy, "postpyro"))
    env = dict(os.environ, SQLALCHEMY_SILENCE_UBER_WARNING="1")
    cpython_env = dict(env)
    if args.pypy:  # PyPy finds SQLAlchemy in Debian's CPython tree (pure Python)
        env["PYTHONPATH"] = env.get("PYTHONPATH", "") + ":/usr/lib/python3/dist-packages"
    results = []
    for exe, driver in runs:
        out = subprocess.run([exe, os.path.abspath(__file__), "--dsn", args.dsn, "--one",
                              driver, "--repeats", str(args.repeats), "--warmup",
                              str(args.warmup)],
                             env=env if "pypy" in os.path.basename(exe) else cpython_env,
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    ref = next(r for r in results if r["driver"] == "psycopg2")
    print("SQLAlchemy %s ORM: insert %d objects in one session, then query them back "
          "(filter + join); median of %d after %d untimed runs"
          % (__import__("sqlalchemy").__version__, N_AUTHORS + N_BOOKS, args.repeats,
             args.warmup))
    print()
    print("| interpreter | driver | insert s | query s | total s | vs CPython psycopg2 "
          "| client CPU s | CPU vs CPython psycopg2 | cold first run s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print("| %s | %s | %.3f | %.3f | %.3f | %.2fx | %.3f | %.2fx | %.2f |" % (
            r["interpreter"], r["driver"], r["insert"], r["query"], r["total"],
            r["total"] / ref["total"], r["cpu"], r["cpu"] / ref["cpu"], r["cold"]))
    print()
    print("total: wall-clock time of insert + query; client CPU: this process's CPU time "
          "for the same (the server's work is not in it; on a loaded machine it is the "
          "steadier number)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
