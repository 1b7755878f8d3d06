# SPDX-License-Identifier: MIT
"""A TCP proxy on 127.0.0.1 that breaks the network between the client and the server on
command: what a dead link, a reset, a slow link, a cut or a corrupted stream look like to
the client.

Modes (set with ``proxy.mode = ...``; they apply to every connection, from the next byte):
  forward    bytes pass unchanged
  blackhole  every byte either way is dropped and nothing is closed (a dead network)
  reset      every connection is closed with a TCP RST (SO_LINGER 0), new ones too
  trickle    bytes pass a few at a time (trickle_size) with a pause between (a slow
             link: every read gets a fragment of a message)
  cut        every connection is closed cleanly (FIN), new ones too
  garble     bytes from the server are replaced by random ones (bad input for the client)
``cut_after(n)`` / ``reset_after(n)`` / ``garble_after(n)`` switch to that mode once n more
bytes have come from the server: the fault lands in the middle of a reply.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from typing import List, Optional


class FaultProxy:
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
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.pairs: List[tuple] = []
        self.garbled = 0  # bytes of random input handed to clients
        self._countdown: Optional[int] = None
        self._then = "forward"
        threading.Thread(target=self._accept, daemon=True).start()

    def dsn(self, extra: str = "") -> str:
        return ("host=127.0.0.1 port=%d dbname=postpyro_test user=postgres %s"
                % (self.port, extra)).strip()

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

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode in ("reset", "cut"):
                self._close(client, self.mode == "reset")
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                self._close(client, True)
                continue
            with self.lock:
                self.pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server, False),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True),
                             daemon=True).start()

    @staticmethod
    def _close(s: socket.socket, rst: bool) -> None:
        try:
            if rst:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError:
            pass

    def _end(self, a: socket.socket, b: socket.socket, rst: bool) -> None:
        self._close(a, rst)
        self._close(b, rst)

    def _pump(self, src: socket.socket, dst: socket.socket, from_server: bool) -> None:
        while not self.stopped.is_set():
            try:
                data = src.recv(65536)
            except OSError:
                self._close(dst, False)
                return
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            if from_server and self._countdown is not None:
                with self.lock:
                    if self._countdown is not None:
                        if len(data) >= self._countdown:
                            head, data = data[:self._countdown], data[self._countdown:]
                            self._countdown = None
                            self.mode = self._then
                            self._send(dst, head)
                        else:
                            self._countdown -= len(data)
            mode = self.mode
            if mode == "blackhole":
                continue
            if mode in ("reset", "cut"):
                self._end(src, dst, mode == "reset")
                return
            if mode == "garble" and from_server:
                data = bytes(self.rng.getrandbits(8) for _ in range(len(data)))
                self.garbled += len(data)
            if mode == "trickle":
                step = self.trickle_size
                for i in range(0, len(data), step):
                    if not self._send(dst, data[i:i + step]):
                        return
                    time.sleep(self.trickle_pause)
            elif not self._send(dst, data):
                return

    @staticmethod
    def _send(dst: socket.socket, data: bytes) -> bool:
        if not data:
            return True
        try:
            dst.sendall(data)
            return True
        except OSError:
            return False

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for a, b in pairs:
            self._end(a, b, False)
