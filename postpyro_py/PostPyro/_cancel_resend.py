# SPDX-License-Identifier: MIT
"""Ctrl-C's cancel request, sent again while the statement has not ended."""

from __future__ import annotations

import threading
from typing import Any

from ._ffi import ffi, lib

__all__ = ["CancelResender"]

# Ctrl-C's cancel is sent again this often while the statement has not ended.
_RESEND_SECONDS = 0.2


class CancelResender:
    """Sends the running statement's cancel again every _RESEND_SECONDS until stop(): a
    cancel that reaches the server just before the backend starts the statement (after
    libpostpyro's Parse/Describe check) is ignored there. One that arrives once the
    statement has ended finds the backend idle, which ignores it; stop() waits for the
    thread, so none is in flight when the connection's next statement starts."""

    def __init__(self, conn: Any) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(conn,), daemon=True,
                                        name="PostPyro cancel resend")
        self._thread.start()

    def _run(self, conn: Any) -> None:
        while not self._stop.wait(_RESEND_SECONDS):
            lib.pp_cancel(conn, ffi.NULL)

    def stop(self) -> None:
        self._stop.set()
        while True:
            try:
                self._thread.join()
                return
            except KeyboardInterrupt:  # the cancel is on its way: further presses wait
                continue
