# SPDX-License-Identifier: MIT
"""A TCP proxy on 127.0.0.1 for cancel tests: it notes how each connection through it
begins (a startup packet, an SSLRequest, a CancelRequest: what the client sent first, so a
test sees whether a cancel request went out encrypted), and it can hold back the server's
answer to the statement whose text contains a marker, so that a cancel lands at a known
moment (e.g. while the client waits for the answer to Parse/Describe)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import List, Optional

# The codes in the first packet of a connection (PostgreSQL's protocol, "Message Formats").
KINDS = {80877102: "cancel", 80877103: "ssl", 80877104: "gssenc", 196608: "startup"}


class HoldProxy:
    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.kinds: List[str] = []  # how each connection began, in order
        self.marker: Optional[bytes] = None  # hold the answer to the next use of this
        self.holding = threading.Event()  # set once an answer is held back
        self.release = threading.Event()  # set to let it through
        # seconds the client's next message after the marked one (its Bind and Execute) waits
        # before it goes on: a cancel sent meanwhile reaches the server before the statement
        self.up_delay = 0.0
        self.delaying = threading.Event()  # set once that message waits
        self.up_marker: Optional[bytes] = None  # pause the client's data that has this
        self.up_pause = 0.0  # for this many seconds (pause_up)
        self.up_paused = threading.Event()  # set once the client's data is paused
        self._socks: List[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self, marker: bytes) -> None:
        """Hold back the server's answer to the next statement whose text has marker, from
        its first byte until release is set."""
        self.holding.clear()
        self.release.clear()
        self.marker = marker

    def pause_up(self, marker: bytes, seconds: float) -> None:
        """Stop reading the client's data for `seconds` once it sends marker: a large
        message then fills the socket buffers and the client waits inside libpq's send."""
        self.up_paused.clear()
        self.up_pause = seconds
        self.up_marker = marker

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks += [client, server]
            held = threading.Event()  # this connection's answers wait for release
            threading.Thread(target=self._up, args=(client, server, held), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, held),
                             daemon=True).start()

    def _up(self, src: socket.socket, dst: socket.socket, held: threading.Event) -> None:
        first = True
        marked = False
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if marked and self.up_delay:
                    self.delaying.set()
                    time.sleep(self.up_delay)
                    self.up_delay = 0.0
                marked = False
                if first and len(data) >= 8:
                    code = struct.unpack("!I", data[4:8])[0]
                    with self._lock:
                        self.kinds.append(KINDS.get(code, "other"))
                first = False
                if self.marker is not None and self.marker in data:
                    self.marker = None
                    held.set()  # before the server can answer
                    marked = True
                if self.up_marker is not None and self.up_marker in data:
                    self.up_marker = None
                    self.up_paused.set()
                    time.sleep(self.up_pause)
                dst.sendall(data)
        except OSError:
            pass
        _shut(dst)

    def _down(self, src: socket.socket, dst: socket.socket, held: threading.Event) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if held.is_set():
                    self.holding.set()
                    self.release.wait(30)
                    held.clear()
                dst.sendall(data)
        except OSError:
            pass
        _shut(dst)

    def dsn(self, base: str) -> str:
        return "%s host=127.0.0.1 port=%d" % (base, self.port)

    def close(self) -> None:
        self.release.set()
        self.listener.close()
        with self._lock:
            for s in self._socks:
                _shut(s)
                s.close()


def _shut(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
