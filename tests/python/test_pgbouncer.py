# SPDX-License-Identifier: MIT
"""Behind PgBouncer (transaction and session pooling, trust and SCRAM logins): no client's
values ever reach another client's statement, and every acknowledged write is stored.

The fixture starts PgBouncer (Debian's 1.18) itself on a free 127.0.0.1 port, with a pool of
2 server connections for 8 clients; in transaction mode the pooler hands a client another
server connection after almost every transaction. Each client runs every kind of statement
(execute, query, executemany, execute_batch, COPY, stream, cursor), in and out of
transactions, with values no other client uses; the test then compares what the clients were
told with what the server holds. A PgBouncer >= 1.21 (built by tests/pgbouncer-new.sh) then
tracks prepared statements (max_prepared_statements): the statement cache works behind it.
"""

from __future__ import annotations

import collections
import threading
from typing import Optional

import pytest

import bouncer as bouncer_proc
import PostPyro as pg

CLIENTS = 8
KINDS = 7  # execute, query, executemany, execute_batch, COPY, stream, cursor
# Calls of each kind per client (half of them in a transaction) in transaction mode as
# postgres: 250 x 7 kinds x 8 clients on 2 server connections, 14 000 statements the pooler
# interleaves (1000 took ~50 s per interpreter for the same assertions).
PER_KIND = 250
FEW = 100  # the other modes and the tracking pooler: the same code paths, CI's time kept
WRITES_PER_ROUND = 1 + 3 + 2 + 2 + 1  # rows written by execute, executemany, batch, COPY,
#                                      cursor
POOL_SIZE = 2


@pytest.fixture(scope="module", params=["transaction", "transaction-password",
                                        "session-password"])
def bouncer(request, admin, tcp_port, pw_role):
    """The DSN of a PgBouncer (Debian's 1.18) in front of the test server: in transaction
    pooling mode as the superuser postgres (trusted), and in transaction and session mode
    as pp_pw, who logs in with scram-sha-256 (through PgBouncer and to the server)."""
    db = admin.query_one("SELECT current_database()")[0]
    mode, _, auth = request.param.partition("-")
    if auth:
        user, password = pw_role["user"], pw_role["password"]
    else:
        user, password = admin.query_one("SELECT current_user")[0], None
    with bouncer_proc.running(bouncer_proc.debian_pgbouncer(), server_port=tcp_port,
                              database=db, user=user, password=password,
                              pool_mode=mode, pool_size=POOL_SIZE) as d:
        yield Bouncer(d, mode, user)


class Bouncer(str):
    """The pooler's DSN, with its pool_mode and user; the first mode runs the full number
    of calls, the others FEW."""

    def __new__(cls, dsn: str, mode: str, user: str) -> "Bouncer":
        self = super().__new__(cls, dsn)
        self.mode, self.user = mode, user
        self.per_kind = PER_KIND if user == "postgres" else FEW
        return self


@pytest.fixture
def bschema(schema, admin, bouncer):
    """The test's schema, usable by the user the pooler logs in as."""
    admin.execute("GRANT ALL ON SCHEMA %s TO %s" % (schema, bouncer.user))
    admin.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA %s GRANT ALL ON TABLES TO %s"
                  % (schema, bouncer.user))
    return schema


class Client(threading.Thread):
    """One client connection through the pooler; `acked` holds every (who, v) row it was
    told was stored, `wrong` every value read that was not the one asked for, `errors`
    (kind, in a transaction, exception) for every call that raised."""

    def __init__(self, dsn: str, cache: bool, table: str, schema: str, k: int,
                 rounds: int, cache_size: Optional[int] = 16) -> None:
        super().__init__()
        self.cache_size = cache_size
        self.dsn, self.cache, self.table, self.schema = dsn, cache, table, schema
        self.rounds = rounds
        self.who = "c%d" % k
        self.base = (k + 1) * 10_000_000
        self.acked: set = set()
        self.wrong: list = []
        self.errors: list = []
        self.finished = False

    def run(self) -> None:
        kinds = [self.execute, self.query, self.executemany, self.batch, self.copy,
                 self.stream, self.cursor]
        assert len(kinds) == KINDS
        try:
            c = pg.Connection(self.dsn, statement_cache=self.cache)
        except pg.Error as exc:
            self.errors.append(exc)
            return
        with c:
            if self.cache and self.cache_size:
                # evictions (DEALLOCATE) behind the pooler too
                c.set_statement_cache_size(self.cache_size)
            for i in range(self.rounds):
                v = self.base + i * 10
                in_tx = (i // KINDS) % 2 == 1
                try:
                    if in_tx:
                        pending: set = set()
                        with c.begin():
                            kinds[i % KINDS](c, v, pending)
                        self.acked |= pending
                    else:
                        kinds[i % KINDS](c, v, self.acked)
                except pg.Error as exc:
                    self.errors.append((kinds[i % KINDS].__name__, in_tx, exc))
        self.finished = True

    def check(self, got, want) -> None:
        if got != want:
            self.wrong.append((got, want))

    def execute(self, c, v, acked) -> None:
        n = c.execute("INSERT INTO %s (who, v) VALUES ($1, $2)" % self.table, [self.who, v])
        self.check(n, 1)
        acked.add((self.who, v))

    def query(self, c, v, acked) -> None:
        # the same parameter types as the INSERTs: a mix-up would go through silently
        rows = c.query("SELECT $2::int8 AS v, $1::text AS who", [self.who, v])
        self.check([tuple(r) for r in rows], [(v, self.who)])

    def executemany(self, c, v, acked) -> None:
        rows = [(self.who, v + k) for k in range(3)]
        c.executemany("INSERT INTO %s (who, v) VALUES ($1, $2)" % self.table, rows)
        acked.update(rows)

    def batch(self, c, v, acked) -> None:
        rows = [(self.who, v + k) for k in range(2)]
        c.execute_batch(["INSERT INTO %s (who, v) VALUES ('%s', %d)" % (self.table, w, x)
                         for w, x in rows])
        acked.update(rows)

    def copy(self, c, v, acked) -> None:
        rows = [(self.who, v + k) for k in range(2)]
        n = c.copy_records_to_table("audit", rows, columns=["who", "v"],
                                    schema_name=self.schema)
        self.check(n, 2)
        acked.update(rows)

    def stream(self, c, v, acked) -> None:
        got = [r[0] for r in c.stream("SELECT $1::int8 + g FROM generate_series(0, 2) g",
                                      [v], chunk_size=2)]
        self.check(got, [v, v + 1, v + 2])

    def cursor(self, c, v, acked) -> None:
        cur = c.cursor()
        cur.execute("INSERT INTO %s (who, v) VALUES ($1, $2) RETURNING v" % self.table,
                    [self.who, v])
        self.check(cur.fetchall(), [(v,)])
        cur.close()
        acked.add((self.who, v))


def run_clients(bouncer: str, admin, schema: str, cache: bool, per_kind: int,
                cache_size: Optional[int] = 16):
    """Runs the clients, each making per_kind calls of each kind; returns what went wrong
    (counts) and the errors."""
    table = "%s.audit" % schema
    admin.execute("CREATE TABLE %s (who text NOT NULL, v int8 NOT NULL)" % table)
    clients = [Client(bouncer, cache, table, schema, k, per_kind * KINDS, cache_size)
               for k in range(CLIENTS)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    assert all(t.finished for t in clients)
    stored = {(r[0], r[1]) for r in admin.query("SELECT who, v FROM %s" % table)}
    acked = set().union(*(t.acked for t in clients))
    errors = [e for t in clients for e in t.errors]
    outcome = {
        "wrong values read": sum(len(t.wrong) for t in clients),
        "acknowledged writes lost": len(acked - stored),
        "rows nobody was told of": len(stored - acked),  # e.g. one client's values in
        #                                                  another's INSERT
        "acknowledged writes": len(acked),
    }
    return outcome, errors


def test_without_the_cache_nothing_is_mixed_up_lost_or_refused(bouncer, admin, bschema):
    outcome, errors = run_clients(bouncer, admin, bschema, cache=False,
                                  per_kind=bouncer.per_kind)
    outcome["errors"] = collections.Counter(type(e).__name__ for _, _, e in errors)
    assert outcome == {"wrong values read": 0, "acknowledged writes lost": 0,
                       "rows nobody was told of": 0,
                       "acknowledged writes": CLIENTS * bouncer.per_kind * WRITES_PER_ROUND,
                       "errors": collections.Counter()}


def test_with_the_cache_nothing_is_mixed_up_or_lost_and_errors_say_why(bouncer, admin,
                                                                        bschema):
    # fewer rounds: the errors it may give are checked, not the pooler again
    per_kind = bouncer.per_kind // 5
    outcome, errors = run_clients(bouncer, admin, bschema, cache=True, per_kind=per_kind)
    assert outcome["wrong values read"] == 0
    assert outcome["acknowledged writes lost"] == 0
    assert outcome["rows nobody was told of"] == 0
    # A cached statement may not exist on the server connection the pooler picked: outside
    # a transaction it is prepared again, inside one the error says what to do.
    unclear = [(kind, in_tx, repr(e)) for kind, in_tx, e in errors
               if not (in_tx and isinstance(e, pg.ProgrammingError) and e.sqlstate == "26000"
                       and "statement_cache=False" in str(e))]
    assert unclear[:3] == []
    if bouncer.mode == "session":  # one server connection per client: the cache just works
        assert errors == []
        assert outcome["acknowledged writes"] == CLIENTS * per_kind * WRITES_PER_ROUND
    assert outcome["acknowledged writes"] > CLIENTS * per_kind * WRITES_PER_ROUND // 2


def test_prepare_by_name_fails_clearly_or_runs_its_own_statement(bouncer):
    # prepare() needs session pooling: behind transaction pooling its statement lives on one
    # server connection; elsewhere the Bind must fail with the clear error, never run
    # another client's statement (nor collide with another client's name).
    results = {"right": 0, "wrong": 0, "unclear": [], "finished": 0}

    def client(k: int) -> None:
        with pg.Connection(bouncer, statement_cache=False) as c:
            stmt = None
            for i in range(300):
                try:
                    if i % 100 == 0:
                        stmt = None
                        stmt = c.prepare("SELECT $1::int8 * 100 + %d" % k)
                    if stmt is None:
                        continue
                    got = c.query_one(stmt, [i])[0]
                except pg.Error as exc:
                    if "statement_cache=False" not in str(exc) or exc.sqlstate != "26000":
                        results["unclear"].append(repr(exc))
                    continue
                results["right" if got == i * 100 + k else "wrong"] += 1
        results["finished"] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["finished"] == CLIENTS
    assert results["wrong"] == 0
    assert results["unclear"][:3] == []
    if bouncer.mode == "session":
        assert results["right"] == CLIENTS * 300


@pytest.fixture(scope="module")
def tracking_bouncer(admin, tcp_port):
    """A PgBouncer >= 1.21 in transaction mode that tracks prepared statements."""
    exe = bouncer_proc.new_pgbouncer()
    db = admin.query_one("SELECT current_database()")[0]
    with bouncer_proc.running(exe, server_port=tcp_port, database=db, user="postgres",
                              pool_mode="transaction", pool_size=POOL_SIZE,
                              extra="max_prepared_statements = 200\n") as d:
        yield Bouncer(d, "transaction", "postgres")


def test_a_pooler_that_tracks_prepared_statements_lets_the_cache_work(tracking_bouncer,
                                                                     admin, schema):
    assert tuple(int(x) for x in bouncer_proc.version(
        bouncer_proc.new_pgbouncer()).split(".")[:2]) >= (1, 21)
    per_kind = FEW
    # the default cache size: no evictions (see the next test for those)
    outcome, errors = run_clients(tracking_bouncer, admin, schema, cache=True,
                                  per_kind=per_kind, cache_size=None)
    outcome["errors"] = [(k, t, repr(e)) for k, t, e in errors][:3]
    assert outcome == {"wrong values read": 0, "acknowledged writes lost": 0,
                       "rows nobody was told of": 0,
                       "acknowledged writes": CLIENTS * per_kind * WRITES_PER_ROUND,
                       "errors": []}


def test_evictions_behind_a_pooler_that_tracks_prepared_statements(tracking_bouncer, admin,
                                                                   schema):
    # a cache of 2 for 7 statements: the driver evicts (DEALLOCATE) all the time
    per_kind = FEW
    outcome, errors = run_clients(tracking_bouncer, admin, schema, cache=True,
                                  per_kind=per_kind, cache_size=2)
    outcome["errors"] = [(k, t, repr(e)) for k, t, e in errors][:3]
    assert outcome == {"wrong values read": 0, "acknowledged writes lost": 0,
                       "rows nobody was told of": 0,
                       "acknowledged writes": CLIENTS * per_kind * WRITES_PER_ROUND,
                       "errors": []}
