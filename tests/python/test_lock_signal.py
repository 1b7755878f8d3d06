# SPDX-License-Identifier: MIT
"""A signal handler's exception (Ctrl-C's KeyboardInterrupt, any handler that raises) raised
just as a call has taken the connection's lock never leaves that lock held: another thread
can use the connection after it.

CPython runs a pending handler right after a C call returns. Here another thread holds the
lock while the main thread waits for it in a call; that thread trips the handler (a signal
sent to itself: Python runs handlers in the main thread only) and then lets the lock go, so
the main thread runs the handler the moment its acquire returns (PyPy runs it a little
later, at one of its periodic checks: the test holds there too)."""

import ast
import asyncio
import os
import signal
import sys
import threading
import time

import pytest

import PostPyro as pg


class Interrupt(BaseException):
    pass


def _copy_write(c):
    with c.copy("COPY t FROM STDIN") as cp:
        cp.write(b"1\n")


def _stream(c):
    with c.stream("SELECT 1") as rows:
        list(rows)


def _transaction(c):
    with c.transaction():
        pass


def _listen(c):
    c.listen("pp_lock_signal")
    c.execute("NOTIFY pp_lock_signal")
    list(c.notifies(timeout=0.5))


OPS = {
    "execute": lambda c: c.execute("SELECT 1"),
    "query": lambda c: c.query("SELECT 2"),
    "execute_batch": lambda c: c.execute_batch(["SELECT 1", "SELECT 2"]),
    "executemany": lambda c: c.executemany("INSERT INTO t VALUES ($1)", [(1,), (2,)]),
    "prepare": lambda c: c.prepare("SELECT 3"),
    "commit": lambda c: c.commit(),
    "rollback": lambda c: c.rollback(),
    "transaction": _transaction,
    "copy": _copy_write,
    "stream": _stream,
    "listen": _listen,
    "cursor": lambda c: c.cursor().execute("SELECT 1"),
}


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signal handlers run in the main thread only")
@pytest.mark.parametrize("op", sorted(OPS))
def test_a_handler_raising_as_the_lock_is_taken_leaves_it_free(sdsn, op):
    c = pg.Connection(sdsn)
    c.execute("CREATE TABLE t (a int)")
    lock = c._lock.lock
    handled = []

    def handler(signum, frame):
        handled.append(signum)
        raise Interrupt()

    def holder():  # holds the lock while the main thread waits for it, then trips the handler
        with lock:
            taken.set()
            time.sleep(0.3)
            signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)

    taken = threading.Event()
    old = signal.signal(signal.SIGUSR1, handler)
    t = threading.Thread(target=holder)
    try:
        try:
            t.start()
            taken.wait(10)
            OPS[op](c)
            # PyPy: the handler may run only now, outside the call (after it returned)
            deadline = time.monotonic() + 10
            while not handled and time.monotonic() < deadline:
                time.sleep(0.0001)
        except Interrupt:
            pass
        t.join(10)
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert handled
    leaked = lock._is_owned()
    while lock._is_owned():  # so that a failure leaves the connection usable
        lock.release()
    assert not leaked, "the handler's exception left the connection's lock held"
    got = []
    other = threading.Thread(target=lambda: got.append(c.query_one("SELECT 42")[0]))
    other.start()
    other.join(10)
    c.close()
    assert got == [42]


def test_every_use_of_a_connection_takes_its_lock_in_a_with_of_its_own():
    """``with x._lock.lock, x._lock:`` (see _turns.Turns): entering ``with x._lock:`` alone
    would not take the lock at all. The pools' ``_lock`` and types._adapters' are plain locks."""
    pkg = os.path.dirname(pg.__file__)
    wrong = []
    for root, _, files in os.walk(pkg):
        for name in files:
            if not name.endswith(".py") or name in ("pool.py", "null_pool.py"):
                continue
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if not isinstance(node, (ast.With, ast.AsyncWith)):
                    continue
                items = [ast.unparse(i.context_expr) for i in node.items]
                for k, item in enumerate(items):
                    if item.endswith("._lock") and item != "_adapters._lock" \
                            and (k == 0 or items[k - 1] != item + ".lock"):
                        wrong.append("%s:%d" % (os.path.relpath(path, pkg), node.lineno))
    assert not wrong


def _raising_as_it_returns(name):
    """A profile function raising Interrupt once, as the function ``name`` returns: where a
    signal handler's exception comes when the handler was due during the call (CPython runs
    it as the call returns)."""
    def profile(frame, event, arg):
        if event == "return" and frame.f_code.co_name == name:
            sys.setprofile(None)
            raise Interrupt()
    return profile


async def _in_transaction(c):
    await c.execute("SELECT 1")


async def _notifies(c):
    async for _ in c.notifies(timeout=0):
        pass


@pytest.mark.parametrize("op", [_in_transaction, _notifies])
def test_an_async_turn_is_not_left_taken_by_a_handler_raising_as_it_is_taken(sdsn, op):
    """AsyncTurns.free_for said the turn was free and took it: an exception as it
    returned left the turn taken (``busy``) for good, every later call queued for ever."""
    async def main():
        c = await pg.AsyncConnection.connect(sdsn)
        try:
            await c.execute("BEGIN")  # the transaction is this task's: free_for's case
            sys.setprofile(_raising_as_it_returns("free_for"))
            try:
                await op(c)
            except Interrupt:
                pass
            finally:
                sys.setprofile(None)
            assert not c._turns.busy
            await c.execute("ROLLBACK")
            got = await asyncio.wait_for(c.query_one("SELECT 7"), 10)  # (another task)
            assert got[0] == 7
        finally:
            c._turns.busy = False  # (a failure: so that close() does not wait for ever)
            await c.close()
    asyncio.run(main())
