# SPDX-License-Identifier: MIT
"""The bound a dropped Copy's or Stream's end and a pool's pending end set as the
connection's timeout (_session._bounded) changes it by compare-and-set (pp_set_timeout_if):
a timeout another thread sets between the read and the change is never lost."""

import PostPyro as pg
from PostPyro import _session
from PostPyro._ffi import lib


def test_set_timeout_if_changes_only_the_expected_value(sdsn):
    with pg.Connection(sdsn) as c:
        c.timeout = 0.7
        assert lib.pp_set_timeout_if(c._conn, 500, 40) == 0 and c.timeout == 0.7
        assert lib.pp_set_timeout_if(c._conn, 700, 40) == 1 and c.timeout == 0.04
        assert lib.pp_set_timeout_if(c._conn, 40, -1) == -1 and c.timeout == 0.04


def test_a_timeout_set_between_the_read_and_the_change_stays(sdsn):
    with pg.Connection(sdsn) as c:
        seen = []

        def new_of(now):
            if not seen:
                c.timeout = 3  # another thread's, just after the read
            seen.append(now)
            return 1
        assert _session._swap_timeout(c._conn, new_of) == 3000  # the one replaced: 3 s
        assert seen == [0, 3000] and lib.pp_timeout(c._conn) == 1


def test_the_bound_gives_back_the_timeout_it_found_unless_another_was_set(sdsn):
    with pg.Connection(sdsn) as c:
        c.timeout = 20
        with _session._bounded(c._conn, 5):
            assert lib.pp_timeout(c._conn) == 5000
        assert c.timeout == 20
        with _session._bounded(c._conn, 5):
            c.timeout = 9  # another thread's, meanwhile
        assert c.timeout == 9
        c.timeout = 2
        with _session._bounded(c._conn, 5):  # a shorter timeout stays as it is
            assert lib.pp_timeout(c._conn) == 2000
        assert c.timeout == 2
