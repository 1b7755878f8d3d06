# SPDX-License-Identifier: MIT
"""Adapter maps per level: global, connection (conn.adapters), cursor (cursor.adapters)."""

import uuid

import pytest

import PostPyro as pg
import PostPyro.types as pgtypes
from conftest import dsn_with


def _available(admin, ext):
    return admin.query_one("SELECT count(*) FROM pg_available_extensions WHERE name = $1",
                           [ext])[0] == 1


@pytest.fixture
def two_databases(admin, dsn):
    """Two fresh databases with the same types (hstore, citext, an enum, a composite) made
    in an order that gives them different OIDs; yields a connection to each."""
    names = ["pp_ad_%s_%d" % (uuid.uuid4().hex[:8], k) for k in (1, 2)]
    conns = []
    try:
        for k, name in enumerate(names):
            admin.execute("CREATE DATABASE %s TEMPLATE template0" % name)
            c = pg.Connection(dsn_with(dsn, dbname=name))
            conns.append(c)
            if k == 1:  # shift the second database's OIDs
                c.execute("CREATE TYPE filler AS ENUM ('x'); CREATE TABLE filler_t (a int)")
            for ext in ("hstore", "citext"):
                if _available(admin, ext):
                    c.execute("CREATE EXTENSION %s" % ext)
            c.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
            c.execute("CREATE TYPE pair AS (a int, b text)")
        yield conns
    finally:
        for c in conns:
            c.close()
        for name in names:
            admin.execute("DROP DATABASE IF EXISTS %s" % name)


def test_two_databases_with_different_oids_for_the_same_types(admin, two_databases):
    a, b = two_databases
    kinds = ["mood", "pair"] + [e for e in ("hstore", "citext") if _available(admin, e)]
    infos = {}
    for c in (a, b):
        infos[c] = {name: c.adapters.register_type(c, name) for name in kinds}
    for name in kinds:  # the point: the same type has another OID in each database
        assert infos[a][name].oid != infos[b][name].oid, name
    pair_a, pair_b = infos[a]["pair"].python_type, infos[b]["pair"].python_type
    for c, pair in ((a, pair_a), (b, pair_b)):
        assert c.query_one("SELECT '{sad,happy}'::mood[]")[0] == ["sad", "happy"]
        assert c.query_one("SELECT '(1,x)'::pair")[0] == pair(1, "x")
        assert c.query_one("SELECT ARRAY['(2,y)'::pair]")[0] == [pair(2, "y")]
        assert c.query_one("SELECT $1::pair", [pair(3, "z")])[0] == pair(3, "z")
        if "hstore" in kinds:
            h = c.query_one("SELECT 'k=>v'::hstore")[0]
            assert type(h) is pg.Hstore and h == {"k": "v"}
        if "citext" in kinds:
            assert c.query_one("SELECT '{A,b}'::citext[]")[0] == ["A", "b"]
    # nothing leaked into the global map: a third connection sees text forms
    with pg.Connection(dsn_of(a)) as c:
        assert c.query_one("SELECT '(1,x)'::pair")[0] == "(1,x)"
        assert c.query_one("SELECT '{sad,happy}'::mood[]")[0] == "{sad,happy}"


def dsn_of(c):
    return "host=%s port=%s dbname=%s user=%s" % (
        c._info_str("host"), c._info_str("port"), c._info_str("dbname"), c._info_str("user"))


def test_a_connection_level_loader_stays_on_that_connection(conn, sdsn):
    conn.adapters.register_loader("int4", lambda v: v * 10)
    with pg.Connection(sdsn) as other:
        assert conn.query_one("SELECT 4")[0] == 40
        assert other.query_one("SELECT 4")[0] == 4
        assert conn.query_one("SELECT '{1,2}'::int4[]")[0] == [10, 20]


def test_a_cursor_level_registration_stays_on_that_cursor(conn):
    cur = conn.cursor()
    cur.adapters.register_loader("text", str.upper)
    cur.adapters.register_dumper(Tag, lambda t: t.name)
    cur.execute("SELECT 'abc'::text, $1::text", [Tag("t1")])
    assert cur.fetchone() == ("ABC", "T1")
    cur.executemany("SELECT $1::text", [[Tag("t2")]])
    assert conn.query_one("SELECT 'abc'::text")[0] == "abc"
    other = conn.cursor()
    other.execute("SELECT 'abc'::text")
    assert other.fetchone() == ("abc",)
    with pytest.raises(pg.ProgrammingError, match="cannot send a Python .*Tag"):
        conn.query("SELECT $1::text", [Tag("t3")])


class Tag:
    def __init__(self, name):
        self.name = name


def test_a_global_registration_reaches_connections_already_open(conn):
    pgtypes.register_loader("int2", lambda v: -v)
    try:
        assert conn.query_one("SELECT 5::int2")[0] == -5
        conn.adapters.register_loader("int2", lambda v: v + 100)  # the lower level wins
        assert conn.query_one("SELECT 5::int2")[0] == 105
    finally:
        pgtypes.register_loader("int2", None)
    assert conn.query_one("SELECT 5::int2")[0] == 105  # its own registration stays
    conn.adapters.register_loader("int2", None)        # removed at its level: none left
    assert conn.query_one("SELECT 5::int2")[0] == 5


def test_a_new_connection_shares_the_global_dicts_until_it_registers(conn):
    mine = conn.adapters.fresh()
    top = pgtypes.adapters().fresh()
    assert mine.parent is top
    assert mine.deep_loaders is top.deep_loaders and mine.dumpers is top.dumpers
    mine.register_dumper(Tag, lambda t: t.name)
    mine.fresh()
    assert mine.dumpers is not top.dumpers and Tag not in top.user_dumpers


@pytest.mark.parametrize("path", ["binary", "text"])
def test_removing_a_loader_removes_the_array_loader_it_added(conn, path):
    conn.execute("CREATE TYPE color AS ENUM ('red', 'green')")
    pgtypes.register_loader("color", str.upper, conn=conn)
    flags = 0 if path == "binary" else pg._ffi.lib.PP_EXEC_TEXT
    try:
        assert conn._rows("SELECT '{red,green}'::color[]", None, flags)[0][0] == \
            ["RED", "GREEN"]
    finally:
        pgtypes.register_loader(conn.query_one("SELECT 'color'::regtype::oid")[0], None)
    # as before the registration: the text form, not a list
    assert conn._rows("SELECT '{red,green}'::color[]", None, flags)[0][0] == "{red,green}"
    assert conn._rows("SELECT 'red'::color", None, flags)[0][0] == "red"


def test_removing_a_loader_of_a_built_in_type_keeps_its_arrays_lists(conn):
    pgtypes.register_loader("int4", lambda v: v + 1)
    try:
        assert conn.query_one("SELECT '{1,2}'::int4[]")[0] == [2, 3]
    finally:
        pgtypes.register_loader("int4", None)
    assert conn.query_one("SELECT '{1,2}'::int4[]")[0] == [1, 2]
