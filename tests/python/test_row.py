# SPDX-License-Identifier: MIT
"""Row: a tuple that also answers by column name."""

import pickle

import pytest

import PostPyro as pg


@pytest.fixture
def row(conn):
    return conn.query_one("SELECT 1 AS id, 'x' AS name, NULL::text AS email")


def test_row_is_indexed_by_column_name(row):
    assert row["id"] == 1
    assert row["name"] == "x"
    assert row["email"] is None


def test_row_is_indexed_by_position_including_negative(row):
    assert row[0] == 1
    assert row[1] == "x"
    assert row[-1] is None


def test_row_supports_slicing(row):
    assert row[0:2] == (1, "x")


def test_unknown_column_name_raises_key_error(row):
    with pytest.raises(KeyError, match="nope"):
        row["nope"]


def test_position_out_of_range_raises_index_error(row):
    with pytest.raises(IndexError):
        row[3]


def test_len_is_the_number_of_columns(row):
    assert len(row) == 3


def test_iteration_gives_the_values(row):
    assert list(row) == [1, "x", None]


def test_get_returns_a_default_for_missing_columns(row):
    assert row.get("name") == "x"
    assert row.get("age", 0) == 0
    assert row.get("age") is None
    assert row.get(0) == 1
    assert row.get(10, "d") == "d"


def test_keys_values_items(row):
    assert row.keys() == ["id", "name", "email"]
    assert row.values() == [1, "x", None]
    assert row.items() == [("id", 1), ("name", "x"), ("email", None)]


def test_to_dict_and_dict_of_items(row):
    assert row.to_dict() == {"id": 1, "name": "x", "email": None}
    assert dict(row.items()) == row.to_dict()


def test_to_dict_returns_a_new_dict(row):
    d = row.to_dict()
    d["id"] = 2
    assert row["id"] == 1


def test_row_equals_the_tuple_of_its_values(row):
    assert row == (1, "x", None)
    assert isinstance(row, tuple)
    a, b, c = row
    assert (a, b, c) == (1, "x", None)


def test_contains_looks_at_values(row):
    assert "x" in row
    assert "name" not in row


def test_repr_shows_names_and_values(row):
    assert repr(row) == "Row(id=1, name='x', email=None)"


def test_rows_are_immutable(row):
    with pytest.raises(TypeError):
        row[0] = 2


def test_rows_have_no_per_instance_dict(row):
    assert not hasattr(row, "__dict__")


def test_rows_pickle(row):
    back = pickle.loads(pickle.dumps(row))
    assert back == row
    assert back["name"] == "x"
    assert back.keys() == row.keys()


def test_rows_of_one_result_share_their_class(conn):
    rows = conn.query("SELECT g AS n FROM generate_series(1, 3) g")
    assert type(rows[0]) is type(rows[2])
    assert [r["n"] for r in rows] == [1, 2, 3]


def test_duplicate_column_names_resolve_to_the_first(conn):
    row = conn.query_one("SELECT 1 AS a, 2 AS a, 3 AS b")
    assert row["a"] == 1
    assert len(row) == 3
    assert row.to_dict() == {"a": 1, "b": 3}


def test_rows_feed_pandas_style_constructors(conn):
    rows = conn.query("SELECT g AS id, 'n' || g AS name FROM generate_series(1, 2) g")
    records = [r.to_dict() for r in rows]
    assert records == [{"id": 1, "name": "n1"}, {"id": 2, "name": "n2"}]
    assert [dict(r.items()) for r in rows] == records


def test_row_class_is_exported():
    assert pg.Row.__name__ == "Row"
