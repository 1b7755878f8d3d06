#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small async web service on PostPyro's AsyncConnection: plain asyncio, no framework
(it runs on CPython and PyPy alike; Debian's Starlette does not import on PyPy 3.9).

    python3 examples/async_service.py "host=/tmp dbname=test" [PORT]    (default 8080)

    curl -d '{"text": "buy milk"}' localhost:8080/notes     -> {"id": 1}
    curl localhost:8080/notes/1                              -> {"id": 1, "text": "buy milk", …}
    curl localhost:8080/notes                                -> [...]
    curl 'localhost:8080/events?timeout=30'                  -> the next note added, or 204
    curl localhost:8080/health                               -> {"ok": true, …}

Every request handler awaits the database without blocking the others: one AsyncConnection
serves all of them (their statements queue in order on it). Adding a note sends a
notification (NOTIFY, in the same transaction as the INSERT); a second connection LISTENs,
and /events is a long poll that answers with the next one. The table ``async_notes`` is
created when missing (``drop=True`` in ``Service.stop`` removes it).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import PostPyro as pg

CHANNEL = "async_notes"


class Service:
    """The service: ``await service.start(host, port)`` … ``await service.stop()``."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.db: Optional[pg.AsyncConnection] = None
        self.listener: Optional[pg.AsyncConnection] = None
        self.waiters: List[asyncio.Future] = []
        self.server: Optional[asyncio.AbstractServer] = None
        self.listening: Optional[asyncio.Task] = None

    async def start(self, host: str = "127.0.0.1", port: int = 8080) -> int:
        """Connect, create the table, start listening and serving; returns the port."""
        self.db = await pg.AsyncConnection.connect(self.dsn)
        await self.db.execute("CREATE TABLE IF NOT EXISTS async_notes (id serial PRIMARY KEY, "
                              "text text NOT NULL, created timestamptz DEFAULT now())")
        self.listener = await pg.AsyncConnection.connect(self.dsn)
        await self.listener.listen(CHANNEL)
        self.listening = asyncio.ensure_future(self._dispatch_notifications())
        self.server = await asyncio.start_server(self._serve, host, port)
        return self.server.sockets[0].getsockname()[1]

    async def stop(self, drop: bool = False) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        if self.listening is not None:
            self.listening.cancel()
            try:
                await self.listening
            except asyncio.CancelledError:
                pass
        if self.listener is not None:
            await self.listener.close()
        if self.db is not None:
            if drop:
                await self.db.execute("DROP TABLE IF EXISTS async_notes")
            await self.db.close()

    async def _dispatch_notifications(self) -> None:
        """Hands each notification to every /events request waiting at that moment."""
        assert self.listener is not None
        while True:
            try:
                async for n in self.listener.notifies():
                    waiters, self.waiters = self.waiters, []
                    for fut in waiters:
                        if not fut.done():
                            fut.set_result(n)
            except pg.NotificationsLost:
                continue  # some were dropped (queue full): go on with the next ones

    # ---- the routes ---------------------------------------------------------------------------

    async def route(self, method: str, path: str, query: Dict[str, List[str]],
                    body: bytes) -> Tuple[int, Any]:
        assert self.db is not None
        parts = [p for p in path.split("/") if p]
        if method == "GET" and parts == ["health"]:
            return 200, {"ok": await self.db.ping(),
                         "server_version": self.db.info()["server_version"]}
        if method == "POST" and parts == ["notes"]:
            try:
                text = json.loads(body or b"{}")["text"]
            except (ValueError, KeyError, TypeError):
                return 400, {"error": 'send JSON like {"text": "…"}'}
            if not isinstance(text, str) or not text:
                return 400, {"error": "text must be a non-empty string"}
            async with self.db.begin() as tx:
                row = await tx.query_one("INSERT INTO async_notes (text) VALUES ($1) "
                                         "RETURNING id", [text])
                await self.db.notify(CHANNEL, str(row["id"]))  # sent at commit
            return 201, {"id": row["id"]}
        if method == "GET" and parts == ["notes"]:
            rows = await self.db.query("SELECT id, text FROM async_notes ORDER BY id")
            return 200, [r.to_dict() for r in rows]
        if method == "GET" and len(parts) == 2 and parts[0] == "notes" and parts[1].isdigit():
            rows = await self.db.query("SELECT id, text, created FROM async_notes "
                                       "WHERE id = $1", [int(parts[1])])
            if not rows:
                return 404, {"error": "no note %s" % parts[1]}
            note = rows[0].to_dict()
            note["created"] = note["created"].isoformat()
            return 200, note
        if method == "GET" and parts == ["events"]:
            try:
                timeout = float(query.get("timeout", ["30"])[0])
            except ValueError:
                return 400, {"error": "timeout must be a number of seconds"}
            fut = asyncio.get_running_loop().create_future()
            self.waiters.append(fut)
            try:
                n = await asyncio.wait_for(fut, min(max(timeout, 0.0), 300.0))
            except asyncio.TimeoutError:
                return 204, None
            return 200, {"channel": n.channel, "id": int(n.payload)}
        return 404, {"error": "no route %s %s" % (method, path)}

    # ---- HTTP/1.1, just enough: one request per connection ------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
            length = int({k.strip().lower(): v for k, v in headers.items()}
                         .get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
            url = urlsplit(target)
            try:
                status, payload = await self.route(method, url.path, parse_qs(url.query), body)
            except pg.Error as exc:
                status, payload = 500, {"error": str(exc)}
        except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            status, payload = 400, {"error": "bad request"}
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                     % (status, _REASONS.get(status, "OK").encode("ascii"), len(data)) + data)
        try:
            await writer.drain()
        finally:
            writer.close()


_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
            404: "Not Found", 500: "Internal Server Error"}


async def main(dsn: str, port: int) -> None:
    service = Service(dsn)
    port = await service.start("127.0.0.1", port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, or a service manager's stop
        loop.add_signal_handler(sig, stop.set)
    print("serving on http://127.0.0.1:%d (Ctrl-C stops)" % port, flush=True)
    try:
        await stop.wait()
    finally:
        await service.stop()


if __name__ == "__main__":
    dsn = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PP_TEST_DSN")
    if not dsn:
        print("usage: async_service.py DSN [PORT]   (or set PP_TEST_DSN)", file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(dsn, int(sys.argv[2]) if len(sys.argv) > 2 else 8080))
