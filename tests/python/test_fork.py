# SPDX-License-Identifier: MIT
"""fork() while another thread runs a statement (issue 10, defect 5): the child inherits the
connection's locks held; its close() and its garbage collection must only forget the
connection, without waiting for a lock nobody in the child will ever release."""

from __future__ import annotations

import os
import threading
import time
import warnings

import PostPyro as pg


def wait_for_child(pid: int, limit: float) -> int:
    """The child's exit status, or None after `limit` seconds (then the child is killed)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return None


def fork_during_a_statement(conn, in_child) -> None:
    result = {}

    def run():
        result["value"] = conn.query_one("SELECT 5 FROM pg_sleep(1)")[0]

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.3)  # the statement is running: the connection's locks are held
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: on purpose
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            in_child(conn)
            code = 0
        finally:
            os._exit(code)
    status = wait_for_child(pid, 5.0)
    t.join(10)
    assert status == 0, "the child hung (None) or failed: %r" % (status,)
    assert result.get("value") == 5  # the parent's statement was not disturbed
    assert conn.query_one("SELECT 6")[0] == 6


def test_a_child_forked_during_a_statement_closes_the_connection_at_once(sdsn):
    with pg.Connection(sdsn) as conn:
        fork_during_a_statement(conn, lambda c: c.close())


def test_a_child_forked_during_a_statement_may_drop_the_connection(sdsn):
    def drop(c):
        from PostPyro._ffi import ffi, lib
        assert c.closed
        # what the ffi.gc finalizer does (the parent's thread frames, copied into the
        # child, still reference the handle, so the collector would not run it here)
        ffi.gc(c._conn, None)
        lib.pp_conn_free(c._conn)

    with pg.Connection(sdsn) as conn:
        fork_during_a_statement(conn, drop)


def test_a_child_forked_during_a_statement_gets_errors_not_hangs(sdsn):
    def use(c):
        for call in (lambda: c.query("SELECT 1"), c.cancel, lambda: c.info()):
            try:
                call()
            except pg.Error:
                pass
        assert c.notices == []
        c.close()

    with pg.Connection(sdsn) as conn:
        fork_during_a_statement(conn, use)
