# SPDX-License-Identifier: MIT
"""``Connection.query()``: a statement's whole path in one method, for the commonest call.

A statement whose SQL text ran before on the connection has a plan (_session.Plan); query()
then takes every step of _execute + _Result.rows itself — dump the parameters, enter the
connection's lock, run pp_query_call, wait on PP_PENDING with the front end's ``_wait``,
record the transaction status on leaving, make the rows with the function the plan made
for its small results (_fastrows), else with the names and Row class it kept
(_result.plan_rows) — with fewer Python steps: under threads, the Python a
statement runs holds the GIL. Anything unusual (first run, $name parameters, a closed
connection, a loader's nested query) goes the general way, _execute.
"""

from __future__ import annotations

from typing import List

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
        try:
            plan = self._plans.get(sql)  # only a str has one (see _plan)
        except TypeError:  # unhashable: not SQL at all, _execute says so
            plan = None
        if plan is None or self._closed or self._reader is not None \
                or self._generation != _session._fork_generation \
                or (params is not None and type(params) is not list
                    and type(params) is not tuple):
            return self._execute(sql, params, describe=False).rows(self._row_factory)
        conn = self._conn
        adapters = self._adapters
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
                    got = dump_list(params, adapters)
                except BaseException:
                    _spare_buffers.append(buffers)  # unused
                    raise
                plan.dump = make_dump(params, adapters)
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
                    rc = lib.pp_query_call(conn, plan.csql, n, arr, plan.how, call)
                    if rc == PP_PENDING:
                        rc = self._wait(rc, lib.pp_query_next, conn, out, info, cols,
                                        _QUERY_COLS, err)
                except SIGNALLED:  # Ctrl-C, or another signal handler's exception
                    self._interrupted(conn, rc, out, err)
                    raise
                if rc == PP_MORE:  # the first chunk of several
                    whole = self._read_chunks(conn, buffers, False, adapters)
                elif rc != PP_OK:
                    try:
                        finish_query(rc, buffers)  # raises the statement's error
                    except e.ProgrammingError as exc:
                        _named.explain_syntax_error(sql, params, exc)
                        raise
            finally:  # what `with turns:` does on leaving
                # the status the statement left (-1: not known, e.g. an exception before
                # rc was set: then asked)
                st = -1 if rc is None else call.txstatus
                if st != 0 or turns.owner is not None:
                    turns.record(st)
            del keep
        if rc == PP_MORE:
            return whole.rows(self._row_factory)
        fast = plan.fast
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
        return plan_rows(out[0], buffers, plan, adapters, self._row_factory)
