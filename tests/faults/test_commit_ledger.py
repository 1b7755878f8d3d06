# SPDX-License-Identifier: MIT
"""The commit ledger: N transactions of every kind, each writing ids nobody else writes,
under random faults (a cut, a reset or garbage at a random byte of the server's replies, a
killed backend, a dead network under a timeout). Then, against what the server holds:
0 acknowledged commits missing, 0 failed transactions present, and every outcome the client
could not know reported as CommitUnknown (and only those may be either way)."""

from __future__ import annotations

import collections
import io
import random
import threading

import PostPyro as pg

from conftest import TALLY, bounded, sized

N = sized(40, 600)
# a dead network or garbage (a length that never arrives) cost the timeout (1 s): rarer
FAULTS = ["none"] * 2 + ["cut", "reset", "kill"] * 3 + ["garble", "blackhole"]


def tx_begin(c, ids):
    with c.begin() as tx:
        for i in ids:
            tx.execute("INSERT INTO ledger VALUES ($1, 'begin')", [i])


def tx_dbapi(c, ids):
    c.autocommit = False
    try:
        cur = c.cursor()
        cur.executemany("INSERT INTO ledger VALUES ($1, 'dbapi')", [[i] for i in ids])
        c.commit()
    finally:
        if not c.closed:
            c.autocommit = True


def tx_batch(c, ids):
    with c.begin():
        c.execute_batch(["INSERT INTO ledger VALUES (%d, 'batch')" % i for i in ids])


def tx_copy(c, ids):
    with c.begin():
        c.copy_from("ledger", io.BytesIO(b"".join(b"%d\tcopy\n" % i for i in ids)))


def tx_executemany(c, ids):
    with c.begin():
        c.executemany("INSERT INTO ledger VALUES ($1, 'many')", [[i] for i in ids])


def tx_sql_commit(c, ids):  # BEGIN … COMMIT as plain statements
    c.execute("BEGIN")
    c.executemany("INSERT INTO ledger VALUES ($1, 'sql')", [[i] for i in ids])
    c.execute("COMMIT")


KINDS = [tx_begin, tx_dbapi, tx_batch, tx_copy, tx_executemany, tx_sql_commit]


def test_no_acknowledged_commit_is_lost_and_no_failed_one_is_present(server, proxy):
    with pg.Connection(server.unix) as admin:
        admin.execute("DROP TABLE IF EXISTS ledger")
        admin.execute("CREATE TABLE ledger (id int8 PRIMARY KEY, kind text NOT NULL)")
    rng = random.Random(20261204)
    acked, failed, unknown = set(), set(), set()
    errors = collections.Counter()
    c, pid = None, None
    for n in range(N):
        if c is None or c.closed:
            if c is not None:
                c.close()
            c = pg.Connection(proxy.dsn(), timeout=1)
            pid = c.query_one("SELECT pg_backend_pid()")[0]
        kind = KINDS[n % len(KINDS)]
        ids = [n * 10 + k for k in range(rng.randint(1, 4))]
        fault = rng.choice(FAULTS)
        killer = None
        if fault in ("cut", "reset", "garble"):
            getattr(proxy, fault + "_after")(rng.randint(0, 200))
        elif fault == "blackhole":
            proxy.mode = "blackhole"
        elif fault == "kill":
            killer = threading.Timer(rng.uniform(0, 0.01), terminate, (server, pid))
            killer.start()
        if fault != "none":
            TALLY["faults injected"] += 1
        exc, _, _ = bounded(lambda: kind(c, ids), 20)
        if killer is not None:
            killer.join()
        proxy.heal()
        TALLY["transactions"] += 1
        if exc is None:
            acked.update(ids)
        elif isinstance(exc, pg.errors.CommitUnknown):
            unknown.update(ids)
            TALLY["unknown outcomes"] += 1
        else:
            assert isinstance(exc, pg.Error), repr(exc)
            failed.update(ids)
            errors[type(exc).__name__] += 1
        if exc is not None and not c.closed:  # a usable connection is back in autocommit
            try:
                c.execute("ROLLBACK")
            except pg.Error:
                pass
    if c is not None:
        c.close()
    with pg.Connection(server.unix) as admin:
        stored = {r[0] for r in admin.query("SELECT id FROM ledger")}
    lost = acked - stored
    present = failed & stored
    TALLY["lost commits"] += len(lost) + len(present)
    outcome = {"acknowledged commits missing": sorted(lost)[:10],
               "failed transactions present": sorted(present)[:10]}
    assert outcome == {"acknowledged commits missing": [],
                       "failed transactions present": []}, errors
    assert acked and failed  # faults and successes both happened
    print("ledger: %d acknowledged, %d failed, %d unknown (%d of them committed); errors %s"
          % (len(acked), len(failed), len(unknown), len(unknown & stored), dict(errors)))


def terminate(server, pid):
    try:
        with pg.Connection(server.unix) as k:
            k.query("SELECT pg_terminate_backend($1)", [pid])
    except pg.Error:
        pass
