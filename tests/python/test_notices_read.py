# SPDX-License-Identifier: MIT
"""Reading Connection.notices is cheap when there are none (no cffi allocation per read,
only the C call), and loses nothing when threads read while notices arrive."""

from __future__ import annotations

import threading

import PostPyro as pg
from PostPyro import _session


class CountingFFI:
    """The real ffi, counting ffi.new calls."""

    def __init__(self, real):
        self._real = real
        self.news = 0

    def new(self, *args):
        self.news += 1
        return self._real.new(*args)

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_reading_no_notices_allocates_nothing_per_read(sdsn, monkeypatch):
    counting = CountingFFI(_session.ffi)
    monkeypatch.setattr(_session, "ffi", counting)
    with pg.Connection(sdsn) as conn:
        for _ in range(100):
            assert conn.notices == []

        def reader():
            for _ in range(100):
                assert conn.notices == []
        t = threading.Thread(target=reader)
        t.start()
        t.join()
        assert counting.news <= 2  # at most once per thread, never per read
        conn.execute("DO $$ BEGIN RAISE NOTICE 'one'; RAISE WARNING 'two'; END $$")
        assert conn.notices == ["NOTICE:  one", "WARNING:  two"]
        assert counting.news <= 2


def test_threads_reading_notices_while_they_arrive_lose_none(sdsn):
    n = 300
    with pg.Connection(sdsn) as conn:
        done = threading.Event()

        def reader():
            while not done.is_set():
                conn.notices

        readers = [threading.Thread(target=reader) for _ in range(2)]
        for t in readers:
            t.start()
        try:
            for i in range(n):
                conn.execute("DO $$ BEGIN RAISE NOTICE 'n%s'; END $$" % i)
        finally:
            done.set()
            for t in readers:
                t.join()
        # none lost, none twice (two readers may append theirs out of order)
        assert sorted(conn.notices) == sorted("NOTICE:  n%d" % i for i in range(n))
