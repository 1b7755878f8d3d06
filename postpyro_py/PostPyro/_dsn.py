# SPDX-License-Identifier: MIT
"""What a connection string says about where to connect (core: no I/O).

libpq resolves host names inside the connect and blocks while it does; an event loop
resolves them itself and passes numeric addresses (``hostaddr``), keeping ``host`` for TLS
and the password file. :func:`hosts` reads the host and port lists of a key=value or URL
connection string (or the environment's PGHOST/PGPORT), :func:`with_addresses` adds the
addresses found.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, unquote

__all__ = ["hosts", "with_addresses"]


def _keywords(dsn: str) -> Dict[str, str]:
    """The key=value pairs of a libpq connection string (quotes and backslashes as libpq
    reads them)."""
    out: Dict[str, str] = {}
    i, n = 0, len(dsn)
    while i < n:
        while i < n and dsn[i].isspace():
            i += 1
        start = i
        while i < n and dsn[i] != "=" and not dsn[i].isspace():
            i += 1
        key = dsn[start:i]
        while i < n and dsn[i].isspace():
            i += 1
        if not key or i >= n or dsn[i] != "=":
            return out  # not libpq's syntax: libpq will say so
        i += 1
        while i < n and dsn[i].isspace():
            i += 1
        value = []
        if i < n and dsn[i] == "'":
            i += 1
            while i < n and dsn[i] != "'":
                if dsn[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(dsn[i])
                i += 1
            i += 1
        else:
            while i < n and not dsn[i].isspace():
                if dsn[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(dsn[i])
                i += 1
        out[key] = "".join(value)
    return out


def _url(dsn: str) -> Dict[str, str]:
    # split by hand: urllib refuses libpq's multi-host netlocs such as "a:1,[::1]:2"
    rest, _, query = dsn.partition("://")[2].partition("?")
    netloc = rest.partition("/")[0].rpartition("@")[2]
    out: Dict[str, str] = {}
    hosts, ports = [], []
    for spec in netloc.split(",") if netloc else []:
        if spec.startswith("["):  # [IPv6]:port
            host, _, rest = spec[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        else:
            host, _, port = spec.partition(":")
        hosts.append(unquote(host))
        ports.append(port)
    if any(hosts):
        out["host"] = ",".join(hosts)
    if any(ports):
        out["port"] = ",".join(ports)
    out.update(parse_qsl(query))
    return out


def hosts(dsn: str) -> Optional[Tuple[List[str], List[str]]]:
    """(hosts, ports) the connection goes to, or None when a name needs no resolving (Unix
    sockets, numeric addresses, hostaddr given, no host at all)."""
    if dsn.startswith(("postgresql://", "postgres://")):
        kw = _url(dsn)
    else:
        kw = _keywords(dsn)
    if kw.get("hostaddr") or os.environ.get("PGHOSTADDR"):
        return None
    host = kw.get("host", os.environ.get("PGHOST", ""))
    port = kw.get("port", os.environ.get("PGPORT", ""))
    names = host.split(",")
    if not any(_needs_resolving(h) for h in names):
        return None
    ports = port.split(",") if port else [""]
    if len(ports) == 1:
        ports = ports * len(names)
    if len(ports) != len(names):
        return None  # libpq reports the mismatch
    return names, ports


def _needs_resolving(host: str) -> bool:
    if not host or host.startswith(("/", "@")):
        return False
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        return True


def with_addresses(names: Sequence[str], ports: Sequence[str],
                   addresses: Sequence[Sequence[str]]) -> Dict[str, str]:
    """The host, hostaddr and port lists to add to the connection string: each name once
    per address it resolved to (libpq tries them in turn, as it does its own lookups);
    sockets and numeric hosts as they were."""
    h: List[str] = []
    a: List[str] = []
    p: List[str] = []
    for name, port, addrs in zip(names, ports, addresses):
        if not _needs_resolving(name):
            addrs = [name if name and not name.startswith(("/", "@")) else ""]
        for addr in addrs:
            h.append(name)
            a.append(addr)
            p.append(port)
    out = {"host": ",".join(h), "hostaddr": ",".join(a)}
    if any(p):
        out["port"] = ",".join(p)
    return out
