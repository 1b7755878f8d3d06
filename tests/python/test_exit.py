# SPDX-License-Identifier: MIT
"""A program that leaves PostPyro's things behind ends when its main code ends: no thread,
fiber, finalizer or cancel of the library keeps the interpreter from exiting (on PyPy too,
where a whole test run once stayed alive after its summary)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

BOUND = 60  # seconds: an exit that hangs never ends; PyPy starts slowly on a loaded machine

PROGRAM = textwrap.dedent("""
    import asyncio, os, signal, socket, sys, threading, time
    import PostPyro as pg
    dsn = os.environ["PP_TEST_DSN"]

    # sync: a connection left in a transaction, a stream dropped half-read, a statement
    # interrupted by Ctrl-C (its cancel sent by libpostpyro's cancel thread)
    c = pg.Connection(dsn)
    c.begin().query("SELECT 1")
    s = pg.Connection(dsn)
    it = iter(s.stream("SELECT g FROM generate_series(1, 1000) g", chunk_size=10))
    next(it)
    main = threading.get_ident()
    threading.Timer(0.3, lambda: signal.pthread_kill(main, signal.SIGINT)).start()
    try:
        pg.Connection(dsn).query("SELECT pg_sleep(20)")
    except KeyboardInterrupt:
        pass
    for _ in range(5):
        pg.Connection(dsn).query("SELECT 1")  # dropped, left to the collector
    pool = pg.Pool(dsn, min_size=2)  # its filler thread, never closed
    # a checkout never returned (kept: a dropped one is the filler's to take back, which
    # cancelled this query when it came first)
    held = pool.connection()
    held.__enter__().query("SELECT 1")

    # async: connections of asyncio and trio event loops that still run in their threads,
    # each with a call left suspended on its fiber (a stream half-read)
    def loop_thread(main_fn):
        t = threading.Thread(target=main_fn, daemon=True)
        t.start()
        return t

    ready = threading.Semaphore(0)

    async def leave(aconn):
        await aconn.query("SELECT 1")
        st = aconn.stream("SELECT g FROM generate_series(1, 1000) g", chunk_size=10)
        await st.__anext__()
        ready.release()
        while True:
            await sleep(3600)

    def run_asyncio():
        global sleep
        async def main():
            await leave(await pg.AsyncConnection.connect(dsn))
        sleep = asyncio.sleep
        asyncio.run(main())

    loop_thread(run_asyncio)
    assert ready.acquire(timeout=30)
    try:
        import trio
    except ImportError:
        trio = None
    if trio is not None:
        def run_trio():
            async def main():
                await leave(await pg.AsyncConnection.connect(dsn))
            trio.run(main)
        sleep = trio.sleep
        loop_thread(run_trio)
        assert ready.acquire(timeout=30)

    # a daemon thread blocked in accept(), one in recv() (as test proxies leave them)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    a, b = socket.socketpair()
    threading.Thread(target=lsock.accept, daemon=True).start()
    threading.Thread(target=a.recv, args=(1,), daemon=True).start()
    print("done", flush=True)
""")


def test_the_interpreter_exits_with_postpyro_things_left_behind(dsn):
    env = dict(os.environ, PP_TEST_DSN=dsn)
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-c", PROGRAM], env=env, timeout=BOUND,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("the program did not exit within %d s; it printed %r %r"
                             % (BOUND, exc.stdout, exc.stderr)) from None
    assert proc.stdout == b"done\n", proc.stderr.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert time.monotonic() - start < BOUND
