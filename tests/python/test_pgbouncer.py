# SPDX-License-Identifier: MIT
"""Behind PgBouncer in transaction pooling mode: no client's values ever reach another
client's statement, and every acknowledged write is stored.

The fixture starts PgBouncer (Debian's ``pgbouncer``) itself on a free 127.0.0.1 port, with
``pool_mode = transaction`` and a pool of 2 server connections for 8 clients, so the pooler
hands a client another server connection after almost every transaction. Each client runs
every kind of statement (execute, query, executemany, execute_batch, COPY, stream), in and
out of transactions, with values no other client uses; the test then compares what the
clients were told with what the server holds.
"""

from __future__ import annotations

import collections
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import PostPyro as pg

CLIENTS = 8
KINDS = 6  # execute, query, executemany, execute_batch, COPY, stream
PER_KIND = 1000  # calls of each kind per client (half of them in a transaction)
WRITES_PER_ROUND = 1 + 3 + 2 + 2  # rows written by execute, executemany, batch, COPY
POOL_SIZE = 2


def _find_pgbouncer() -> str:
    path = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.access(path, os.X_OK):
        pytest.fail("pgbouncer is not installed (Debian: apt-get install pgbouncer)",
                    pytrace=False)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    text = open(log).read() if os.path.exists(log) else ""
    pytest.fail("pgbouncer did not start:\n" + text[-2000:], pytrace=False)


@pytest.fixture(scope="module")
def bouncer(admin, tcp_port):
    """The DSN of a PgBouncer in transaction mode in front of the test server (as the
    superuser postgres, whom the test server trusts over TCP)."""
    exe = _find_pgbouncer()
    db = admin.query_one("SELECT current_database()")[0]
    user = admin.query_one("SELECT current_user")[0]
    tmp = tempfile.mkdtemp(prefix="pp_bouncer_")
    proc = None
    try:
        with open(os.path.join(tmp, "users.txt"), "w") as f:
            f.write('"%s" ""\n' % user)
        for attempt in range(5):
            port = _free_port()
            log = os.path.join(tmp, "pgbouncer.log")
            with open(os.path.join(tmp, "pgbouncer.ini"), "w") as f:
                f.write("[databases]\n"
                        "%s = host=127.0.0.1 port=%d dbname=%s user=%s\n"
                        "[pgbouncer]\n"
                        "listen_addr = 127.0.0.1\n"
                        "listen_port = %d\n"
                        "unix_socket_dir =\n"
                        "auth_type = trust\n"
                        "auth_file = %s/users.txt\n"
                        "pool_mode = transaction\n"
                        "default_pool_size = %d\n"
                        "max_client_conn = 100\n"
                        "logfile = %s\n"
                        "ignore_startup_parameters = extra_float_digits\n"
                        % (db, tcp_port, db, user, port, tmp, POOL_SIZE, log))
            cmd = [exe, os.path.join(tmp, "pgbouncer.ini")]
            if os.geteuid() == 0:
                # PgBouncer refuses to run as root: like the test server, as postgres
                shutil.chown(tmp, "postgres")
                for name in os.listdir(tmp):
                    shutil.chown(os.path.join(tmp, name), "postgres")
                cmd[1:1] = ["-u", "postgres"]
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            try:
                _wait_for_port(port, proc, log)
                break
            except pytest.fail.Exception:
                if proc.poll() is None or attempt == 4:
                    raise  # not a port clash
        yield "host=127.0.0.1 port=%d dbname=%s user=%s connect_timeout=10" % (port, db, user)
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


class Client(threading.Thread):
    """One client connection through the pooler; `acked` holds every (who, v) row it was
    told was stored, `wrong` every value read that was not the one asked for, `errors`
    (kind, in a transaction, exception) for every call that raised."""

    def __init__(self, dsn: str, cache: bool, table: str, schema: str, k: int,
                 rounds: int) -> None:
        super().__init__()
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
                 self.stream]
        assert len(kinds) == KINDS
        try:
            c = pg.Connection(self.dsn, statement_cache=self.cache)
        except pg.Error as exc:
            self.errors.append(exc)
            return
        with c:
            if self.cache:
                c.set_statement_cache_size(16)  # evictions (DEALLOCATE) behind the pooler too
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


def run_clients(bouncer: str, admin, schema: str, cache: bool, per_kind: int):
    """Runs the clients, each making per_kind calls of each kind; returns what went wrong
    (counts) and the errors."""
    table = "%s.audit" % schema
    admin.execute("CREATE TABLE %s (who text NOT NULL, v int8 NOT NULL)" % table)
    clients = [Client(bouncer, cache, table, schema, k, per_kind * KINDS)
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


def test_without_the_cache_nothing_is_mixed_up_lost_or_refused(bouncer, admin, schema):
    outcome, errors = run_clients(bouncer, admin, schema, cache=False, per_kind=PER_KIND)
    outcome["errors"] = collections.Counter(type(e).__name__ for _, _, e in errors)
    assert outcome == {"wrong values read": 0, "acknowledged writes lost": 0,
                       "rows nobody was told of": 0,
                       "acknowledged writes": CLIENTS * PER_KIND * WRITES_PER_ROUND,
                       "errors": collections.Counter()}


def test_with_the_cache_nothing_is_mixed_up_or_lost_and_errors_say_why(bouncer, admin,
                                                                        schema):
    # fewer rounds: the errors it may give are checked, not the pooler again
    outcome, errors = run_clients(bouncer, admin, schema, cache=True, per_kind=PER_KIND // 5)
    assert outcome["wrong values read"] == 0
    assert outcome["acknowledged writes lost"] == 0
    assert outcome["rows nobody was told of"] == 0
    # A cached statement may not exist on the server connection the pooler picked: outside
    # a transaction it is prepared again, inside one the error says what to do.
    unclear = [(kind, in_tx, repr(e)) for kind, in_tx, e in errors
               if not (in_tx and isinstance(e, pg.ProgrammingError) and e.sqlstate == "26000"
                       and "statement_cache=False" in str(e))]
    assert unclear[:3] == []
    assert outcome["acknowledged writes"] > CLIENTS * PER_KIND // 5 * WRITES_PER_ROUND // 2


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
