# SPDX-License-Identifier: MIT
"""A real streaming replica (pg_basebackup -R) of a server of our own: multi-host connection
strings choose by target_session_attrs and load_balance_hosts, a standby refuses writes with
ReadOnlySqlTransaction, and a failover (stop the primary, pg_promote() the standby) looks to
the application like this: the statement that was cut fails with a clear error
(CommitUnknown for a COMMIT), a new connection on the same multi-host string reaches the
new primary and writes, and every commit acknowledged before the failover is there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import PostPyro as pg

from ownserver import as_server_user, own_server, server_env, wait_until_up


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Standby:
    """A streaming replica of `primary`, made with pg_basebackup -R, in its own temp dir."""

    def __init__(self, primary) -> None:
        base = os.path.dirname(primary.dir)
        self.dir = tempfile.mkdtemp(prefix="pp-standby.", dir=base)
        self.data = os.path.join(self.dir, "data")
        self.bindir = primary.bindir
        primary.chown(self.dir)
        os.chmod(self.dir, 0o700)
        self.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U",
                 "postgres", "-D", self.data, "-R", "-X", "stream", "-c", "fast", "--no-sync")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\nunix_socket_directories = '%s'\nhot_standby = on\n" % self.dir)
        for attempt in range(5):
            self.port = _free_port()
            try:
                self.pg_ctl("-o", "-p %d" % self.port, "-w", "-t", "60", "start")
                break
            except subprocess.CalledProcessError:
                if attempt == 4:
                    raise
        self.unix = "host=%s port=%d dbname=postpyro_test user=postgres" % (self.dir,
                                                                           self.port)

    def run(self, prog: str, *args: str) -> None:
        subprocess.run(as_server_user([os.path.join(self.bindir, prog)] + list(args)),
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120, cwd=self.dir, env=server_env())

    def pg_ctl(self, *args: str) -> None:
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "server.log"),
                 *args)

    def close(self) -> None:
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            try:
                self.pg_ctl("-m", "fast", "-w", "-t", "30", "stop")
            except subprocess.CalledProcessError:
                self.pg_ctl("-m", "immediate", "-w", "-t", "10", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for_replay(primary_dsn: str, standby_dsn: str) -> None:
    """Until the standby has replayed everything the primary wrote so far."""
    with pg.Connection(primary_dsn) as p:
        # a commit that wrote WAL, with synchronous_commit on, flushes the WAL before it: the
        # walsender sends only flushed WAL, and the test server commits asynchronously
        p.execute("SET synchronous_commit = on")
        p.execute("CREATE TEMP TABLE pp_flush ()")
        lsn = p.query_one("SELECT pg_current_wal_flush_lsn()::text")[0]
    with pg.Connection(standby_dsn) as s:
        for _ in range(300):
            if s.query_one("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", [lsn])[0]:
                return
            time.sleep(0.1)
    pytest.fail("the standby did not catch up within 30 s")


@pytest.fixture(scope="module")
def pair():
    """{"primary": Server, "standby": Standby, "hosts": "host=… port=P,S"}."""
    with own_server("pp-primary.") as primary:
        if not os.access(os.path.join(primary.bindir, "pg_basebackup"), os.X_OK):
            pytest.fail("no pg_basebackup next to %s" % primary.bindir, pytrace=False)
        primary.hba("host replication all 127.0.0.1/32 trust")
        primary.reload()
        primary.sql("CREATE TABLE ledger (id int PRIMARY KEY, note text)")
        standby = Standby(primary)
        try:
            wait_for_replay(primary.unix, standby.unix)
            yield {"primary": primary, "standby": standby,
                   "hosts": "host=127.0.0.1,127.0.0.1 port=%d,%d dbname=postpyro_test "
                            "user=postgres connect_timeout=5" % (primary.port, standby.port),
                   "hosts_standby_first": "host=127.0.0.1,127.0.0.1 port=%d,%d "
                            "dbname=postpyro_test user=postgres connect_timeout=5"
                            % (standby.port, primary.port)}
        finally:
            standby.close()


def in_recovery(c: pg.Connection) -> bool:
    return c.query_one("SELECT pg_is_in_recovery()")[0]


def test_the_standby_replicates_and_refuses_writes(pair):
    pair["primary"].sql("INSERT INTO ledger VALUES (1, 'before')")
    wait_for_replay(pair["primary"].unix, pair["standby"].unix)
    with pg.Connection(pair["standby"].unix) as s:
        assert in_recovery(s)
        assert s.query("SELECT id, note FROM ledger")[0].values() == [1, "before"]
        with pytest.raises(pg.errors.ReadOnlySqlTransaction) as info:
            s.execute("INSERT INTO ledger VALUES (2, 'on the standby')")
        assert info.value.sqlstate == "25006"
        assert isinstance(info.value, pg.InternalError)
        assert s.query_one("SELECT 1")[0] == 1  # still usable


@pytest.mark.parametrize("attrs, on_standby", [
    ("any", None), ("read-write", False), ("read-only", True), ("primary", False),
    ("standby", True), ("prefer-standby", True)])
@pytest.mark.parametrize("order", ["hosts", "hosts_standby_first"])
def test_target_session_attrs_picks_the_right_server(pair, attrs, on_standby, order):
    with pg.Connection(pair[order] + " target_session_attrs=" + attrs) as c:
        if on_standby is None:  # any: the first host that answers
            assert in_recovery(c) is (order == "hosts_standby_first")
        else:
            assert in_recovery(c) is on_standby
        assert c.info()["port"] == int(c.query_one("SELECT current_setting('port')")[0])


def test_prefer_standby_falls_back_to_the_primary(pair):
    only_primary = "host=127.0.0.1,127.0.0.1 port=%d,%d dbname=postpyro_test user=postgres" % (
        _free_port(), pair["primary"].port)
    with pg.Connection(only_primary + " target_session_attrs=prefer-standby") as c:
        assert not in_recovery(c)
    with pytest.raises(pg.OperationalError):
        pg.Connection(only_primary + " target_session_attrs=standby connect_timeout=5")


def test_load_balance_hosts(pair):
    dsn = pair["hosts"] + " load_balance_hosts=random"
    if pg.libpq_version() < 160000:
        # libpq 15 does not know the option: a clear error, before any connection
        with pytest.raises(pg.OperationalError, match="load_balance_hosts"):
            pg.Connection(dsn)
        return
    seen = set()
    for _ in range(40):
        with pg.Connection(dsn) as c:
            seen.add(in_recovery(c))
        if seen == {True, False}:
            break
    assert seen == {True, False}
    for _ in range(5):  # disable: always the first host
        with pg.Connection(pair["hosts"] + " load_balance_hosts=disable") as c:
            assert not in_recovery(c)


def test_failover(pair):
    """Must run last in this module: the primary is gone afterwards."""
    primary, standby = pair["primary"], pair["standby"]
    rw = pair["hosts"] + " target_session_attrs=read-write"
    primary.sql("CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$; "
                "CREATE TABLE slow (id int); CREATE CONSTRAINT TRIGGER slow_commit AFTER "
                "INSERT ON slow DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE "
                "FUNCTION slow_commit()")
    acked = []
    with pg.Connection(rw) as c:
        for i in range(100, 200):
            c.execute("INSERT INTO ledger VALUES ($1, 'acked')", [i])
            acked.append(i)
    idle = pg.Connection(rw)
    in_tx = pg.Connection(rw)
    tx = in_tx.begin()
    tx.execute("INSERT INTO ledger VALUES (500, 'never committed')")
    committing = pg.Connection(rw, autocommit=False)
    outcome = {}

    def commit() -> None:  # a transaction belongs to its thread: all of it here
        committing.execute("INSERT INTO slow VALUES (1)")
        committing.execute("INSERT INTO ledger VALUES (600, 'commit cut')")
        outcome["started"] = time.monotonic()
        try:
            committing.commit()
            outcome["commit"] = None
        except pg.Error as exc:
            outcome["commit"] = exc

    t = threading.Thread(target=commit, daemon=True)
    t.start()
    time.sleep(1.5)  # COMMIT is now running the deferred trigger
    assert t.is_alive() and "started" in outcome
    primary.stop("fast")  # the walsender sends everything to the standby before it goes
    t.join(10)
    assert not t.is_alive(), "the cut COMMIT did not end"
    assert isinstance(outcome["commit"], pg.errors.CommitUnknown), repr(outcome["commit"])
    assert committing.closed
    with pytest.raises(pg.OperationalError):
        idle.query("SELECT 1")
    with pytest.raises(pg.OperationalError):
        tx.execute("INSERT INTO ledger VALUES (501, 'never committed')")
    with pytest.raises(pg.InterfaceError, match="nothing of it was committed"):
        tx.commit()  # the link broke before COMMIT was sent: the outcome is known
    # nothing accepts writes until the standby is promoted
    with pytest.raises(pg.OperationalError):
        pg.Connection(rw)
    with pg.Connection(standby.unix) as s:
        assert s.query_one("SELECT pg_promote(true, 60)")[0] is True
    with wait_until_up(rw, 30) as c:
        assert not in_recovery(c)
        assert c.info()["port"] == standby.port
        c.execute("INSERT INTO ledger VALUES (700, 'after failover')")
        ids = {r[0] for r in c.query("SELECT id FROM ledger")}
    assert set(acked) <= ids
    assert 700 in ids
    assert 500 not in ids and 501 not in ids and 600 not in ids
    for x in (idle, in_tx, committing):
        x.close()
