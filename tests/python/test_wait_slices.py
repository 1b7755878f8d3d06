# SPDX-License-Identifier: MIT
"""The sync front end's waits in C end after 500 ms, then every 100 ms
(PP_CONNECT_WAIT_SLICES, PP_PENDING), so that a Ctrl-C poll() did not see is handled
(test_cancel_describe.py); a call that went on through such slices must end as if it had
not been sliced."""

from __future__ import annotations

import threading
import time

import PostPyro as pg
from PostPyro.connection import Connection


def counting(counts):
    def wait(rc, resume, *args):
        while rc == pg._ffi.PP_PENDING:
            counts.append(1)
            rc = resume(*args)
        return rc
    return staticmethod(wait)


def test_a_long_statement_is_waited_for_in_slices(sdsn, monkeypatch):
    counts = []
    monkeypatch.setattr(Connection, "_wait", counting(counts))
    with pg.Connection(sdsn) as c:
        assert c.query_one("SELECT 7 FROM pg_sleep(1)")[0] == 7
        assert c.query_one("SELECT 8")[0] == 8  # no slice
    assert 2 <= len(counts) <= 7


def test_a_commit_cut_after_wait_slices_is_commit_unknown(conn, admin):
    # COMMIT runs a deferred trigger for 30 s; the backend is terminated meanwhile: the
    # COMMIT's outcome is unknown (pp_resume, which waits after each slice, said so too)
    conn.execute("CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
                 "BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$")
    conn.execute("CREATE TABLE slow (id int)")
    conn.execute("CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON slow DEFERRABLE "
                 "INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()")
    pid = conn.info()["backend_pid"]
    tx = conn.begin()
    tx.execute("INSERT INTO slow VALUES (1)")

    def terminate():
        for _ in range(100):
            time.sleep(0.1)
            state = admin.query_one("SELECT query FROM pg_stat_activity WHERE pid = $1",
                                    [pid])[0]
            if state.startswith("COMMIT"):
                time.sleep(0.8)  # a few slices into the COMMIT
                admin.query("SELECT pg_terminate_backend($1)", [pid])
                return

    t = threading.Thread(target=terminate, daemon=True)
    t.start()
    start = time.monotonic()
    try:
        tx.commit()
        raised = None
    except pg.Error as exc:
        raised = exc
    t.join(15)
    assert isinstance(raised, pg.CommitUnknown), repr(raised)
    assert time.monotonic() - start < 15
    assert conn.is_closed()
