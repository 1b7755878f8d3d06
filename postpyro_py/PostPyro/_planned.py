# SPDX-License-Identifier: MIT
"""``Connection.query()``: a statement's whole path in one method, for the commonest call.

A statement whose SQL text ran before on the connection has a plan (_session.Plan); query()
then takes every step of _execute + _Result.rows itself — dump the parameters
(:meth:`PlannedQuery._query_args`), enter the connection's lock, run pp_query_call, wait on
PP_PENDING with the front end's ``_wait``, record the transaction status on leaving, make the
rows with the function the plan made for its small results (_fastrows), else with the names
and Row class it kept (_result.plan_rows) (:meth:`PlannedQuery._query_rows`) — with fewer
Python steps: under threads, the Python a statement runs holds the GIL. Anything unusual
(first run, $name parameters, a closed connection, a loader's nested query) goes the general
way, _execute.

The steps before the lock (_query_args) and after it (_query_error, _query_rows) are also
methods of their own, for the async front end, which runs a planned statement on the task's
own stack and waits between them the event loop's way (_aquery); query() writes the first
and the last out again, inline (a Python call costs ≈ 0.6 k instructions of a ≈ 25 k
statement: callgrind, tests/bench/NOTES-async.md): change them together. The part under
the lock is written out in each front end, inside its ``with``: a lock taken in one
function and left in another could be left held by a signal handler's exception raised
where a function is entered (CPython runs pending handlers there).
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

from . import _named, _session
from . import errors as e
from ._fastrows import make_dump
from ._ffi import PP_MORE, PP_OK, PP_PENDING, ffi, lib
from ._raise import SIGNALLED
from ._result import (_QUERY_COLS, _kept, _spare_buffers, _unhold, finish_query, plan_rows,
                      take_buffers)
from ._sql import Params
from .row import Row
from .types._dumpers import dump_list

__all__ = ["PlannedQuery"]


class PlannedQuery:
    """Connection's query() (a mixin: the rest is Connection's — _execute, _wait,
    _interrupted, _maybe_begin, _read_chunks and the state)."""

    def query(self, sql: str, params: Params = None) -> List[Row]:
        """Run a statement and return all its rows (``[]`` for a statement without rows).
        ``params`` ($1, $2, …) may be omitted, a list or a tuple."""
        # _execute(sql, params, describe=False).rows(self._row_factory), in fewer steps for
        # a statement run before (its plan is known)
        # (_query_args, inlined: a Python call costs ≈ 0.6 k instructions of a ≈ 25 k statement)
        try:
            plan = self._plans[sql]  # only a str has one (see _plan)
        except (KeyError, TypeError):  # not run before; unhashable: not SQL, _execute says so
            plan = None
        if plan is None or self._closed or self._reader is not None \
                or self._generation != _session._fork_generation \
                or (params is not None and type(params) is not list
                    and type(params) is not tuple):
            return self._execute(sql, params, describe=False).rows(self._row_factory)
        conn = self._conn
        try:
            buffers = _spare_buffers.pop()
        except IndexError:
            buffers = take_buffers()
        info, cols, out, err, pack, call, ints = buffers
        if params:
            dump = plan.dump  # see _fastrows
            got = None if dump is None else dump(params, ints)
            if got is None:
                try:
                    got = dump_list(params, self._adapters)
                except BaseException:
                    _spare_buffers.append(buffers)  # unused
                    raise
                plan.dump = make_dump(params, self._adapters)
            arr, keep = got
            n = len(params)
        else:
            arr, n, keep = ffi.NULL, 0, None
        turns = self._lock
        with turns.lock:  # `with turns:` without its two Python calls
            if turns.owner is not None:
                turns.wait_turn()
            rc = None
            try:
                if not self._autocommit and turns.owner is None:  # else BEGIN is done
                    self._maybe_begin(conn)
                try:  # self._query(conn, plan.csql, …), inlined
                    if keep is None:  # the set's own array (call.params) or no parameters
                        rc = lib.pp_query_run(plan.cstmt, n, call)
                    else:
                        rc = lib.pp_query_call(conn, plan.csql, n, arr, plan.how, call)
                    if rc == PP_PENDING:
                        rc = self._wait(rc, lib.pp_query_next, conn, out, info, cols,
                                        _QUERY_COLS, err)
                except SIGNALLED:  # Ctrl-C, or another signal handler's exception
                    self._interrupted(conn, rc, out, err)
                    raise
                if rc == PP_MORE:  # the first chunk of several
                    whole = self._read_chunks(conn, buffers, False, self._adapters)
                elif rc != PP_OK:
                    self._query_error(rc, buffers, sql, params)
            finally:  # what `with turns:` does on leaving
                # the status the statement left (-1: not known, e.g. an exception before
                # rc was set: then asked)
                st = -1 if rc is None else call.txstatus
                if st != 0 or turns.owner is not None:
                    turns.record(st)
            del keep
        if rc == PP_MORE:
            return whole.rows(self._row_factory)
        fast = plan.fast  # (_query_rows, inlined)
        if fast is not None and self._row_factory is None:  # a small result: _fastrows
            try:
                rows = fast(info, cols, pack, call)
            except BaseException:
                _spare_buffers.append(buffers)  # as plan_rows does
                raise
            if rows is not None:  # the result, small (_fastrows._MAX_DATA), stays in out
                if _kept:  # for the next statement: the set's older big one is gone
                    _unhold(id(out))
                _spare_buffers.append(buffers)
                return rows
        return plan_rows(out[0], buffers, plan, self._adapters, self._row_factory)

    def _query_args(self, sql: str, params: Params) -> Optional[Tuple[Any, Any, Any, int, Any]]:
        """query()'s steps before the lock: None when the statement goes the general way;
        else (plan, buffers, arr, n, keep): its Plan, a spare buffer set, the pp_value array
        of its ``n`` parameters (the plan's dump function, else dump_list) and what keeps
        them alive until its call ends."""
        try:
            plan = self._plans.get(sql)  # only a str has one (see _plan)
        except TypeError:  # unhashable: not SQL at all, _execute says so
            return None
        if plan is None or self._closed or self._reader is not None \
                or self._generation != _session._fork_generation \
                or (params is not None and type(params) is not list
                    and type(params) is not tuple):
            return None
        try:
            buffers = _spare_buffers.pop()
        except IndexError:
            buffers = take_buffers()
        if not params:
            return plan, buffers, ffi.NULL, 0, None
        dump = plan.dump  # see _fastrows
        got = None if dump is None else dump(params, buffers[6])
        if got is None:
            adapters = self._adapters
            try:
                got = dump_list(params, adapters)
            except BaseException:
                _spare_buffers.append(buffers)  # unused
                raise
            plan.dump = make_dump(params, adapters)
        return plan, buffers, got[0], len(params), got[1]

    @staticmethod
    def _query_error(rc: int, buffers: Any, sql: str, params: Params) -> None:
        """Raise the error of a statement whose call ended with ``rc`` (neither PP_OK nor
        PP_MORE) into ``buffers``."""
        try:
            finish_query(rc, buffers)  # raises the statement's error
        except e.ProgrammingError as exc:
            _named.explain_syntax_error(sql, params, exc)
            raise

    def _query_rows(self, plan: Any, buffers: Any) -> List[Row]:
        """query()'s rows, once its call ended with PP_OK into ``buffers`` (out of the
        lock): the set goes back to the spares."""
        fast = plan.fast
        if fast is not None and self._row_factory is None:  # a small result: _fastrows
            info, cols, out, _, pack, call, _ = buffers
            try:
                rows = fast(info, cols, pack, call)
            except BaseException:
                _spare_buffers.append(buffers)  # as plan_rows does
                raise
            if rows is not None:  # the result, small (_fastrows._MAX_DATA), stays in out
                if _kept:  # for the next statement: the set's older big one is gone
                    _unhold(id(out))
                _spare_buffers.append(buffers)
                return rows
        return plan_rows(buffers[2][0], buffers, plan, self._adapters, self._row_factory)
