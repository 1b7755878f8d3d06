# SPDX-License-Identifier: MIT
"""A connection pool's bookkeeping, without threads, I/O, waiting or a clock of its own.

``Pool`` (threads) uses it now, an ``AsyncPool`` (tasks) will use it as it is: the front end
holds its lock around each call, passes ``now`` (``time.monotonic()``), and does outside the
lock what the answer says — open or close a connection, wake a waiter. What lives here:

- the connections the pool owns (``Slot``): idle ones in a stack (the most recently returned
  is lent first, so the rest age out under ``max_idle``), the count of lent ones, connects in
  progress;
- the checkouts that wait (``Waiter``), first come first served: a connection that comes
  back or is opened goes to the oldest waiter, never to a newcomer;
- how many connections to open now (``min_size``, demand, ``max_size``), one at a time;
- the backoff after a failed connect (exponential with jitter, up to ``reconnect_timeout``);
- which idle connections to close (``max_idle`` above ``min_size``, ``max_lifetime`` with
  jitter), and the statistics.

A ``NullPool`` (``null=True``) keeps nothing idle: a checkout gets a *permit* to open its own
connection (at most ``max_size`` at once), and a connection given back is closed, passing
the permit to the oldest waiter.
"""

from __future__ import annotations

import random
import weakref
from collections import deque
from typing import Any, Callable, Dict, List, Optional

from . import errors as e

__all__ = ["Slot", "Waiter", "PERMIT", "Backoff", "PoolState"]


class Slot:
    """One connection the pool owns.

    While lent to a checkout the pool holds the connection only weakly (``holder``): the
    checkout holds it, and so does whatever the borrower keeps. A checkout object dropped
    while its connection is still referenced (``conn = pool.connection().__enter__()``)
    leaves the connection to that user; once nothing references it either, the collector
    closes it (its session ends) and ``orphans`` finds the slot, for the pool to count it
    gone and open another."""

    __slots__ = ("_conn", "created", "expires", "idle_since", "lent_at", "holder")

    def __init__(self, conn: Any, now: float, expires: float) -> None:
        self._conn = conn  # None while lent
        #: while lent: a weak reference to the connection (see above)
        self.holder: Any = None
        self.created = now
        self.expires = expires
        self.idle_since = now
        self.lent_at = now

    @property
    def conn(self) -> Any:
        """The connection (None once a leaked one was collected)."""
        conn = self._conn
        if conn is None and self.holder is not None:
            return self.holder()
        return conn

    def lend(self, checkout: Any) -> None:
        """Lent to ``checkout`` (its ``_conn`` holds the connection from now on), with the
        hand-over: the pool keeps only a weak reference."""
        conn = self._conn
        checkout._conn = conn
        self.holder = weakref.ref(conn)
        self._conn = None

    def unlend(self) -> None:
        """Back to the pool, the connection held strongly again (when still there)."""
        ref, self.holder = self.holder, None
        if ref is not None and self._conn is None:
            self._conn = ref()


#: What a NullPool waiter receives instead of a Slot: it may open a connection itself.
PERMIT = Slot(None, 0.0, 0.0)


class Waiter:
    """A checkout waiting its turn. ``slot`` is set when it is served, ``error`` when it
    never will be (the pool closed); ``wake`` is the front end's (a lock, a future)."""

    __slots__ = ("slot", "error", "since", "wake", "done")

    def __init__(self, now: float) -> None:
        self.done = False  # the front end has settled it (see Pool._settle)
        self.slot: Optional[Slot] = None
        self.error: Optional[BaseException] = None
        self.since = now
        self.wake: Any = None


class Backoff:
    """Delays between failed connects: ``initial`` doubling up to ``cap``, each drawn
    between half and all of that (jitter, so that many pools do not retry in step), until
    ``timeout`` seconds after the first failure."""

    def __init__(self, timeout: float, initial: float = 0.1, cap: float = 10.0,
                 rand: Callable[[], float] = random.random) -> None:
        self.timeout = timeout
        self.initial = initial
        self.cap = cap
        self.rand = rand
        self.first_failure: Optional[float] = None
        self.attempt = 0

    def reset(self) -> None:
        self.first_failure = None
        self.attempt = 0

    def failed(self, now: float) -> Optional[float]:
        """The delay before the next attempt, or None: ``timeout`` has passed (give up; the
        schedule starts again with the next failure)."""
        if self.first_failure is None:
            self.first_failure = now
        elif now - self.first_failure >= self.timeout:
            self.reset()
            return None
        step = min(self.cap, self.initial * (2 ** self.attempt))
        self.attempt += 1
        delay = step * (0.5 + 0.5 * self.rand())
        left = self.first_failure + self.timeout - now
        return max(0.0, min(delay, left))


class PoolState:
    """The whole state of a pool; every method is quick and never blocks."""

    def __init__(self, min_size: int, max_size: int, max_waiting: int = 0,
                 max_idle: Optional[float] = 600.0, max_lifetime: Optional[float] = 3600.0,
                 reconnect_timeout: float = 300.0, null: bool = False,
                 rand: Callable[[], float] = random.random) -> None:
        self.null = null
        self.rand = rand
        self.idle: deque = deque()   # Slots; the right end is the most recently returned
        self.waiters: deque = deque()
        self.nconns = 0    # open connections: idle + lent
        self.out: set = set()  # the lent Slots
        self.opening = 0   # connects in progress
        self.closed = False
        self.gave_up = False  # reconnect_timeout passed: refill again only on demand
        self.retry_at = 0.0
        self.last_error: Optional[BaseException] = None
        self.backoff = Backoff(reconnect_timeout, rand=rand)
        self.max_waiting = max_waiting
        self.max_idle = max_idle
        self.max_lifetime = max_lifetime
        self.min_size = self.max_size = 0
        self.resize(min_size, max_size)
        self.counters: Dict[str, float] = dict.fromkeys(
            ("requests_num", "requests_queued", "requests_wait_ms", "requests_timeouts",
             "requests_errors", "connections_num", "connections_ms", "connections_errors",
             "connections_lost", "returns_bad", "usage_ms"), 0)

    # ---- configuration --------------------------------------------------------------------

    def resize(self, min_size: int, max_size: int) -> None:
        if not isinstance(min_size, int) or not isinstance(max_size, int) or min_size < 0 \
                or max_size < 1 or min_size > max_size:
            raise e.ProgrammingError("pool sizes need 0 <= min_size <= max_size and max_size "
                                     ">= 1, not min_size=%r max_size=%r"
                                     % (min_size, max_size))
        if self.null and min_size:
            raise e.ProgrammingError("a NullPool keeps no connections: min_size must be 0")
        self.min_size = min_size
        self.max_size = max_size

    # ---- checkout -------------------------------------------------------------------------

    def take(self, now: float) -> Optional[Slot]:
        """An idle connection, lent to the caller, when one is free and nobody waits."""
        if self.idle and not self.waiters:
            slot = self.idle.pop()
            self.out.add(slot)
            slot.lent_at = now
            self.counters["requests_num"] += 1
            return slot
        return None

    def reserve(self, now: float) -> bool:
        """NullPool: may the caller open a connection now (no waiter, below max_size)?"""
        if self.waiters or self.nconns + self.opening >= self.max_size:
            return False
        self.opening += 1
        self.counters["requests_num"] += 1
        return True

    def enqueue(self, now: float, front: bool = False, wake: Any = None) -> Waiter:
        """A checkout that must wait: at the end of the queue (``front``: one that was served
        a connection found dead keeps its place). Raises TooManyRequests when ``max_waiting``
        checkouts already wait."""
        if not front and self.max_waiting > 0 and len(self.waiters) >= self.max_waiting:
            self.counters["requests_errors"] += 1
            raise e.TooManyRequests("the pool's queue is full: %d checkouts wait already "
                                    "(max_waiting)" % len(self.waiters))
        w = Waiter(now)
        w.wake = wake
        if front:
            self.waiters.appendleft(w)
        else:
            self.waiters.append(w)
            self.counters["requests_queued"] += 1
            if self.gave_up:  # demand: try connecting again, with a fresh schedule
                self.gave_up = False
                self.retry_at = 0.0
        return w

    def served(self, w: Waiter, now: float) -> None:
        """A waiter woke with its slot (statistics)."""
        self.counters["requests_wait_ms"] += (now - w.since) * 1000.0

    def cancel(self, w: Waiter, now: float, timed_out: bool = False) -> Optional[Slot]:
        """A waiter gives up (timeout, exception). Returns the slot it was served meanwhile,
        if any, which the caller must use or give back (``give_back``, ``drop``)."""
        self.counters["requests_wait_ms"] += (now - w.since) * 1000.0
        if w.slot is not None:
            return w.slot
        try:
            self.waiters.remove(w)
        except ValueError:
            pass
        if timed_out:
            self.counters["requests_timeouts"] += 1
        return None

    def _serve(self, slot: Slot, now: float) -> Optional[Waiter]:
        """Lend slot to the oldest waiter (returned, to wake), else keep it idle."""
        if self.waiters:
            w = self.waiters.popleft()
            w.slot = slot
            slot.lent_at = now
            self.out.add(slot)
            self.counters["requests_num"] += 1
            return w
        slot.idle_since = now
        self.idle.append(slot)
        return None

    # ---- return ---------------------------------------------------------------------------

    def expired(self, slot: Slot, now: float) -> bool:
        return now >= slot.expires

    def give_back(self, slot: Slot, now: float) -> Optional[Waiter]:
        """A lent connection comes back healthy: to the oldest waiter, or idle."""
        self.out.discard(slot)
        slot.unlend()
        self.counters["usage_ms"] += (now - slot.lent_at) * 1000.0
        if self.closed:
            self.nconns -= 1
            return None
        return self._serve(slot, now)

    def drop(self, slot: Slot, now: float, lost: bool = False,
             bad: bool = False) -> Optional[Waiter]:
        """A lent connection will be closed (broken: ``lost``; returned in a state that was
        not fixed: ``bad``). NullPool: returns the waiter that now holds the permit."""
        self.out.discard(slot)
        slot.unlend()
        self.nconns -= 1
        self.counters["usage_ms"] += (now - slot.lent_at) * 1000.0
        if lost:
            self.counters["connections_lost"] += 1
        if bad:
            self.counters["returns_bad"] += 1
        return self._pass_permit()

    def bad_return(self) -> None:
        """A returned connection needed fixing (a transaction rolled back) and was kept."""
        self.counters["returns_bad"] += 1

    def _pass_permit(self) -> Optional[Waiter]:
        if self.null and self.waiters and not self.closed:
            w = self.waiters.popleft()
            w.slot = PERMIT
            self.opening += 1
            self.counters["requests_num"] += 1
            return w
        return None

    def orphans(self) -> List[Slot]:
        """Lent slots whose connection the collector freed (closed) without it being given
        back: neither the checkout nor the connection was referenced any more (a checkout
        dropped unfinished, an interrupt that came mid-hand-over). The caller counts them
        gone (``drop``)."""
        out = [s for s in self.out if s.holder is not None and s.holder() is None]
        for slot in out:
            slot.holder = None  # found once
        return out

    @property
    def lent(self) -> int:
        return len(self.out)

    def take_idle(self, now: float) -> List[Slot]:
        """Every idle slot, lent to the caller (``check()``), without counting checkouts."""
        slots = list(self.idle)
        self.idle.clear()
        for slot in slots:
            slot.lent_at = now
        self.out.update(slots)
        return slots

    def invalidate_idle(self) -> List[Slot]:
        """A connection was found dead: the idle ones are likely dead too (a restart, a
        failover). They are taken out to be closed, so no checkout walks through them; they
        count until ``closed_idle`` (no replacement opens before they are closed)."""
        slots = list(self.idle)
        self.idle.clear()
        return slots

    def closed_idle(self, n: int, dead: int) -> None:
        """n slots from ``invalidate_idle`` are closed, ``dead`` of them were found dead."""
        self.nconns -= n
        self.counters["connections_lost"] += dead

    # ---- opening connections --------------------------------------------------------------

    def to_open(self, now: float) -> int:
        """How many connections the pool lacks now (the filler opens them one at a time)."""
        if self.closed or self.null:
            return 0
        total = self.nconns + self.opening
        target = 0 if self.gave_up else self.min_size
        if self.waiters:
            target = max(target, min(self.max_size, self.nconns + len(self.waiters)))
        return max(0, target - total)

    def start_connect(self, now: float) -> bool:
        """Whether the filler should open a connection now (then it counts as opening)."""
        if self.opening or now < self.retry_at or self.to_open(now) <= 0:
            return False
        self.opening += 1
        return True

    def new_slot(self, conn: Any, now: float) -> Slot:
        """The record of a connection just opened (its lifetime with up to 5% jitter, so
        connections opened together do not all expire together)."""
        life = self.max_lifetime
        expires = float("inf") if not life else now + life * (1.0 - 0.05 * self.rand())
        return Slot(conn, now, expires)

    def connected(self, slot: Slot, now: float, started: float) -> Optional[Waiter]:
        """A connect succeeded: the connection goes to the oldest waiter, or idle. For a
        NullPool permit (opened by the caller), it is lent to the caller: None."""
        self.opening -= 1
        self.nconns += 1
        self.counters["connections_num"] += 1
        self.counters["connections_ms"] += (now - started) * 1000.0
        self.backoff.reset()
        self.gave_up = False
        self.retry_at = 0.0
        self.last_error = None
        if self.null:
            self.out.add(slot)
            slot.lent_at = now
            return None
        return self._serve(slot, now)

    def connect_aborted(self) -> None:
        """A connect finished after close(): the connection is closed, not kept."""
        self.opening -= 1

    def connect_failed(self, now: float, error: BaseException) -> Optional[float]:
        """A connect failed: the delay before the filler tries again, or None when
        ``reconnect_timeout`` has passed (the pool gives up until a checkout needs a
        connection). NullPool: the permit passes on (see ``pass_after_failure``)."""
        self.opening -= 1
        self.counters["connections_num"] += 1
        self.counters["connections_errors"] += 1
        self.last_error = error
        if self.null:
            return 0.0
        delay = self.backoff.failed(now)
        if delay is None:
            self.gave_up = True
            self.retry_at = 0.0
            return None
        self.retry_at = now + delay
        return delay

    def pass_after_failure(self) -> Optional[Waiter]:
        """NullPool: a caller's connect failed; the oldest waiter may try."""
        return self._pass_permit()

    # ---- upkeep ---------------------------------------------------------------------------

    def expire(self, now: float) -> List[Slot]:
        """Idle connections to close now: past their lifetime (the filler replaces them),
        and those idle longer than ``max_idle`` while the pool is above ``min_size``."""
        out = []
        if self.max_lifetime and self.idle:
            keep = [s for s in self.idle if now < s.expires]
            if len(keep) != len(self.idle):
                out = [s for s in self.idle if now >= s.expires]
                self.idle = deque(keep)
        if self.max_idle is not None:
            # the left end has been idle longest
            while self.idle and self.nconns - len(out) > self.min_size \
                    and now - self.idle[0].idle_since >= self.max_idle:
                out.append(self.idle.popleft())
        self.nconns -= len(out)
        return out

    def next_event(self, now: float) -> Optional[float]:
        """Seconds until the filler has something to do (None: only when called)."""
        times = []
        if self.to_open(now) > 0 and not self.opening:
            times.append(self.retry_at - now)
        if self.idle:
            if self.max_lifetime:
                times.append(min(s.expires for s in self.idle) - now)
            if self.max_idle is not None and self.nconns > self.min_size:
                times.append(self.idle[0].idle_since + self.max_idle - now)
        return max(0.0, min(times)) if times else None

    def close(self) -> List[Slot]:
        """The pool closes: the idle slots to close; waiters get ``error`` set (the caller
        wakes every one in ``waiters`` first: see ``take_waiters``)."""
        self.closed = True
        slots = list(self.idle)
        self.idle.clear()
        self.nconns -= len(slots)
        return slots

    def take_waiters(self, error: BaseException) -> List[Waiter]:
        out = list(self.waiters)
        self.waiters.clear()
        for w in out:
            w.error = error
        return out

    # ---- statistics -----------------------------------------------------------------------

    def stats(self) -> Dict[str, int]:
        out = {k: int(v) for k, v in self.counters.items()}
        out.update(requests_waiting=len(self.waiters), pool_min=self.min_size,
                   pool_max=self.max_size, pool_size=self.nconns + self.opening,
                   pool_available=len(self.idle), pool_in_use=len(self.out))
        return out

    def reset_counters(self) -> None:
        for k in self.counters:
            self.counters[k] = 0
