# SPDX-License-Identifier: MIT
"""A server that lies (tests/fakeserver.py): rows whose columns change in the middle of a
result, NUL bytes inside text values, an int4 that reads "12\\0junk". Every such answer raises
OperationalError (SQLSTATE 08P01, protocol violation, or libpq's own 08006) from the call that
received it, and the connection stays usable: the next statement works."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import TOP_SRCDIR, pg

FAKESERVER = os.path.join(TOP_SRCDIR, "tests", "fakeserver.py")

# SQL -> whether the library's own check answers (08P01) rather than libpq's (08006)
HOSTILE = {
    "SELECT 'shape_change_end'": True,      # final description differs from the rows'
    "SELECT 'shape_change_late'": True,     # the same after a first chunk of 50000 rows
    "SELECT 'shape_change_rows'": False,    # libpq refuses the rows after the second one
    "SELECT 'type_change'": False,
    "SELECT 'nul_text'": True,              # NUL inside a text value
    "SELECT 'nul_int'": True,               # int4 "12\0junk"
    "SELECT 'nul_text'; SELECT 1": True,    # the same through the simple-query protocol
    "SELECT 'nul_int'; SELECT 1": True,
    "SELECT 'nul_bin_short'": True,         # NUL inside a binary text value, wherever
    "SELECT 'nul_bin_word'": True,          # libpostpyro's copy of text looks for it
    "SELECT 'nul_bin_tail'": True,
    "SELECT 'nul_bin_long'": True,
}


@pytest.fixture(scope="module")
def fake_port():
    """The port of a fake server, stopped (stdin closed) after the module's tests."""
    proc = subprocess.Popen([sys.executable, FAKESERVER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    try:
        line = proc.stdout.readline()
        assert line.strip().isdigit(), "the fake server did not start"
        yield int(line)
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def fake_connect(port, **kwargs):
    return pg.Connection("host=127.0.0.1 port=%d user=fake dbname=fake sslmode=disable "
                         "gssencmode=disable connect_timeout=10" % port, **kwargs)


@pytest.mark.parametrize("sql", sorted(HOSTILE))
@pytest.mark.parametrize("autocommit", [True, False])
def test_query_raises_operational_error_and_connection_stays_usable(fake_port, sql,
                                                                    autocommit):
    with fake_connect(fake_port, autocommit=autocommit) as conn:
        for _ in range(2):  # the unnamed statement, then the cached one
            with pytest.raises(pg.OperationalError) as info:
                conn.query(sql)
            if HOSTILE[sql]:
                assert info.value.sqlstate == "08P01"
                assert "protocol violation" in str(info.value)
            assert not conn.closed
            assert conn.query("SELECT 1") == [(1,)]


@pytest.mark.parametrize("sql", ["SELECT 'shape_change_end'", "SELECT 'shape_change_late'",
                                 "SELECT 'nul_text'"])
def test_cursor_fetch_raises_operational_error(fake_port, sql):
    with fake_connect(fake_port, autocommit=True) as conn:
        cur = conn.cursor()
        with pytest.raises(pg.OperationalError):
            cur.execute(sql)
            cur.fetchall()
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]


def test_the_fake_server_answers_like_a_server(fake_port):
    """The baseline the hostile tests depend on: an ordinary statement works."""
    with fake_connect(fake_port, autocommit=True) as conn:
        assert conn.query("SELECT 1") == [(1,)]
        assert conn.query_one("SELECT 1")[0] == 1
