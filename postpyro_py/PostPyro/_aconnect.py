# SPDX-License-Identifier: MIT
"""AsyncConnection.connect's two steps that wait: host names resolved with the event loop's
getaddrinfo, and libpostpyro's nonblocking connect stepped as the socket becomes ready."""

from __future__ import annotations

from typing import Any, List

from . import _dsn
from . import errors as e
from ._aio import Waker
from ._ffi import PP_PENDING, ffi, lib
from ._session import connected, dsn_with, free_half_open

__all__ = ["connect_nb", "resolved"]


async def resolved(b: Any, dsn: str, dsnb: bytes) -> bytes:
    """The connection string with the addresses of its host names, found with the loop's
    getaddrinfo (libpq's own lookup would block the loop)."""
    import socket
    where = _dsn.hosts(dsn)
    if where is None:
        return dsnb
    names, ports = where
    found = []
    for name, port in zip(names, ports):
        if not _dsn._needs_resolving(name):
            found.append([])
            continue
        try:
            infos = await b.getaddrinfo(name, int(port) if port.isdigit() else 5432)
        except (socket.gaierror, UnicodeError) as exc:
            raise e.OperationalError('could not translate host name "%s" to address: %s'
                                     % (name, exc)) from None
        addrs: List[str] = []
        for info in infos:
            if info[4][0] not in addrs:
                addrs.append(info[4][0])
        found.append(addrs)
    return dsn_with(dsn, _dsn.with_addresses(names, ports, found)).encode("utf-8")


async def connect_nb(b: Any, dsnb: bytes, flags: int, timeout_ms: int) -> Any:
    """pp_connect_start in nonblocking mode, stepped as the socket becomes ready."""
    out = ffi.new("pp_conn **")
    err = ffi.new("pp_error **")
    waker = Waker()
    try:
        rc = lib.pp_connect_start(dsnb, flags | lib.PP_CONNECT_NONBLOCKING, timeout_ms, out,
                                  err)
        while rc == PP_PENDING:
            c = out[0]  # the socket changes when libpq moves to the next host
            await b.wait_fd(lib.pp_socket(c), lib.pp_wait_events(c), lib.pp_wait_timeout_ms(c),
                            waker)
            rc = lib.pp_connect_resume(c, err)
    except BaseException:
        free_half_open(out)
        raise
    return connected(rc, out, err)

