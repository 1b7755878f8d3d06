# SPDX-License-Identifier: MIT
"""A cancel that lands while a statement's Parse/Describe is answered (before its Bind and
Execute): the server ignores a cancel request that finds it waiting for the client, so the
library must remember it and not run the statement (QueryCanceled, 57014), as the server
would have. The window is made certain by a proxy (tcpproxy.py) that holds back the server's
answer to the Parse/Describe until the cancel has been delivered."""

from __future__ import annotations

import asyncio
import signal
import threading
import time

import pytest

import PostPyro as pg

from conftest import dsn_with
from tcpproxy import TcpProxy

SLEEP = "SELECT pg_sleep(10)"  # cancelled statements end long before this would
BOUND = 6.0  # seconds: prompt, with margin for a loaded machine


@pytest.fixture
def proxy(tcp_port):
    p = TcpProxy(tcp_port)
    yield p
    p.close()


@pytest.fixture
def pdsn(pw_dsn, proxy):
    return dsn_with(pw_dsn, port=str(proxy.port))


def run_in_thread(fn):
    """Runs fn in a thread; returns a dict that gets "error" (or "value") and "seconds"."""
    out = {}

    def body():
        start = time.monotonic()
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: B902 - the test looks at it
            out["error"] = exc
        out["seconds"] = time.monotonic() - start

    t = threading.Thread(target=body, daemon=True)
    t.start()
    out["thread"] = t
    return out


def cancel_while_held(proxy, cancel):
    """Once the Parse/Describe answer is held: cancel, give the server time to take (and
    ignore) the request, then let the answer through."""
    assert proxy.holding.wait(10), "the statement never reached the proxy"
    cancel()
    time.sleep(0.3)
    proxy.release.set()


def assert_idle_and_usable(c, admin):
    pid = c.info()["backend_pid"]
    assert c.query_one("SELECT 41 + 1")[0] == 42
    state = admin.query_one("SELECT state FROM pg_stat_activity WHERE pid = $1", [pid])[0]
    assert state == "idle"


def test_cancel_during_the_first_runs_describe_cancels_the_statement(proxy, pdsn, admin):
    with pg.Connection(pdsn) as c:
        proxy.hold(b"pg_sleep(10)")
        out = run_in_thread(lambda: c.query(SLEEP))
        cancel_while_held(proxy, c.cancel)
        out["thread"].join(BOUND + 10)
        assert not out["thread"].is_alive()
        assert isinstance(out.get("error"), pg.errors.QueryCanceled), out
        assert out["error"].sqlstate == "57014"
        assert out["seconds"] < BOUND
        assert_idle_and_usable(c, admin)


def test_cancel_during_a_cached_statements_describe_keeps_it_usable(proxy, pdsn, admin):
    # The second run of the same SQL prepares it by name for the cache: that Describe too.
    sql = "SELECT pg_sleep($1::float8)"
    with pg.Connection(pdsn) as c:
        c.query(sql, [0])
        proxy.hold(b"pg_sleep($1")
        out = run_in_thread(lambda: c.query(sql, [10]))
        cancel_while_held(proxy, c.cancel)
        out["thread"].join(BOUND + 10)
        assert isinstance(out.get("error"), pg.errors.QueryCanceled), out
        assert out["seconds"] < BOUND
        assert len(c.query(sql, [0])) == 1  # the cached statement
        assert_idle_and_usable(c, admin)


def test_cancel_in_a_transaction_during_describe_fails_the_transaction(proxy, pdsn):
    with pg.Connection(pdsn) as c:
        tx = c.begin()
        tx.query("SELECT 1")
        proxy.hold(b"pg_sleep(10)")
        out = run_in_thread(lambda: tx.query(SLEEP))
        cancel_while_held(proxy, c.cancel)
        out["thread"].join(BOUND + 10)
        assert isinstance(out.get("error"), pg.errors.QueryCanceled), out
        assert out["seconds"] < BOUND
        tx.rollback()
        assert c.query_one("SELECT 1")[0] == 1


def test_a_timeout_during_describe_is_a_query_canceled(proxy, pdsn, admin):
    # the deadline's own cancel request lands during the Describe: no dropped connection
    with pg.Connection(pdsn, timeout=0.2) as c:
        proxy.hold(b"pg_sleep(10)")
        out = run_in_thread(lambda: c.query(SLEEP))
        assert proxy.holding.wait(10)
        time.sleep(0.6)  # the deadline passes and its cancel request goes out
        proxy.release.set()
        out["thread"].join(BOUND + 10)
        assert isinstance(out.get("error"), pg.errors.QueryCanceled), out
        assert "timeout" in str(out["error"])
        assert out["seconds"] < BOUND
        c.timeout = None
        assert_idle_and_usable(c, admin)


def slow_interrupt(signum, frame):
    # The proxy runs in this process: its thread must get the GIL to pass the Bind and
    # Execute on before the cancel request overtakes them (on a real network they are
    # ahead: they went out before the cancel connection was even opened).
    time.sleep(0.3)
    raise KeyboardInterrupt


def test_ctrl_c_during_the_first_runs_describe(proxy, pdsn, admin):
    # A signal during the Describe is reported once the statement runs (PP_PENDING), so
    # that the cancel request Ctrl-C sends then finds it running.
    main = threading.get_ident()
    old = signal.signal(signal.SIGINT, slow_interrupt)
    try:
        ctrl_c_while_held(proxy, pdsn, admin, main)
    finally:
        signal.signal(signal.SIGINT, old)


def test_ctrl_c_whose_cancel_overtakes_the_statement_is_sent_again(proxy, pdsn, admin):
    # The Bind and Execute wait in the proxy after the Describe's answer, so the cancel that
    # Ctrl-C sends reaches the server before the statement starts, and the server ignores
    # it; the cancel is sent again until the statement ends (it ran its 10 s before).
    main = threading.get_ident()
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    proxy.up_delay = 1.0
    try:
        ctrl_c_while_held(proxy, pdsn, admin, main)
    finally:
        signal.signal(signal.SIGINT, old)


def bind_held_then_cancel(proxy, cancel):
    """Lets the Describe's answer through at once; once the Bind and Execute wait in the
    proxy (the call has passed its cancel check), cancels: the server ignores that request
    (its backend waits for the Bind)."""
    assert proxy.holding.wait(10), "the statement never reached the proxy"
    proxy.release.set()
    assert proxy.delaying.wait(10), "the Bind never reached the proxy"
    if cancel is not None:
        cancel()


def test_a_cancel_that_overtakes_the_statement_is_sent_again(proxy, pdsn, admin):
    # cancel() once: the waiting call sends it again until the statement ends (it ran its
    # 10 s before)
    with pg.Connection(pdsn) as c:
        proxy.hold(b"pg_sleep(10)")
        proxy.up_delay = 1.0
        out = run_in_thread(lambda: c.query(SLEEP))
        bind_held_then_cancel(proxy, c.cancel)
        out["thread"].join(BOUND + 10)
        assert isinstance(out.get("error"), pg.errors.QueryCanceled), out
        assert out["seconds"] < BOUND
        assert_idle_and_usable(c, admin)


def test_a_timeout_whose_cancel_overtakes_the_statement_is_a_query_canceled(proxy, pdsn,
                                                                           admin):
    # The deadline's cancel request lands while the Bind waits in the proxy; sent again
    # within the grace period, it stops the statement (the connection was dropped before).
    with pg.Connection(pdsn, timeout=0.2) as c:
        proxy.hold(b"pg_sleep(10)")
        proxy.up_delay = 0.5
        out = run_in_thread(lambda: c.query(SLEEP))
        bind_held_then_cancel(proxy, None)
        out["thread"].join(BOUND + 10)
        assert isinstance(out.get("error"), pg.errors.QueryCanceled), out
        assert "timeout" in str(out["error"])
        c.timeout = None
        assert_idle_and_usable(c, admin)


def test_ctrl_c_while_libpq_waits_to_send_is_not_lost(proxy, pdsn, admin):
    # A signal that comes while libpq itself waits to send a large Bind (its own poll goes on
    # after EINTR) never reaches libpostpyro's wait. The wait for the answer wakes in slices
    # (PP_PENDING), so Python runs the handler and Ctrl-C cancels the statement (it ran its
    # 10 s before).
    main = threading.get_ident()
    old = signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt():
        assert proxy.up_paused.wait(10), "the Bind never reached the proxy"
        time.sleep(0.3)  # the client is blocked in libpq's send by now
        signal.pthread_kill(main, signal.SIGINT)

    try:
        with pg.Connection(pdsn) as c:
            proxy.pause_up(b"PAUSE-HERE", 1.0)
            helper = threading.Thread(target=interrupt, daemon=True)
            helper.start()
            start = time.monotonic()
            with pytest.raises(KeyboardInterrupt):
                try:
                    c.query("SELECT pg_sleep(10), length($1::bytea)",
                            [b"PAUSE-HERE" + bytes(16 << 20)])
                finally:
                    helper.join(10)
            assert time.monotonic() - start < BOUND
            assert_idle_and_usable(c, admin)
    finally:
        signal.signal(signal.SIGINT, old)


def ctrl_c_while_held(proxy, pdsn, admin, main):
    with pg.Connection(pdsn) as c:
        proxy.hold(b"pg_sleep(10)")
        helper = threading.Thread(target=cancel_while_held, daemon=True,
                                  args=(proxy, lambda: signal.pthread_kill(main, signal.SIGINT)))
        helper.start()
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            try:
                c.query(SLEEP)
            finally:
                helper.join(10)
        assert time.monotonic() - start < BOUND
        assert_idle_and_usable(c, admin)


@pytest.mark.parametrize("resend", [True, False])
def test_async_cancellation_during_the_first_runs_describe(proxy, pdsn, monkeypatch, resend):
    if not resend:  # AsyncConnection's old workaround (a second cancel request) is not needed
        monkeypatch.setattr("PostPyro.connection_async._RESEND_SECONDS", 1e9, raising=False)

    async def main():
        async with await pg.AsyncConnection.connect(pdsn) as c:
            proxy.hold(b"pg_sleep(10)")
            task = asyncio.ensure_future(c.query(SLEEP))
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, cancel_while_held, proxy, task.cancel)
            start = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - start < BOUND
            assert (await c.query_one("SELECT 41 + 1"))[0] == 42
            return c.info()["backend_pid"]

    pid = asyncio.run(asyncio.wait_for(main(), 60))
    assert pid > 0
