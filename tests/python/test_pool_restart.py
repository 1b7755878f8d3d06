# SPDX-License-Identifier: MIT
"""pg.Pool across server restarts (issue 13): `pg_ctl restart -m fast` and `-m immediate`,
with the pool idle and with it busy. After the restart no checkout gets a dead connection,
the pool is back to min_size within a few seconds, and stats() counts the lost connections.

These tests restart a server, so they run their own (test_crash_recovery's fixture)."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

import PostPyro as pg

from test_crash_recovery import _pg_ctl, server, server_env  # noqa: F401 - a fixture

RECOVERY = 10.0  # seconds the pool may take to be back to min_size (measured: under 1 s)


def restart(server, mode: str) -> None:
    subprocess.run(_pg_ctl(server["dir"]) + ["-D", os.path.join(server["dir"], "data"),
                                             "-l", os.path.join(server["dir"], "server.log"),
                                             "-m", mode, "-w", "-t", "60", "restart"],
                   check=True, stdout=subprocess.DEVNULL, timeout=120, cwd=server["dir"],
                   env=server_env())


def backend_pids(pool, n):
    """The backend pids of n connections lent at once."""
    held = [pool.connection(timeout=30) for _ in range(n)]
    try:
        return {h.__enter__().info()["backend_pid"] for h in held}
    finally:
        for h in held:
            h.__exit__(None, None, None)


def back_to_min_size(pool) -> float:
    start = time.monotonic()
    while time.monotonic() - start < RECOVERY:
        s = pool.stats()
        if s["pool_available"] >= s["pool_min"] and s["pool_in_use"] == 0:
            return time.monotonic() - start
        time.sleep(0.02)
    pytest.fail("the pool is not back to min_size after %.0f s: %r" % (RECOVERY, pool.stats()))


@pytest.mark.parametrize("transport", ["unix", "tcp"])
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_an_idle_pool_hands_out_no_dead_connection_after_a_restart(server, mode, transport):
    with pg.Pool(server[transport], min_size=3, max_size=5) as pool:
        pool.wait(30)
        before = backend_pids(pool, 3)
        restart(server, mode)
        for _ in range(10):  # every checkout works at once: no dead connection handed out
            with pool.connection(timeout=30) as conn:
                assert conn.query_one("SELECT 1")[0] == 1
        back_to_min_size(pool)
        after = backend_pids(pool, 3)
        assert not before & after
        s = pool.stats()
        assert s["connections_lost"] >= 3, s
        assert s["pool_size"] <= 5


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_busy_pool_recovers_from_a_restart(server, mode):
    pool = pg.Pool(server["unix"], min_size=4, max_size=6, timeout=60)
    stop = threading.Event()
    restarted = {}
    bad = []        # checkouts begun after the restart whose connection was dead
    during = [0]    # statements that failed while the server restarted (expected)
    lock = threading.Lock()

    def worker():
        while not stop.is_set():
            began = time.monotonic()
            try:
                with pool.connection() as conn:
                    conn.query("SELECT pg_sleep(0.002)")
            except pg.Error as exc:
                with lock:
                    if "done" in restarted and began > restarted["done"]:
                        bad.append(exc)
                    else:
                        during[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    try:
        pool.wait(30)
        for t in threads:
            t.start()
        time.sleep(0.3)
        restart(server, mode)
        restarted["done"] = time.monotonic()
        time.sleep(1.0)  # the workers keep borrowing after the restart
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    try:
        assert not bad, bad[:3]
        back_to_min_size(pool)
        s = pool.stats()
        assert s["connections_lost"] >= 1, s
        assert s["pool_size"] <= 6 and s["pool_in_use"] == 0 and s["requests_waiting"] == 0
        with pool.connection() as conn:
            n = conn.query_one("SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                               "'client backend' AND pid <> pg_backend_pid()")[0]
        assert n == pool.stats()["pool_size"] - 1  # the server sees exactly the pool's
    finally:
        pool.close()
