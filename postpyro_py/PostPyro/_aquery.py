# SPDX-License-Identifier: MIT
"""``await AsyncConnection.query()`` / ``execute()`` of a planned statement: no fiber.

A statement whose plan is known (see :mod:`PostPyro._planned`) runs no sync code that waits
between its C call and its rows, so it needs no fiber: the steps before and after the lock
are PlannedQuery's (``_query_args``, ``_query_error``, ``_query_rows``), and the part under
the lock is :func:`run_planned`, Connection.query's written for the event loop. execute()
(``count``) takes the same path and ends as Connection.execute does: its rows (if any) read
by take_result, as _execute does, and the count of affected rows. When
pp_query_call returns PP_PENDING the call's state stays in libpostpyro (on its own C
fiber), so any stack may go on with it: :class:`QueryStep` steps it (pp_query_next) — first
through the idle waits, as ``_LoopConnection._wait`` does, then after each of
AsyncConnection._drive's waits, in place of the fiber's switch. So cancellation,
``timeout=`` and a close() from another task go through the same code as a call on the
fiber (AsyncConnection._settle: the cancel sent, the statement stepped to its end, bounded;
the connection closed past the bound). The connection's lock (the engine's Turns) is held
across those waits: the task holds the connection's turn (AsyncTurns) meanwhile, so no
other task runs engine code until the statement has ended.

What cannot go on without waiting inline goes to the fiber: a statement that must send
BEGIN first (autocommit off, no transaction open) or run what finalizers left first
(Turns.pending) is run there whole (run_planned answers FIBER), and a big result's chunks
after the first one (PP_MORE) are read there by Connection._read_chunks, from the same call.
"""

from __future__ import annotations

from typing import Any, Tuple

from ._ffi import PP_MORE, PP_OK, PP_PENDING, lib
from ._raise import SIGNALLED
from ._result import _QUERY_COLS, _spare_buffers, take_result
from ._sql import Params

__all__ = ["COUNT", "FIBER", "QueryStep", "run_planned"]

#: run_planned's answer when the statement must run on the fiber (nothing was done).
FIBER = object()
#: AsyncConnection._run's ``fn`` for execute(): as None (query), a count instead of rows.
COUNT = object()


class QueryStep:
    """A planned statement's call after pp_query_call, stepped from the task's stack:
    :meth:`step` says (False, the PP_WAIT_* events to wait for) or (True, None: the rows
    are in the buffers; or the whole chunked result, read on the fiber), or raises the
    statement's error. ``on_fiber``: its chunks are being read on the connection's fiber,
    which AsyncConnection._step then switches to instead."""

    __slots__ = ("_ac", "_buffers", "_sql", "_params", "on_fiber")

    def __init__(self, ac: Any, buffers: Any, sql: str, params: Params) -> None:
        self._ac = ac
        self._buffers = buffers
        self._sql = sql
        self._params = params
        self.on_fiber = False

    def step(self, rc: Any = None) -> Tuple[bool, Any]:
        """Go on from ``rc`` (pp_query_call's code), or with pp_query_next (None: after a
        wait). A wait the loop's idle state allows is done here (AsyncioSocket.idle_wait)."""
        eng = self._ac._engine
        conn = eng._conn
        info, cols, out, err, _, _, _ = self._buffers
        idle = eng._idle
        try:
            if rc is None:
                rc = lib.pp_query_next(conn, out, info, cols, _QUERY_COLS, err)
            while rc == PP_PENDING:
                events = lib.pp_wait_events(conn)
                if idle is None or not idle(events):
                    return False, events
                rc = lib.pp_query_next(conn, out, info, cols, _QUERY_COLS, err)
        except SIGNALLED:  # a signal handler's exception: as Connection._query
            eng._interrupted(conn, PP_PENDING, out, err)
            raise
        if rc == PP_OK:
            return True, None
        if rc != PP_MORE:
            eng._query_error(rc, self._buffers, self._sql, self._params)
        # the first chunk of several: the rest is read on the fiber (its waits suspend it)
        self.on_fiber = True
        fiber = self._ac._fiber
        eng._fiber = fiber
        try:
            return fiber.run(eng._read_chunks, (conn, self._buffers, False, eng._adapters))
        finally:
            eng._fiber = None


async def run_planned(ac: Any, got: Any, sql: str, params: Params, timeout: Any,
                      count: Any = None) -> Any:
    """Connection.query's part under the lock for ``ac`` (an AsyncConnection, in this
    task's turn, its call primed), from ``got`` (_query_args'): the rows, or FIBER.
    ``count`` (COUNT): execute()'s, the number of rows affected instead of the rows."""
    eng = ac._engine
    plan, buffers, arr, n, keep = got
    call = buffers[5]
    turns = eng._lock
    with turns.lock:  # held across the waits below (see the module's docstring)
        if turns.owner is not None:
            if turns.pending:  # finalizers' ends to run first: they wait inline
                _spare_buffers.append(buffers)  # unused
                return FIBER
            turns.wait_turn()
        elif not eng._autocommit:  # BEGIN first: it waits inline
            _spare_buffers.append(buffers)  # unused
            return FIBER
        rc = None
        try:
            conn = eng._conn
            try:
                if keep is None:  # the set's own array (call.params) or none: as query()
                    rc = lib.pp_query_run(plan.cstmt, n, call)
                else:
                    rc = lib.pp_query_call(conn, plan.csql, n, arr, plan.how, call)
            except SIGNALLED:  # as Connection.query
                eng._interrupted(conn, rc, buffers[2], buffers[3])
                raise
            whole = None
            if rc != PP_OK:
                query = QueryStep(ac, buffers, sql, params)
                if rc == PP_PENDING:
                    eng._waits += 1
                done, whole = query.step(rc)
                if not done:
                    whole = await ac._drive(whole, timeout, query)
        finally:  # as Connection.query
            st = -1 if rc is None else call.txstatus
            if st != 0 or turns.owner is not None:
                turns.record(st)
        del keep
    if count is None:
        if whole is None:
            return eng._query_rows(plan, buffers)
        return whole.rows(eng._row_factory)
    if whole is None:  # as Connection._execute (describe=False) and execute()
        whole = take_result(buffers[2][0], buffers, False, None, eng._adapters)
    n = whole.rowcount
    return n if n > 0 else 0
