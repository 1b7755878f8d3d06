# SPDX-License-Identifier: MIT
"""What ``Pool`` (pool.py, threads) and ``AsyncPool`` (pool_async.py, event loops) share:
their arguments and settings, the fork guard, statistics and messages — the parts that
neither wait nor do I/O. How they wait and talk to the server stays in each module."""

from __future__ import annotations

import itertools
import logging
import os
import time
from typing import Any, Callable, Dict, Optional, Union

from . import errors as e
from ._copyend import PENDING_END_SECONDS
from ._pool_core import PoolState, Waiter
from ._pool_session import check_pool_args

__all__ = ["PoolBase", "forked", "logger", "PENDING_END_SECONDS"]

_monotonic = time.monotonic

# Bumped in a forked child: a pool made by another process is never used there.
_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_names = itertools.count(1)

# PENDING_END_SECONDS: the longest a returned connection's pending end (a COPY dropped
# half-way: its abort, see _turns' ``pending``) may run before the server is asked to cancel
# it; the connection is kept when that leaves it idle (or rolled back), else closed and
# replaced. (The same bound as a finalizer's end: _copyend.)

# Failures the pool handles by itself (a check, a reset or a connect that failed) are logged
# here, so that a broken hook or a wrong password is not silent.
logger = logging.getLogger("PostPyro.pool")


def forked(pool: "PoolBase") -> bool:
    """The pool was made by the parent of this (forked) process."""
    return pool._generation != _fork_generation


class PoolBase:
    """The settings and bookkeeping of a pool; subclasses add the waiting and the I/O
    (``_init_io``: their own attributes; ``_open_at_once``: what ``open=True`` does)."""

    _null = False
    _open_hint = "call open() or use it in a with block"

    @staticmethod
    def _end_pending(conn: Any) -> Any:
        """A connection "active" at the end of its block: what finalizers left pending (a
        COPY or stream dropped half-way: its abort or end, see _turns) runs now, within
        PENDING_END_SECONDS in all, unless another thread's statement, or another task's
        call or transaction, holds the connection. True when run (AsyncPool awaits it:
        ``AsyncConnection._end_pending`` is _aturns.end_pending)."""
        return conn._end_pending(PENDING_END_SECONDS)

    def __init__(self, dsn_or_callable: Union[str, Callable[[], Any]] = "", min_size: int = 4,
                 max_size: int = 10, timeout: float = 30.0, max_waiting: int = 0,
                 max_idle: Optional[float] = 600.0, max_lifetime: Optional[float] = 3600.0,
                 check: Optional[Callable[[Any], Any]] = None,
                 configure: Optional[Callable[[Any], Any]] = None,
                 reset: Union[None, bool, Callable[[Any], Any]] = None,
                 reconnect_timeout: float = 300.0,
                 reconnect_failed: Optional[Callable[[Any], Any]] = None,
                 name: Optional[str] = None, open: bool = True,
                 **connect_options: Any) -> None:
        check_pool_args(dsn_or_callable, reset)
        self._dsn = dsn_or_callable
        self.name = name if name is not None else "pool-%d" % next(_names)
        self.timeout = timeout
        self._check = check
        self._configure = configure
        self._reset = self.reset_session if reset is None else reset
        self._reconnect_failed = reconnect_failed
        self._autocommit = bool(connect_options.pop("autocommit", True))
        self._row_factory = connect_options.get("row_factory")
        self._conn_timeout = connect_options.get("timeout")
        self._options = connect_options
        self._state = PoolState(min_size, max_size, max_waiting=max_waiting, max_idle=max_idle,
                                max_lifetime=max_lifetime, reconnect_timeout=reconnect_timeout,
                                null=self._null)
        self._init_io()
        self._opened = False
        self._generation = _fork_generation
        if open:
            self._open_at_once()

    reset_session: Callable[[Any], Any]  # set by each subclass (sync or awaited)

    def _init_io(self) -> None:
        raise NotImplementedError

    def _open_at_once(self) -> None:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        return self._state.closed

    def _usable(self, opening: bool = False) -> None:
        if forked(self):
            raise e.InterfaceError("the pool %r was made by the parent process before fork(); "
                                   "make a new pool in the child" % self.name)
        if not opening and not self._opened:
            raise e.InterfaceError("the pool %r is not open: %s" % (self.name, self._open_hint))

    def _why(self) -> str:
        err = self._state.last_error
        return "; the last connect failed: %s" % (err,) if err is not None else ""

    def _too_few(self, timeout: float) -> e.PoolTimeout:
        """wait()'s error: min_size not reached within ``timeout`` seconds."""
        state = self._state
        return e.PoolTimeout("pool %r: %d of min_size %d connections after %.1f s%s"
                             % (self.name, state.nconns, state.min_size, timeout, self._why()))

    def _none_in_time(self, w: Waiter) -> e.PoolTimeout:
        """A checkout's error when its wait ``w`` timed out."""
        state = self._state
        return e.PoolTimeout("pool %r: no connection within %.1f s (%d in use of max_size %d, "
                             "%d waiting)%s" % (self.name, _monotonic() - w.since, state.lent,
                                                state.max_size, len(state.waiters),
                                                self._why()))

    def _permit_unused(self, error: Optional[BaseException]) -> Optional[Waiter]:
        """Null pools: a permit not used (its connect failed: ``error``) passes on; the
        waiter to wake, if any."""
        if error is not None:
            self._state.connect_failed(_monotonic(), error)
        else:
            self._state.opening -= 1
        return self._state.pass_after_failure()

    def _configured(self, conn: Any) -> None:
        """After ``configure``: it must leave no transaction open."""
        status = conn.transaction_status
        if status != "idle":
            raise e.ProgrammingError("configure() left the connection %s: end its "
                                     "transaction" % status)

    def _resize_state(self, min_size: int, max_size: Optional[int]) -> None:
        if max_size is None:
            max_size = max(min_size, self._state.max_size)
        self._state.resize(min_size, max_size)

    def stats(self) -> Dict[str, int]:
        """Counters since the pool opened and the pool's current shape: requests_num,
        requests_waiting, requests_wait_ms, requests_timeouts, requests_errors (refused by
        max_waiting), connections_num, connections_ms, connections_errors,
        connections_lost, returns_bad, usage_ms, pool_min, pool_max, pool_size,
        pool_available, pool_in_use, requests_queued. (Not awaited on AsyncPool: it neither
        waits nor talks to the server.)"""
        return self._state.stats()

    def __repr__(self) -> str:
        s = self._state
        state = "closed" if s.closed else "open" if self._opened else "not open"
        return ("<PostPyro.%s %r %s size=%d available=%d in_use=%d waiting=%d min=%d max=%d>"
                % (type(self).__name__, self.name, state, s.nconns + s.opening, len(s.idle),
                   s.lent, len(s.waiters), s.min_size, s.max_size))
