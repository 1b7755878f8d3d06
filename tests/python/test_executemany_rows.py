# SPDX-License-Identifier: MIT
"""executemany's rows: plain tuples and lists take a path without a check per row
(_named.bind_many, _layout.dump_many); any other row still gets the per-row checks and
their messages."""

from __future__ import annotations

from collections import namedtuple

import pytest

import PostPyro as pg

SQL = "INSERT INTO many_rows VALUES ($1, $2)"


@pytest.fixture
def table(conn):
    conn.execute("CREATE TEMP TABLE many_rows (k int, t text)")
    return conn


def test_tuples_and_lists_mixed_are_all_inserted(table):
    assert table.executemany(SQL, [(1, "a"), [2, "b"], (3, None)]) == 3
    assert [tuple(r) for r in table.query("SELECT k, t FROM many_rows ORDER BY k")] == \
        [(1, "a"), (2, "b"), (3, None)]


def test_a_row_of_a_tuple_subclass_is_a_row(table):
    Row = namedtuple("Row", "k t")
    assert table.executemany(SQL, [(1, "a"), Row(2, "b")]) == 2


@pytest.mark.parametrize("bad", ["ab", 5, {1, 2}])
def test_a_later_row_of_another_type_is_refused(table, bad):
    with pytest.raises(pg.ProgrammingError, match="list or a tuple"):
        table.executemany(SQL, [(1, "a"), (2, "b"), bad])
    assert table.query_one("SELECT count(*) FROM many_rows")[0] == 0


def test_a_later_mapping_row_is_named(table):
    with pytest.raises(pg.ProgrammingError, match="row 2 is a mapping but row 0 is not"):
        table.executemany(SQL, [(1, "a"), (2, "b"), {"k": 3, "t": "c"}])
