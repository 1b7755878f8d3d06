# SPDX-License-Identifier: MIT
"""What a pooled connection carries from one borrower to the next, and how it is undone;
the checks a pool runs. Used by ``pool.py`` and, awaited, by ``pool_async.py``."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

from . import errors as e

__all__ = ["reset_session", "check_connection", "restore_client_settings", "close_quietly",
           "reset_session_async", "check_connection_async", "close_quietly_async",
           "check_pool_args"]

# What a session can carry, undone in one round trip: DISCARD ALL without DEALLOCATE ALL and
# DISCARD PLANS, which would throw the connection's statement cache away.
RESET = ("CLOSE ALL", "SET SESSION AUTHORIZATION DEFAULT", "RESET ALL", "UNLISTEN *",
         "SELECT pg_advisory_unlock_all()", "DISCARD TEMP", "DISCARD SEQUENCES")
RESET_SQL = "; ".join(RESET)


@contextmanager
def _autocommit(conn: Any) -> Iterator[None]:
    """In autocommit meanwhile (PEP 249 mode: the reset's statements would open a
    transaction, and the pool would close the connection as left in one)."""
    if conn.autocommit:
        yield
        return
    conn.autocommit = True
    try:
        yield
    finally:
        if not conn.closed:
            conn.autocommit = False


def reset_session(conn: Any) -> None:
    """The default ``reset``: undo what a session can carry — settings (``RESET ALL``,
    ``SET SESSION AUTHORIZATION DEFAULT``), ``LISTEN`` and the notifications received but not
    read, session advisory locks, temporary tables, held cursors, sequence state — in one
    round trip. When the server refuses one of them (the whole string then fails), the
    others run one by one. In autocommit, also in PEP 249 mode."""
    with _autocommit(conn):
        try:
            conn.execute(RESET_SQL)
        except e.OperationalError:
            raise
        except e.DatabaseError:  # one failed: the others were rolled back with it
            for sql in RESET:
                try:
                    conn.execute(sql)
                except e.OperationalError:
                    raise
                except e.DatabaseError:
                    pass
    for _ in conn.notifies(timeout=0):  # after UNLISTEN *: no more can come
        pass


async def reset_session_async(conn: Any) -> None:
    """``reset_session`` for an AsyncConnection."""
    with _autocommit(conn):
        try:
            await conn.execute(RESET_SQL)
        except e.OperationalError:
            raise
        except e.DatabaseError:
            for sql in RESET:
                try:
                    await conn.execute(sql)
                except e.OperationalError:
                    raise
                except e.DatabaseError:
                    pass
    async for _ in conn.notifies(timeout=0):
        pass


def check_connection(conn: Any) -> None:
    """A ready-made ``check``: an empty round trip; raises OperationalError when the
    server does not answer."""
    if not conn.ping():
        raise e.OperationalError("the connection did not answer a ping")


async def check_connection_async(conn: Any) -> None:
    """``check_connection`` for an AsyncConnection."""
    if not await conn.ping():
        raise e.OperationalError("the connection did not answer a ping")


def check_pool_args(dsn_or_callable: Any, reset: Any) -> None:
    """A pool's constructor refuses what it cannot use."""
    if not isinstance(dsn_or_callable, str) and not callable(dsn_or_callable):
        raise e.ProgrammingError("dsn_or_callable must be a str or a function returning "
                                 "one, not %s" % type(dsn_or_callable).__name__)
    if reset is not None and reset is not False and not callable(reset):
        raise e.ProgrammingError("reset must be None (reset the session), False (do "
                                 "nothing) or a function, not %r" % (reset,))


def restore_client_settings(conn: Any, autocommit: bool, row_factory: Optional[Callable],
                            timeout: Optional[float]) -> None:
    """The connection's own settings back to the pool's; its collected notices dropped."""
    if conn.autocommit != autocommit:
        conn.autocommit = autocommit
    if conn.row_factory is not row_factory:
        conn.row_factory = row_factory
    if conn.timeout != timeout:
        conn.timeout = timeout
    notices = conn.notices
    if notices:
        del notices[:]


def close_quietly(conn: Any, cancel: bool = False) -> None:
    """Close a connection the pool gives up (first cancelling what runs on it), ignoring
    errors: it is being dropped."""
    try:
        if cancel:
            conn.cancel()
    except Exception:
        pass
    try:
        conn.close()
    except Exception:
        pass


async def close_quietly_async(conn: Any) -> None:
    """``close_quietly`` for an AsyncConnection (its close() cancels a call that runs)."""
    try:
        await conn.close()
    except Exception:
        pass
