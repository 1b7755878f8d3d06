# SPDX-License-Identifier: MIT
"""The tests' TCP proxy: it listens on 127.0.0.1, forwards each connection to the test
server, and on command breaks the network between them or holds traffic back at a chosen
moment. Used by test_timeouts.py (dead networks), test_cancel_describe.py and
test_tls_auth.py (holding an answer back, how connections begin) and tests/faults (every
kind of network fault).

Modes (``proxy.mode = ...``; they apply to every connection, from the next byte):
  forward    bytes pass unchanged
  blackhole  every byte either way is dropped and nothing is closed (a dead network, or a
             frozen server: no error, no answer)
  freeze     as blackhole, and nothing is read any more: what the client sends fills the
             socket buffers, so its sends block
  reset      every connection is closed with a TCP RST (SO_LINGER 0), new ones too
  trickle    bytes pass a few at a time (trickle_size) with a pause between (a slow link:
             every read gets a fragment of a message)
  cut        every connection is closed cleanly (FIN), new ones too
  garble     bytes from the server are replaced by random ones (bad input for the client)
``cut_after(n)`` / ``reset_after(n)`` / ``garble_after(n)`` switch to that mode once n more
bytes have come from the server: the fault lands in the middle of a reply; ``heal()`` goes
back to forwarding.

At chosen moments:
  connect_delay    seconds a new connection waits before it reaches the server (e.g. a
                   cancel request arriving late)
  connect_gate     an Event (None: none) a new connection waits for, after connect_delay,
                   before it reaches the server (at most 60 s); ``gated`` is set once one
                   waits there
  hold(marker)     holds back the server's answer to the next client data containing
                   marker until ``release`` is set (``holding`` is set once it waits)
  up_delay         seconds the client's next data after the held one (its Bind and
                   Execute) waits before it goes on (``delaying`` is set then)
  pause_up(m, s)   stops reading the client's data for s seconds once it sends m
  kinds            how each connection began, in order: "startup", "ssl", "gssenc",
                   "cancel" (so a test sees whether a cancel request went out encrypted)
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from typing import List, Optional

# The codes in the first packet of a connection (PostgreSQL's protocol, "Message Formats").
KINDS = {80877102: "cancel", 80877103: "ssl", 80877104: "gssenc", 196608: "startup"}
DEAD = ("blackhole", "freeze")


class TcpProxy:
    def __init__(self, target_port: int, seed: Optional[int] = None) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.mode = "forward"
        self.trickle_pause = 0.0005
        self.trickle_size = 7
        self.rng = random.Random(seed)
        self.garbled = 0  # bytes of random input handed to clients
        self.connect_delay = 0.0
        self.connect_gate: Optional[threading.Event] = None
        self.gated = threading.Event()
        self.kinds: List[str] = []
        self.marker: Optional[bytes] = None
        self.holding = threading.Event()
        self.release = threading.Event()
        self.up_delay = 0.0
        self.delaying = threading.Event()
        self.up_marker: Optional[bytes] = None
        self.up_pause = 0.0
        self.up_paused = threading.Event()
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self._socks: List[socket.socket] = []
        self._countdown: Optional[int] = None
        self._then = "forward"
        threading.Thread(target=self._accept, daemon=True).start()

    def dsn(self, base: str = "dbname=postpyro_test user=postgres", **options: object) -> str:
        """A DSN through the proxy: base plus options (e.g. connect_timeout=2)."""
        opts = "".join(" %s=%s" % kv for kv in options.items())
        return "host=127.0.0.1 port=%d %s%s" % (self.port, base, opts)

    def _switch_after(self, n: int, mode: str) -> None:
        with self.lock:
            self._countdown, self._then = n, mode

    def cut_after(self, n: int) -> None:
        self._switch_after(n, "cut")

    def reset_after(self, n: int) -> None:
        self._switch_after(n, "reset")

    def garble_after(self, n: int) -> None:
        self._switch_after(n, "garble")

    def heal(self) -> None:
        with self.lock:
            self._countdown = None
            self.mode = "forward"

    def hold(self, marker: bytes) -> None:
        self.holding.clear()
        self.release.clear()
        self.marker = marker

    def pause_up(self, marker: bytes, seconds: float) -> None:
        self.up_paused.clear()
        self.up_pause = seconds
        self.up_marker = marker

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode in ("reset", "cut"):
                _close(client, self.mode == "reset")
                continue
            with self.lock:
                self._socks.append(client)
            threading.Thread(target=self._open, args=(client, self.connect_delay),
                             daemon=True).start()

    def _open(self, client: socket.socket, delay: float) -> None:
        if delay:
            time.sleep(delay)
        gate = self.connect_gate
        if gate is not None:
            self.gated.set()
            gate.wait(60)
        try:
            server = socket.create_connection(self.target, timeout=5)
            server.settimeout(None)
        except OSError:
            _close(client, True)
            return
        with self.lock:
            self._socks.append(server)
        held = threading.Event()  # this connection's answers wait for release
        threading.Thread(target=self._pump, args=(client, server, False, held),
                         daemon=True).start()
        threading.Thread(target=self._pump, args=(server, client, True, held),
                         daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_server: bool,
              held: threading.Event) -> None:
        first = not from_server
        marked = False
        while not self.stopped.is_set():
            if self.mode == "freeze":
                self.stopped.wait()
                return
            try:
                data = src.recv(65536)
            except OSError:
                _shut(dst)
                return
            if not data:
                if self.mode not in DEAD:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                return
            if from_server:
                data = self._count_down(dst, data)
                if held.is_set():
                    self.holding.set()
                    self.release.wait(30)
                    held.clear()
            else:
                if marked and self.up_delay:
                    self.delaying.set()
                    time.sleep(self.up_delay)
                    self.up_delay = 0.0
                marked = False
                if first and len(data) >= 8:
                    with self.lock:
                        self.kinds.append(KINDS.get(struct.unpack("!I", data[4:8])[0],
                                                    "other"))
                first = False
                if self.marker is not None and self.marker in data:
                    self.marker = None
                    held.set()  # before the server can answer
                    marked = True
                if self.up_marker is not None and self.up_marker in data:
                    self.up_marker = None
                    self.up_paused.set()
                    time.sleep(self.up_pause)
            mode = self.mode
            if mode in DEAD:
                continue  # dropped
            if mode in ("reset", "cut"):
                _close(src, mode == "reset")
                _close(dst, mode == "reset")
                return
            if mode == "garble" and from_server:
                data = bytes(self.rng.getrandbits(8) for _ in range(len(data)))
                self.garbled += len(data)
            if mode == "trickle":
                step = self.trickle_size
                for i in range(0, len(data), step):
                    if not _send(dst, data[i:i + step]):
                        return
                    time.sleep(self.trickle_pause)
            elif not _send(dst, data):
                return

    def _count_down(self, dst: socket.socket, data: bytes) -> bytes:
        """Passes the bytes before a pending fault (cut_after & co.) and switches to it
        once they are through; returns what is left of data."""
        if self._countdown is None:
            return data
        with self.lock:
            if self._countdown is not None:
                if len(data) >= self._countdown:
                    head, data = data[:self._countdown], data[self._countdown:]
                    self._countdown = None
                    self.mode = self._then
                    _send(dst, head)
                else:
                    self._countdown -= len(data)
        return data

    def close(self) -> None:
        self.stopped.set()
        self.release.set()
        if self.connect_gate is not None:
            self.connect_gate.set()
        _shut(self.listener)  # wakes the accepting thread
        self.listener.close()
        with self.lock:
            socks, self._socks = self._socks, []
        for s in socks:
            _shut(s)
            s.close()


def _shut(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _close(s: socket.socket, rst: bool) -> None:
    """Closes s with a FIN, or with a RST. The shutdown comes first: a thread blocked in
    recv on s keeps the socket open (nothing is sent) until its recv returns."""
    try:
        if rst:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.shutdown(socket.SHUT_RD if rst else socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


def _send(dst: socket.socket, data: bytes) -> bool:
    if not data:
        return True
    try:
        dst.sendall(data)
        return True
    except OSError:
        return False
