# SPDX-License-Identifier: MIT
"""Ctrl-C during a blocking connect: KeyboardInterrupt within about a second, and the
half-open connection's socket closed (the wait of pp_connect_start / pp_connect_resume ends
in slices, PP_CONNECT_WAIT_SLICES, so a signal its poll() never saw is handled too)."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest

import PostPyro as pg
from ctrlc import sigint_raises  # noqa: F401 (autouse: every test here sends SIGINT)


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (a server stuck before the
    startup reply). ``closed`` is set once the client closes its end."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            peer, _ = self.sock.accept()
        except OSError:
            return
        self.accepted.set()
        with peer:
            peer.settimeout(30)
            try:
                while peer.recv(4096):  # the SSL request / startup packet: no answer
                    pass
            except OSError:
                return
        self.closed.set()  # and this end closed too

    def dsn(self):
        # connect_timeout bounds the test where Ctrl-C is not handled (it then fails)
        return "host=127.0.0.1 port=%d user=x dbname=x connect_timeout=20" % self.port

    def close(self):
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def silent():
    s = SilentServer()
    yield s
    s.close()


def open_fds():
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[fd] = os.readlink("/proc/self/fd/" + fd)
        except OSError:  # the directory's own descriptor, closed by now
            pass
    return set(fds.items())


def signal_when_accepted(server, to_main):
    """SIGINT once the server accepted (plus a moment): to the main thread, or to a helper
    thread, where the main thread's poll() never sees it (the kernel may give a Ctrl-C to
    any thread of the process that does not block it)."""
    main = threading.main_thread().ident

    def run():
        server.accepted.wait(10)
        time.sleep(0.3)
        signal.pthread_kill(main if to_main else threading.get_ident(), signal.SIGINT)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("to_main", [False, True], ids=["other_thread", "main_thread"])
def test_ctrl_c_during_a_connect_raises_keyboard_interrupt_promptly(silent, to_main):
    before = open_fds()
    t = signal_when_accepted(silent, to_main)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        pg.connect(silent.dsn())
    took = time.monotonic() - start
    t.join(5)
    assert took < 4, took  # the signal comes ~0.3 s in; a slice is 0.5 s
    assert silent.closed.wait(5), "the half-open connection's socket was not closed"
    assert open_fds() <= before


def test_a_slow_connect_is_not_disturbed_by_its_slices(silent):
    # no signal: the connect goes on through the slices until its own timeout
    start = time.monotonic()
    with pytest.raises(pg.OperationalError, match="timeout"):
        pg.connect("host=127.0.0.1 port=%d user=x dbname=x connect_timeout=2" % silent.port)
    assert 1.5 < time.monotonic() - start < 10
    assert silent.closed.wait(5)
